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

"""Plan decisions on hand-built estates: types, refusals, order, flavors."""

import dataclasses
import hashlib
import json
import os
import tempfile

import testtools

from vfioclient.collect import conf as collect_conf
from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import documents
from vfioclient.model import plan as plan_model
from vfioclient.nova import devspec
from vfioclient.nova import pci_address
from vfioclient.nova import releases
from vfioclient.nvidia import profiles
from vfioclient.render import bootscript
from vfioclient.render import novaconf
from vfioclient.rules import lint
from vfioclient.rules import plan as rules
from vfioclient.sandbox import estates
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders


def refusal_for(plan, subject):
    return [r.reason for r in plan.refusals if r.subject == subject]


class TestTypeMapping(testtools.TestCase):

    def test_mdev_class_names_the_type(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        (m,) = plan.type_mappings
        self.assertEqual(('nvidia-558', 'NVIDIA A40-2Q', 558,
                          'CUSTOM_NVIDIA_A40_2Q', 'nvidia-a40-2q'),
                         (m.legacy_type, m.legacy_name, m.vf_type_id,
                          m.resource_class, m.alias))
        self.assertFalse(m.verified)
        self.assertIn('UNVERIFIED', m.source)
        self.assertEqual(('CUSTOM_NVIDIA_A40_2Q',), plan.resource_classes)
        self.assertEqual([], list(plan.refusals))

    def test_operator_trait_names_the_profile(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        b.legacy_gpu('cmp1', rc='VGPU', traits=('CUSTOM_VGPU_A40_1B',))
        plan = rules.make_plan(b.snapshot())
        self.assertEqual(['NVIDIA A40-1B'],
                         [m.vf_type_name for m in plan.type_mappings])

    def test_variant_host_report_confirms_the_id(self):
        b = builders.PlanEstateBuilder()
        b.host('old')
        b.legacy_gpu('old', rc='CUSTOM_NVIDIA_597', vfs=1)
        plan = rules.make_plan(b.snapshot(), [builders.report('a10')])
        (m,) = plan.type_mappings
        self.assertEqual((597, 'NVIDIA A10-24Q', True),
                         (m.vf_type_id, m.vf_type_name, m.verified))
        self.assertIn('offered on a10-host', m.source)
        # A verified id is embedded in the boot script for a cross-check.
        setup = plan.host('old').boot_setup
        self.assertEqual(597, setup.type_id)
        self.assertIn("VGPU_TYPE_ID=597", bootscript.render_script(
            setup.vf_type, gpus=setup.gpus, vfs=setup.vfs_per_gpu,
            type_id=setup.type_id))

    def test_map_overrides_the_profile(self):
        b = builders.two_host_estate()
        plan = rules.make_plan(b.snapshot(), options=rules.Options(
            maps=rules.parse_maps(['nvidia-558=NVIDIA A40-1B'])))
        self.assertEqual(['CUSTOM_NVIDIA_A40_1B'],
                         list(plan.resource_classes))
        self.assertIn('--map nvidia-558=NVIDIA A40-1B',
                      plan.type_mappings[0].source)

    def test_map_to_another_board_is_refused(self):
        b = builders.two_host_estate()
        plan = rules.make_plan(b.snapshot(), options=rules.Options(
            maps=(('nvidia-558', 'NVIDIA L40S-2Q'),)))
        reason = refusal_for(plan, 'gpu %s on cmp1' % builders.A40_PF)
        self.assertEqual(1, len(reason))
        self.assertIn('cannot offer NVIDIA L40S-2Q', reason[0])
        self.assertEqual((), plan.hosts)

    def test_no_vf_type_matches(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot(),
                               options=rules.Options(
                                   maps=(('nvidia-558', 'NVIDIA Z9-3Q'),)))
        self.assertIn('no VF type matches NVIDIA Z9-3Q',
                      refusal_for(plan, 'gpu %s on cmp1' % builders.A40_PF)[0])

    def test_unknown_legacy_type_needs_report_or_map(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        b.legacy_gpu('cmp1', rc='VGPU')
        plan = rules.make_plan(b.snapshot())
        self.assertIn('--map VGPU=<VF type>',
                      refusal_for(plan, 'gpu %s on cmp1' % builders.A40_PF)[0])
        plan = rules.make_plan(b.snapshot(), options=rules.Options(
            maps=(('VGPU', 'NVIDIA A40-2Q'),)))
        self.assertEqual(['cmp1'], [h.host for h in plan.hosts])

    def test_legacy_host_report_gives_type_and_vfs(self):
        b = builders.PlanEstateBuilder()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU', vfs=8)
        plan = rules.make_plan(
            b.snapshot(), [builders.report('a40', address=builders.A40_PF)])
        host = plan.host('a40-host')
        gpu = host.gpus[0]
        self.assertEqual(('nvidia-558', 'host-report', 24),
                         (gpu.legacy_type, gpu.vfs_source, gpu.vf_count))
        self.assertNotIn(builders.A40_PF, gpu.vfs)


class TestRefusals(testtools.TestCase):

    def test_one_pf_two_types(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        vfs = estates.vf_addresses(builders.A40_PF, 2)
        b.legacy('cmp1', vfs[0], rc='CUSTOM_NVIDIA_558')
        b.legacy('cmp1', vfs[1], rc='CUSTOM_NVIDIA_555')
        plan = rules.make_plan(b.snapshot())
        reason = refusal_for(plan, 'gpu %s on cmp1' % builders.A40_PF)
        self.assertIn('one PF would need two VF types', reason[0])
        self.assertIn('nvidia-555, nvidia-558', reason[0])
        self.assertEqual((), plan.hosts)

    def test_one_pf_two_types_from_report(self):
        spec = fake_sysfs.preset('a40')
        spec['gpus'][0]['address'] = builders.A40_PF
        spec['gpus'][0]['vf_mdevs'] = {
            0: (fake_sysfs.mdev_uuid(builders.A40_PF, 0), 558),
            1: (fake_sysfs.mdev_uuid(builders.A40_PF, 1), 555)}
        root = tempfile.mkdtemp()
        fake_sysfs.build_host(root, spec)
        rep = collect_sysfs.collect_host_report(root, hostname='a40-host',
                                                collected_at='x')
        b = builders.PlanEstateBuilder()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU', vfs=2)
        plan = rules.make_plan(b.snapshot(), [rep])
        self.assertIn('one PF would need two VF types', refusal_for(
            plan, 'gpu %s on a40-host' % builders.A40_PF)[0])

    def test_t4_pf_mdev_is_refused(self):
        b = builders.PlanEstateBuilder()
        b.host('t4')
        b.legacy('t4', '0000:3b:00.0', total=16)
        plan = rules.make_plan(b.snapshot())
        self.assertIn('no SR-IOV vGPU',
                      refusal_for(plan, 'gpu 0000:3b:00.0 on t4')[0])

    def test_half_converted_gpu_is_refused(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        b.legacy_gpu('cmp1', vfs=2)
        b.pci('cmp1', builders.A40_PF, 'CUSTOM_NVIDIA_A40_2Q', 4)
        plan = rules.make_plan(b.snapshot())
        self.assertIn('VFIO-A108',
                      refusal_for(plan, 'gpu %s on cmp1' % builders.A40_PF)[0])

    def test_hosts_filter(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot(),
                               options=rules.Options(hosts=('cmp2',)))
        self.assertEqual(['cmp2'], [h.host for h in plan.hosts])
        stays = [s for s in plan.servers if s.status == 'stays']
        self.assertEqual(3, len(stays))


class TestCapacityAndOrder(testtools.TestCase):

    def test_drain_order_every_server_has_a_place(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        self.assertEqual(('cmp2', 'cmp1'), plan.order)
        first, second = plan.host('cmp2'), plan.host('cmp1')
        self.assertEqual(1, first.order)
        self.assertEqual([('other-0', 'migrate', 'cmp1', None)],
                         [(m.server_name, m.action, m.to_host, m.to_flavor)
                          for m in first.drain])
        self.assertEqual(['resize'] * 4, [m.action for m in second.drain])
        self.assertEqual({'cmp2'}, {m.to_host for m in second.drain})
        self.assertEqual({'vgpu.a40-2q.vf'},
                         {m.to_flavor for m in second.drain})
        (cap,) = plan.capacity
        self.assertEqual((16, 4, 0), (cap.vfs_total, cap.legacy_in_use,
                                      cap.shortfall))
        self.assertEqual(['move'] * 4, [s.status for s in plan.servers])

    def test_existing_converted_capacity_is_used_first(self):
        b = builders.two_host_estate()
        b.host('new')
        b.pci('new', builders.A40_PF, 'CUSTOM_NVIDIA_A40_2Q', 8)
        plan = rules.make_plan(b.snapshot())
        moves = [m for h in plan.hosts for m in h.drain]
        self.assertEqual({('resize', 'new')},
                         {(m.action, m.to_host) for m in moves[:4]})
        self.assertEqual(8, plan.capacity[0].vfs_existing)

    def test_shortfall_when_nowhere_to_go(self):
        b = builders.PlanEstateBuilder()
        b.host('only')
        p = b.legacy_gpu('only', vfs=4, used=3)
        b.servers_on('vm', 'only', builders.a40_flavor(b), p, 3)
        plan = rules.make_plan(b.snapshot())
        self.assertEqual((), plan.order)
        self.assertIsNone(plan.host('only').order)
        (cap,) = plan.capacity
        self.assertEqual(3, cap.shortfall)
        self.assertIn('3 CUSTOM_NVIDIA_A40_2Q',
                      refusal_for(plan, 'host only')[0])
        self.assertEqual(['blocked'] * 3, [s.status for s in plan.servers])

    def test_final_shortfall_by_type(self):
        # 6 servers on 8 legacy vGPUs but the type fits only 4 VFs per GPU
        # (A40-24A: 48 GB / 24 GB = 2, capped): nowhere near enough VFs.
        b = builders.PlanEstateBuilder()
        for host in ('a', 'b'):
            b.host(host)
        pa = b.legacy_gpu('a', rc='CUSTOM_NVIDIA_575', vfs=4, used=3)
        pb = b.legacy_gpu('b', rc='CUSTOM_NVIDIA_575', vfs=4, used=3)
        f = b.flavor('a40-24a', **{'resources:CUSTOM_NVIDIA_575': '1'})
        b.servers_on('x', 'a', f, pa, 3, rc='CUSTOM_NVIDIA_575')
        b.servers_on('y', 'b', f, pb, 3, rc='CUSTOM_NVIDIA_575')
        plan = rules.make_plan(b.snapshot())
        (cap,) = plan.capacity
        self.assertEqual(('CUSTOM_NVIDIA_A40_24A', 4, 6),
                         (cap.resource_class, cap.vfs_total,
                          cap.legacy_in_use))
        self.assertEqual(2, cap.shortfall)


class TestFlavors(testtools.TestCase):

    def test_translate_extra_specs(self):
        specs = {'resources1:VGPU': '1', 'resources2:VGPU': '1',
                 'trait1:CUSTOM_VGPU_A40': 'required',
                 'trait:CUSTOM_GOLD': 'required',
                 'trait:CUSTOM_ON_PGPU': 'required',
                 'group_policy': 'isolate', 'hw:cpu_policy': 'dedicated'}
        out = rules.translate_extra_specs(specs, frozenset(),
                                          {'CUSTOM_ON_PGPU'}, 'a40', 2)
        self.assertEqual({'hw:cpu_policy': 'dedicated',
                          'pci_passthrough:alias': 'a40:2',
                          'trait:CUSTOM_GOLD': 'required'}, out)

    def test_translate_appends_to_existing_alias(self):
        out = rules.translate_extra_specs(
            {'resources:VGPU': '1', 'pci_passthrough:alias': 'nic:1'},
            frozenset(), set(), 'a40', 1)
        self.assertEqual('nic:1, a40:1', out['pci_passthrough:alias'])

    def test_flavor_plan(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        b.host('cmp2')
        p = b.legacy_gpu('cmp1', used=1, traits=('CUSTOM_VGPU_A40_2Q',))
        b.legacy_gpu('cmp2')
        f = builders.a40_flavor(b, **{'trait:CUSTOM_VGPU_A40_2Q': 'required',
                             'hw:mem_page_size': 'large'})
        b.servers_on('vm', 'cmp1', f, p, 1)
        plan = rules.make_plan(b.snapshot())
        (fp,) = plan.flavors
        self.assertEqual(('vgpu.a40-2q.vf', 'vgpu.a40-2q', f.id, 4, 8192,
                          40, 'nvidia-a40-2q', 1, 1, False),
                         (fp.name, fp.source_flavor, fp.source_flavor_id,
                          fp.vcpus, fp.ram, fp.disk, fp.alias, fp.count,
                          fp.servers_to_move, fp.exists))
        self.assertEqual({'hw:mem_page_size': 'large',
                          'pci_passthrough:alias': 'nvidia-a40-2q:1'},
                         fp.extra_specs)


class TestTemplates(testtools.TestCase):

    def test_defaults(self):
        self.assertEqual('CUSTOM_NVIDIA_A40_2Q', rules.render_resource_class(
            rules.DEFAULT_RESOURCE_CLASS_TEMPLATE, 'NVIDIA A40-2Q'))
        self.assertEqual('nvidia-a40-2q', rules.render_alias(
            rules.DEFAULT_ALIAS_TEMPLATE, 'NVIDIA A40-2Q'))
        self.assertEqual('CUSTOM_VF_A40_2Q_558', rules.render_resource_class(
            'CUSTOM_VF_{short}_{type_id}', 'NVIDIA A40-2Q', 558))

    def test_unknown_placeholder(self):
        for template in ('CUSTOM_{nope}', 'CUSTOM_{profile.x}',
                         'CUSTOM_{profile!r}', 'CUSTOM_{profile:>9}',
                         'CUSTOM_{'):
            e = self.assertRaises(rules.TemplateError,
                                  rules.render_resource_class, template,
                                  'NVIDIA A40-2Q')
            self.assertIn(template, str(e))

    def test_results_placement_or_nova_reject(self):
        e = self.assertRaises(rules.TemplateError,
                              rules.render_resource_class, 'VGPU',
                              'NVIDIA A40-2Q')
        self.assertIn('standard class VGPU', str(e))
        e = self.assertRaises(rules.TemplateError,
                              rules.render_resource_class,
                              'custom_{profile}-x', 'NVIDIA A40-2Q')
        self.assertIn('Placement rejects', str(e))
        e = self.assertRaises(rules.TemplateError, rules.render_alias,
                              'gpu:{short}', 'NVIDIA A40-2Q')
        self.assertIn('pci_passthrough:alias', str(e))
        e = self.assertRaises(rules.TemplateError, rules.render_flavor_name,
                              ' {flavor}', 'f', 'NVIDIA A40-2Q', 558, 'a', 1)
        self.assertIn('leading/trailing', str(e))

    def test_template_collisions(self):
        b = builders.two_host_estate()
        b.host('cmp3')
        b.legacy_gpu('cmp3', rc='CUSTOM_NVIDIA_555')
        e = self.assertRaises(
            rules.TemplateError, rules.make_plan, b.snapshot(),
            options=rules.Options(resource_class_template='CUSTOM_VF'))
        self.assertIn('NVIDIA A40-1B and NVIDIA A40-2Q', str(e))

    def test_parse_maps(self):
        self.assertEqual((('nvidia-558', 'NVIDIA A40-2Q'),),
                         rules.parse_maps(['nvidia-558 = NVIDIA A40-2Q']))
        for bad in (['nvidia-558'], ['=x'], ['a=b', 'A=c'],
                    ['a=$(reboot)']):
            self.assertRaises(ValueError, rules.parse_maps, bad)


class TestConfigLines(testtools.TestCase):

    def test_address_specs_cover_vfs_and_never_the_pf(self):
        pf = builders.A40_PF
        vfs = estates.vf_addresses(pf, 13)   # 00.4-00.7, 01.*, 02.0
        specs = rules.vf_address_specs(pf, vfs)
        self.assertEqual([{'domain': '0000', 'bus': '41', 'slot': '00',
                           'function': '[4567]'},
                          '0000:41:01.*',
                          {'domain': '0000', 'bus': '41', 'slot': '02',
                           'function': '[0]'}], specs)
        parsed = [devspec.parse_device_spec({'address': s}) for s in specs]
        for address in ['0000:41:%02x.%d' % (s, f) for s in range(4)
                        for f in range(8)]:
            device = pci_address.parse_physical_address(address)
            hit = any(p.address.match(device) for p in parsed)
            self.assertEqual(address in vfs, hit, address)

    def test_single_vf_keeps_its_address(self):
        self.assertEqual(['0000:41:00.5'], rules.vf_address_specs(
            builders.A40_PF, ['0000:41:00.5']))


def lint_text(text, host_report=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, 'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        found = lint.lint(collect_conf.read_conf([path]), host_report)
    return [(f.code, f.severity, f.message) for f in found
            if f.severity != 'info']


class TestRoundTrip(testtools.TestCase):
    """Every generated line passes the ``config check`` rules."""

    def test_compute_and_controller_lines(self):
        b = builders.two_host_estate()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU')
        rep = builders.report('a40', address=builders.A40_PF)
        plan = rules.make_plan(b.snapshot(), [rep])
        self.assertEqual(3, len(plan.hosts))
        for host in plan.hosts:
            text = novaconf.host_snippet(host)
            self.assertIn('report_in_placement = True', text)
            self.assertEqual([], lint_text(text), host.host)
            for line in host.device_spec:
                self.assertEqual('no', json.loads(line)['managed'])
        self.assertEqual([], lint_text(
            novaconf.host_snippet(plan.host('a40-host')), rep))
        # Controllers, with and without pci_in_placement.
        self.assertEqual([], lint_text(
            novaconf.controllers_snippet(plan.controllers)))
        self.assertEqual([], lint_text('[pci]\n' + ''.join(
            'alias = %s\n' % a for a in plan.controllers.alias)))

    def test_sandbox_small_estate(self):
        snapshot = builders.estate_snapshot(estates.small())
        plan = rules.make_plan(snapshot, options=rules.Options(
            maps=(('VGPU', 'NVIDIA A40-2Q'),)))
        self.assertEqual(('a40-02.sandbox.test', 'a40-01.sandbox.test'),
                         plan.order)
        for host in plan.hosts:
            self.assertEqual([], lint_text(novaconf.host_snippet(host)),
                             host.host)
        self.assertEqual([], lint_text(
            novaconf.controllers_snippet(plan.controllers)))
        subjects = {r.subject for r in plan.refusals}
        self.assertIn('gpu 0000:3b:00.0 on t4-01.sandbox.test', subjects)
        self.assertIn('gpu 0000:41:00.0 on a40-04.sandbox.test', subjects)
        self.assertEqual(['vgpu.a40-2q.custom.vf', 'vgpu.a40-2q.vf'],
                         [f.name for f in plan.flavors])
        # What the apply commands check locally accepts the plan.
        from vfioclient.apply import flavors as apply_flavors
        from vfioclient.apply import resource_classes as apply_rcs
        again = plan_model.Plan.from_json(plan.to_json())
        self.assertEqual([None], [i.problem for i in apply_rcs.check_names(
            again.resource_classes)])
        specs = apply_flavors.specs_from_plan(again)
        self.assertEqual(2, len(specs))
        for spec in specs:
            apply_flavors.check_spec(spec)


class TestPlacementSettings(testtools.TestCase):

    def test_wide_tree_risk_gives_settings(self):
        b = builders.two_host_estate()
        b.flavor('two', **{'resources1:CUSTOM_NVIDIA_558': '1',
                           'resources2:CUSTOM_NVIDIA_558': '1'})
        plan = rules.make_plan(b.snapshot())
        self.assertEqual(
            [('placement', 'max_allocation_candidates', '100000'),
             ('placement', 'allocation_candidates_generation_strategy',
              'breadth-first'),
             ('workarounds', 'optimize_for_wide_provider_trees', 'True')],
            [(s.section, s.option, s.value)
             for s in plan.placement_settings])
        self.assertIn('VFIO-A114', plan.placement_settings[0].reason)

    def test_no_risk_no_settings(self):
        self.assertEqual((), rules.make_plan(
            builders.two_host_estate().snapshot()).placement_settings)


class TestDeterminismAndModel(testtools.TestCase):

    def test_same_inputs_same_bytes(self):
        a10 = builders.report('a10')

        def build(order):
            b = builders.PlanEstateBuilder()
            for host in order:
                b.host(host)
            f = builders.a40_flavor(b)
            for host in order:
                p = b.legacy_gpu(host, used=2 if host == 'b' else 1)
                b.servers_on('vm-' + host, host, f, p,
                             2 if host == 'b' else 1)
            return rules.make_plan(b.snapshot(), [a10])
        one = build(['a', 'b', 'c']).to_json()
        self.assertEqual(one, build(['c', 'b', 'a']).to_json())
        self.assertIn('"sha256"', one)

    def test_round_trip_and_contract_keys(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        text = plan.to_json()
        doc = json.loads(text)
        self.assertEqual(
            ['schema_version', 'kind', 'inputs', 'resource_classes',
             'aliases', 'flavors', 'type_mappings', 'hosts'],
            list(doc)[:8])
        for key in ('servers', 'capacity', 'placement_settings',
                    'refusals'):
            self.assertIn(key, doc)
        self.assertEqual(
            {'resource_class', 'vfs_total', 'legacy_in_use', 'shortfall'},
            {'resource_class', 'vfs_total', 'legacy_in_use',
             'shortfall'} & set(doc['capacity'][0]))
        again = plan_model.Plan.from_json(text)
        self.assertEqual(plan, again)
        self.assertEqual(text, again.to_json())

    def test_bad_documents(self):
        text = rules.make_plan(builders.two_host_estate().snapshot()).to_json()
        doc = json.loads(text)
        doc['schema_version'] = 1
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc, 'p.json')
        self.assertIn('schema_version 1', str(e))
        self.assertIn('make the plan again with "openstack vfio plan"',
                      str(e))
        doc['schema_version'] = 99
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc, 'p.json')
        self.assertIn('schema_version 99', str(e))
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_json, text[:100])
        self.assertIn('not valid JSON', str(e))
        doc = json.loads(text)
        del doc['flavors'][0]['count']
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertIn("flavors[0]: missing key 'count'", str(e))
        doc = json.loads(text)
        doc['flavors'][0]['alias'] = 'other'
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertIn('unknown alias other', str(e))
        doc = json.loads(text)
        doc['flavors'][0]['vcpus'] = True
        self.assertRaises(plan_model.PlanError, plan_model.Plan.from_dict,
                          doc)


class TestProfiles(testtools.TestCase):

    def test_lookup(self):
        self.assertEqual('A40', profiles.lookup('nvidia-558').board)
        self.assertEqual(558, profiles.lookup('A40-2Q').type_id)
        self.assertEqual('RTX6000-Ada',
                         profiles.board_of_profile('NVIDIA RTX6000-Ada-1Q'))
        self.assertEqual((24, True), profiles.max_instance(
            profiles.by_id(558)))
        self.assertEqual((2, False), profiles.max_instance(
            profiles.by_id(575)))
        self.assertIsNone(profiles.vf_product_id('A100'))
        self.assertTrue(all(p.board for p in profiles.PROFILES))


class TestLiveMigratable(testtools.TestCase):
    """``plan --live-migratable``: the decision is written into every
    device_spec and alias line, and recorded with the plan's options."""

    def plan(self, reports=(), **options):
        b = builders.two_host_estate()
        return rules.make_plan(b.snapshot(), reports,
                               options=rules.Options(**options))

    def test_lines_carry_live_migratable(self):
        plan = self.plan(live_migratable=True)
        self.assertIs(True, plan.inputs.options['live_migratable'])
        for host in plan.hosts:
            self.assertTrue(host.device_spec)
            for line in host.device_spec + host.alias:
                self.assertEqual('yes', json.loads(line)['live_migratable'],
                                 line)
        for a in plan.aliases:
            self.assertEqual('yes', json.loads(a.line)['live_migratable'])
        self.assertEqual([a.line for a in plan.aliases],
                         list(plan.controllers.alias))
        # The lines pass config check together (no C123 / C163).
        for host in plan.hosts:
            self.assertEqual([], lint_text(novaconf.host_snippet(host)))

    def test_without_the_option_nothing_is_said(self):
        plan = self.plan()
        self.assertIs(False, plan.inputs.options['live_migratable'])
        for host in plan.hosts:
            for line in host.device_spec + host.alias:
                self.assertNotIn('live_migratable', json.loads(line))
            self.assertFalse(any('libvirt' in n for n in host.notes))

    def reports(self, libvirt, qemu):
        rep = builders.report('a40', hostname='cmp1',
                              address=builders.A40_PF)
        return [dataclasses.replace(rep, libvirt_version=libvirt,
                                    qemu_version=qemu)]

    def test_host_below_the_minimum_is_refused(self):
        plan = self.plan(self.reports('9.0.0', '8.2.2'),
                         live_migratable=True)
        self.assertIsNone(plan.host('cmp1'))
        (reason,) = refusal_for(plan, 'host cmp1')
        self.assertIn('libvirt 9.0.0 < 10.0.0', reason)
        self.assertIn('plan without --live-migratable', reason)
        # Without live_migratable the same host is planned.
        plan = self.plan(self.reports('9.0.0', '8.2.2'))
        self.assertIsNotNone(plan.host('cmp1'))
        self.assertEqual([], refusal_for(plan, 'host cmp1'))

    def test_unknown_versions_are_a_host_note(self):
        plan = self.plan(self.reports('10.0.0', '8.2.2'),
                         live_migratable=True)
        self.assertFalse(any('libvirt' in n
                             for n in plan.host('cmp1').notes))
        (note,) = [n for n in plan.host('cmp2').notes if 'libvirt' in n]
        self.assertIn('libvirt >= 10.0.0 and QEMU >= 8.2.2', note)


class TestNovaRelease(testtools.TestCase):
    """The traits the plan expects on each converted GPU's PCI provider
    come from the target release (vfioclient.nova.releases)."""

    def traits(self, series, **options):
        plan = rules.make_plan(
            builders.two_host_estate().snapshot(),
            options=rules.Options(nova_release=releases.get(series),
                                  **options))
        self.assertEqual(series, plan.inputs.options['nova_release'])
        found = {g.provider_traits for h in plan.hosts for g in h.gpus}
        self.assertEqual(1, len(found))
        return found.pop()

    def test_2025_1_and_2026_1_expect_the_managed_trait_only(self):
        for series in ('2025.1', '2026.1'):
            self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE',),
                             self.traits(series), series)
            self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE',),
                             self.traits(series, live_migratable=True),
                             series)

    def test_2026_2_adds_owner_and_live_migratable(self):
        self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE', 'OWNER_NOVA'),
                         self.traits('2026.2'))
        self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE',
                          'HW_PCI_LIVE_MIGRATABLE', 'OWNER_NOVA'),
                         self.traits('2026.2', live_migratable=True))

    def test_default_is_the_oldest_release(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        self.assertEqual('2025.1', plan.inputs.options['nova_release'])

    def test_provider_traits_survive_the_document(self):
        plan = rules.make_plan(
            builders.two_host_estate().snapshot(),
            options=rules.Options(nova_release=releases.get('2026.2')))
        again = plan_model.Plan.from_json(plan.to_json())
        self.assertEqual(plan, again)
        doc = json.loads(plan.to_json())
        del doc['hosts'][0]['gpus'][0]['provider_traits']
        older = plan_model.Plan.from_dict(doc)
        self.assertEqual((), older.hosts[0].gpus[0].provider_traits)


class TestNovaReleaseExpectations(testtools.TestCase):
    """What the plan expects Nova to put on each converted GPU's PCI
    provider depends on the target release (issue 18 item 5)."""

    def traits(self, series, live_migratable):
        plan = rules.make_plan(
            builders.two_host_estate().snapshot(), options=rules.Options(
                nova_release=releases.get(series),
                live_migratable=live_migratable))
        found = {tuple(g.provider_traits) for h in plan.hosts
                 for g in h.gpus}
        self.assertEqual(1, len(found), found)
        return found.pop()

    def test_2025_1_and_2026_1_expect_the_managed_trait_only(self):
        for series in ('2025.1', '2026.1'):
            for live in (False, True):
                self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE',),
                                 self.traits(series, live),
                                 (series, live))

    def test_2026_2_adds_owner_and_live_migratable_traits(self):
        self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE', 'OWNER_NOVA'),
                         self.traits('2026.2', False))
        self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE',
                          'HW_PCI_LIVE_MIGRATABLE', 'OWNER_NOVA'),
                         self.traits('2026.2', True))


