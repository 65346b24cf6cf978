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

"""Hosts whose GPUs need different VF types (issue 19, item 4).

Nova takes one resource class and trait set per PF, not per host
(``PciResourceProvider.add_child`` in
``nova/compute/pci_placement_translator.py``, stable/2025.1 and later), so
the plan gives each GPU the VF type of its own legacy type: the boot
script sets each GPU's, the ``device_spec`` lines give each GPU's VFs its
type's class, and the runbook shows which GPU gets which type.
"""

import csv
import json
import os
import re

import fixtures
import testtools

from vfioclient.collect import conf as conf_reader
from vfioclient.model import plan as plan_model
from vfioclient.nova import devspec
from vfioclient.render import bootscript
from vfioclient.render import runbook
from vfioclient.rules import plan as rules
from vfioclient.sandbox import estates
from vfioclient.tests.unit import builders
from vfioclient.v1 import plan as plan_command

SECOND_PF = '0000:81:00.0'
RC_2Q = 'CUSTOM_NVIDIA_A40_2Q'
RC_1B = 'CUSTOM_NVIDIA_A40_1B'


def mixed_estate():
    """``mix0`` and ``mix1``: an A40 that ran nvidia-558 (A40-2Q, 8 VFs)
    and one that ran nvidia-555 (A40-1B, 4 VFs); ``mix0`` holds 2 + 1
    servers, ``mix1`` none.  ``plain``: one nvidia-558 A40."""
    b = builders.PlanEstateBuilder()
    f2q = builders.a40_flavor(b)
    f1b = b.flavor('vgpu.a40-1b', **{'resources:CUSTOM_NVIDIA_555': '1'})
    for name, used_2q, used_1b in (('mix0', 2, 1), ('mix1', 0, 0)):
        b.host(name)
        p2q = b.legacy_gpu(name, vfs=8, used=used_2q)
        p1b = b.legacy_gpu(name, pf=SECOND_PF, vfs=4,
                           rc='CUSTOM_NVIDIA_555', used=used_1b)
        b.servers_on(name + '-2q', name, f2q, p2q, used_2q)
        b.servers_on(name + '-1b', name, f1b, p1b, used_1b,
                     rc='CUSTOM_NVIDIA_555')
    b.host('plain')
    b.legacy_gpu('plain', vfs=8)
    return b


def first_spec(host, gpu, vf):
    """The device_spec line Nova takes for ``vf`` (the first matching)."""
    specs = devspec.parse_device_specs(host.device_spec,
                                       report_in_placement=True)
    _index, spec = devspec.first_match(
        specs, devspec.PciDevice(vf, '10de', gpu.product_id, gpu.address),
        frozenset(g.address for g in host.gpus))
    return spec


