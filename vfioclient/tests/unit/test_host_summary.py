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

"""collect.hostscan: classified devices and GPU summaries."""

from oslotest import base

from vfioclient.collect import hostscan
from vfioclient.model import host as model


def device(**kwargs):
    """A device of the report as the collector reads it (unclassified)."""
    values = {'address': '0000:41:00.4', 'vendor_id': '10de',
              'product_id': '2236', 'class': '030200',
              'subsystem_vendor_id': None, 'subsystem_device_id': None,
              'driver': 'nvidia', 'numa_node': None, 'iommu_group': None,
              'physfn': None, 'virtfns': [], 'sriov_totalvfs': None,
              'sriov_numvfs': None, 'mdev_supported_types': [],
              'mdevs': [], 'creatable_vgpu_types': None,
              'current_vgpu_type': None,
              'classification': model.UNCONFIGURED}
    values.update(kwargs)
    return values


def summarise(devices):
    classified = hostscan.classify_devices(devices)
    return classified, hostscan.summarize_gpus(classified)


class TestSummaries(base.BaseTestCase):

    def test_devices_are_sorted_and_summarised(self):
        pf = device(address='0000:41:00.0', sriov_totalvfs=32,
                    sriov_numvfs=2, virtfns=['0000:41:00.4', '0000:41:00.5'])
        vfs = [device(address='0000:41:00.5', physfn=pf['address'],
                      current_vgpu_type=0,
                      creatable_vgpu_types=[{'id': 593,
                                             'name': 'N A10-4Q'}]),
               device(address='0000:41:00.4', physfn=pf['address'],
                      current_vgpu_type=593, creatable_vgpu_types=[])]
        devices, (gpu,) = summarise(vfs + [pf])
        self.assertEqual(['0000:41:00.0', '0000:41:00.4', '0000:41:00.5'],
                         [d['address'] for d in devices])
        self.assertEqual([model.UNCONFIGURED, model.VARIANT_VF,
                          model.VARIANT_VF],
                         [d['classification'] for d in devices])
        self.assertEqual((2, model.VARIANT_VF), (gpu['vf_count'],
                                                 gpu['mode']))
        self.assertEqual([{'id': 593, 'name': 'N A10-4Q', 'count': 1}],
                         gpu['types_in_use'])
        self.assertEqual('A10', gpu['model'])

    def test_in_use_name_falls_back_on_the_profile_table(self):
        pf = device(address='0000:41:00.0', product_id='2235')
        vf = device(address='0000:41:00.4', physfn=pf['address'],
                    product_id='2235', current_vgpu_type=558,
                    creatable_vgpu_types=[])
        _devices, (gpu,) = summarise([pf, vf])
        self.assertEqual([{'id': 558, 'name': 'NVIDIA A40-2Q', 'count': 1}],
                         gpu['types_in_use'])

    def test_orphan_vf_is_summarised_under_its_physfn(self):
        vf = device(address='0000:41:00.4', physfn='0000:41:00.0',
                    mdev_supported_types=[{
                        'id': 'nvidia-597', 'name': None,
                        'description': None, 'device_api': None,
                        'available_instances': 1}])
        _devices, gpus = summarise([vf])
        self.assertEqual(['0000:41:00.0'], [g['address'] for g in gpus])
        self.assertEqual(model.LEGACY_MDEV_VF, gpus[0]['mode'])
        self.assertEqual(1, gpus[0]['vf_count'])

    def test_subsystem_tells_a16_from_a2(self):
        pf = device(address='0000:41:00.0', product_id='25b6',
                    subsystem_vendor_id='10de', subsystem_device_id='157e')
        _devices, (gpu,) = summarise([pf])
        self.assertEqual('A2', gpu['model'])
        pf['subsystem_device_id'] = None
        _devices, (gpu,) = summarise([pf])
        self.assertEqual('A16/A2', gpu['model'])
