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

"""collect.host_summary: classified devices and GPU summaries."""

from oslotest import base

from vfioclient.collect import host_summary
from vfioclient.model import host as model


def device(**kwargs):
    values = dict(address='0000:41:00.4', vendor_id='10de',
                  product_id='2236', pci_class='030200', driver='nvidia')
    values.update(kwargs)
    return model.HostDevice(**values)


class TestBuildReport(base.BaseTestCase):

    def test_build_report_sorts_and_summarises(self):
        pf = device(address='0000:41:00.0', sriov_totalvfs=32,
                    sriov_numvfs=2, virtfns=('0000:41:00.4', '0000:41:00.5'))
        vfs = [device(address='0000:41:00.5', physfn=pf.address,
                      current_vgpu_type=0,
                      creatable_vgpu_types=(model.VgpuType(593, 'N A10-4Q'),)),
               device(address='0000:41:00.4', physfn=pf.address,
                      current_vgpu_type=593, creatable_vgpu_types=())]
        report = host_summary.build_report(vfs + [pf], [], 'h', 't', '/')
        self.assertEqual(['0000:41:00.0', '0000:41:00.4', '0000:41:00.5'],
                         [d.address for d in report.devices])
        gpu = report.gpus[0]
        self.assertEqual((2, model.VARIANT_VF), (gpu.vf_count, gpu.mode))
        self.assertEqual([(593, 'N A10-4Q', 1)],
                         [(u.id, u.name, u.count) for u in gpu.types_in_use])
        self.assertEqual('A10', gpu.model)

    def test_in_use_name_falls_back_on_the_profile_table(self):
        pf = device(address='0000:41:00.0', product_id='2235')
        vf = device(address='0000:41:00.4', physfn=pf.address,
                    product_id='2235', current_vgpu_type=558,
                    creatable_vgpu_types=())
        report = host_summary.build_report([pf, vf], [], 'h', 't', '/')
        self.assertEqual([(558, 'NVIDIA A40-2Q', 1)],
                         [(u.id, u.name, u.count)
                          for u in report.gpus[0].types_in_use])

    def test_orphan_vf_is_summarised_under_its_physfn(self):
        vf = device(address='0000:41:00.4', physfn='0000:41:00.0',
                    mdev_supported_types=(model.MdevType('nvidia-597'),))
        report = host_summary.build_report([vf], [], 'h', 't', '/')
        self.assertEqual(['0000:41:00.0'], [g.address for g in report.gpus])
        self.assertEqual(model.LEGACY_MDEV_VF, report.gpus[0].mode)
