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

"""``vfio plan --artifacts DIR`` (issue 19): shared files written once, a
runbook that grows with waves and kinds, not hosts."""

import csv
import hashlib
import json
import os
import re
import stat

import fixtures
import testtools

from vfioclient.render import fleet
from vfioclient.render import runbook
from vfioclient.rules import plan as rules
from vfioclient.tests import base
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit import builders
from vfioclient.v1 import plan as plan_command

SECOND_PF = '0000:81:00.0'
# The host steps of a phase, in order (the conformance rehearsal's
# HOST_STEP_MARKERS, with the host written as the placeholder).
STEP_MARKERS = (
    'compute service set --disable',
    'Move its servers off',
    'systemctl stop nova-compute',
    "Undefine Nova's persisted mdevs",
    'systemctl enable vfio-vgpu-setup.service',
    'In nova.conf remove the legacy vGPU lines',
    'openstack vfio provider cleanup --host <host> --from-plan',
    'systemctl start nova-compute',
    'openstack vfio audit --fail-on error',
    'compute service set --enable',
)
CHECK_LINE = re.compile(r"^echo '([0-9a-f]{64})  (\S+)' \| sha256sum -c$",
                        re.M)


def estate(hosts):
    """``hosts`` hosts of 4 kinds, one A40 board-model each: 1 GPU with 8
    VFs, 2 GPUs with 8, 1 GPU with 2 (another PCI address) and 1 GPU with
    4; up to 2 servers each."""
    b = builders.PlanEstateBuilder()
    flavor = builders.a40_flavor(b)
    for i in range(hosts):
        name = 'cmp%04d' % i
        b.host(name)
        kind = i % 4
        if kind == 2:
            providers = b.legacy_gpu(name, pf=SECOND_PF, vfs=2)
        else:
            providers = b.legacy_gpu(name, vfs=4 if kind == 3 else 8)
        if kind == 1:
            b.legacy_gpu(name, pf=SECOND_PF)
        b.servers_on('vm%04d' % i, name, flavor, providers, i % 3)
    return b


def write(plan, directory):
    """What ``vfio plan --artifacts`` writes; returns the runbook."""
    return plan_command.Plan._write_artifacts(plan, 'plan.json', directory)


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def phases(text):
    """``{title: body}`` of the runbook's ``## Phase N: convert`` parts."""
    parts = re.split(r'^(## .*)$', text, flags=re.M)
    return {title: body for title, body in zip(parts[1::2], parts[2::2])
            if re.match(r'## Phase \d+: convert ', title)}


