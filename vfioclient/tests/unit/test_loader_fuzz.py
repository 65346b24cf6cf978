# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Fuzz the document loaders and the sysfs collector (issue 12).

Snapshot, plan and host-report documents are truncated at every length,
given wrong ``schema_version`` values, filled with garbage and hand-edited
(random key deletions, type changes, extra keys, nulls) starting from valid
documents made by the real code.  The sysfs collector reads random trees:
garbage bytes, empty files, dangling and looping symlinks, unreadable
files, directories where files belong and random extra devices.

The contract: a loader returns a document or raises its module's error
class (``SnapshotError``, ``PlanError``, ``HostReportError``, and
``CommandError`` naming the file at the command level); the collector always
returns a report (with warnings) that survives its own JSON round trip.
Loaded documents are fed to their consumers (audit rules, runbook, apply
specs) which must not crash either.  A few cases go through the real OSC
shell: exit 1, one line on stderr naming the file, no traceback.

Example counts are printed by hypothesis' statistics and appended to
``$VFIO_RELIABILITY_REPORT`` (see :mod:`vfioclient.tests.reliability_log`).
"""

import collections
import copy
import json
import os
import shutil

import fixtures
from hypothesis import given
from hypothesis import strategies as st
from osc_lib import exceptions
import testtools

from vfioclient.apply import flavors as apply_flavors
from vfioclient.apply import planfile
from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import cloud as cloud_model
from vfioclient.model import host as host_model
from vfioclient.model import plan as plan_model
from vfioclient.render import runbook
from vfioclient.rules import audit as audit_rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests import base
from vfioclient.tests import reliability_log
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit.doc_mutations import fuzz_settings
from vfioclient.tests.unit.doc_mutations import HOST_DOC
from vfioclient.tests.unit.doc_mutations import JSON_VALUES
from vfioclient.tests.unit.doc_mutations import mutated
from vfioclient.tests.unit.doc_mutations import PLAN_DOC
from vfioclient.tests.unit.doc_mutations import SNAPSHOT_DOC
from vfioclient.tests.unit.doc_mutations import valid_plan
from vfioclient.tests.unit.doc_mutations import valid_snapshot
from vfioclient.tests.unit.doc_mutations import wrong_versions
from vfioclient.v1 import base as v1_base


# -- loading and using --------------------------------------------------------

def use_snapshot(doc):
    snap = cloud_model.Snapshot.from_dict(doc, source='snap.json')
    audit_rules.audit(snap)
    audit_rules.summary(snap)
    return snap


def use_plan(doc):
    plan = plan_model.Plan.from_dict(doc, source='plan.json')
    specs = apply_flavors.specs_from_plan(plan)
    for spec in specs:
        spec.body('x')
    runbook.render(plan, plan_file='plan.json')
    return plan


def use_host_report(doc):
    report = host_model.HostReport.from_json(doc)
    json.dumps(report.to_json())
    return report


LOADERS = {
    'snapshot': (use_snapshot, cloud_model.SnapshotError, SNAPSHOT_DOC,
                 'snapshot loader (model.cloud.Snapshot.from_dict) and '
                 'audit rules'),
    'plan': (use_plan, plan_model.PlanError, PLAN_DOC,
             'plan loader (model.plan.Plan.from_dict), flavor specs and '
             'runbook'),
    'host report': (use_host_report, host_model.HostReportError, HOST_DOC,
                    'host report loader (model.host.HostReport.from_json)'),
}


class Tally:
    """Counts examples and outcomes for the reliability report."""

    def __init__(self):
        self.examples = 0
        self.outcomes = collections.Counter()

    def add(self, outcome):
        self.examples += 1
        self.outcomes[outcome] += 1

    def text(self):
        parts = ['%d %s' % (n, o) for o, n in sorted(self.outcomes.items())]
        return ', '.join(parts) + '; no other exception'


class LoaderFuzzBase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.counter = 0

    def record(self, category, what, where, tally):
        self.assertGreater(tally.examples, 0)
        reliability_log.record(category, what, where, tally.examples,
                               tally.text(), test=self.id())

    def check_document(self, kind, doc, tally, edits=()):
        """Load ``doc`` with the ``kind`` loader: value or its error."""
        use, error, _, _ = LOADERS[kind]
        try:
            use(doc)
        except error as e:
            message = str(e)
            self.assertTrue(message.strip())
            self.assertNotIn('Traceback', message)
            # A deleted key is named when it is what the loader missed.
            for op, path in edits:
                if (op == 'delete' and len(edits) == 1
                        and isinstance(path[-1], str)
                        and 'missing key' in message):
                    self.assertIn(repr(path[-1]), message)
            tally.add('clear %s' % error.__name__)
            return False
        tally.add('loaded and used')
        return True

    def write(self, data, suffix='.json'):
        self.counter += 1
        path = os.path.join(self.dir, 'doc%d%s' % (self.counter, suffix))
        with open(path, 'wb') as f:
            f.write(data if isinstance(data, bytes) else data.encode())
        return path

    def check_file(self, kind, path, tally):
        """The command-level loader: a CommandError naming the file."""
        try:
            if kind == 'snapshot':
                v1_base.load_snapshot(path)
            elif kind == 'plan':
                plan = planfile.load_plan(path)
                runbook.render(plan, plan_file=path)
            else:
                v1_base.load_host_reports([path])
        except exceptions.CommandError as e:
            self.assertIn(path, str(e))
            tally.add('clear CommandError naming the file')
            return False
        tally.add('loaded')
        return True


class TestValidDocuments(LoaderFuzzBase):
    """The starting points are valid (or every fuzz case would be moot)."""

    def test_valid_documents_load(self):
        for kind in LOADERS:
            tally = Tally()
            self.assertTrue(self.check_document(kind, LOADERS[kind][2],
                                                tally))
        self.assertTrue(PLAN_DOC['flavors'])
        self.assertIn(None, [h['boot_setup']['vf_type']
                             for h in PLAN_DOC['hosts']])
        self.assertTrue(SNAPSHOT_DOC['providers'])
        self.assertTrue(HOST_DOC['devices'])


class TestTruncated(LoaderFuzzBase):

    def _truncate(self, kind, text):
        tally = Tally()
        # Every cut of the document (it is a few KB), through the file
        # loader the commands use.
        for cut in range(0, len(text), max(1, len(text) // 200)):
            path = self.write(text[:cut])
            self.assertFalse(self.check_file(kind, path, tally),
                             'truncated at %d loaded' % cut)
        # Without the final newline it is still the whole document.
        self.assertTrue(self.check_file(kind, self.write(text[:-1]), tally))
        self.record('bad-input', 'truncated %s file (cut at every '
                    '~1/200 of its length)' % kind,
                    LOADERS[kind][3], tally)

    def test_truncated_snapshot(self):
        self._truncate('snapshot', valid_snapshot().to_json())

    def test_truncated_plan(self):
        self._truncate('plan', valid_plan().to_json())

    def test_truncated_host_report(self):
        self._truncate('host report',
                       json.dumps(HOST_DOC, indent=2) + '\n')


class TestWrongSchemaVersion(LoaderFuzzBase):

    def _wrong(self, kind):
        tally = Tally()

        @fuzz_settings(150)
        @given(wrong_versions(LOADERS[kind][2]['schema_version']))
        def run(version):
            doc = copy.deepcopy(LOADERS[kind][2])
            doc['schema_version'] = version
            self.assertFalse(self.check_document(kind, doc, tally),
                             'schema_version %r accepted' % (version,))
        run()
        self.assertEqual(tally.examples, sum(
            n for o, n in tally.outcomes.items() if o.startswith('clear')))
        self.record('bad-input', 'wrong schema_version in a %s (other '
                    'integers, true, 1.0, "1", null, text, lists)' % kind,
                    LOADERS[kind][3], tally)

    def test_snapshot(self):
        self._wrong('snapshot')

    def test_plan(self):
        self._wrong('plan')

    def test_host_report(self):
        self._wrong('host report')


class TestHandEdited(LoaderFuzzBase):

    def _edited(self, kind, n):
        tally = Tally()

        @fuzz_settings(n)
        @given(mutated(LOADERS[kind][2]))
        def run(case):
            doc, edits = case
            self.check_document(kind, doc, tally, edits)
        run()
        self.record('bad-input', 'hand-edited %s: 1-3 random key '
                    'deletions, type changes, nulls, extra keys' % kind,
                    LOADERS[kind][3], tally)
        return tally

    def test_snapshot(self):
        self._edited('snapshot', 400)

    def test_plan(self):
        self._edited('plan', 400)

    def test_host_report(self):
        self._edited('host report', 400)


class TestGarbageFiles(LoaderFuzzBase):

    def _garbage(self, kind):
        tally = Tally()

        @fuzz_settings(100)
        @given(st.one_of(
            st.binary(max_size=300),
            JSON_VALUES.map(lambda v: json.dumps(v).encode())))
        def run(data):
            self.check_file(kind, self.write(data), tally)
        run()
        self.assertEqual(0, tally.outcomes['loaded'])
        self.record('bad-input', 'random bytes or random JSON as a %s '
                    'file' % kind, LOADERS[kind][3], tally)

    def test_snapshot(self):
        self._garbage('snapshot')

    def test_plan(self):
        self._garbage('plan')

    def test_host_report(self):
        self._garbage('host report')


# -- the sysfs collector ------------------------------------------------------

FUZZ_HOST = {
    'hostname': 'fuzz-host',
    'gpus': [
        {'address': '0000:41:00.0', 'product_id': '2236',
         'sriov_totalvfs': 32, 'vfs': 2, 'vf_mode': 'variant',
         'creatable': [(593, 'NVIDIA A10-4Q')], 'current': {0: 593}},
        {'address': '0000:81:00.0', 'product_id': '2235',
         'sriov_totalvfs': 32, 'vfs': 2, 'vf_mode': 'legacy',
         'vf_mdev_types': [(558, 'NVIDIA A40-2Q', 24)],
         'vf_mdevs': {0: (fake_sysfs.mdev_uuid('0000:81:00.0', 0), 558)}},
        {'address': '0000:3b:00.0', 'product_id': '1eb8', 'vfs': 0,
         'sriov_totalvfs': 16,
         'pf_mdev_types': [(230, 'GRID T4-1Q', 16)],
         'pf_mdevs': [(fake_sysfs.mdev_uuid('0000:3b:00.0', 0), 230)]},
    ],
    'other_devices': [fake_sysfs.MATROX_VGA],
}

SYSFS_OPS = ('garbage', 'empty', 'dangle', 'loop', 'unreadable', 'remove',
             'dir-for-file', 'file-for-dir')
ATTRIBUTES = ('vendor', 'device', 'class', 'numa_node', 'sriov_totalvfs',
              'sriov_numvfs', 'current_vgpu_type', 'creatable_vgpu_types',
              'available_instances', 'name')
LINKS = ('physfn', 'virtfn0', 'virtfn1', 'iommu_group', 'driver',
         'mdev_type')
GARBAGE = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b'', b'\n', b'0x10de\n', b'0x030000\n', b'-1\n',
                     b'99999999999999999999\n', b'0x\n', b'\xff\xfe\n',
                     b'ID    : vGPU Name\n', b'593 \n', b'abc : def\n']),
    st.text(max_size=40).map(lambda t: t.encode('utf-8', 'replace')))


def _entries(root):
    """Every file, directory and link under ``root``, sorted."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            found.append(os.path.join(dirpath, name))
    return sorted(found)


