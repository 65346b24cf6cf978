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

"""The Markdown runbook of a plan."""

import testtools

from vfioclient.render import bootscript
from vfioclient.render import novaconf
from vfioclient.render import runbook
from vfioclient.rules import plan as rules
from vfioclient.tests.unit import builders


def make_plan(**kw):
    b = builders.two_host_estate()
    b.flavor('two', **{'resources1:CUSTOM_NVIDIA_558': '1',
                       'resources2:CUSTOM_NVIDIA_558': '1'})
    return rules.make_plan(b.snapshot(), **kw)


class TestRunbook(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.plan = make_plan()
        self.text = runbook.render(self.plan, plan_file='night.json')

    def test_phases_in_order_with_verify_and_rollback(self):
        headings = [line for line in self.text.splitlines()
                    if line.startswith('## Phase')]
        self.assertEqual([
            '## Phase 0: pre-checks and backups',
            '## Phase 1: resource classes, aliases and flavors',
            '## Phase 2: convert cmp2',
            '## Phase 3: convert cmp1',
            '## Phase 4: PCI in Placement for scheduling'], headings)
        phases = self.text.split('## Phase ')[2:]
        for phase in phases:
            self.assertIn('Verify', phase)
            self.assertIn('Rollback', phase)
        for phase in phases[1:]:
            self.assertIn('openstack vfio verify --from-plan night.json',
                          phase)

    def test_host_phase_steps_in_safe_order(self):
        # Issue 18: disable, move servers, stop and mask nova-compute,
        # undefine persisted mdevs, switch driver and boot script,
        # nova.conf, provider cleanup, start, verify, enable.
        phase = self.text.split('## Phase 3: convert cmp1')[1].split(
            '## Phase 4')[0]
        steps = ['set --disable', 'openstack server resize --flavor',
                 'systemctl mask nova-compute',
                 "Undefine Nova's persisted mdevs",
                 'systemctl enable vfio-vgpu-setup.service',
                 'device_spec = ',
                 'provider cleanup --host cmp1 --from-plan night.json\n',
                 'systemctl start nova-compute',
                 'openstack vfio audit --fail-on error',
                 'set --enable cmp1 nova-compute']
        positions = [phase.index(step) for step in steps]
        self.assertEqual(sorted(positions), positions,
                         'steps out of order: %s' % sorted(
                             zip(positions, steps)))

    def test_pci_in_placement_waits_when_types_differ_by_product(self):
        self.assertEqual('final',
                         self.plan.controllers.pci_in_placement_phase)
        prepare = self.text.split('## Phase 1')[1].split('## Phase 2')[0]
        self.assertNotIn('pci_in_placement = True', prepare)
        self.assertIn('pci_in_placement = True',
                      self.text.split('## Phase 4')[1])

    def test_pci_in_placement_first_when_two_types_share_a_product(self):
        b = builders.PlanEstateBuilder()
        b.host('cmp1')
        b.host('cmp2')
        p1 = b.legacy_gpu('cmp1', used=1)
        p2 = b.legacy_gpu('cmp2', used=1, rc='CUSTOM_NVIDIA_566')
        b.servers_on('two', 'cmp1', builders.a40_flavor(b), p1, 1)
        b.servers_on('big', 'cmp2', b.flavor(
            'vgpu.a40-48q', **{'resources:CUSTOM_NVIDIA_566': '1'}),
            p2, 1, rc='CUSTOM_NVIDIA_566')
        plan = rules.make_plan(b.snapshot())
        self.assertEqual(2, len(plan.resource_classes), plan.refusals)
        self.assertEqual('prepare', plan.controllers.pci_in_placement_phase)
        self.assertIn('10de:2235', plan.controllers.ambiguous_products[0])
        text = runbook.render(plan, plan_file='night.json')
        prepare = text.split('## Phase 1')[1].split('## Phase 2')[0]
        self.assertLess(prepare.index('pci_in_placement = True'),
                        prepare.index('vfio flavor create'))
        self.assertIn('report_in_placement = True` on every compute',
                      prepare)
        self.assertNotIn('PCI in Placement for scheduling', text)
        self.assertIn('has been on since Phase 1', text)

    def test_exact_config_and_commands(self):
        for line in self.plan.host('cmp1').device_spec:
            self.assertIn('device_spec = %s' % line, self.text)
        self.assertIn('alias = %s' % self.plan.aliases[0].line, self.text)
        self.assertIn('[filter_scheduler]\npci_in_placement = True',
                      self.text)
        self.assertIn('openstack server resize --flavor vgpu.a40-2q.vf',
                      self.text)
        self.assertIn('server migrate --host cmp1', self.text)
        setup = self.plan.host('cmp1').boot_setup
        self.assertIn(bootscript.render_boot_setup(setup), self.text)
        self.assertIn(bootscript.render_systemd_unit(setup.vf_type),
                      self.text)
        self.assertIn(novaconf.host_snippet(self.plan.host('cmp1')),
                      self.text)
        self.assertIn(novaconf.controllers_snippet(self.plan.controllers),
                      self.text)
        self.assertIn('[mdev_nvidia-558] *', self.text)

    def test_mermaid_trees_and_tables(self):
        self.assertEqual(2, self.text.count('```mermaid'))
        self.assertIn('cmp1_pci_0000_41_00_4<br/>CUSTOM_NVIDIA_558: 1',
                      self.text)
        self.assertIn('cmp1_0000:41:00.0<br/>CUSTOM_NVIDIA_A40_2Q: 8',
                      self.text)
        self.assertIn('... 4 more like these', self.text)
        self.assertIn('| CUSTOM_NVIDIA_A40_2Q | NVIDIA A40-2Q |',
                      self.text)
        # Placement tuning shows up because the audit found A114.
        self.assertIn('max_allocation_candidates = 100000', self.text)

    def test_blocked_host_and_refusals(self):
        b = builders.PlanEstateBuilder()
        b.host('only')
        p = b.legacy_gpu('only', vfs=4, used=1)
        b.servers_on('vm', 'only', builders.a40_flavor(b), p, 1)
        b.host('t4')
        b.legacy('t4', '0000:3b:00.0', total=16)
        text = runbook.render(rules.make_plan(b.snapshot()))
        self.assertIn('## Phase 2: convert only (BLOCKED: see refusals)',
                      text)
        self.assertIn('### Not in this plan (refusals)', text)
        self.assertIn('| gpu 0000:3b:00.0 on t4 |', text)

    def test_deterministic(self):
        again = runbook.render(make_plan(), plan_file='night.json')
        self.assertEqual(self.text, again)
        self.assertTrue(self.text.endswith('```\n') or
                        self.text.endswith('\n'))
        self.assertNotIn('\r', self.text)

    def test_mermaid_label_is_quoted(self):
        tree = runbook.mermaid_tree('a"b', [('x', 'RC', 1, 0)])
        self.assertIn('root["a#quot;b"]', tree)
