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

"""Reading fake sysfs trees of real-looking hosts into host reports."""

import builtins
import os

import fixtures
from oslotest import base

from vfioclient.collect import sysfs
from vfioclient.model import host as model
from vfioclient.sandbox import fakesysfs as fake_sysfs


class CollectTestCase(base.BaseTestCase):

    def collect(self, spec):
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, spec)
        self.root = root
        return sysfs.collect_host_report(root, hostname='h')


class TestPresets(CollectTestCase):

    def test_t4_mdev_on_pf(self):
        report = self.collect(fake_sysfs.T4_HOST)
        self.assertEqual(['0000:3b:00.0'],
                         [d.address for d in report.devices])
        pf = report.devices[0]
        self.assertEqual(model.LEGACY_MDEV_PF, pf.classification)
        self.assertEqual(('1eb8', '030200', 'nvidia'),
                         (pf.product_id, pf.pci_class, pf.driver))
        # The T4 advertises SR-IOV that vGPU does not use.
        self.assertEqual((16, 0), (pf.sriov_totalvfs, pf.sriov_numvfs))
        self.assertEqual(['nvidia-230'] * 2, [m.type for m in pf.mdevs])
        t230 = [t for t in pf.mdev_supported_types if t.id == 'nvidia-230']
        self.assertEqual(('GRID T4-1Q', 14, 'vfio-pci'),
                         (t230[0].name, t230[0].available_instances,
                          t230[0].device_api))
        gpu = report.gpus[0]
        self.assertEqual(('T4', model.LEGACY_MDEV_PF, 0),
                         (gpu.model, gpu.mode, gpu.vf_count))
        self.assertEqual([(230, 'GRID T4-1Q', 2)],
                         [(u.id, u.name, u.count) for u in gpu.types_in_use])
        self.assertEqual([230, 234, 319, 321],
                         [t.id for t in gpu.types_offered])
        self.assertEqual((), report.warnings)

    def test_a40_legacy_mdevs_on_vfs(self):
        report = self.collect(fake_sysfs.A40_HOST)
        self.assertEqual(33, len(report.devices))
        pf = report.device('0000:51:00.0')
        self.assertEqual(model.UNCONFIGURED, pf.classification)
        self.assertEqual(32, len(pf.virtfns))
        self.assertEqual(('0000:51:00.4', '0000:51:04.3'),
                         (pf.virtfns[0], pf.virtfns[-1]))
        vf0 = report.device('0000:51:00.4')
        self.assertEqual(model.LEGACY_MDEV_VF, vf0.classification)
        self.assertEqual('0000:51:00.0', vf0.physfn)
        self.assertEqual('nvidia-558', vf0.mdevs[0].type)
        self.assertEqual({0}, {t.available_instances
                               for t in vf0.mdev_supported_types})
        free = report.device('0000:51:01.0')
        self.assertEqual((), free.mdevs)
        self.assertIsNone(free.creatable_vgpu_types)
        gpu = report.gpus[0]
        self.assertEqual(model.LEGACY_MDEV_VF, gpu.mode)
        self.assertEqual([(558, 'NVIDIA A40-2Q', 4)],
                         [(u.id, u.name, u.count) for u in gpu.types_in_use])

    def test_a10_variant_vfs(self):
        report = self.collect(fake_sysfs.A10_HOST)
        vf0 = report.device('0000:41:00.4')
        self.assertEqual(model.VARIANT_VF, vf0.classification)
        self.assertEqual(593, vf0.current_vgpu_type)
        self.assertEqual((model.VgpuType(593, 'NVIDIA A10-4Q'),),
                         vf0.creatable_vgpu_types)
        unset = report.device('0000:41:01.0')
        self.assertEqual((model.VARIANT_VF, 0),
                         (unset.classification, unset.current_vgpu_type))
        full_gpu = report.gpu('0000:c1:00.0')
        # Full GPU: empty creatable list, name from the static table.
        self.assertEqual((), report.device('0000:c1:00.5')
                         .creatable_vgpu_types)
        self.assertEqual([(597, 'NVIDIA A10-24Q', 1)],
                         [(u.id, u.name, u.count)
                          for u in full_gpu.types_in_use])
        self.assertEqual((), full_gpu.types_offered)
        self.assertEqual([model.VARIANT_VF] * 2,
                         [g.mode for g in report.gpus])

    def test_l40s_half_converted(self):
        report = self.collect(fake_sysfs.L40S_HOST)
        done, todo = report.gpus
        self.assertEqual(('L40S', model.VARIANT_VF, 16),
                         (done.model, done.mode, done.vf_count))
        self.assertEqual([(1148, 8)],
                         [(u.id, u.count) for u in done.types_in_use])
        self.assertEqual((model.UNCONFIGURED, 0, ()),
                         (todo.mode, todo.vf_count, todo.types_in_use))

    def test_no_nvidia(self):
        report = self.collect(fake_sysfs.NO_NVIDIA_HOST)
        self.assertEqual(((), (), ()),
                         (report.devices, report.gpus, report.warnings))

    def test_other_vendors_and_audio_functions_are_ignored(self):
        spec = fake_sysfs.preset('a40')
        spec['gpus'][0]['audio'] = True
        report = self.collect(spec)
        self.assertNotIn('0000:51:00.1', [d.address for d in report.devices])
        self.assertNotIn('0000:03:00.0', [d.address for d in report.devices])
        self.assertTrue(os.path.isdir(os.path.join(
            self.root, 'sys/bus/pci/devices/0000:51:00.1')))

    def test_vfio_passthrough(self):
        spec = {'gpus': [{'address': '0000:65:00.0', 'product_id': '2236',
                          'driver': 'vfio-pci', 'sriov_totalvfs': 32}]}
        report = self.collect(spec)
        self.assertEqual(model.VFIO_PASSTHROUGH,
                         report.devices[0].classification)
        self.assertEqual(model.VFIO_PASSTHROUGH, report.gpus[0].mode)

    def test_mdev_type_dir_with_other_driver_prefix(self):
        spec = fake_sysfs.preset('a40')
        spec['gpus'][0]['mdev_type_prefix'] = 'vfio-pci'
        report = self.collect(spec)
        vf0 = report.device('0000:51:00.4')
        self.assertEqual('vfio-pci-558', vf0.mdevs[0].type)
        self.assertEqual([558], [u.id for u in report.gpus[0].types_in_use])

    def test_header_fields(self):
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, fake_sysfs.T4_HOST)
        report = sysfs.collect_host_report(root, hostname='c1',
                                           collected_at='2026-01-01T00:00Z')
        self.assertEqual(('c1', '2026-01-01T00:00Z', root),
                         (report.hostname, report.collected_at,
                          report.sysfs_root))
        self.assertRegex(sysfs.utc_now(),
                         r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')


class TestBrokenInput(CollectTestCase):

    def warnings_by_path(self, report):
        return {w.path: w.message for w in report.warnings}

    def test_broken_tree_never_raises_and_names_paths(self):
        report = self.collect(fake_sysfs.BROKEN_HOST)
        warnings = self.warnings_by_path(report)
        dev = '/sys/bus/pci/devices/'
        expected = {
            dev + '0000:41:00.5/nvidia/creatable_vgpu_types': 'unparsable',
            dev + '0000:41:00.6/nvidia/current_vgpu_type': 'not a decimal',
            dev + '0000:41:00.7/nvidia/current_vgpu_type': 'cannot read',
            dev + '0000:41:00.0/sriov_numvfs': 'not a decimal',
            dev + '0000:41:00.0/virtfn4': 'dangling',
            dev + '0000:42:00.0': 'dangling',
            '/sys/bus/mdev/devices/00000000-0000-0000-0000-00000000dead':
                'dangling',
            dev + '0000:41:00.4/numa_node': 'UTF-8',
        }
        for path, text in expected.items():
            self.assertIn(path, warnings)
            self.assertIn(text, warnings[path])
        self.assertEqual(len(expected), len(report.warnings))

    def test_broken_values_degrade_to_null(self):
        report = self.collect(fake_sysfs.BROKEN_HOST)
        garbled = report.device('0000:41:00.5')
        # No valid entry survives ("593 NVIDIA A10-4Q" has no colon).
        self.assertEqual((), garbled.creatable_vgpu_types)
        self.assertEqual(model.VARIANT_VF, garbled.classification)
        empty = report.device('0000:41:00.6')
        self.assertEqual(((), None), (empty.creatable_vgpu_types,
                                      empty.current_vgpu_type))
        # The nvidia/ directory is there, so it is still a variant VF.
        self.assertEqual(model.VARIANT_VF, empty.classification)
        self.assertIsNone(report.device('0000:41:00.7').current_vgpu_type)
        self.assertIsNone(report.device('0000:41:00.4').numa_node)
        pf = report.device('0000:41:00.0')
        self.assertIsNone(pf.sriov_numvfs)
        # The count falls back to the VFs actually found.
        self.assertEqual(4, report.gpus[0].vf_count)
        self.assertEqual(1, report.gpus[0].types_in_use[0].count)

    def test_permission_denied(self):
        target = 'nvidia/creatable_vgpu_types'
        real_open = builtins.open
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, fake_sysfs.L40S_HOST)

        def deny(path, *args, **kwargs):
            if str(path).endswith('0000:01:00.4/' + target):
                raise PermissionError(13, 'Permission denied')
            return real_open(path, *args, **kwargs)

        self.useFixture(fixtures.MonkeyPatch('builtins.open', deny))
        report = sysfs.collect_host_report(root, hostname='h')
        self.assertEqual(
            {'/sys/bus/pci/devices/0000:01:00.4/' + target:
             'permission denied'},
            self.warnings_by_path(report))
        self.assertEqual((), report.device('0000:01:00.4')
                         .creatable_vgpu_types)

    def test_missing_required_file(self):
        spec = fake_sysfs.preset('l40s')
        spec['breakage'] = [{'path': 'sys/bus/pci/devices/0000:01:00.5/'
                                     'nvidia/current_vgpu_type',
                             'op': 'remove'},
                            {'path': 'sys/bus/pci/devices/0000:01:00.0/'
                                     'device', 'op': 'write',
                             'content': 'zz\n'}]
        report = self.collect(spec)
        warnings = self.warnings_by_path(report)
        self.assertEqual(
            'missing', warnings['/sys/bus/pci/devices/0000:01:00.5/'
                                'nvidia/current_vgpu_type'])
        self.assertIn('hex id',
                      warnings['/sys/bus/pci/devices/0000:01:00.0/device'])
        # The PF was skipped; its VFs are still summarised under it.
        self.assertIsNone(report.device('0000:01:00.0'))
        self.assertIn('0000:01:00.0', [g.address for g in report.gpus])

    def test_no_sysfs_at_all(self):
        root = self.useFixture(fixtures.TempDir()).path
        report = sysfs.collect_host_report(root, hostname='h')
        self.assertEqual((), report.devices)
        self.assertEqual(['/sys/bus/pci/devices'],
                         [w.path for w in report.warnings])
