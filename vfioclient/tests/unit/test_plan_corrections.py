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

"""Issue 18 item 5: ways a plan could be wrong.

MIG-backed types are refused, the A16 and the A2 (one product id) are told
apart or refused, and private flavors and NUMA flavors are planned with
their access and their notes.
"""

import tempfile

import testtools

from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import host as host_model
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles
from vfioclient.rules import plan as rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders

A16_IDS = ('10de', '14a9')
A2_IDS = ('10de', '157e')


def refusal_for(plan, subject):
    return [r.reason for r in plan.refusals if r.subject == subject]


def gpu_subject(host, address=builders.A40_PF):
    return 'gpu %s on %s' % (address, host)


class TestMigBackedTypes(testtools.TestCase):

    def test_naming_rule(self):
        for name in ('GRID A100-1-5C', 'NVIDIA A30-2-12C', 'A30-1-6CME',
                     'NVIDIA H100-1-10C', 'GRID A100D-7-80C'):
            self.assertTrue(profiles.is_mig_backed(name), name)
        for name in ('GRID A100-4C', 'NVIDIA A30-24C', 'NVIDIA A40-2Q',
                     'NVIDIA RTX6000-Ada-1Q', 'NVIDIA A16-16A', '', None):
            self.assertFalse(profiles.is_mig_backed(name), name)

    def test_table_marks_agree_with_the_names(self):
        marked = {p.name for p in profiles.PROFILES if p.mig_backed}
        self.assertEqual(
            {p.name for p in profiles.PROFILES
             if profiles.is_mig_backed(p.name)}, marked)
        self.assertIn('NVIDIA A30-1-6C', marked)
        self.assertIn('GRID A100-7-40C', marked)
        self.assertEqual('A100', profiles.board_of_profile('A100-1-5CME'))

    def _a30(self, rc='CUSTOM_NVIDIA_689'):
        b = builders.PlanEstateBuilder()
        b.host('a30')
        b.legacy_gpu('a30', rc=rc, vfs=4)
        return b

    def test_mig_backed_legacy_type_is_refused(self):
        plan = rules.make_plan(self._a30().snapshot())
        (reason,) = refusal_for(plan, gpu_subject('a30'))
        self.assertIn('NVIDIA A30-1-6C is a MIG-backed vGPU type', reason)
        self.assertIn('nvidia-smi mig -cgi', reason)
        self.assertIn('--map nvidia-689=', reason)
        self.assertIn('A30-6C', reason)
        self.assertEqual((), plan.hosts)

    def test_map_to_a_mig_backed_type_is_refused(self):
        plan = rules.make_plan(
            self._a30('CUSTOM_NVIDIA_685').snapshot(),
            options=rules.Options(maps=(('nvidia-685',
                                         'NVIDIA A30-2-12C'),)))
        (reason,) = refusal_for(plan, gpu_subject('a30'))
        self.assertIn('NVIDIA A30-2-12C is a MIG-backed', reason)

    def test_mig_backed_type_offered_by_a_host_report_is_refused(self):
        spec = fake_sysfs.preset('l40s-fresh')
        spec['hostname'] = 'a100-var'
        spec['gpus'][0].update(
            product_id='20b7', creatable=[(689, 'NVIDIA A30-1-6C'),
                                          (685, 'NVIDIA A30-6C')])
        root = tempfile.mkdtemp()
        fake_sysfs.build_host(root, spec)
        report = collect_sysfs.collect_host_report(
            root, hostname='a100-var', collected_at='x')
        plan = rules.make_plan(self._a30().snapshot(), [report])
        (reason,) = refusal_for(plan, gpu_subject('a30'))
        self.assertIn('MIG-backed', reason)

    def test_map_from_mig_backed_to_time_sliced_notes_mig_mode(self):
        plan = rules.make_plan(
            self._a30().snapshot(),
            options=rules.Options(maps=(('nvidia-689', 'NVIDIA A30-4C'),)))
        self.assertEqual([], list(plan.refusals))
        host = plan.host('a30')
        self.assertEqual(('NVIDIA A30-4C',), host.vf_types)
        (note,) = [n for n in host.notes if 'MIG mode' in n]
        self.assertIn('nvidia-smi -i %s -mig 0' % builders.A40_PF, note)


def a16_report(subsystem=A16_IDS, names=True, type_id=711,
               type_name='NVIDIA A16-1Q', hostname='a16-host'):
    """A legacy A16/A2 host (VFs are mdev parents), from fake sysfs."""
    vfs = 4
    spec = {'hostname': hostname, 'gpus': [{
        'address': builders.A40_PF, 'product_id': '25b6',
        'sriov_totalvfs': 16, 'vfs': vfs, 'vf_mode': 'legacy',
        'subsystem': subsystem,
        'vf_mdev_types': [(type_id, type_name, 8)],
        'vf_mdevs': {0: (fake_sysfs.mdev_uuid(builders.A40_PF, 0),
                         type_id)}}]}
    if not names:
        spec['breakage'] = [
            {'path': 'sys/bus/pci/devices/%s/mdev_supported_types/'
                     'nvidia-%d/name' % (vf, type_id), 'op': 'remove'}
            for vf in (fake_sysfs.vf_address(builders.A40_PF, i)
                       for i in range(vfs))]
    root = tempfile.mkdtemp()
    fake_sysfs.build_host(root, spec)
    return collect_sysfs.collect_host_report(root, hostname=hostname,
                                             collected_at='x')


