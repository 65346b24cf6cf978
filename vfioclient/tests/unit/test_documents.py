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

"""The published JSON Schemas and the one loader (issue 17).

Each schema is itself a valid draft 2020-12 schema; the documents the code
writes are valid against them; bad documents are refused with a message
naming the file and the field; a version-1 plan is refused with a request
to make the plan again.
"""

import copy
import json
import os
import stat

import fixtures
import jsonschema
import testtools

from vfioclient import fileio
from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import cloud
from vfioclient.model import documents
from vfioclient.model import host
from vfioclient.model import plan
from vfioclient.model import schema
from vfioclient.rules import plan as plan_rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders


def schema_errors(kind, doc):
    """jsonschema's own messages for ``doc`` against the ``kind`` schema."""
    validator = schema.Validator(documents.document(kind).schema)
    return [e.message for e in validator.iter_errors(doc)]


class DocumentCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def host_report(self, preset='a40', address=builders.A40_PF):
        spec = fake_sysfs.preset(preset)
        if address and spec['gpus']:
            spec['gpus'][0]['address'] = address
        root = os.path.join(self.dir, preset)
        fake_sysfs.build_host(root, spec)
        return collect_sysfs.collect_host_report(
            root, hostname=spec['hostname'],
            collected_at='2026-11-25T00:00:00Z')

    def estate(self):
        b = builders.two_host_estate()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU')
        return b.snapshot()

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path


class TestSchemas(DocumentCase):

    def test_every_schema_is_a_valid_draft_2020_12_schema(self):
        for name in schema.SCHEMA_FILES:
            doc = schema.load_schema(name)
            jsonschema.Draft202012Validator.check_schema(doc)
            self.assertEqual('https://json-schema.org/draft/2020-12/schema',
                             doc['$schema'], name)

    def test_kind_and_version_match_the_models(self):
        for kind, module in ((documents.SNAPSHOT, cloud),
                             (documents.HOST_REPORT, host),
                             (documents.PLAN, plan)):
            spec = documents.document(kind)
            self.assertEqual((module.KIND, module.SCHEMA_VERSION),
                             (spec.kind, spec.version), kind)
        self.assertEqual(2, documents.document(documents.PLAN).version)

    def test_pci_address_pattern_is_the_models(self):
        pattern = schema.load_schema(
            'host-report.schema.json')['$defs']['pci_address']['pattern']
        self.assertEqual(host.PCI_ADDRESS_RE.pattern, pattern)


class TestWrittenDocumentsAreValid(DocumentCase):

    def test_snapshot_of_an_audit_estate(self):
        doc = json.loads(self.estate().to_json())
        self.assertTrue(doc['providers'])
        self.assertEqual([], schema_errors(documents.SNAPSHOT, doc))

    def test_host_report_of_every_fake_sysfs_preset(self):
        for preset in fake_sysfs.PRESETS:
            doc = json.loads(json.dumps(
                self.host_report(preset, address=None).to_json()))
            self.assertEqual([], schema_errors(documents.HOST_REPORT, doc),
                             preset)

    def test_plan_of_the_plan_unit_estates(self):
        made = plan_rules.make_plan(self.estate(), [self.host_report()])
        doc = json.loads(made.to_json())
        self.assertTrue(doc['hosts'])
        self.assertEqual([], schema_errors(documents.PLAN, doc))
        self.assertEqual(made, documents.loads(made.to_json(),
                                               documents.PLAN, 'p.json'))


