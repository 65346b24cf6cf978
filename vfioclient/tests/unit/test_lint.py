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

"""Config lint rules (vfioclient.rules.lint)."""

import dataclasses
import json

import testtools

from vfioclient.model import conf as model
from vfioclient.model import host as host_model
from vfioclient.nova import releases
from vfioclient.rules import findings
from vfioclient.rules import lint


def snapshot(specs=(), aliases=(), rip=False, pip=False, **kw):
    def entries(texts, option):
        return tuple(model.ConfEntry(t, n, model.Source(
            'nova.conf', n, 'pci', option)) for n, t in enumerate(texts, 1))
    return model.ConfSnapshot(
        files=('nova.conf',), device_specs=entries(specs, 'device_spec'),
        aliases=entries(aliases, 'alias'), report_in_placement=rip,
        pci_in_placement=pip, **kw)


def codes(found):
    return sorted(f.code for f in found)


def by_code(found, code):
    return [f for f in found if f.code == code]


VF_SPEC = ('{"vendor_id": "10de", "product_id": "25b6", '
           '"address": "0000:25:00.4", "managed": "no", '
           '"resource_class": "CUSTOM_A16_16A"}')


class TestDeviceSpecLint(testtools.TestCase):

    def test_clean(self):
        self.assertEqual([], lint.lint(snapshot([VF_SPEC], rip=True)))

    def test_unquoted_key_with_repair(self):
        found = lint.lint(snapshot([
            '{ "vendor_id": "10de", "address": "0000:25:00.4", '
            'managed: "no" }']))
        (f,) = by_code(found, 'VFIO-C101')
        self.assertEqual(findings.ERROR, f.severity)
        self.assertIn('managed: "no"', f.message)
        self.assertIn('unquoted key(s) managed', f.message)
        self.assertEqual('device_spec = {"vendor_id": "10de", "address": '
                         '"0000:25:00.4", "managed": "no"}', f.remedy)
        self.assertEqual('nova.conf:1 [pci] device_spec #1', f.subject)

    def test_single_quotes_repaired(self):
        (f,) = lint.lint(snapshot(["{'vendor_id': '8086', 'managed': True}"]))
        self.assertEqual('VFIO-C101', f.code)
        self.assertEqual('device_spec = {"vendor_id": "8086", '
                         '"managed": true}', f.remedy)

    def test_bad_managed_value(self):
        (f,) = lint.lint(snapshot(['{"managed": "maybe"}']))
        self.assertEqual('VFIO-C104', f.code)
        self.assertIn("Cannot parse tag 'managed': Unrecognized value "
                      "'maybe'", f.message)
        self.assertIn('"managed": "no"', f.remedy)

    def test_field_errors(self):
        found = lint.lint(snapshot(['{"vendor_id": "zz"}',
                                    '{"address": "0000:00:20.0"}',
                                    '[1]', '{"one_time_use": "yes"}']),
                          release=releases.get('2026.1'))
        self.assertEqual(['VFIO-C102', 'VFIO-C103', 'VFIO-C103',
                          'VFIO-C105'], codes(found))

    def test_custom_rc_rejected_by_placement(self):
        spec = '{"vendor_id": "10de", "resource_class": "custom_a16-16a"}'
        (f,) = lint.lint(snapshot([spec], rip=True))
        self.assertEqual('VFIO-C107', f.code)
        self.assertIn('CUSTOM_A16-16A', f.message)
        self.assertIn('"resource_class": "CUSTOM_A16_16A"', f.remedy)
        # Without PCI in Placement it is only a warning.
        (f,) = lint.lint(snapshot([spec]))
        self.assertEqual(('VFIO-C161', 'warning'), (f.code, f.severity))

    def test_physical_network_skips_placement(self):
        spec = ('{"vendor_id": "8086", "physical_network": "net1", '
                '"resource_class": "custom_a-b"}')
        self.assertEqual([], lint.lint(snapshot([spec], rip=True)))

    def test_traits_with_spaces(self):
        spec = '{"vendor_id": "10de", "traits": "blue, big"}'
        (f,) = lint.lint(snapshot([spec], rip=True))
        self.assertEqual('VFIO-C153', f.code)
        self.assertIn('CUSTOM_BLUE, CUSTOM__BIG', f.message)
        self.assertIn('"traits": "blue,big"', f.remedy)

    def test_trait_rejected(self):
        spec = '{"vendor_id": "10de", "traits": "custom_foo-bar"}'
        self.assertEqual(['VFIO-C108'],
                         codes(lint.lint(snapshot([spec], rip=True))))

    def test_devname_with_placement(self):
        self.assertEqual(['VFIO-C106'], codes(lint.lint(snapshot(
            ['{"devname": "eth0"}'], rip=True))))

    def test_overlap(self):
        found = lint.lint(snapshot([
            '{"vendor_id": "10de", "managed": "no"}',
            '{"vendor_id": "10de", "product_id": "25b6", '
            '"address": "0000:25:00.4", "managed": "no"}']))
        (f,) = by_code(found, 'VFIO-C151')
        self.assertEqual('nova.conf:2 [pci] device_spec #2', f.subject)
        self.assertIn('#1', f.message)
        self.assertIn('never used', f.message)

    def test_no_overlap_for_disjoint(self):
        found = lint.lint(snapshot([
            '{"vendor_id": "10de", "address": "*:25:00.4"}',
            '{"vendor_id": "10de", "address": "*:25:00.5"}']))
        self.assertEqual([], by_code(found, 'VFIO-C151'))

    def test_pf_address_and_nvidia_vf(self):
        found = lint.lint(snapshot([
            '{"address": "0000:41:00.0"}',
            '{"vendor_id": "10de", "address": "0000:25:00.4"}']))
        self.assertEqual(['VFIO-C152', 'VFIO-C154'], codes(found))
        self.assertIn('"managed": "no"', by_code(found, 'VFIO-C154')[0]
                      .remedy)

    def test_unknown_key(self):
        (f,) = lint.lint(snapshot(['{"vendor_id": "8086", "mangaed": "no"}']))
        self.assertEqual('VFIO-C159', f.code)
        self.assertIn("did you mean 'managed'", f.message)


