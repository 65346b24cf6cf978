"""Pure host rules: creatable list parsing, types, classification."""

from oslotest import base

from vfioclient.model import host as model
from vfioclient.rules import host as rules

# Shape of the real capture in the sheet (section 3.2).
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
        types, bad = rules.parse_creatable_vgpu_types(L40S_CAPTURE)
        self.assertEqual([(1145, 'NVIDIA L40S-1B'), (1155, 'NVIDIA L40S-24Q'),
                          (2164, 'NVIDIA L40S-3B')],
                         [(t.id, t.name) for t in types])
        self.assertEqual((), bad)

    def test_header_only_and_empty_mean_full_gpu(self):
        self.assertEqual(((), ()), rules.parse_creatable_vgpu_types(
            'ID    : vGPU Name\n'))
        self.assertEqual(((), ()), rules.parse_creatable_vgpu_types(''))
        self.assertEqual(((), ()), rules.parse_creatable_vgpu_types(None))

    def test_no_trailing_newline_and_no_header(self):
        types, _ = rules.parse_creatable_vgpu_types(
            '941   : NVIDIA RTX6000-Ada-1Q')
        self.assertEqual([(941, 'NVIDIA RTX6000-Ada-1Q')],
                         [(t.id, t.name) for t in types])

    def test_garbage_lines_are_reported_not_parsed(self):
        types, bad = rules.parse_creatable_vgpu_types(
            'ID : vGPU Name\n\n  \nxyz : abc\n12 NVIDIA A10-1B\n'
            '588 : NVIDIA A10-1B\n588 : NVIDIA A10-1B\n')
        self.assertEqual([588], [t.id for t in types])
        self.assertEqual(('xyz : abc', '12 NVIDIA A10-1B'), bad)


class TestTypes(base.BaseTestCase):

    types = (model.VgpuType(1145, 'NVIDIA L40S-1B'),
             model.VgpuType(1148, 'NVIDIA L40S-2Q'),
             model.VgpuType(468, 'GRID A100-4C'))

    def test_match_by_id(self):
        self.assertEqual(1148, rules.match_vgpu_type('1148', self.types).id)
        self.assertEqual(1148,
                         rules.match_vgpu_type('nvidia-1148', self.types).id)
        self.assertIsNone(rules.match_vgpu_type('1149', self.types))

    def test_match_by_name(self):
        self.assertEqual(1148, rules.match_vgpu_type(
            'NVIDIA L40S-2Q', self.types).id)
        self.assertEqual(1148, rules.match_vgpu_type(
            'nvidia  l40s-2q', self.types).id)
        self.assertEqual(1148, rules.match_vgpu_type('L40S-2Q',
                                                     self.types).id)
        # GRID prefix renamed to NVIDIA in later drivers.
        self.assertEqual(468, rules.match_vgpu_type('NVIDIA A100-4C',
                                                    self.types).id)
        self.assertIsNone(rules.match_vgpu_type('L40S-48Q', self.types))

    def test_ambiguous_name(self):
        types = self.types + (model.VgpuType(9, 'GRID L40S-2Q'),)
        self.assertRaises(ValueError, rules.match_vgpu_type, 'L40S-2Q',
                          types)

    def test_validate_type_spec(self):
        self.assertEqual('NVIDIA A10-4Q',
                         rules.validate_type_spec(' NVIDIA A10-4Q '))
        self.assertEqual('GRID A100D-1-10C',
                         rules.validate_type_spec('GRID A100D-1-10C'))
        for hostile in ('$(touch /tmp/x)', "x'; rm -rf /", 'a`id`', 'a;b',
                        'a\nb', '', 'a"b', 'x' * 100, '-rf'):
            self.assertRaises(ValueError, rules.validate_type_spec, hostile)

    def test_type_spec_number(self):
        self.assertEqual(597, rules.type_spec_number('597'))
        self.assertEqual(597, rules.type_spec_number('nvidia-597'))
        self.assertIsNone(rules.type_spec_number('NVIDIA A10-24Q'))

    def test_normalize_pci_address(self):
        self.assertEqual('0000:41:00.0',
                         rules.normalize_pci_address('41:00.0'))
        self.assertEqual('0000:c1:00.0',
                         rules.normalize_pci_address('0000:C1:00.0'))
        for bad in ('41:00.8', '0000:41:00', "0000:41:00.0'; id",
                    '0000:41:00.0 0000:42:00.0', None):
            self.assertRaises(ValueError, rules.normalize_pci_address, bad)


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
            self.assertEqual(expected, rules.classify_device(dev), dev)

    def test_gpu_mode(self):
        self.assertEqual(model.UNCONFIGURED, rules.gpu_mode([]))
        self.assertEqual(model.VARIANT_VF, rules.gpu_mode(
            [model.UNCONFIGURED, model.VARIANT_VF, model.VARIANT_VF]))
        self.assertEqual(model.MIXED, rules.gpu_mode(
            [model.LEGACY_MDEV_VF, model.VARIANT_VF]))

    def test_gpu_model(self):
        self.assertEqual('A40', rules.gpu_model('2235'))
        self.assertEqual('RTX6000-ADA', rules.gpu_model(
            'ffff', ['NVIDIA RTX6000-Ada-1Q']))
        self.assertEqual('10de:ffff', rules.gpu_model('ffff'))

    def test_build_report_sorts_and_summarises(self):
        pf = device(address='0000:41:00.0', sriov_totalvfs=32,
                    sriov_numvfs=2, virtfns=('0000:41:00.4', '0000:41:00.5'))
        vfs = [device(address='0000:41:00.5', physfn=pf.address,
                      current_vgpu_type=0,
                      creatable_vgpu_types=(model.VgpuType(593, 'N A10-4Q'),)),
               device(address='0000:41:00.4', physfn=pf.address,
                      current_vgpu_type=593, creatable_vgpu_types=())]
        report = rules.build_report(vfs + [pf], [], 'h', 't', '/')
        self.assertEqual(['0000:41:00.0', '0000:41:00.4', '0000:41:00.5'],
                         [d.address for d in report.devices])
        gpu = report.gpus[0]
        self.assertEqual((2, model.VARIANT_VF), (gpu.vf_count, gpu.mode))
        self.assertEqual([(593, 'N A10-4Q', 1)],
                         [(u.id, u.name, u.count) for u in gpu.types_in_use])