def tree_hash(root):
    """Names, link targets and file contents of a tree, as one value."""
    parts = []
    for path in _entries(root):
        if os.path.islink(path):
            parts.append((path, 'link', os.readlink(path)))
        elif os.path.isfile(path):
            with open(path, 'rb') as f:
                parts.append((path, 'file', f.read()))
        else:
            parts.append((path, 'dir', None))
    return hash(tuple(parts))


def _clear(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


@st.composite
def sysfs_edits(draw):
    edits = []
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if draw(st.integers(min_value=0, max_value=5)) == 0:
            edits.append(('new-device', draw(st.integers(0, 255)),
                          draw(st.dictionaries(
                              st.sampled_from(ATTRIBUTES + LINKS), GARBAGE,
                              max_size=8))))
        else:
            edits.append((draw(st.sampled_from(SYSFS_OPS)),
                          draw(st.integers(min_value=0)), draw(GARBAGE)))
    return edits


def apply_sysfs_edit(root, edit):
    op, index, payload = edit
    if op == 'new-device':
        dev = os.path.join(root, 'sys/bus/pci/devices',
                           '0000:%02x:00.0' % (index % 256))
        try:
            _clear(dev)
            os.makedirs(dev)
        except OSError:   # an earlier edit made sys/bus/pci a file
            return 'new-device (no room)'
        with open(os.path.join(dev, 'vendor'), 'wb') as f:
            f.write(b'0x10de\n')
        with open(os.path.join(dev, 'class'), 'wb') as f:
            f.write(b'0x030000\n')
        for name, data in payload.items():
            path = os.path.join(dev, name)
            _clear(path)
            if name in LINKS:
                os.symlink(data.decode('utf-8', 'replace').replace(
                    '\x00', '') or 'x', path)
            else:
                with open(path, 'wb') as f:
                    f.write(data)
        return 'new-device'
    entries = _entries(os.path.join(root, 'sys'))
    path = entries[index % len(entries)]
    if op == 'garbage' or op == 'empty':
        _clear(path)
        with open(path, 'wb') as f:
            f.write(payload if op == 'garbage' else b'')
    elif op == 'dangle':
        _clear(path)
        os.symlink('../does-not-exist/' + os.path.basename(path), path)
    elif op == 'loop':
        _clear(path)
        os.symlink(os.path.basename(path), path)
    elif op == 'unreadable':
        # Root reads through chmod 000, so a directory where a file
        # belongs (EISDIR) stands in for it, as in the sysfs fixtures.
        if os.geteuid() != 0 and os.path.isfile(path) \
                and not os.path.islink(path):
            # A private copy first: the tree hard-links the template.
            with open(path, 'rb') as f:
                data = f.read()
            _clear(path)
            with open(path, 'wb') as f:
                f.write(data)
            os.chmod(path, 0)
        else:
            _clear(path)
            os.makedirs(path)
    elif op == 'remove':
        _clear(path)
    elif op == 'dir-for-file':
        _clear(path)
        os.makedirs(os.path.join(path, 'x'))
    elif op == 'file-for-dir':
        _clear(path)
        with open(path, 'wb') as f:
            f.write(payload)
    return op


class TestSysfsFuzz(testtools.TestCase):

    def setUp(self):
        super().setUp()
        # Thousands of small files are made and removed: tmpfs when there
        # is one (ext4 takes ~80 ms to remove each tree).
        shm = '/dev/shm'
        base = shm if os.access(shm, os.W_OK | os.X_OK) else None
        self.dir = self.useFixture(fixtures.TempDir(rootdir=base)).path
        self.template = os.path.join(self.dir, 'template')
        fake_sysfs.build_host(self.template, copy.deepcopy(FUZZ_HOST))
        # chmod 000 files (non-root runs) must stay removable.
        self.addCleanup(self._unlock, self.dir)
        self.counter = 0

    @staticmethod
    def _unlock(root):
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o700)

    def test_template_is_clean(self):
        report = collect_sysfs.collect_host_report(self.template,
                                                   hostname='h')
        self.assertEqual((), report.warnings)
        self.assertEqual(3, len(report.gpus))

    def test_random_sysfs_trees(self):
        tally = Tally()
        template_hash = tree_hash(self.template)
        ops = collections.Counter()

        @fuzz_settings(250)
        @given(sysfs_edits())
        def run(edits):
            self.counter += 1
            root = os.path.join(self.dir, 'case%d' % self.counter)
            # Hard links: fast, and every edit replaces a file rather than
            # writing through the link into the template.
            shutil.copytree(self.template, root, symlinks=True,
                            copy_function=os.link)
            for edit in edits:
                ops[apply_sysfs_edit(root, edit)] += 1
            report = collect_sysfs.collect_host_report(
                root, hostname='fuzz-host',
                collected_at='2026-01-01T00:00:00Z')
            for warning in report.warnings:
                self.assertTrue(warning.path.startswith('/'),
                                warning.path)
                self.assertNotIn(self.dir, warning.path)
                self.assertTrue(warning.message)
            # The report is a valid document: it survives its own loader.
            doc = json.loads(json.dumps(report.to_json()))
            again = host_model.HostReport.from_json(doc)
            self.assertEqual(report.to_json(), again.to_json())
            tally.add('report with warnings' if report.warnings
                      else 'report without warnings')
            self.assertEqual(template_hash, tree_hash(self.template))
            self._unlock(root)
            shutil.rmtree(root)
        run()
        self.assertGreater(tally.outcomes['report with warnings'], 0)
        reliability_log.record(
            'bad-input', 'random sysfs trees: 1-6 edits of a 3-GPU host '
            '(%s)' % ', '.join('%s %d' % kv for kv in sorted(ops.items())),
            'host report collector (collect.sysfs.collect_host_report)',
            tally.examples, tally.text(), test=self.id())