class TestAliasLint(testtools.TestCase):

    def test_managed_refused(self):
        (f,) = lint.lint(snapshot(aliases=[
            '{"name": "a", "vendor_id": "10de", "product_id": "25b6", '
            '"managed": "no"}']))
        self.assertEqual('VFIO-C111', f.code)
        self.assertIn("('managed' was unexpected)", f.message)
        self.assertNotIn('managed', f.remedy.split(' and ')[0])

    def test_invalid_json(self):
        (f,) = lint.lint(snapshot(aliases=['{"name": "a", vendor_id: "x"}']))
        self.assertEqual('VFIO-C110', f.code)

    def test_repeated_names(self):
        a1 = ('{"name": "a", "vendor_id": "10de", "product_id": "0001", '
              '"device_type": "type-VF"}')
        a2 = a1.replace('0001', '0002')
        self.assertEqual([], lint.lint(snapshot(aliases=[a1, a2])))
        self.assertEqual(['VFIO-C114'], codes(lint.lint(snapshot(
            aliases=[a1, a2], pip=True))))
        a3 = a2.replace(', "device_type": "type-VF"', '')
        (f,) = lint.lint(snapshot(aliases=[a1, a3]))
        self.assertEqual('VFIO-C113', f.code)
        self.assertIn("'dev_type'", f.message)

    def test_required_ids(self):
        rc_only = '{"name": "a", "resource_class": "CUSTOM_X"}'
        self.assertEqual(['VFIO-C115'],
                         codes(lint.lint(snapshot(aliases=[rc_only]))))
        self.assertEqual([], lint.lint(snapshot(aliases=[rc_only],
                                                pip=True)))

    def test_alias_rc_nobody_provides(self):
        found = lint.lint(snapshot(
            [VF_SPEC], ['{"name": "a", "resource_class": "CUSTOM_OTHER"}'],
            rip=True, pip=True))
        self.assertEqual(['VFIO-C155'], codes(found))

    def test_vendor_product_alias_vs_rc(self):
        found = lint.lint(snapshot(
            [VF_SPEC], ['{"name": "a", "vendor_id": "10de", '
                        '"product_id": "25b6"}'], rip=True, pip=True))
        (f,) = found
        self.assertEqual('VFIO-C156', f.code)
        self.assertIn('CUSTOM_PCI_10DE_25B6', f.message)
        self.assertIn('"resource_class": "CUSTOM_A16_16A"', f.remedy)