class TestInputFingerprints(testtools.TestCase):
    """Inputs not read from a file (a live snapshot, a report built in
    process) are fingerprinted as the file vfioclient would write."""

    def setUp(self):
        super().setUp()
        b = builders.two_host_estate()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU')
        self.snapshot = b.snapshot()
        self.report = builders.report('a40', address=builders.A40_PF)

    @staticmethod
    def sha256(text):
        return hashlib.sha256(text.encode('utf-8')).hexdigest()

    def test_live_snapshot_is_the_file_save_snapshot_writes(self):
        plan = rules.make_plan(self.snapshot, [self.report])
        self.assertEqual(self.sha256(''.join(self.snapshot.iter_json())),
                         plan.inputs.snapshot.sha256)
        self.assertEqual(self.sha256(self.snapshot.to_json()),
                         plan.inputs.snapshot.sha256)

    def test_report_is_the_file_host_report_writes(self):
        plan = rules.make_plan(self.snapshot, [self.report])
        self.assertEqual(
            [self.sha256(json.dumps(self.report.to_json(), indent=2)
                         + '\n')],
            [r.sha256 for r in plan.inputs.host_reports])

    def test_a_file_read_keeps_its_own_sha256(self):
        # a report file formatted otherwise than vfioclient writes it:
        # the plan names the file's bytes, not a re-encoding
        text = json.dumps(self.report.to_json(), separators=(',', ':'))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'a40.json')
            with open(path, 'w') as f:
                f.write(text)
            loaded = documents.load(path, documents.HOST_REPORT)
        self.assertEqual(self.report, loaded)     # the digest is no field
        plan = rules.make_plan(self.snapshot, [loaded])
        self.assertEqual([self.sha256(text)],
                         [r.sha256 for r in plan.inputs.host_reports])


class TestPlanText(testtools.TestCase):
    """``Plan.write_json`` (how ``--output`` writes the plan, a host at a
    time) gives exactly ``Plan.to_json``'s text."""

    def written(self, plan):
        pieces = []
        plan.write_json(pieces.append)
        self.assertGreater(len(pieces), 3)
        return ''.join(pieces)

    def test_estates_with_waves_refusals_and_empty_sections(self):
        cases = [
            (estates.get('large', 12), rules.Options(wave_size=3)),
            (estates.get('small'), rules.Options()),
            (estates.get('edge'), rules.Options()),
            (estates.get('converted'), rules.Options()),
        ]
        for estate, options in cases:
            plan = rules.make_plan(builders.estate_snapshot(estate),
                                   options=options)
            self.assertEqual(plan.to_json(), self.written(plan))

    def test_a_plan_with_nothing_planned(self):
        b = builders.two_host_estate()
        plan = rules.make_plan(dataclasses.replace(
            b.snapshot(), providers=(), allocations=(), servers=()))
        self.assertEqual((), plan.hosts)
        self.assertEqual(plan.to_json(), self.written(plan))
