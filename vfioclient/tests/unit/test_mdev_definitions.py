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

"""Nova's persisted mdevs: collected from mdevctl's files, in the host
report, named by the audit (VFIO-A119) and listed per host in the plan."""

import json
import os

import fixtures
import jsonschema
from oslotest import base

from vfioclient.collect import sysfs
from vfioclient.model import host as model
from vfioclient.model import plan as plan_model
from vfioclient.model import schema
from vfioclient.rules import audit
from vfioclient.rules import findings as F
from vfioclient.rules import plan as rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders

A40_VFS = ('0000:51:00.4', '0000:51:00.5', '0000:51:00.6', '0000:51:00.7')
UUID = '4b20d080-1b54-4048-85b3-a6a62d165c01'
OTHER_UUID = '0f5d2c6e-5d8a-4a33-9d39-6f0b3c1d2e4f'


def variant_a40(definitions):
    """An A40 on the variant driver (4 VFs at 0000:51:00.4-7) with the
    given mdevctl definitions."""
    return {'hostname': 'a40-host',
            'gpus': [{'address': '0000:51:00.0', 'product_id': '2235',
                      'sriov_totalvfs': 32, 'vfs': 4, 'vf_mode': 'variant',
                      'creatable': [(558, 'NVIDIA A40-2Q')]}],
            'mdev_definitions': definitions}


class CollectTestCase(base.BaseTestCase):

    def collect(self, spec):
        self.root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(self.root, spec)
        return sysfs.collect_host_report(self.root, hostname='h',
                                         collected_at='2026-01-02T03:04:05Z')

    def definition_path(self, parent, uuid):
        return os.path.join(self.root, 'etc/mdevctl.d', parent, uuid)