# -- through the real OSC shell -----------------------------------------------

def run_osc(test, argv):
    return run_shell(argv, test)


NOVA_CONF = '[pci]\nalias = {"name": "a", "device_type": "type-VF", ' \
            '"resource_class": "CUSTOM_A"}\n'


class TestShell(LoaderFuzzBase):
    """Representative bad files through ``openstack vfio ...``."""

    def setUp(self):
        super().setUp()
        self.useFixture(base.CleanOsEnvironment())
        self.useFixture(fixtures.TempHomeDir())
        self.conf = self.write(NOVA_CONF, suffix='.conf')
        self.snapshot = self.write(valid_snapshot().to_json())

    def assert_clean_failure(self, argv, path):
        rc, out, err = run_osc(self, argv)
        self.assertEqual(1, rc, err)
        self.assertEqual('', out)
        self.assertNotIn('Traceback', err)
        lines = [ln for ln in err.splitlines() if ln.strip()]
        self.assertEqual(1, len(lines), err)
        self.assertIn(path, lines[0])
        return lines[0]

    def commands(self, kind, path):
        if kind == 'snapshot':
            return [['vfio', 'audit', '--from-snapshot', path],
                    ['vfio', 'plan', '--from-snapshot', path]]
        if kind == 'plan':
            return [['vfio', 'resource', 'class', 'create', '--from-plan',
                     path],
                    ['vfio', 'flavor', 'create', '--from-plan', path],
                    ['vfio', 'verify', '--from-plan', path]]
        return [['vfio', 'config', 'check', '--host-report', path,
                 self.conf],
                ['vfio', 'audit', '--from-snapshot', self.snapshot,
                 '--host-report', path],
                ['vfio', 'plan', '--from-snapshot', self.snapshot,
                 '--host-report', path]]

    def bad_files(self, kind):
        doc = copy.deepcopy(LOADERS[kind][2])
        text = json.dumps(doc, indent=2)
        wrong = dict(doc, schema_version=doc['schema_version'] + 1)
        edited = copy.deepcopy(doc)
        if kind == 'snapshot':
            del edited['providers'][0]['uuid']
        elif kind == 'plan':
            edited['flavors'][0]['vcpus'] = 'four'
        else:
            edited['devices'][0]['address'] = 'not-an-address'
        return {'truncated': self.write(text[:len(text) // 2]),
                'wrong schema_version': self.write(json.dumps(wrong)),
                'hand-edited': self.write(json.dumps(edited)),
                'empty': self.write(b''),
                'missing': os.path.join(self.dir, 'missing.json')}

    def test_bad_files_through_the_shell(self):
        for kind in LOADERS:
            tally = Tally()
            for label, path in sorted(self.bad_files(kind).items()):
                for argv in self.commands(kind, path):
                    line = self.assert_clean_failure(argv, path)
                    if label == 'wrong schema_version':
                        self.assertIn('schema_version', line)
                    tally.add('exit 1, one line naming the file')
            self.record('bad-input', 'bad %s file (truncated, wrong '
                        'schema_version, hand-edited, empty, missing)'
                        % kind, 'openstack vfio audit/plan/config check/'
                        'resource class create/flavor create/verify '
                        '(real OSC shell)', tally)

    def test_fuzzed_plans_through_the_shell(self):
        tally = Tally()

        @fuzz_settings(25)
        @given(mutated(PLAN_DOC))
        def run(case):
            doc, _ = case
            path = self.write(json.dumps(doc))
            rc, out, err = run_osc(
                self, ['vfio', 'resource', 'class', 'create',
                       '--from-plan', path, '--dry-run'])
            self.assertNotIn('Traceback', err)
            self.assertEqual(1, rc)
            self.assertEqual('', out)
            self.assertEqual(1, len(err.strip().splitlines()), err)
            if 'needs a cloud' in err:
                # A still-valid plan: a clear request for a cloud.
                tally.add('valid plan, exit 1 asking for a cloud')
            else:
                self.assertIn(path, err)
                tally.add('exit 1, one line naming the file')
        run()
        self.record('bad-input', 'hand-edited plan files (random edits)',
                    'openstack vfio resource class create --from-plan '
                    '(real OSC shell)', tally)



class TestReliabilityReport(testtools.TestCase):
    """The records the tests above append, and the page made from them."""

    def test_records_merge_and_render(self):
        from vfioclient.tests import reliability_report
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'rel.jsonl')
        self.useFixture(fixtures.EnvironmentVariable(reliability_log.ENV,
                                                     path))
        reliability_log.record('fault', '409 | on PUT', 'rc create', 2,
                               'retried', test='t1')
        reliability_log.record('fault', '409 | on PUT', 'rc create', 3,
                               'reported', test='t2')
        reliability_log.record('bad-input', 'truncated plan', 'loader', 10,
                               'clear error', test='t3')
        self.assertRaises(ValueError, reliability_log.record, 'other',
                          'x', 'y', 1, 'z')
        records = reliability_log.read(path)
        self.assertEqual(3, len(records))
        text = reliability_report.render(records)
        self.assertIn('Totals: 15 trials of 2 faults and bad inputs in 3 '
                      'tests;\ndata lost: none.', text)
        self.assertIn('     - 5\n     - retried; reported', text)
        self.assertIn('409 \\| on PUT', text)
        self.assertNotIn('Security\n', text)   # no records, no section
        out = os.path.join(os.path.dirname(path), 'page.rst')
        self.assertEqual(0, reliability_report.main([path, out]))
        with open(out) as f:
            self.assertEqual(text, f.read())

    def test_disabled_without_the_variable(self):
        self.useFixture(fixtures.EnvironmentVariable(reliability_log.ENV))
        self.assertIsNone(reliability_log.record('fault', 'x', 'y', 1, 'z'))