class TestThousandHosts(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = rules.make_plan(estate(1000).snapshot())

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.text = write(self.plan, self.dir)

    def test_estate(self):
        self.assertEqual(1000, len(self.plan.order))
        self.assertEqual(4, len({h.kind for h in self.plan.hosts}))
        self.assertEqual([], list(self.plan.refusals))

    def test_line_budget(self):
        lines = self.text.count('\n')
        self.assertLessEqual(lines, 3000)
        # the plain runbook prints every script again for every host
        self.assertGreater(runbook.render(self.plan).count('\n'),
                           100 * lines)

    def test_every_referenced_artifact_exists_with_its_sha256(self):
        checks = CHECK_LINE.findall(self.text)
        self.assertGreater(len(checks), 4 * len(phases(self.text)) - 1)
        for digest, path in checks:
            self.assertTrue(path.startswith(self.dir + '/'), path)
            self.assertEqual(digest, sha256(path), path)
        named = set(re.findall(re.escape(self.dir) + r'/([\w.-]+)',
                               self.text))
        self.assertEqual(set(), named - set(os.listdir(self.dir)))
        self.assertLessEqual({'hosts.csv', 'servers.csv'}, named)
        self.assertIn('(cd %s && sha256sum -c SHA256SUMS)' % self.dir,
                      self.text)
        with open(os.path.join(self.dir, fleet.CHECKSUMS)) as f:
            sums = dict(line.split()[::-1] for line in f)
        self.assertEqual(set(os.listdir(self.dir)) - {fleet.CHECKSUMS},
                         set(sums))
        for name, digest in sums.items():
            self.assertEqual(digest, sha256(os.path.join(self.dir, name)))

    def test_shared_files_are_few(self):
        names = os.listdir(self.dir)
        # same text, same file: one script and unit per GPU layout
        self.assertEqual(4, len([n for n in names if n.endswith('.sh')
                                 and n.startswith('vfio-vgpu-setup-')]))
        self.assertEqual(1, len([n for n in names
                                 if n.endswith('.service')]))
        self.assertEqual(4, len([n for n in names if n.endswith('.conf')]))
        for name in names:
            mode = stat.S_IMODE(os.stat(os.path.join(self.dir, name))
                                .st_mode)
            self.assertEqual(0o755 if name.endswith('.sh') else 0o644, mode,
                             name)

    def test_hosts_of_a_kind_share_one_text(self):
        # one string per shared file, however many hosts use it (not a
        # copy per host: 160 MB at 10,000 hosts)
        bundle = fleet.build(self.plan)
        texts = {id(getattr(files, part).text)
                 for files in bundle.hosts.values()
                 for part in ('boot_script', 'unit', 'nova_conf')}
        self.assertEqual(len(texts), len(
            [n for n in bundle.files if n.startswith(
                ('vfio-vgpu-setup-', 'nova-compute-'))]))
        self.assertEqual(4 + 1 + 4, len(texts))

    def test_host_tables(self):
        with open(os.path.join(self.dir, 'hosts.json')) as f:
            records = json.load(f)
        with open(os.path.join(self.dir, 'hosts.csv')) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(list(self.plan.order), [r['host'] for r in records])
        self.assertEqual([r['host'] for r in records],
                         [r['host'] for r in rows])
        self.assertEqual(list(fleet.HOST_COLUMNS), list(rows[0]))
        wave_of = {h: w.number for w in self.plan.waves for h in w.hosts}
        for record in records:
            host = self.plan.host(record['host'])
            self.assertEqual((wave_of[host.host], host.order, host.kind,
                              len(host.drain)),
                             (record['wave'], record['order'],
                              record['kind'], record['servers_to_move']))
            for column in ('boot_script', 'unit', 'nova_conf'):
                self.assertEqual(record[column + '_sha256'], sha256(
                    os.path.join(self.dir, record[column])))
            # each host appears in exactly one phase's table
            self.assertEqual(1, len(re.findall(
                r'^\| %s ' % host.host, self.text, re.M)))
        with open(os.path.join(self.dir, 'hosts.json')) as f:
            boot = {r['host']: r['boot_script'] for r in json.load(f)}
        for host in ('cmp0000', 'cmp0002'):
            with open(os.path.join(self.dir, boot[host])) as f:
                self.assertIn(host == 'cmp0002' and SECOND_PF
                              or builders.A40_PF, f.read())

    def test_phase_steps_in_order(self):
        found = phases(self.text)
        self.assertEqual(len(self.plan.waves), len(found))
        for title, body in found.items():
            positions = [body.find(m) for m in STEP_MARKERS]
            self.assertNotIn(-1, positions, title)
            self.assertEqual(sorted(positions), positions, title)
        self.assertIn('## Phase 22: PCI in Placement for scheduling',
                      self.text)
        # a note every host of a phase has is written once, not per host
        self.assertEqual(len(found), self.text.count(
            '> Note (every host): VF addresses come from the legacy'))

    def test_servers(self):
        with open(os.path.join(self.dir, 'servers.csv')) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(sorted(s.id for s in self.plan.servers),
                         sorted(r['id'] for r in rows))
        moved = sum(len(h.drain) for h in self.plan.hosts)
        self.assertEqual(moved, sum(
            len(re.findall(r'^openstack server (resize|migrate) confirm ',
                           open(os.path.join(self.dir, name)).read(),
                           re.M))
            for name in os.listdir(self.dir)
            if name.startswith('drain-phase-')))


class TestDeterministic(testtools.TestCase):

    def test_two_runs_write_the_same_bytes(self):
        trees = []
        for _run in range(2):
            directory = self.useFixture(fixtures.TempDir()).path
            plan = rules.make_plan(estate(60).snapshot(),
                                   options=rules.Options(wave_size=7))
            text = write(plan, directory).replace(directory, 'DIR')
            files = {}
            for name in sorted(os.listdir(directory)):
                with open(os.path.join(directory, name), 'rb') as f:
                    files[name] = f.read()
            trees.append((text, files))
        self.assertEqual(trees[0], trees[1])
        self.assertGreater(len(trees[0][1]), 10)


class TestPlanCommandArtifacts(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.snapshot = os.path.join(self.tmp, 'snap.json')
        with open(self.snapshot, 'w') as f:
            f.write(estate(8).snapshot().to_json())

    def test_markdown_names_the_files(self):
        directory = os.path.join(self.tmp, 'new', 'artifacts')
        rc, out, err = run_shell(
            ['vfio', 'plan', '--from-snapshot', self.snapshot,
             '--artifacts', directory, '-f', 'markdown'], self)
        self.assertEqual(0, rc, err)
        self.assertIn('install -m 0700 %s/vfio-vgpu-setup-' % directory,
                      out)
        self.assertNotIn('#!/bin/sh', out)
        for digest, path in CHECK_LINE.findall(out):
            self.assertEqual(digest, sha256(path))
        self.assertIn('hosts.json', os.listdir(directory))

    def test_without_artifacts_the_runbook_prints_the_scripts(self):
        rc, out, err = run_shell(
            ['vfio', 'plan', '--from-snapshot', self.snapshot,
             '-f', 'markdown'], self)
        self.assertEqual(0, rc, err)
        self.assertEqual(8, out.count('#!/bin/sh'))
        self.assertEqual(8, len(re.findall(r'^## Phase \d+: convert cmp',
                                           out, re.M)))

    def test_unwritable_directory(self):
        blocker = os.path.join(self.tmp, 'file')
        with open(blocker, 'w') as f:
            f.write('x')
        rc, out, err = run_shell(
            ['vfio', 'plan', '--from-snapshot', self.snapshot,
             '--artifacts', blocker, '-f', 'markdown'], self)
        self.assertEqual(1, rc)
        self.assertIn('cannot write the artifacts to %s' % blocker, err)
