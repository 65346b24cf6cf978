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

"""NVIDIA knowledge: creatable list parsing, type names, classification."""

from oslotest import base

from vfioclient.model import host as model
from vfioclient.nvidia import classify
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles
from vfioclient.nvidia import vgpu_types

# Shape of a real host capture (harvester/pcidevices testdata, L40S VF).
L40S_CAPTURE = ('ID    : vGPU Name\n'
                '1145  : NVIDIA L40S-1B\n'
                '1155  : NVIDIA L40S-24Q\n'
                '2164  : NVIDIA L40S-3B\n')


def device(**kwargs):
    values = dict(address='0000:41:00.4', vendor_id='10de',
                  product_id='2236', pci_class='030200', driver='nvidia')
    values.update(kwargs)
    return model.HostDevice(**values)


class TestParseCreatable(base.BaseTestCase):

    def test_capture(self):
        types, bad = vgpu_types.parse_creatable_vgpu_types(L40S_CAPTURE)
        self.assertEqual([(1145, 'NVIDIA L40S-1B'), (1155, 'NVIDIA L40S-24Q'),
                          (2164, 'NVIDIA L40S-3B')],
                         [(t.id, t.name) for t in types])
        self.assertEqual((), bad)

    def test_header_only_and_empty_mean_full_gpu(self):
        self.assertEqual(((), ()), vgpu_types.parse_creatable_vgpu_types(
            'ID    : vGPU Name\n'))
        self.assertEqual(((), ()), vgpu_types.parse_creatable_vgpu_types(''))
        self.assertEqual(((), ()), vgpu_types.parse_creatable_vgpu_types(None))

    def test_no_trailing_newline_and_no_header(self):
        types, _ = vgpu_types.parse_creatable_vgpu_types(
            '941   : NVIDIA RTX6000-Ada-1Q')
        self.assertEqual([(941, 'NVIDIA RTX6000-Ada-1Q')],
                         [(t.id, t.name) for t in types])

    def test_garbage_lines_are_reported_not_parsed(self):
        types, bad = vgpu_types.parse_creatable_vgpu_types(
            'ID : vGPU Name\n\n  \nxyz : abc\n12 NVIDIA A10-1B\n'
            '588 : NVIDIA A10-1B\n588 : NVIDIA A10-1B\n')
        self.assertEqual([588], [t.id for t in types])
        self.assertEqual(('xyz : abc', '12 NVIDIA A10-1B'), bad)


class TestTypes(base.BaseTestCase):

    types = (model.VgpuType(1145, 'NVIDIA L40S-1B'),
             model.VgpuType(1148, 'NVIDIA L40S-2Q'),
             model.VgpuType(468, 'GRID A100-4C'))

    def test_match_by_id(self):
        match = vgpu_types.match_vgpu_type
        self.assertEqual(1148, match('1148', self.types).id)
        self.assertEqual(1148, match('nvidia-1148', self.types).id)
        self.assertIsNone(vgpu_types.match_vgpu_type('1149', self.types))

    def test_match_by_name(self):
        self.assertEqual(1148, vgpu_types.match_vgpu_type(
            'NVIDIA L40S-2Q', self.types).id)
        self.assertEqual(1148, vgpu_types.match_vgpu_type(
            'nvidia  l40s-2q', self.types).id)
        self.assertEqual(1148, vgpu_types.match_vgpu_type(
            'L40S-2Q', self.types).id)
        # GRID prefix renamed to NVIDIA in later drivers.
        self.assertEqual(468, vgpu_types.match_vgpu_type(
            'NVIDIA A100-4C', self.types).id)
        self.assertIsNone(vgpu_types.match_vgpu_type('L40S-48Q', self.types))

    def test_ambiguous_name(self):
        types = self.types + (model.VgpuType(9, 'GRID L40S-2Q'),)
        self.assertRaises(ValueError, vgpu_types.match_vgpu_type,
                          'L40S-2Q', types)

    def test_validate_type_spec(self):
        self.assertEqual('NVIDIA A10-4Q',
                         vgpu_types.validate_type_spec(' NVIDIA A10-4Q '))
        self.assertEqual('GRID A100D-1-10C',
                         vgpu_types.validate_type_spec('GRID A100D-1-10C'))
        for hostile in ('$(touch /tmp/x)', "x'; rm -rf /", 'a`id`', 'a;b',
                        'a\nb', '', 'a"b', 'x' * 100, '-rf'):
            self.assertRaises(ValueError, vgpu_types.validate_type_spec,
                              hostile)

    def test_type_spec_number(self):
        self.assertEqual(597, vgpu_types.type_spec_number('597'))
        self.assertEqual(597, vgpu_types.type_spec_number('nvidia-597'))
        self.assertIsNone(vgpu_types.type_spec_number('NVIDIA A10-24Q'))