class TestMdevLint(testtools.TestCase):

    def group(self, name, addresses=(), line=1):
        return model.MdevGroup(name, tuple(addresses), source=model.Source(
            'nova.conf', line, 'mdev_%s' % name))

    def test_duplicates_and_dropped(self):
        found = lint.lint(snapshot(
            enabled_mdev_types=('a', 'b', 'c', 'd'),
            mdev_groups=(self.group('a', ['0000:84:00.0']),
                         self.group('b', ['0000:84:00.0', '84:00.0']),
                         self.group('c'), self.group('d'))))
        self.assertEqual(['VFIO-C118', 'VFIO-C119', 'VFIO-C160'],
                         codes(found))

    def test_stray_section(self):
        found = lint.lint(snapshot(stray_mdev_sections=(
            model.Source('nova.conf', 3, 'mdev_nvidia-9'),)))
        self.assertEqual(['VFIO-C158'], codes(found))

    def test_legacy_and_vf_spec_on_same_gpu(self):
        found = lint.lint(snapshot(
            ['{"vendor_id": "10de", "address": "0000:41:00.*", '
             '"managed": "no"}'],
            enabled_mdev_types=('nvidia-558',),
            mdev_groups=(self.group('nvidia-558', ['0000:41:00.4']),)))
        self.assertIn('VFIO-C157', codes(found))

    def test_option_errors_and_dev_spec(self):
        src = model.Source('nova.conf', 4, 'mdev_x', 'mdev_class')
        found = lint.lint(snapshot(
            option_errors=(model.OptionError(src, 'custom_x', 'bad'),),
            unknown_pci_options=(model.ConfEntry(
                "{'vendor_id': '8086'}", 1,
                model.Source('nova.conf', 2, 'pci', 'dev_spec')),)))
        self.assertEqual(['VFIO-C117', 'VFIO-C150'], codes(found))
        self.assertEqual('device_spec = {"vendor_id": "8086"}',
                         by_code(found, 'VFIO-C150')[0].remedy)


def host_report(devices):
    return host_model.HostReport.from_json({
        'schema_version': 1, 'kind': 'vfio-host-report', 'hostname': 'h',
        'collected_at': '2026-01-01T00:00:00Z', 'sysfs_root': '/',
        'devices': devices, 'gpus': [], 'warnings': []})


def device(address, physfn=None, product='25b6', driver='nvidia',
           totalvfs=None, virtfns=(), mdev_types=()):
    return {'address': address, 'vendor_id': '10de', 'product_id': product,
            'class': '030200', 'driver': driver, 'numa_node': 0,
            'iommu_group': 1, 'physfn': physfn, 'virtfns': list(virtfns),
            'sriov_totalvfs': totalvfs, 'sriov_numvfs': len(virtfns),
            'mdev_supported_types': [
                {'id': t, 'name': None, 'description': None,
                 'device_api': 'vfio-pci', 'available_instances': 1}
                for t in mdev_types],
            'mdevs': [], 'creatable_vgpu_types': None,
            'current_vgpu_type': None, 'classification': 'unconfigured'}


PF = '0000:25:00.0'
VFS = ['0000:25:00.4', '0000:25:00.5']
HOST = [device(PF, product='25b7', totalvfs=16, virtfns=VFS)] + [
    device(v, physfn=PF) for v in VFS]


class TestHostLint(testtools.TestCase):

    def test_matches_and_nvidia_managed(self):
        found = lint.lint(snapshot(
            ['{"vendor_id": "10de", "product_id": "25b6"}',
             '{"vendor_id": "8086"}']), host_report(HOST))
        self.assertEqual(['VFIO-C170', 'VFIO-C171',
                          'VFIO-C173'], codes(found))
        self.assertIn('0000:25:00.4, 0000:25:00.5',
                      by_code(found, 'VFIO-C171')[0].message)

    def test_pf_and_vfs(self):
        specs = ['{"address": "0000:25:00.0", "managed": "no"}']
        found = lint.lint(snapshot(specs, rip=True), host_report(HOST))
        self.assertIn('VFIO-C121', codes(found))
        found = lint.lint(snapshot(specs), host_report(HOST))
        self.assertIn('VFIO-C172', codes(found))
        self.assertNotIn('VFIO-C121', codes(found))

    def test_mixed_resource_classes(self):
        found = lint.lint(snapshot(
            ['{"address": "0000:25:00.4", "managed": "no", '
             '"resource_class": "CUSTOM_A16_16A"}',
             '{"address": "0000:25:00.5", "managed": "no", '
             '"resource_class": "CUSTOM_A16_8A"}'], rip=True),
            host_report(HOST))
        self.assertEqual(['VFIO-C122'], [c for c in codes(found)
                                         if c != 'VFIO-C171'])

    def test_mdev_type_not_offered(self):
        gpu = [device('0000:84:00.0', mdev_types=['nvidia-35'])]
        found = lint.lint(snapshot(
            enabled_mdev_types=('nvidia-36',),
            mdev_groups=(model.MdevGroup('nvidia-36', ('0000:84:00.0',
                                                       '0000:99:00.0')),)),
            host_report(gpu))
        self.assertEqual(['VFIO-C174', 'VFIO-C175'], codes(found))

    def test_dict_host_report(self):
        found = lint.lint(snapshot(['{"vendor_id": "8086"}']),
                          {'devices': HOST})
        self.assertEqual(['VFIO-C170'], codes(found))


