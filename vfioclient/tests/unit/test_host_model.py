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

"""The host report document: round trip and validation of bad input."""

import copy
import dataclasses
import json

import fixtures
from oslotest import base

from vfioclient.collect import sysfs
from vfioclient.model import host as model
from vfioclient.sandbox import fakesysfs as fake_sysfs

DOCUMENT_KEYS = {'schema_version', 'kind', 'hostname', 'collected_at',
                 'sysfs_root', 'devices', 'gpus', 'mdev_definitions',
                 'warnings'}
DEVICE_KEYS = {'address', 'vendor_id', 'product_id', 'class',
               'subsystem_vendor_id', 'subsystem_device_id', 'driver',
               'numa_node', 'iommu_group', 'physfn', 'virtfns',
               'sriov_totalvfs', 'sriov_numvfs', 'mdev_supported_types',
               'mdevs', 'creatable_vgpu_types', 'current_vgpu_type',
               'classification'}
GPU_KEYS = {'address', 'model', 'vendor_id', 'product_id', 'vf_count',
            'types_offered', 'types_in_use', 'mode'}


class TestHostReportDocument(base.BaseTestCase):

    def _report(self, preset):
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, fake_sysfs.preset(preset))
        return sysfs.collect_host_report(
            root, hostname='h1', collected_at='2026-01-02T03:04:05Z')

    def _doc(self, preset='a40'):
        return json.loads(json.dumps(self._report(preset).to_json()))

    def test_round_trip_every_preset(self):
        for name in fake_sysfs.PRESETS:
            report = self._report(name)
            text = json.dumps(report.to_json())
            self.assertEqual(report,
                             model.HostReport.from_json(json.loads(text)),
                             name)

    def test_contract_keys(self):
        doc = self._doc('a40')
        self.assertEqual(DOCUMENT_KEYS, set(doc))
        self.assertEqual(model.SCHEMA_VERSION, doc['schema_version'])
        self.assertEqual('vfio-host-report', doc['kind'])
        self.assertEqual('h1', doc['hostname'])
        self.assertEqual('2026-01-02T03:04:05Z', doc['collected_at'])
        for device in doc['devices']:
            self.assertEqual(DEVICE_KEYS, set(device))
        for gpu in doc['gpus']:
            self.assertEqual(GPU_KEYS, set(gpu))
        vf = doc['devices'][1]
        self.assertEqual({'id', 'name', 'description', 'device_api',
                          'available_instances'},
                         set(vf['mdev_supported_types'][0]))

    def test_wrong_schema_version(self):
        doc = self._doc()
        doc['schema_version'] = 99
        e = self.assertRaises(model.HostReportError,
                              model.HostReport.from_json, doc)
        self.assertIn('schema_version 99', str(e))

    def test_wrong_kind(self):
        doc = self._doc()
        doc['kind'] = 'vfio-plan'
        e = self.assertRaises(model.HostReportError, model.from_json, doc)
        self.assertIn('not a host report', str(e))

    def test_truncated_device(self):
        doc = self._doc()
        del doc['devices'][2]['driver']
        e = self.assertRaises(model.HostReportError, model.from_json, doc)
        self.assertIn('devices[2]', str(e))
        self.assertIn("'driver'", str(e))

    def test_missing_top_level_key(self):
        doc = self._doc()
        del doc['gpus']
        e = self.assertRaises(model.HostReportError, model.from_json, doc)
        self.assertIn("'gpus'", str(e))

    def test_hand_edited_values(self):
        cases = [
            (('gpus', 0, 'vf_count'), '32', 'vf_count'),
            (('gpus', 0, 'vf_count'), True, 'vf_count'),
            (('gpus', 0, 'mode'), 'new', 'mode'),
            (('devices', 0, 'address'), '51:00.0', 'address'),
            (('devices', 0, 'product_id'), '0x2235', 'product_id'),
            (('devices', 0, 'classification'), 'variant', 'classification'),
            (('devices', 1, 'virtfns'), ['x'], 'virtfns'),
            (('devices', 1, 'mdevs'), [None], 'mdevs[0]'),
            (('warnings',), 'none', 'warnings'),
        ]
        base_doc = self._doc()
        for path, value, where in cases:
            doc = copy.deepcopy(base_doc)
            target = doc
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            e = self.assertRaises(model.HostReportError, model.from_json,
                                  doc)
            self.assertIn(where, str(e), path)

    def test_not_an_object(self):
        self.assertRaises(model.HostReportError, model.from_json, [])
        self.assertRaises(model.HostReportError, model.from_json, None)

    def test_error_is_a_value_error(self):
        self.assertTrue(issubclass(model.HostReportError, ValueError))

    def test_records_are_immutable(self):
        report = self._report('t4')
        self.assertRaises(dataclasses.FrozenInstanceError, setattr,
                          report, 'hostname', 'x')
        self.assertRaises(dataclasses.FrozenInstanceError, setattr,
                          report.devices[0], 'driver', 'x')
        self.assertIsInstance(report.devices, tuple)

    def test_lookup_helpers(self):
        report = self._report('a40')
        self.assertEqual('0000:51:00.4',
                         report.vfs_of('0000:51:00.0')[0].address)
        self.assertEqual(32, len(report.vfs_of('0000:51:00.0')))
        self.assertIsNone(report.device('0000:99:00.0'))
        self.assertEqual('A40', report.gpu('0000:51:00.0').model)


class TestMdevType(base.BaseTestCase):

    def test_type_number_ignores_prefix(self):
        self.assertEqual(558, model.MdevType(id='nvidia-558').type_number)
        self.assertEqual(575,
                         model.MdevType(id='vfio-pci-575').type_number)
        self.assertIsNone(model.MdevType(id='i915-GVTg').type_number)

    def test_max_instance(self):
        mtype = model.MdevType(
            id='nvidia-742',
            description='num_heads=4, frl_config=45, framebuffer=1024M, '
                        'max_resolution=5120x2880, max_instance=16')
        self.assertEqual(16, mtype.max_instance)
        self.assertIsNone(model.MdevType(id='nvidia-1').max_instance)
        self.assertIsNone(model.MdevType(
            id='nvidia-1', description='max_instance=lots').max_instance)