class TestClassify(base.BaseTestCase):

    def test_decision_table(self):
        pf = '0000:41:00.0'
        cases = [
            (device(physfn=pf, current_vgpu_type=0), model.VARIANT_VF),
            (device(physfn=pf, creatable_vgpu_types=()), model.VARIANT_VF),
            (device(physfn=pf, mdev_supported_types=(
                model.MdevType('nvidia-558'),)), model.LEGACY_MDEV_VF),
            (device(address=pf, mdev_supported_types=(
                model.MdevType('nvidia-230'),)), model.LEGACY_MDEV_PF),
            # An mdev parent bound to vfio-pci is still an mdev parent.
            (device(physfn=pf, driver='vfio-pci', mdev_supported_types=(
                model.MdevType('vfio-pci-575'),)), model.LEGACY_MDEV_VF),
            (device(address=pf, driver='vfio-pci'), model.VFIO_PASSTHROUGH),
            (device(address=pf, driver='nvgrace_gpu_vfio_pci'),
             model.VFIO_PASSTHROUGH),
            (device(address=pf, sriov_totalvfs=32, sriov_numvfs=0),
             model.UNCONFIGURED),
            (device(physfn=pf), model.UNCONFIGURED),
            (device(address=pf, driver=None), model.UNCONFIGURED),
        ]
        for dev, expected in cases:
            self.assertEqual(expected, classify.classify_device(dev), dev)

    def test_gpu_mode(self):
        self.assertEqual(model.UNCONFIGURED, classify.gpu_mode([]))
        self.assertEqual(model.VARIANT_VF, classify.gpu_mode(
            [model.UNCONFIGURED, model.VARIANT_VF, model.VARIANT_VF]))
        self.assertEqual(model.MIXED, classify.gpu_mode(
            [model.LEGACY_MDEV_VF, model.VARIANT_VF]))

    def test_gpu_model(self):
        self.assertEqual('A40', pci_ids.gpu_model('2235'))
        self.assertEqual('RTX6000-ADA', pci_ids.gpu_model(
            'ffff', ['NVIDIA RTX6000-Ada-1Q']))
        self.assertEqual('10de:ffff', pci_ids.gpu_model('ffff'))


class TestOneRuleEach(base.BaseTestCase):
    """The rules that used to have several copies now have one."""

    def test_vendor_id(self):
        self.assertEqual('10de', pci_ids.VENDOR_ID)
        self.assertEqual('10de:ffff', pci_ids.gpu_model('ffff'))

    def test_short_name(self):
        self.assertEqual('A40-2Q', vgpu_types.short_name(' NVIDIA A40-2Q '))
        self.assertEqual('A100-4C', vgpu_types.short_name('GRID A100-4C'))
        self.assertEqual('L40S-2Q', vgpu_types.short_name('L40S-2Q'))
        for empty in ('', '   ', None):
            self.assertEqual('', vgpu_types.short_name(empty))

    def test_type_name_matches_across_prefixes(self):
        self.assertTrue(vgpu_types.type_name_matches('GRID A100-4C',
                                                     'NVIDIA A100-4C'))
        self.assertTrue(vgpu_types.type_name_matches('nvidia  a40-2q',
                                                     'NVIDIA A40-2Q'))
        self.assertFalse(vgpu_types.type_name_matches('A40-2Q',
                                                      'NVIDIA A40-4Q'))
        self.assertFalse(vgpu_types.type_name_matches('A40-2Q', None))

    def test_creatable_entries_are_plain_records(self):
        types, _ = vgpu_types.parse_creatable_vgpu_types('588 : NVIDIA A10-1B')
        self.assertEqual((vgpu_types.CreatableType(588, 'NVIDIA A10-1B'),),
                         types)

    def test_profile_lookup_uses_type_spec_number(self):
        self.assertEqual(558, profiles.lookup(' nvidia-558 ').type_id)
        self.assertEqual(558, profiles.lookup('558').type_id)
        self.assertIsNone(profiles.lookup('nvidia-1'))
        self.assertEqual('NVIDIA A40-2Q', profiles.known_type_name(558))
        self.assertIsNone(profiles.known_type_name(1))

    def test_profile_by_name_ignores_prefix_and_case(self):
        self.assertEqual(468, profiles.by_name('nvidia a100-4c').type_id)
        self.assertEqual('A100', profiles.board_of_profile('GRID A100-4C'))

    def test_pf_only_products_are_known_boards(self):
        self.assertEqual({'T4', 'V100', 'V100S'},
                         {pci_ids.GPU_MODELS[p]
                          for p in pci_ids.PF_ONLY_VGPU_PRODUCTS})
        for product in pci_ids.PF_ONLY_VGPU_PRODUCTS:
            board = profiles.board_of_product(product)
            self.assertTrue(board is None or board.pf_only, product)

    def test_classifications_are_the_report_vocabulary(self):
        self.assertEqual(model.CLASSIFICATIONS, classify.CLASSIFICATIONS)
        self.assertEqual(model.MIXED, classify.GPU_MODES[-1])