def a16_snapshot(hostname='a16-host'):
    b = builders.PlanEstateBuilder()
    b.host(hostname)
    b.legacy_gpu(hostname, rc='VGPU', vfs=4)
    return b.snapshot()


class TestSharedProductId(testtools.TestCase):

    def test_board_of_shared_product(self):
        decide = pci_ids.board_of_shared_product
        self.assertEqual('A16', decide('25b6', A16_IDS).board)
        self.assertEqual('A2', decide('25b6', A2_IDS, ['NVIDIA A2-4Q']).board)
        self.assertEqual('A16', decide('25b6', None,
                                       ['NVIDIA A16-2Q']).board)
        self.assertEqual('A2', decide('25b6', (None, None),
                                      ['A2-1B', 'x']).board)
        for found in (decide('25b6', A2_IDS, ['NVIDIA A16-2Q']),
                      decide('25b6', None, []),
                      decide('25b6', None, ['A16-1B', 'A2-1B']),
                      decide('25b6', ('10de', 'ffff'), [])):
            self.assertIsNone(found.board, found)
        self.assertIn('is the A2, but type names say A16',
                      decide('25b6', A2_IDS, ['NVIDIA A16-2Q']).evidence)

    def test_gpu_model(self):
        self.assertEqual('A2', pci_ids.gpu_model('25b6', (), A2_IDS))
        self.assertEqual('A16', pci_ids.gpu_model('25b6', ['NVIDIA A16-1Q']))
        self.assertEqual('A16/A2', pci_ids.gpu_model('25b6'))

    def test_collector_reads_subsystem_ids(self):
        report = a16_report(subsystem=A2_IDS, type_id=745,
                            type_name='NVIDIA A2-2Q')
        pf = report.device(builders.A40_PF)
        self.assertEqual(A2_IDS, pf.subsystem)
        self.assertEqual('A2', report.gpu(builders.A40_PF).model)
        again = host_model.HostReport.from_json(report.to_json())
        self.assertEqual(report, again)
        # Reports of earlier versions have no subsystem keys.
        doc = report.to_json()
        for d in doc['devices']:
            del d['subsystem_vendor_id'], d['subsystem_device_id']
        old = host_model.HostReport.from_json(doc)
        self.assertIsNone(old.device(builders.A40_PF).subsystem)
        # A tree without the files: null, and no warning.
        report = builders.report('a40')
        self.assertIsNone(report.devices[0].subsystem)
        self.assertEqual((), report.warnings)

    def test_subsystem_id_decides(self):
        plan = rules.make_plan(a16_snapshot(), [a16_report()])
        self.assertEqual([], list(plan.refusals))
        (gpu,) = plan.host('a16-host').gpus
        self.assertEqual(('A16', '25b6', 'NVIDIA A16-1Q'),
                         (gpu.board, gpu.product_id, gpu.vf_type_name))

    def test_type_names_decide_without_subsystem_id(self):
        plan = rules.make_plan(
            a16_snapshot(), [a16_report(subsystem=None, type_id=742,
                                        type_name='NVIDIA A2-1B')])
        self.assertEqual([], list(plan.refusals))
        self.assertEqual('A2', plan.host('a16-host').gpus[0].board)

    def test_disagreement_is_refused(self):
        plan = rules.make_plan(a16_snapshot(),
                               [a16_report(subsystem=A2_IDS)])
        (reason,) = refusal_for(plan, gpu_subject('a16-host'))
        self.assertIn('subsystem 10de:157e is the A2, but type names say '
                      'A16', reason)
        self.assertEqual((), plan.hosts)

    def test_neither_tells_is_refused_naming_what_to_check(self):
        # 712 (A16-2Q) is not in the built-in table either.
        plan = rules.make_plan(a16_snapshot(), [a16_report(
            subsystem=None, names=False, type_id=712,
            type_name='NVIDIA A16-2Q')])
        (reason,) = refusal_for(plan, gpu_subject('a16-host'))
        self.assertIn('25b6 is shared by the A16 and A2', reason)
        self.assertIn('/sys/bus/pci/devices/%s/subsystem_device'
                      % builders.A40_PF, reason)
        self.assertIn('A16: 0x10de 0x14a9', reason)
        self.assertIn('A2: 0x10de 0x157e', reason)
        self.assertEqual((), plan.hosts)