class TestLoader(DocumentCase):

    def test_load_each_kind_from_a_file(self):
        snap = self.estate()
        path = self.write('snap.json', snap.to_json())
        self.assertEqual(snap, documents.load(path, documents.SNAPSHOT))
        report = self.host_report()
        path = self.write('host.json', json.dumps(report.to_json()))
        self.assertEqual([report], documents.load_host_reports([path]))

    def test_file_errors_name_the_file(self):
        missing = os.path.join(self.dir, 'missing.json')
        e = self.assertRaises(cloud.SnapshotError, documents.load, missing,
                              documents.SNAPSHOT)
        self.assertEqual('snapshot file %s does not exist' % missing,
                         str(e))
        path = self.write('cut.json', '{"kind": "vfio-pl')
        e = self.assertRaises(plan.PlanError, documents.load, path,
                              documents.PLAN)
        self.assertIn('%s is not valid JSON' % path, str(e))
        path = self.write('list.json', '[]')
        e = self.assertRaises(documents.DocumentError, documents.load, path,
                              documents.HOST_REPORT)
        self.assertIsInstance(e, host.HostReportError)
        self.assertIn('%s is not a host report' % path, str(e))

    def test_a_version_1_plan_is_refused_clearly(self):
        doc = {'schema_version': 1, 'kind': 'vfio-plan', 'hosts': []}
        path = self.write('old-plan.json', json.dumps(doc))
        e = self.assertRaises(plan.PlanError, documents.load, path,
                              documents.PLAN)
        self.assertEqual(
            '%s has schema_version 1; this vfioclient reads version 2 '
            '(make the plan again with "openstack vfio plan")' % path,
            str(e))

    def test_float_and_bool_are_not_integers(self):
        doc = self.estate().to_dict()
        for version in (1.0, True):
            e = self.assertRaises(cloud.SnapshotError, cloud.Snapshot.
                                  from_dict, dict(doc, schema_version=version),
                                  's.json')
            self.assertIn('has schema_version %r' % version, str(e))
        bad = copy.deepcopy(doc)
        bad['providers'][0]['generation'] = 3.0
        e = self.assertRaises(cloud.SnapshotError, cloud.Snapshot.from_dict,
                              bad, 's.json')
        self.assertEqual('s.json is damaged or hand-edited: '
                         'providers[0].generation: expected an integer, '
                         'got 3.0', str(e))

    def test_new_keys_are_allowed(self):
        snap = self.estate()
        doc = json.loads(snap.to_json())
        doc['new_top_level_key'] = 1
        doc['flavors'][0]['new_flavor_key'] = 'x'
        doc['providers'][0]['new_provider_key'] = []
        self.assertEqual(snap, cloud.Snapshot.from_dict(doc))
        report = self.host_report()
        doc = json.loads(json.dumps(report.to_json()))
        doc['devices'][0]['new_device_key'] = None
        self.assertEqual(report, host.HostReport.from_json(doc))


class TestSharedValues(DocumentCase):
    """Loading shares equal immutable values between records (a fleet's
    reports and snapshot repeat them thousands of times) without changing
    what any record says."""

    def test_reports_share_types_and_strings(self):
        report = self.host_report('a40')
        one = host.HostReport.from_json(json.loads(json.dumps(
            report.to_json())))
        two = host.HostReport.from_json(json.loads(json.dumps(
            dict(report.to_json(), hostname='other'))))
        self.assertEqual(report, one)
        pairs = list(zip(one.devices, two.devices))
        self.assertTrue(any(a.mdev_supported_types for a, _b in pairs)
                        or any(a.creatable_vgpu_types for a, _b in pairs))
        for a, b in pairs:
            self.assertIs(a.address, b.address)
            for x, y in zip(a.mdev_supported_types, b.mdev_supported_types):
                self.assertIs(x, y)
            for x, y in zip(a.creatable_vgpu_types or (),
                            b.creatable_vgpu_types or ()):
                self.assertIs(x, y)
        for a, b in zip(one.gpus, two.gpus):
            for x, y in zip(a.types_offered, b.types_offered):
                self.assertIs(x, y)

    def test_equal_numbers_of_other_types_stay_apart(self):
        # 1 and 1.0 are equal keys but not the same JSON (allocation_ratio
        # is a number; the integer fields refuse 1.0 and true)
        snap = json.loads(self.estate().to_json())
        rc = 'VGPU'
        invs = [p['inventories'] for p in snap['providers']
                if rc in (p['inventories'] or {})]
        invs[0][rc] = dict(invs[0][rc], allocation_ratio=1)
        invs[1][rc] = dict(invs[0][rc], allocation_ratio=1.0)
        loaded = cloud.Snapshot.from_dict(snap)
        self.assertEqual(snap, json.loads(loaded.to_json()))
        self.assertEqual(
            [int, float], [type(p.inventories[rc].allocation_ratio)
                           for p in loaded.providers
                           if rc in (p.inventories or {})][:2])

    def test_snapshot_names_each_uuid_once(self):
        snap = cloud.Snapshot.from_dict(json.loads(self.estate().to_json()))
        by_uuid = snap.provider_by_uuid()
        for p in snap.providers:
            self.assertIs(by_uuid[p.root_uuid].uuid, p.root_uuid)
            if p.parent_uuid is not None:
                self.assertIs(by_uuid[p.parent_uuid].uuid, p.parent_uuid)
        for a in snap.allocations:
            if a.provider_uuid in by_uuid:
                self.assertIs(by_uuid[a.provider_uuid].uuid, a.provider_uuid)