class TestValidAliases(testtools.TestCase):

    def test_keeps_only_accepted_entries(self):
        aliases = lint.valid_aliases(snapshot(aliases=[
            '{"name": "a", "vendor_id": "10de", "product_id": "25b6"}',
            '{"name": "b", "managed": "no"}',
            '{"name": "a", "vendor_id": "10de", "product_id": "25b7", '
            '"device_type": "type-VF"}']))
        self.assertEqual(['a'], sorted(aliases))
        self.assertEqual(1, len(aliases['a'].specs))
        self.assertEqual('CUSTOM_PCI_10DE_25B6',
                         aliases['a'].specs[0].placement_resource_class())


LM_SPEC = ('{"vendor_id": "10de", "product_id": "25b6", '
           '"address": "0000:25:00.4", "managed": "no", '
           '"resource_class": "CUSTOM_A16_16A", "live_migratable": "yes"}')


def alias(live_migratable=None, **ids):
    value = {'name': 'a16', 'device_type': 'type-VF'}
    value.update(ids or {'resource_class': 'CUSTOM_A16_16A'})
    if live_migratable is not None:
        value['live_migratable'] = live_migratable
    return json.dumps(value)


class TestLiveMigratableLint(testtools.TestCase):

    def test_pair_that_agrees_is_clean(self):
        for spec, value in ((LM_SPEC, 'yes'),
                            (LM_SPEC.replace('"yes"', '"no"'), 'no')):
            self.assertEqual([], lint.lint(snapshot(
                [spec], [alias(value)], rip=True, pip=True)))
        # An alias that asks nothing matches any device_spec.
        self.assertEqual([], lint.lint(snapshot(
            [LM_SPEC], [alias()], rip=True, pip=True)))

    def test_alias_asks_what_no_device_spec_says(self):
        # Nova's pool filter: "yes" and "no" both need the same explicit
        # value on the device_spec; an untagged one matches neither.
        for spec, asked, has in ((VF_SPEC, 'yes', 'nothing'),
                                 (VF_SPEC, 'no', 'nothing'),
                                 (LM_SPEC, 'no', 'yes')):
            (f,) = lint.lint(snapshot([spec], [alias(asked)], rip=True,
                                      pip=True))
            self.assertEqual(('VFIO-C123', findings.ERROR),
                             (f.code, f.severity))
            self.assertIn('asks live_migratable "%s"' % asked, f.message)
            self.assertIn('device_spec #1: %s' % has, f.message)
            self.assertIn('"live_migratable": "%s"' % asked, f.remedy)

    def test_vendor_product_alias_is_matched_by_ids(self):
        ids = {'vendor_id': '10de', 'product_id': '25b6'}
        found = lint.lint(snapshot([VF_SPEC.replace(
            ', "resource_class": "CUSTOM_A16_16A"', '')],
            [alias('yes', **ids)]))
        self.assertEqual(['VFIO-C123'], codes(found))
        # Another product: no device_spec gives its devices, nothing to
        # compare with.
        self.assertEqual([], lint.lint(snapshot([VF_SPEC], [alias(
            'yes', vendor_id='10de', product_id='2236')])))

    def test_one_matching_device_spec_is_enough(self):
        self.assertEqual([], lint.lint(snapshot(
            [VF_SPEC, LM_SPEC.replace('00.4', '00.5')], [alias('yes')],
            rip=True, pip=True)))

    def report_with(self, libvirt=None, qemu=None):
        report = host_report(HOST)
        return dataclasses.replace(report, libvirt_version=libvirt,
                                   qemu_version=qemu)

    def test_hypervisor_below_the_minimum(self):
        for libvirt, qemu, shown in (
                ('9.0.0', '8.2.2', 'libvirt 9.0.0 < 10.0.0'),
                ('10.0.0', '8.2.1', 'QEMU 8.2.1 < 8.2.2'),
                ('8.0.0', None, 'libvirt 8.0.0 < 10.0.0')):
            found = lint.lint(snapshot([LM_SPEC], rip=True),
                              self.report_with(libvirt, qemu))
            (f,) = by_code(found, 'VFIO-C177')
            self.assertEqual(findings.ERROR, f.severity)
            self.assertIn(shown, f.message)
            self.assertIn("PCI device spec is configured for "
                          "live_migratable but it's not supported by "
                          "libvirt.", f.message)

    def test_hypervisor_check_needs_the_tag_and_the_versions(self):
        old = self.report_with('9.0.0', '8.0.0')
        # "no" counts too: Nova tests the normalised string "false".
        no = LM_SPEC.replace('"yes"', '"no"')
        self.assertIn('VFIO-C177', codes(lint.lint(snapshot([no]), old)))
        self.assertNotIn('VFIO-C177', codes(lint.lint(snapshot([VF_SPEC]),
                                                      old)))
        for report in (self.report_with('10.0.0', '8.2.2'),
                       self.report_with(), {'devices': HOST}):
            self.assertNotIn('VFIO-C177', codes(lint.lint(
                snapshot([LM_SPEC]), report)))
        self.assertIn('VFIO-C177', codes(lint.lint(snapshot([LM_SPEC]), {
            'devices': HOST, 'libvirt_version': '9.9.9'})))


