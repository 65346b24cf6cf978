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

"""The parts of the plan engine: refusals as values, the drain/convert
simulation with typed records, no mutation of inputs, boot setup."""

import copy
import dataclasses
import types

import testtools

from vfioclient.model import plan as plan_model
from vfioclient.rules import plan as rules
from vfioclient.rules.plan import capacity
from vfioclient.rules.plan import gpus as plan_gpus
from vfioclient.rules.plan import hosts as plan_hosts
from vfioclient.rules.plan import legacy
from vfioclient.rules.plan import scheduling
from vfioclient.rules.plan import vftype
from vfioclient.tests.unit import builders

RC = 'CUSTOM_NVIDIA_A40_2Q'


def gpu_plan(address='0000:41:00.0', vfs=4, legacy_total=4, in_use=0,
             vf_type_id=558):
    return plan_model.GpuPlan(
        address=address, board='A40', product_id='2235',
        legacy_type='nvidia-558', legacy_name='NVIDIA A40-2Q',
        vf_type_id=vf_type_id, vf_type_name='NVIDIA A40-2Q',
        resource_class=RC, vf_count=vfs,
        vfs=tuple('0000:41:01.%d' % i for i in range(vfs)),
        vfs_source='host-report', legacy_total=legacy_total,
        legacy_in_use=in_use, providers_before=(),
        provider_after=plan_model.ProviderRef('p', RC, vfs, 0))


def server(name):
    return types.SimpleNamespace(id='id-' + name, name=name, host='h',
                                 flavor_name='vgpu.a40-2q')