class TestPlanningAMixedHost(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = rules.make_plan(mixed_estate().snapshot())

    def test_each_gpu_keeps_the_profile_of_its_legacy_type(self):
        self.assertEqual((), self.plan.refusals)
        host = self.plan.host('mix0')
        self.assertEqual(
            [(builders.A40_PF, 'nvidia-558', 'NVIDIA A40-2Q', RC_2Q, 8),
             (SECOND_PF, 'nvidia-555', 'NVIDIA A40-1B', RC_1B, 4)],
            [(g.address, g.legacy_type, g.vf_type_name, g.resource_class,
              g.vf_count) for g in host.gpus])
        self.assertEqual(('NVIDIA A40-1B', 'NVIDIA A40-2Q'), host.vf_types)
        # Why: the type mapping says where each VF type comes from.
        self.assertEqual(
            {('nvidia-555', 'NVIDIA A40-1B', RC_1B, 2),
             ('nvidia-558', 'NVIDIA A40-2Q', RC_2Q, 3)},
            {(m.legacy_type, m.vf_type_name, m.resource_class, m.gpus)
             for m in self.plan.type_mappings})

    def test_one_pci_provider_per_gpu_with_its_class(self):
        host = self.plan.host('mix0')
        self.assertEqual(
            [('mix0_%s' % builders.A40_PF.upper(), RC_2Q, 8),
             ('mix0_%s' % SECOND_PF.upper(), RC_1B, 4)],
            [(g.provider_after.name, g.provider_after.resource_class,
              g.provider_after.total) for g in host.gpus])

    def test_device_spec_lines_follow_the_gpus(self):
        host = self.plan.host('mix0')
        for gpu in host.gpus:
            for vf in gpu.vfs:
                self.assertEqual(gpu.resource_class,
                                 first_spec(host, gpu, vf).resource_class)
        # No line matches VFs of both GPUs (Nova refuses two classes on
        # one PF, and each line carries one class).
        for line in host.device_spec:
            self.assertIn(json.loads(line)['resource_class'],
                          (RC_2Q, RC_1B))

    def test_one_alias_per_type(self):
        host = self.plan.host('mix0')
        self.assertEqual([RC_1B, RC_2Q], sorted(
            json.loads(a)['resource_class'] for a in host.alias))
        self.assertEqual(
            [('nvidia-a40-1b', RC_1B), ('nvidia-a40-2q', RC_2Q)],
            [(a.name, a.resource_class) for a in self.plan.aliases])

    def test_boot_setup_names_each_gpus_type(self):
        setup = self.plan.host('mix0').boot_setup
        self.assertEqual((None, None, None),
                         (setup.vf_type, setup.type_id, setup.vfs_per_gpu))
        self.assertEqual(
            ((builders.A40_PF, 'NVIDIA A40-2Q', None),
             (SECOND_PF, 'NVIDIA A40-1B', None)), setup.gpu_types())
        script = bootscript.render_boot_setup(setup)
        self.assertIn("GPU_TYPES='%s|NVIDIA A40-2Q|" % builders.A40_PF,
                      script)
        self.assertIn('\n%s|NVIDIA A40-1B|' % SECOND_PF, script)
        # The single-type host keeps the script of one type.
        plain = bootscript.render_boot_setup(
            self.plan.host('plain').boot_setup)
        self.assertIn("\nGPU_TYPES=''\n", plain)
        self.assertIn("\nVGPU_TYPE='NVIDIA A40-2Q'\n", plain)

    def test_kind_describes_the_mix(self):
        kinds = {h.host: h.kind for h in self.plan.hosts}
        self.assertEqual(kinds['mix0'], kinds['mix1'])
        self.assertEqual(
            '1 x A40 nvidia-555 -> NVIDIA A40-1B (%s, 4 VFs) + 1 x A40 '
            'nvidia-558 -> NVIDIA A40-2Q (%s, 8 VFs)' % (RC_1B, RC_2Q),
            kinds['mix0'])
        self.assertEqual('1 x A40 nvidia-558 -> NVIDIA A40-2Q (%s, 8 VFs)'
                         % RC_2Q, kinds['plain'])

    def test_capacity_and_drain_per_class(self):
        rows = {c.resource_class: c for c in self.plan.capacity}
        self.assertEqual((24, 2, 0), (rows[RC_2Q].vfs_total,
                                      rows[RC_2Q].legacy_in_use,
                                      rows[RC_2Q].shortfall))
        self.assertEqual((8, 1, 0), (rows[RC_1B].vfs_total,
                                     rows[RC_1B].legacy_in_use,
                                     rows[RC_1B].shortfall))
        self.assertEqual([('mix1', 4), ('mix0', 4)], [
            (h.host, h.vfs_total) for h in rows[RC_1B].hosts][::-1])
        # mix0's servers go to mix1's VFs of their own class.
        drains = {(m.server_name, m.action, m.to_host, m.to_flavor)
                  for m in self.plan.host('mix0').drain}
        flavors = {f.resource_class: f.name for f in self.plan.flavors}
        self.assertEqual(
            {('mix0-2q-0', 'resize', 'mix1', flavors[RC_2Q]),
             ('mix0-2q-1', 'resize', 'mix1', flavors[RC_2Q]),
             ('mix0-1b-0', 'resize', 'mix1', flavors[RC_1B])}, drains)
        self.assertLess(self.plan.order.index('mix1'),
                        self.plan.order.index('mix0'))

    def test_waves_grouped_by_kind_keep_mixed_hosts_together(self):
        plan = rules.make_plan(mixed_estate().snapshot(),
                               options=rules.Options(group_by='kind',
                                                     wave_size=3))
        kinds = {h.host: h.kind for h in plan.hosts}
        for wave in plan.waves:
            self.assertEqual(1, len({kinds[h] for h in wave.hosts}))
            self.assertEqual(kinds[wave.hosts[0]], wave.group)
        self.assertEqual(sorted(kinds), sorted(plan.order))

    def test_document_round_trip(self):
        doc = json.loads(self.plan.to_json())
        mixed = next(h for h in doc['hosts'] if h['host'] == 'mix0')
        self.assertIsNone(mixed['boot_setup']['vf_type'])
        self.assertEqual(
            [(builders.A40_PF, 'NVIDIA A40-2Q'), (SECOND_PF,
                                                  'NVIDIA A40-1B')],
            [(g['gpu'], g['vf_type']) for g in mixed['boot_setup']['vfs']])
        self.assertEqual(self.plan, plan_model.Plan.from_dict(doc))


class TestTypesFromNovaConf(testtools.TestCase):

    def test_device_addresses_give_each_gpu_of_one_host_its_type(self):
        # The legacy classes say nothing (VGPU); the host's nova.conf
        # lists each GPU's VFs under its own [mdev_<type>].
        b = builders.PlanEstateBuilder()
        b.host('h1')
        b.legacy_gpu('h1', rc='VGPU')
        b.legacy_gpu('h1', pf=SECOND_PF, vfs=4, rc='VGPU')
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write('[devices]\nenabled_mdev_types = nvidia-558, '
                    'nvidia-555\n\n[mdev_nvidia-558]\ndevice_addresses = '
                    '%s\n\n[mdev_nvidia-555]\ndevice_addresses = %s\n' % (
                        ','.join(estates.vf_addresses(builders.A40_PF, 8)),
                        ','.join(estates.vf_addresses(SECOND_PF, 4))))
        conf = rules.nova_conf('h1', conf_reader.read_conf([path]))
        plan = rules.make_plan(b.snapshot(), (), rules.Options(), [conf])
        self.assertEqual((), plan.refusals)
        host = plan.host('h1')
        self.assertEqual(
            [(builders.A40_PF, 'nvidia-558', 'NVIDIA A40-2Q', RC_2Q),
             (SECOND_PF, 'nvidia-555', 'NVIDIA A40-1B', RC_1B)],
            [(g.address, g.legacy_type, g.vf_type_name, g.resource_class)
             for g in host.gpus])
        self.assertEqual(
            ((builders.A40_PF, 'NVIDIA A40-2Q', None),
             (SECOND_PF, 'NVIDIA A40-1B', None)),
            host.boot_setup.gpu_types())


class TestPlanDocuments(testtools.TestCase):

    def doc(self):
        return json.loads(rules.make_plan(mixed_estate().snapshot())
                          .to_json())

    def host(self, doc, name):
        return next(h for h in doc['hosts'] if h['host'] == name)

    def test_plans_without_per_gpu_types_still_load(self):
        # Written before types were per GPU: the setup's type applies.
        doc = self.doc()
        setup = self.host(doc, 'plain')['boot_setup']
        before = bootscript.render_boot_setup(
            plan_model.Plan.from_dict(doc).host('plain').boot_setup)
        for entry in setup['vfs']:
            del entry['vf_type'], entry['type_id']
        old = plan_model.Plan.from_dict(doc).host('plain').boot_setup
        self.assertEqual(((builders.A40_PF, 'NVIDIA A40-2Q', None),),
                         old.gpu_types())
        self.assertEqual(before, bootscript.render_boot_setup(old))

    def assert_refused(self, doc, text):
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertIn(text, str(e))

    def test_a_gpu_given_another_type_is_refused(self):
        doc = self.doc()
        self.host(doc, 'mix0')['boot_setup']['vfs'][1]['vf_type'] = \
            'NVIDIA A40-2Q'
        self.assert_refused(doc, 'the boot script would set NVIDIA A40-2Q '
                                 'on GPU %s' % SECOND_PF)

    def test_control_characters_in_a_refusal_are_escaped(self):
        # found by the loader fuzz: a type name holding a record separator
        # (a line break to str.splitlines) split the one-line error
        doc = self.doc()
        self.host(doc, 'mix0')['boot_setup']['vfs'][1]['vf_type'] = \
            'NVIDIA A40-2Q\x1e\n'
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertEqual([str(e)], str(e).splitlines())
        self.assertIn('would set NVIDIA A40-2Q\\x1e\\n on GPU', str(e))

    def test_a_gpu_without_any_type_is_refused(self):
        doc = self.doc()
        self.host(doc, 'mix0')['boot_setup']['vfs'][0]['vf_type'] = None
        self.assert_refused(doc, 'GPU %s: vfs[0].vf_type is null'
                            % builders.A40_PF)

    def test_a_shared_type_that_contradicts_a_gpu_is_refused(self):
        doc = self.doc()
        self.host(doc, 'mix0')['boot_setup']['vf_type'] = 'NVIDIA A40-2Q'
        self.assert_refused(doc, 'vfs[1].vf_type NVIDIA A40-1B (id None) '
                                 'is not vf_type NVIDIA A40-2Q')

    def test_a_setup_without_type_or_list_is_refused(self):
        doc = self.doc()
        setup = self.host(doc, 'mix0')['boot_setup']
        del setup['vfs']
        self.assert_refused(doc, 'no VF list (vfs) and no vf_type')


def table_rows(text):
    """The cells of every markdown table row in ``text``, stripped."""
    return [tuple(cell.strip() for cell in line.strip('|').split('|'))
            for line in text.splitlines() if line.startswith('|')]


def phase_of(text, host):
    """The plain runbook's phase converting ``host``."""
    return next(part for part in text.split('\n## Phase ')
                if part.split('\n')[0].endswith('convert ' + host))


class TestRunbooks(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan = rules.make_plan(mixed_estate().snapshot())

    def test_plain_runbook_shows_each_gpus_type(self):
        text = runbook.render(self.plan)
        phase = phase_of(text, 'mix0')
        self.assertIn('Its GPUs get different VF types', phase)
        rows = table_rows(phase)
        self.assertIn((SECOND_PF, 'nvidia-555', 'NVIDIA A40-1B',
                       'resolved at boot', '4', RC_1B), rows)
        self.assertIn((builders.A40_PF, 'nvidia-558', 'NVIDIA A40-2Q',
                       'resolved at boot', '8', RC_2Q), rows)
        self.assertIn(bootscript.render_boot_setup(
            self.plan.host('mix0').boot_setup), phase)
        self.assertIn('(vGPU types NVIDIA A40-1B, NVIDIA A40-2Q, one per '
                      'GPU)', phase)
        self.assertNotIn('different VF types', phase_of(text, 'plain'))

    def test_fleet_artifacts_share_one_script_per_layout(self):
        directory = self.useFixture(fixtures.TempDir()).path
        text = plan_command.Plan._write_artifacts(self.plan, 'plan.json',
                                                  directory)
        with open(os.path.join(directory, 'hosts.csv')) as f:
            rows = {r['host']: r for r in csv.DictReader(f)}
        self.assertEqual(rows['mix0']['boot_script'],
                         rows['mix1']['boot_script'])
        self.assertNotEqual(rows['mix0']['boot_script'],
                            rows['plain']['boot_script'])
        self.assertEqual(rows['mix0']['unit'], rows['mix1']['unit'])
        self.assertEqual(
            '%s: NVIDIA A40-2Q (8 VFs); %s: NVIDIA A40-1B (4 VFs)'
            % (builders.A40_PF, SECOND_PF), rows['mix0']['gpu_types'])
        with open(os.path.join(directory, rows['mix0']['boot_script'])) as f:
            self.assertEqual(bootscript.render_boot_setup(
                self.plan.host('mix0').boot_setup), f.read())
        scripts = [n for n in os.listdir(directory)
                   if re.match(r'vfio-vgpu-setup-[0-9a-f]+\.sh$', n)]
        self.assertEqual(2, len(scripts))
        # The phase of the mixed hosts has one layout row per script.
        self.assertIn(('%s: NVIDIA A40-2Q (8 VFs); %s: NVIDIA A40-1B (4 VFs)'
                       % (builders.A40_PF, SECOND_PF), '1',
                       rows['mix0']['boot_script']), table_rows(text))