class TestCollect(CollectTestCase):

    def test_legacy_host_has_one_definition_per_mdev(self):
        report = self.collect(fake_sysfs.A40_HOST)
        self.assertEqual(
            [(fake_sysfs.mdev_uuid('0000:51:00.0', i), vf, 'nvidia-558',
              'auto', True, True) for i, vf in enumerate(A40_VFS)],
            [(d.uuid, d.parent, d.mdev_type, d.start, d.active,
              d.parent_offers_type) for d in report.mdev_definitions])
        # What mdevctl writes (MDev::to_json): type, start, attrs.
        with open(self.definition_path(A40_VFS[0], fake_sysfs.mdev_uuid(
                '0000:51:00.0', 0))) as f:
            self.assertEqual({'mdev_type': 'nvidia-558', 'start': 'auto',
                              'attrs': []}, json.load(f))
        self.assertEqual((), report.warnings)

    def test_t4_definitions_are_on_the_pf(self):
        report = self.collect(fake_sysfs.T4_HOST)
        self.assertEqual({('0000:3b:00.0', 'nvidia-230')},
                         {(d.parent, d.mdev_type)
                          for d in report.mdev_definitions})
        self.assertEqual(2, len(report.mdev_definitions))

    def test_variant_host_inactive_definition_cannot_start(self):
        report = self.collect(variant_a40([
            {'parent': A40_VFS[1], 'uuid': UUID, 'mdev_type': 'nvidia-558',
             'start': 'manual'}]))
        (d,) = report.mdev_definitions
        self.assertEqual((UUID, A40_VFS[1], 'nvidia-558', 'manual', False,
                          False),
                         (d.uuid, d.parent, d.mdev_type, d.start, d.active,
                          d.parent_offers_type))

    def test_no_mdevctl_directory_means_none(self):
        report = self.collect(fake_sysfs.A10_HOST)
        self.assertEqual((), report.mdev_definitions)
        self.assertFalse(os.path.exists(os.path.join(self.root, 'etc')))
        self.assertEqual((), report.warnings)

    def test_explicit_empty_list_defines_nothing(self):
        spec = fake_sysfs.preset('a40')
        spec['mdev_definitions'] = []
        report = self.collect(spec)
        self.assertEqual((), report.mdev_definitions)
        self.assertEqual(4, sum(len(d.mdevs) for d in report.devices))

    def test_mdev_under_another_parent_is_not_this_definition(self):
        spec = fake_sysfs.preset('a40')
        mdev = fake_sysfs.mdev_uuid('0000:51:00.0', 0)
        spec['mdev_definitions'] = [
            {'parent': A40_VFS[3], 'uuid': mdev, 'mdev_type': 'nvidia-558'}]
        (d,) = self.collect(spec).mdev_definitions
        # The mdev with that uuid runs on VF 0, not VF 3 (mdevctl's
        # MDev::load_from_sysfs compares the parent).
        self.assertEqual((A40_VFS[3], False), (d.parent, d.active))

    def test_other_start_values_mean_manual(self):
        report = self.collect(variant_a40([
            {'parent': A40_VFS[0], 'uuid': UUID,
             'content': '{"mdev_type": "nvidia-558", "start": "sometimes"}'},
            {'parent': A40_VFS[1], 'uuid': OTHER_UUID,
             'content': '{"mdev_type": "nvidia-558", "start": "auto", '
                        '"attrs": [{"foo": "1"}]}'}]))
        self.assertEqual([('manual', UUID), ('auto', OTHER_UUID)],
                         [(d.start, d.uuid)
                          for d in report.mdev_definitions])

    def test_malformed_files_are_named_and_the_rest_is_read(self):
        bad = {
            'not valid JSON': '{"mdev_type": ',
            'not a JSON object': '["nvidia-558"]',
            '"mdev_type" is missing or not a string':
                '{"mdev_type": 558, "start": "auto"}',
            '"start" is missing': '{"mdev_type": "nvidia-558"}',
            '"attrs" is not a list':
                '{"mdev_type": "nvidia-558", "start": "auto", "attrs": 1}',
            'is not a type name':
                '{"mdev_type": "nvidia 558; rm", "start": "auto"}',
        }
        uuids = ['00000000-0000-4000-8000-%012d' % i
                 for i in range(len(bad))]
        definitions = [{'parent': A40_VFS[0], 'uuid': u, 'content': c}
                       for u, c in zip(uuids, bad.values())]
        definitions += [
            {'parent': A40_VFS[1], 'uuid': UUID, 'mdev_type': 'nvidia-558'},
            {'parent': A40_VFS[1], 'uuid': 'notes.txt', 'content': 'x'},
            {'parent': 'bad parent', 'uuid': OTHER_UUID,
             'mdev_type': 'nvidia-558'},
            {'parent': 'scripts.d/callouts', 'uuid': 'nvidia.sh',
             'content': '#!/bin/sh\n'},
        ]
        report = self.collect(variant_a40(definitions))
        self.assertEqual([UUID], [d.uuid for d in report.mdev_definitions])
        warnings = {w.path: w.message for w in report.warnings}
        for uuid, (why, _) in zip(uuids, bad.items()):
            message = warnings.pop('/etc/mdevctl.d/%s/%s'
                                   % (A40_VFS[0], uuid))
            self.assertIn('malformed mdev definition', message)
            self.assertIn(why, message)
            self.assertIn('remove it by hand', message)
        self.assertIn('not named by a UUID', warnings.pop(
            '/etc/mdevctl.d/%s/notes.txt' % A40_VFS[1]))
        self.assertIn('not a device name', warnings.pop(
            '/etc/mdevctl.d/bad parent'))
        # scripts.d holds callouts (mdevctl < 1.2), not definitions.
        self.assertEqual({}, warnings)
        self.assertEqual(report, model.HostReport.from_json(
            json.loads(json.dumps(report.to_json()))))

    def test_unreadable_definition_is_a_warning(self):
        spec = variant_a40([{'parent': A40_VFS[0], 'uuid': UUID,
                             'mdev_type': 'nvidia-558'}])
        spec['breakage'] = [{'path': 'etc/mdevctl.d/%s/%s'
                             % (A40_VFS[0], UUID), 'op': 'write',
                             'content': b'{"mdev_type": "\xff"}'}]
        report = self.collect(spec)
        self.assertEqual((), report.mdev_definitions)
        self.assertEqual([('/etc/mdevctl.d/%s/%s' % (A40_VFS[0], UUID),
                           'not valid UTF-8 text')],
                         [(w.path, w.message) for w in report.warnings])

    def test_collect_mdev_definitions_alone(self):
        self.collect(fake_sysfs.A40_HOST)
        definitions, warnings = sysfs.collect_mdev_definitions(self.root)
        self.assertEqual(4, len(definitions))
        self.assertEqual((), warnings)


class TestDocument(CollectTestCase):

    def test_key_in_the_document_and_schema(self):
        doc = json.loads(json.dumps(self.collect(
            fake_sysfs.A40_HOST).to_json()))
        self.assertEqual(
            {'uuid', 'parent', 'mdev_type', 'start', 'active',
             'parent_offers_type'}, set(doc['mdev_definitions'][0]))
        schema.Validator(schema.load_schema(
            'host-report.schema.json')).validate(doc)

    def test_report_without_the_key_is_unknown_not_none(self):
        doc = json.loads(json.dumps(self.collect(
            fake_sysfs.A40_HOST).to_json()))
        del doc['mdev_definitions']
        report = model.HostReport.from_json(doc)
        self.assertIsNone(report.mdev_definitions)
        self.assertNotIn('mdev_definitions', report.to_json())

    def test_schema_refuses_bad_definitions(self):
        doc = json.loads(json.dumps(self.collect(
            fake_sysfs.A40_HOST).to_json()))
        validator = schema.Validator(schema.load_schema(
            'host-report.schema.json'))
        for key, value in (('start', 'sometimes'), ('uuid', 'x'),
                           ('parent', 'a b'), ('active', 'yes')):
            broken = json.loads(json.dumps(doc))
            broken['mdev_definitions'][0][key] = value
            self.assertRaises(jsonschema.ValidationError, validator.validate,
                              broken)
            self.assertRaises(model.HostReportError,
                              model.HostReport.from_json, broken)


def a119(found):
    return [f for f in found if f.code == 'VFIO-A119']