class TestBadDocumentsNameTheField(DocumentCase):

    def assert_refused(self, error, load, doc, expected):
        e = self.assertRaises(error, load, doc, source='f.json')
        self.assertEqual('f.json is damaged or hand-edited: ' + expected,
                         str(e))

    def test_snapshot(self):
        base = self.estate().to_dict()
        load = cloud.Snapshot.from_dict
        cases = [
            (('providers', 1, 'inventories', 'VGPU', 'total'), 'x',
             "providers[1].inventories.VGPU.total: expected an integer, "
             "got 'x'"),
            (('servers', 0, 'host'), 5,
             'servers[0].host: expected a string or null, got 5'),
            (('flavors', 0, 'extra_specs'), {'resources:VGPU': 1},
             "flavors[0].extra_specs.resources:VGPU: expected a string, "
             "got 1"),
        ]
        for path, value, expected in cases:
            doc = copy.deepcopy(base)
            target = doc
            for key in path[:-1]:
                target = target[key]
            self.assertIn(path[-1], target)
            target[path[-1]] = value
            self.assert_refused(cloud.SnapshotError, load, doc, expected)
        doc = copy.deepcopy(base)
        del doc['providers'][0]['uuid']
        self.assert_refused(cloud.SnapshotError, load, doc,
                            "providers[0]: missing key 'uuid' (truncated or "
                            "hand-edited?)")
        doc = copy.deepcopy(base)
        doc['providers'][1]['inventories']['VGPU']['totl'] = 1
        e = self.assertRaises(cloud.SnapshotError, load, doc)
        self.assertIn("providers[1].inventories.VGPU: unexpected key "
                      "'totl'", str(e))

    def test_snapshot_trees(self):
        # Found by the loader fuzz: a hand-edited root_uuid crashed the
        # audit summary (KeyError); the loader now names the field.
        base = self.estate().to_dict()
        load = cloud.Snapshot.from_dict
        child = next(i for i, p in enumerate(base['providers'])
                     if p['parent_uuid'] is not None)
        root = next(i for i, p in enumerate(base['providers'])
                    if p['parent_uuid'] is None)
        remedy = ' (re-collect it with "openstack vfio audit ' \
                 '--save-snapshot")'
        cases = [
            (child, 'root_uuid', 'no-such-uuid',
             'providers[%d].root_uuid: no-such-uuid names no root provider '
             'of the snapshot' % child),
            (child, 'root_uuid', base['providers'][child]['uuid'],
             'providers[%d].root_uuid: %s names no root provider of the '
             'snapshot' % (child, base['providers'][child]['uuid'])),
            (child, 'parent_uuid', 'gone',
             'providers[%d].parent_uuid: gone names no provider of the '
             'snapshot' % child),
            (root, 'root_uuid', base['providers'][child]['uuid'],
             'providers[%d].root_uuid: %s is not the uuid of this '
             'provider, which has no parent' % (
                 root, base['providers'][child]['uuid'])),
        ]
        for index, key, value, expected in cases:
            doc = copy.deepcopy(base)
            doc['providers'][index][key] = value
            self.assert_refused(cloud.SnapshotError, load, doc,
                                expected + remedy)
        # the unedited snapshot still loads
        self.assertEqual(len(base['providers']),
                         len(load(copy.deepcopy(base)).providers))

    def test_host_report(self):
        base = self.host_report().to_json()
        load = host.HostReport.from_json
        doc = copy.deepcopy(base)
        doc['gpus'][0]['address'] = '41:00.0'
        self.assert_refused(
            host.HostReportError, load, doc,
            "gpus[0].address: expected a value matching "
            "%s, got '41:00.0'" % host.PCI_ADDRESS_RE.pattern)
        doc = copy.deepcopy(base)
        doc['devices'][1]['classification'] = 'variant'
        self.assert_refused(
            host.HostReportError, load, doc,
            "devices[1].classification: expected one of legacy-mdev-pf, "
            "legacy-mdev-vf, variant-vf, vfio-passthrough, unconfigured, "
            "got 'variant'")

    def test_odd_keys_keep_the_message_on_one_line(self):
        # The fuzz test found it: a key with a line break in a hand-edited
        # plan split the message in two.
        self.assertEqual('flavors[0].extra_specs["\\r"]',
                         schema.field_path(('flavors', 0, 'extra_specs',
                                            '\r')))
        self.assertEqual('flavors[0].extra_specs.hw:numa_nodes',
                         schema.field_path(('flavors', 0, 'extra_specs',
                                            'hw:numa_nodes')))

    def test_options_the_runbook_reads_are_typed(self):
        # The fuzz test found it: a hand-edited group_by list reached the
        # runbook renderer.
        made = plan_rules.make_plan(self.estate(), [self.host_report()])
        for key, value in (('group_by', ['kind']), ('wave_size', '5'),
                           ('wave_size', 0), ('live_migratable', 'yes')):
            doc = json.loads(json.dumps(made.to_dict()))
            doc['inputs']['options'][key] = value
            e = self.assertRaises(plan.PlanError, plan.Plan.from_dict, doc)
            self.assertIn('inputs.options.%s' % key, str(e))

    def test_enum_with_null_is_named(self):
        # The fuzz test found it: an enum holding null (an alias's unset
        # numa_policy) must still give a message, not a TypeError.
        made = plan_rules.make_plan(self.estate(), [self.host_report()])
        doc = json.loads(json.dumps(made.to_dict()))
        doc['aliases'][0]['numa_policy'] = 'sometimes'
        self.assert_refused(
            plan.PlanError, plan.Plan.from_dict, doc,
            "aliases[0].numa_policy: expected one of null, required, "
            "legacy, preferred, socket, got 'sometimes'")

    def test_plan(self):
        made = plan_rules.make_plan(self.estate(), [self.host_report()])
        base = made.to_dict()
        load = plan.Plan.from_dict
        doc = json.loads(json.dumps(base))
        doc['hosts'][0]['boot_setup']['type_id'] = '558'
        self.assert_refused(plan.PlanError, load, doc,
                            "hosts[0].boot_setup.type_id: expected an "
                            "integer or null, got '558'")
        doc = json.loads(json.dumps(base))
        doc['hosts'][0]['gpus'][0]['vfs'] = [1]
        self.assert_refused(plan.PlanError, load, doc,
                            'hosts[0].gpus[0].vfs[0]: expected a string, '
                            'got 1')
        doc = json.loads(json.dumps(base))
        doc['flavors'][0]['count'] = 0
        self.assert_refused(plan.PlanError, load, doc,
                            'flavors[0].count: expected at least 1, got 0')


class TestPrivateFileWriter(DocumentCase):

    def test_a_failed_write_leaves_nothing_behind(self):
        target = os.path.join(self.dir, 'a-directory')
        os.mkdir(target)
        os.mkdir(os.path.join(target, 'inside'))
        self.assertRaises(OSError, fileio.write_private_file, target, 'x')
        self.assertEqual(['a-directory'], os.listdir(self.dir))

    def test_mode_0600(self):
        path = os.path.join(self.dir, 'plan.json')
        fileio.write_private_file(path, 'é\n')
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(path, encoding='utf-8') as f:
            self.assertEqual('é\n', f.read())