class TestNovaReleaseLint(testtools.TestCase):
    """The same files checked for 2025.1 and 2026.1 give different
    findings where the releases differ (one_time_use: 32.0.0)."""

    EPOXY = releases.get('2025.1')
    GAZPACHO = releases.get('2026.1')

    def test_one_time_use_unknown_before_2025_2(self):
        spec = '{"vendor_id": "10de", "one_time_use": "yes"}'
        found = lint.lint(snapshot([spec]), release=self.EPOXY)
        (f,) = found
        self.assertEqual(('VFIO-C163', findings.WARNING),
                         (f.code, f.severity))
        self.assertIn('Nova 2025.1 (Epoxy, 31.0.0)', f.message)
        self.assertIn('Nova 2025.2 (Flamingo, 32.0.0)', f.message)
        self.assertIn("does not know 'one_time_use'", f.message)
        self.assertTrue(f.remedy.startswith(
            'device_spec = {"vendor_id": "10de"} '), f.remedy)
        self.assertIn('--nova-release 2025.2', f.remedy)
        # 2026.1 knows it: without report_in_placement it refuses to start.
        self.assertEqual(['VFIO-C105'], codes(lint.lint(
            snapshot([spec]), release=self.GAZPACHO)))
        self.assertEqual([], lint.lint(snapshot([spec], rip=True),
                                       release=self.GAZPACHO))
        # The default is 2025.1.
        self.assertEqual(['VFIO-C163'], codes(lint.lint(snapshot([spec]))))

    def test_bad_one_time_use_value(self):
        spec = '{"vendor_id": "10de", "one_time_use": "maybe"}'
        self.assertEqual(['VFIO-C104'], codes(lint.lint(
            snapshot([spec], rip=True), release=self.GAZPACHO)))
        self.assertEqual(['VFIO-C163'], codes(lint.lint(
            snapshot([spec], rip=True), release=self.EPOXY)))

    def test_one_time_use_on_vfs(self):
        spec = ('{"vendor_id": "10de", "product_id": "25b6", '
                '"managed": "no", "one_time_use": "no"}')
        self.assertIn('VFIO-C120', codes(lint.lint(
            snapshot([spec], rip=True), host_report(HOST),
            release=self.GAZPACHO)))
        found = codes(lint.lint(snapshot([spec], rip=True),
                                host_report(HOST), release=self.EPOXY))
        self.assertNotIn('VFIO-C120', found)
        self.assertIn('VFIO-C163', found)

    def test_live_migratable_trait_splits_vfs_only_on_2026_2(self):
        # VFs of one PF whose device_specs differ only in live_migratable:
        # one trait set before 2026.2, two from 2026.2 (the translator
        # adds HW_PCI_LIVE_MIGRATABLE), which Nova refuses.
        specs = [LM_SPEC, VF_SPEC.replace('00.4', '00.5')]
        for series, refused in (('2025.1', False), ('2026.1', False),
                                ('2026.2', True)):
            found = codes(lint.lint(snapshot(specs, rip=True),
                                    host_report(HOST),
                                    release=releases.get(series)))
            self.assertEqual(refused, 'VFIO-C122' in found, series)