class TestAudit(CollectTestCase):

    def snapshot(self):
        b = builders.EstateBuilder()
        b.host('h')
        return b.snapshot()

    def test_legacy_host_is_a_warning(self):
        found = a119(audit.audit(self.snapshot(), host_reports=[
            self.collect(fake_sysfs.A40_HOST)]))
        self.assertEqual([(F.WARNING, 'host h')],
                         [(f.severity, f.subject) for f in found])
        self.assertIn('4 persisted mdev(s), startable today',
                      found[0].message)
        self.assertIn('undefine them before the switch', found[0].message)
        self.assertIn('%s on %s (nvidia-558, active)' % (
            fake_sysfs.mdev_uuid('0000:51:00.0', 0), A40_VFS[0]),
            found[0].message)
        self.assertIn('mdevctl undefine', found[0].remedy)

    def test_converted_host_is_an_error(self):
        found = audit.audit(self.snapshot(), host_reports=[
            self.collect(variant_a40([
                {'parent': A40_VFS[0], 'uuid': UUID,
                 'mdev_type': 'nvidia-558'}]))])
        (finding,) = a119(found)
        self.assertEqual(F.ERROR, finding.severity)
        self.assertIn('1 persisted mdev(s) whose parent no longer offers',
                      finding.message)
        self.assertIn('%s on %s (nvidia-558, inactive)' % (UUID, A40_VFS[0]),
                      finding.message)
        self.assertEqual(F.EXIT_FINDINGS, F.exit_code(found))

    def test_half_converted_host_has_both(self):
        spec = fake_sysfs.preset('a40')
        spec['gpus'][0]['vf_mdevs'] = {
            0: (fake_sysfs.mdev_uuid('0000:51:00.0', 0), 558)}
        spec['mdev_definitions'] = [
            {'parent': A40_VFS[0], 'uuid': fake_sysfs.mdev_uuid(
                '0000:51:00.0', 0), 'mdev_type': 'nvidia-558'},
            {'parent': '0000:99:00.4', 'uuid': UUID,
             'mdev_type': 'nvidia-558'}]
        found = a119(audit.audit(self.snapshot(), host_reports=[
            self.collect(spec)]))
        self.assertEqual([F.ERROR, F.WARNING], [f.severity for f in found])
        self.assertIn(UUID, found[0].message)
        self.assertNotIn(UUID, found[1].message)

    def test_nothing_without_definitions_or_when_unknown(self):
        report = self.collect(fake_sysfs.A10_HOST)
        self.assertEqual([], a119(audit.audit(self.snapshot(),
                                              host_reports=[report])))
        legacy = self.collect(fake_sysfs.A40_HOST)
        doc = legacy.to_json()
        del doc['mdev_definitions']
        old = model.HostReport.from_json(json.loads(json.dumps(doc)))
        self.assertEqual([], a119(audit.audit(self.snapshot(),
                                              host_reports=[old])))


class TestPlan(CollectTestCase):

    def plan(self, report):
        b = builders.PlanEstateBuilder()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU', vfs=8)
        return rules.make_plan(
            b.snapshot(), [report] if report else [],
            options=rules.Options(maps=(('VGPU', 'NVIDIA A40-2Q'),)))

    def legacy_report(self):
        spec = fake_sysfs.preset('a40')
        spec['gpus'][0]['address'] = builders.A40_PF
        spec['gpus'][0]['vf_mdevs'] = {
            i: (fake_sysfs.mdev_uuid(builders.A40_PF, i), 558)
            for i in range(2)}
        self.root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(self.root, spec)
        return sysfs.collect_host_report(self.root, hostname='a40-host',
                                         collected_at='x')

    def test_host_lists_its_definitions(self):
        report = self.legacy_report()
        plan = self.plan(report)
        host = plan.host('a40-host')
        self.assertEqual(
            [(d.uuid, d.parent, d.mdev_type, d.active)
             for d in report.mdev_definitions],
            [(d.uuid, d.parent, d.mdev_type, d.active)
             for d in host.mdev_definitions])
        self.assertEqual(2, len(host.mdev_definitions))
        doc = json.loads(plan.to_json())
        self.assertEqual({'uuid', 'parent', 'mdev_type', 'active'},
                         set(doc['hosts'][0]['mdev_definitions'][0]))
        self.assertEqual(plan, plan_model.Plan.from_dict(doc))

    def test_unknown_without_a_report(self):
        plan = self.plan(None)
        host = plan.host('a40-host')
        self.assertIsNone(host.mdev_definitions)
        doc = json.loads(plan.to_json())
        self.assertIsNone(doc['hosts'][0]['mdev_definitions'])
        # A plan written before the key existed still loads.
        del doc['hosts'][0]['mdev_definitions']
        self.assertIsNone(plan_model.Plan.from_dict(doc).host(
            'a40-host').mdev_definitions)

    def test_schema_refuses_a_bad_entry(self):
        doc = json.loads(self.plan(self.legacy_report()).to_json())
        doc['hosts'][0]['mdev_definitions'][0]['parent'] = '0000:51:00.4 x'
        self.assertRaises(plan_model.PlanError, plan_model.Plan.from_dict,
                          doc)