class TestRefusals(testtools.TestCase):
    """Helpers return a Refusal naming the GPU, never a bare string."""

    def test_unknown_legacy_type(self):
        gpu = legacy.Gpu(host='cmp1', address=builders.A40_PF, legacy=(),
                         legacy_classes=('VGPU',), legacy_key='VGPU')
        refusal = vftype.choose_vf_type(gpu, [], ())
        self.assertIsInstance(refusal, plan_model.Refusal)
        self.assertEqual('gpu 0000:41:00.0 on cmp1', refusal.subject)
        self.assertIn('legacy vGPU type unknown (VGPU inventory',
                      refusal.reason)
        self.assertIn('--map VGPU=<VF type>', refusal.reason)
        self.assertIn('--host-report for cmp1', refusal.reason)

    def test_unknown_legacy_type_with_a_report(self):
        # A report without mdevs in use cannot say the type: the refusal
        # asks for the nova.conf, not for the report it already has.
        gpu = legacy.Gpu(host='cmp1', address=builders.A40_PF, legacy=(),
                         legacy_classes=('VGPU',), legacy_key='VGPU',
                         report=object())
        refusal = vftype.choose_vf_type(gpu, [], ())
        self.assertIn('its host report shows no mdev in use',
                      refusal.reason)
        self.assertNotIn('--host-report', refusal.reason)
        self.assertIn('--nova-conf cmp1=<its nova.conf>', refusal.reason)

    def test_profile_of_another_board(self):
        gpu = legacy.Gpu(host='cmp1', address=builders.A40_PF, legacy=(),
                         legacy_type='nvidia-558',
                         legacy_name='NVIDIA A40-2Q', board='A10')
        refusal = vftype.choose_vf_type(gpu, [], ())
        self.assertEqual(plan_model.Refusal(
            'gpu 0000:41:00.0 on cmp1', 'the GPU cannot offer NVIDIA '
            'A40-2Q: it is for A40, this GPU is A10'), refusal)

    def test_two_types_on_one_pf(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        providers = b.legacy_gpu('cmp1', vfs=2)
        providers += b.legacy_gpu('cmp1', vfs=2, rc='CUSTOM_NVIDIA_559')
        refusal = legacy.recognise_legacy('cmp1', builders.A40_PF,
                                          providers, None, {}, {})
        self.assertIsInstance(refusal, plan_model.Refusal)
        self.assertIn('name types nvidia-558, nvidia-559', refusal.reason)

    def test_no_vf_addresses(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        pf = b.legacy('cmp1', builders.A40_PF, rc='CUSTOM_NVIDIA_558')
        gpu = legacy.recognise_legacy('cmp1', builders.A40_PF, [pf], None,
                                      {}, {})
        self.assertIsInstance(gpu, legacy.Gpu)
        choice = vftype.choose_vf_type(gpu, [], ())
        refusal = plan_gpus.gpu_plan(choice, RC)
        self.assertEqual(plan_model.Refusal(
            'gpu 0000:41:00.0 on cmp1', 'no VF addresses known for '
            '0000:41:00.0 (legacy provider is on the PF): pass '
            '--host-report for cmp1'), refusal)

    def test_plan_refusals_are_records(self):
        b = builders.two_host_estate()
        b.host('cmp3')
        b.legacy_gpu('cmp3', rc='VGPU')
        plan = rules.make_plan(b.snapshot())
        self.assertEqual(['gpu 0000:41:00.0 on cmp3'],
                         [r.subject for r in plan.refusals])
        self.assertTrue(all(isinstance(r, plan_model.Refusal)
                            for r in plan.refusals))


class TestNoMutation(testtools.TestCase):

    def test_make_plan_leaves_its_inputs_alone(self):
        b = builders.two_host_estate()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU')
        snapshot = b.snapshot()
        reports = [builders.report('a40', address=builders.A40_PF)]
        options = rules.Options(maps=(('VGPU', 'NVIDIA A40-2Q'),))
        before = copy.deepcopy((snapshot, reports, options))
        plan = rules.make_plan(snapshot, reports, options)
        self.assertEqual(3, len(plan.hosts))
        self.assertEqual(before, (snapshot, reports, options))

    def test_choosing_a_type_returns_a_new_gpu(self):
        gpu = legacy.Gpu(host='cmp1', address=builders.A40_PF, legacy=(),
                         legacy_type='nvidia-558',
                         legacy_name='NVIDIA A40-2Q')
        choice = vftype.choose_vf_type(gpu, [], ())
        self.assertIsInstance(choice, vftype.Choice)
        self.assertEqual('A40', choice.gpu.board)
        self.assertIsNone(gpu.board)
        self.assertEqual((558, 'NVIDIA A40-2Q'),
                         (choice.vf.type_id, choice.vf.name))


class TestSimulation(testtools.TestCase):
    """Move and Drain records through the greedy drain/convert order."""

    def conversions(self, **in_use):
        return {host: [plan_gpus.Conversion(None, None, gpu_plan(
                    in_use=n))] for host, n in in_use.items()}

    def moves(self, by_host, **names):
        return [capacity.Move(server(name), host, by_host[host][0].plan, 1)
                for host, hosts_names in names.items()
                for name in hosts_names]

    def test_migrate_then_resize(self):
        by_host = self.conversions(h1=3, h2=1)
        moves = self.moves(by_host, h1=('c', 'a', 'b'), h2=('z',))
        drain = capacity.simulate(by_host, moves, {})
        self.assertIsInstance(drain, capacity.DrainOrder)
        self.assertEqual(('h2', 'h1'), drain.order)
        self.assertEqual((capacity.Drain('migrate', moves[3].server, 'h1',
                                         'vgpu.a40-2q'),),
                         drain.drains['h2'])
        self.assertEqual(
            [('resize', 'a', 'h2'), ('resize', 'b', 'h2'),
             ('resize', 'c', 'h2'), ('resize', 'z', 'h2')],
            [(d.action, d.server.name, d.to_host)
             for d in drain.drains['h1']])
        self.assertEqual(({}, {}), (drain.blocked, drain.shortfall))

    def test_existing_vfs_take_servers_first(self):
        by_host = self.conversions(h1=2)
        moves = self.moves(by_host, h1=('a', 'b'))
        existing = {'done': {RC: (4, 2)}}
        drain = capacity.simulate(by_host, moves, existing)
        self.assertEqual(('h1',), drain.order)
        self.assertEqual([('resize', 'done'), ('resize', 'done')],
                         [(d.action, d.to_host) for d in drain.drains['h1']])
        rows = capacity.capacity(by_host, moves, existing, drain.shortfall,
                                 {'NVIDIA A40-2Q': RC})
        self.assertEqual((8, 4, 4, 2, 2, 0),
                         (rows[0].vfs_total, rows[0].vfs_existing,
                          rows[0].vfs_planned, rows[0].legacy_in_use,
                          rows[0].vf_in_use, rows[0].shortfall))

    def test_blocked_host_and_shortfall(self):
        by_host = self.conversions(h1=2)
        moves = self.moves(by_host, h1=('a', 'b'))
        drain = capacity.simulate(by_host, moves, {})
        self.assertEqual((), drain.order)
        self.assertEqual({RC: 2}, drain.shortfall)
        self.assertIn('cannot be drained: its servers need 2 %s more' % RC,
                      drain.blocked['h1'])
        plans = capacity.server_plans(
            moves, [], {'id-a': types.SimpleNamespace(name='new'),
                        'id-b': types.SimpleNamespace(name='new')},
            drain.blocked)
        self.assertEqual(['blocked', 'blocked'], [s.status for s in plans])
        self.assertTrue(plans[0].reason.startswith('host h1 cannot be'))


class TestBootSetup(testtools.TestCase):

    def test_verified_id_is_kept(self):
        setup = plan_hosts.boot_setup((gpu_plan(),),
                                      verified={'0000:41:00.0'})
        self.assertEqual(plan_model.BootSetup(
            'NVIDIA A40-2Q', 558, ('0000:41:00.0',), 4,
            (plan_model.GpuVfs('0000:41:00.0', gpu_plan().vfs,
                               'NVIDIA A40-2Q', 558),)), setup)

    def test_unverified_or_contradicted_id_is_dropped(self):
        self.assertIsNone(plan_hosts.boot_setup(
            (gpu_plan(),), verified=()).type_id)
        self.assertIsNone(plan_hosts._boot_type_id('nvidia-559', 558))
        self.assertIsNone(plan_hosts._boot_type_id('NVIDIA A40-2Q', 0))
        self.assertIsNone(plan_hosts._boot_type_id('NVIDIA A40-2Q',
                                                   10 ** 9))
        self.assertEqual(558, plan_hosts._boot_type_id('nvidia-558', 558))

    def test_bad_address_raises(self):
        self.assertRaises(ValueError, plan_hosts.boot_setup,
                          (gpu_plan(address='41:00'),), ())

    def test_each_gpu_has_its_own_type(self):
        # Nova takes one resource class per PF: the GPUs of one host may
        # have different types and VF counts; each keeps its own.
        a40_1b = dataclasses.replace(
            gpu_plan(address='0000:81:00.0', vfs=2, vf_type_id=555),
            vf_type_name='NVIDIA A40-1B', vfs=('0000:81:00.4',
                                               '0000:81:00.5'))
        setup = plan_hosts.boot_setup((gpu_plan(), a40_1b),
                                      verified={'0000:81:00.0'})
        self.assertEqual(plan_model.BootSetup(
            None, None, ('0000:41:00.0', '0000:81:00.0'), None,
            (plan_model.GpuVfs('0000:41:00.0', gpu_plan().vfs,
                               'NVIDIA A40-2Q', None),
             plan_model.GpuVfs('0000:81:00.0', a40_1b.vfs,
                               'NVIDIA A40-1B', 555))), setup)
        self.assertEqual((('0000:41:00.0', 'NVIDIA A40-2Q', None),
                          ('0000:81:00.0', 'NVIDIA A40-1B', 555)),
                         setup.gpu_types())
        self.assertEqual(('NVIDIA A40-1B', 'NVIDIA A40-2Q'), setup.types())
        self.assertIsNone(plan_model.boot_setup_problem(setup))

    def test_same_type_everywhere_is_the_setups(self):
        other = gpu_plan(address='0000:81:00.0')
        setup = plan_hosts.boot_setup((gpu_plan(), other), verified=())
        self.assertEqual(('NVIDIA A40-2Q', None, 4),
                         (setup.vf_type, setup.type_id, setup.vfs_per_gpu))


class TestHostKind(testtools.TestCase):

    def test_one_type_reads_as_before(self):
        self.assertEqual(
            '2 x A40 nvidia-558 -> NVIDIA A40-2Q (%s, 4 VFs)' % RC,
            plan_hosts.host_kind([gpu_plan(),
                                  gpu_plan(address='0000:81:00.0')]))

    def test_mixed_host_lists_each_part_in_text_order(self):
        a40_1b = dataclasses.replace(
            gpu_plan(address='0000:81:00.0', vfs=2),
            legacy_type='nvidia-555', vf_type_name='NVIDIA A40-1B',
            resource_class='CUSTOM_NVIDIA_A40_1B')
        kind = plan_hosts.host_kind([a40_1b, gpu_plan()])
        self.assertEqual(
            '1 x A40 nvidia-555 -> NVIDIA A40-1B (CUSTOM_NVIDIA_A40_1B, 2 '
            'VFs) + 1 x A40 nvidia-558 -> NVIDIA A40-2Q (%s, 4 VFs)' % RC,
            kind)
        # The same mix on other addresses is the same kind.
        swapped = [dataclasses.replace(a40_1b, address='0000:41:00.0'),
                   gpu_plan(address='0000:81:00.0')]
        self.assertEqual(kind, plan_hosts.host_kind(swapped))


def _alias(name, rc, product='2235', vendor='10de'):
    return plan_model.AliasPlan(name=name, resource_class=rc,
                                device_type='type-VF', vendor_id=vendor,
                                product_id=product, line='{}')


class TestPciInPlacementSwitch(testtools.TestCase):
    """When the controllers turn pci_in_placement on (issue 18 item 4)."""

    def test_distinct_products_wait_for_the_end(self):
        phase, reason, ambiguous, _ = scheduling.pci_in_placement_switch(
            [_alias('a', 'CUSTOM_A40_2Q'),
             _alias('b', 'CUSTOM_L40S_2Q', product='26b9')], None)
        self.assertEqual((scheduling.FINAL, ()), (phase, ambiguous))
        self.assertIn('own vendor/product id', reason)

    def test_one_product_two_classes_switches_first(self):
        phase, reason, ambiguous, _ = scheduling.pci_in_placement_switch(
            [_alias('a', 'CUSTOM_A40_2Q'), _alias('b', 'CUSTOM_A40_48Q')],
            None)
        self.assertEqual(scheduling.PREPARE, phase)
        self.assertEqual(('10de:2235 (CUSTOM_A40_2Q, CUSTOM_A40_48Q)',),
                         ambiguous)
        self.assertIn('nova/pci/stats.py', reason)

    def test_vendor_only_alias_is_ambiguous_with_any_other(self):
        ambiguous = scheduling.ambiguous_products(
            [_alias('a', 'CUSTOM_MIXED', product=None),
             _alias('b', 'CUSTOM_L40S_2Q', product='26b9')])
        self.assertIn('10de:* (CUSTOM_L40S_2Q, CUSTOM_MIXED)', ambiguous)
        self.assertIn('10de:26b9 (CUSTOM_L40S_2Q, CUSTOM_MIXED)',
                      ambiguous)

    def test_hosts_passing_other_pci_devices_are_named(self):
        b = builders.PlanEstateBuilder()
        b.host('nic1')
        b.host('gpu1')
        nic = b.flavor('sriov.nic', **{'pci_passthrough:alias': 'nic:1'})
        ours = b.flavor('vgpu.vf', **{
            'pci_passthrough:alias': 'nvidia-a40-2q:1'})
        b.server('vm-nic', 'nic1', nic)
        b.server('vm-gpu', 'gpu1', ours)
        self.assertEqual(('nic1',), scheduling.hosts_with_other_pci_flavors(
            b.snapshot(), ['nvidia-a40-2q']))
