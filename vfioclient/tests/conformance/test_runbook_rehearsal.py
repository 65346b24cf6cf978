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

"""The runbook, rehearsed in Nova's own harness (issue 18, item 6).

Estate: ``m60-legacy``, an mdev-on-PF host that stays legacy; four A40s
with mdevs on their VFs, two of type A40-2Q and two of A40-1B (one
product id, ``10de:2235``); a server of a private flavor on one 2Q host,
a server of a NUMA flavor on one 1B host.  The plan is made by ``openstack
vfio plan`` from the cloud and host reports; :mod:`.rehearsal` follows its
runbook phase by phase and checks after each phase that no server lost its
device, that no legacy flavor can be scheduled onto a converted host and
that a new flavor gets a VF of its own type or no host.

The same runbook with its steps in an unsafe order must fail those checks:
enabling a host before its legacy providers are removed, and switching
``pci_in_placement`` on only at the end while two VF types share a product
id.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import re

from vfioclient.tests.conformance import rehearsal


class RunbookRehearsalTest(rehearsal.RehearsalTestCase):

    def test_runbook_keeps_every_server_and_type(self):
        plan, runbook = self.make_plan()
        self.assertEqual('prepare',
                         plan['controllers']['pci_in_placement_phase'],
                         'two VF types share 10de:2235: the plan must '
                         'switch pci_in_placement on in Phase 1')
        self.assertEqual(
            sorted(h for h, *_ in rehearsal.A40_HOSTS),
            sorted(plan['order']), plan['refusals'])
        problems = self.rehearse(runbook, stop_at_first=False)
        self.assertEqual([], problems, 'following the runbook on Nova %s '
                         'was unsafe' % harness.NOVA_RELEASE)
        self.assertEqual({h for h, *_ in rehearsal.A40_HOSTS},
                         self.converted)
        for name in ('private-vm', 'numa-vm'):
            server = self.admin_api.get_server(self.servers[name]['id'])
            self.assertIn('pci_passthrough:alias',
                          server['flavor']['extra_specs'], name)
        # The private flavor's projects came along (flavor create).
        flavor = self.flavor_id('vgpu.a40-2q.private.vf')
        access = self.admin_api.api_get(
            '/flavors/%s/os-flavor-access' % flavor).body['flavor_access']
        self.assertEqual([self.api_fixture.project_id],
                         [a['tenant_id'] for a in access])
        # Nova's persisted mdevs of the legacy servers were named by the
        # plan and undefined by the runbook's step (else nova-compute
        # would not have started).
        for host in ('a40-2q-a', 'a40-1b-a'):
            self.assertTrue(self.host_plan(host)['mdev_definitions'], host)
            self.assertEqual([], harness.defined_mdevs(
                self.connection(host)), host)

    def test_enable_before_cleanup_is_caught(self):
        plan, runbook = self.make_plan()
        # The runbook before issue 18: cleanup "afterwards", so the host is
        # enabled with its legacy providers still in Placement.
        unsafe = re.sub(
            r'7\. Remove the legacy vGPU providers.*?```shell\n.*?```\n', '',
            runbook, flags=re.S)
        self.assertNotIn('--from-plan', ''.join(
            line for line in unsafe.split('## Afterwards')[0].splitlines()
            if 'provider cleanup' in line))
        problems = self.rehearse(unsafe)
        self.assertTrue(problems, 'the unsafe order went unnoticed')
        self.assertIn('legacy flavor', problems[0][1])
        self.assertIn('went ACTIVE on the converted host', problems[0][1])

    def test_pci_in_placement_too_late_is_caught(self):
        plan, runbook = self.make_plan()
        phases = runbook.split('## Phase ')
        # Phase 1 without the switch; the switch only at the very end.
        phases[2] = phases[2].replace(rehearsal.PCI_IN_PLACEMENT_LINE,
                                      'pci_in_placement = False')
        unsafe = '## Phase '.join(phases)
        unsafe = unsafe.replace(
            '## Servers', '## Phase 99: PCI in Placement\n\n```ini\n'
            '[filter_scheduler]\n%s\n```\n\n## Servers'
            % rehearsal.PCI_IN_PLACEMENT_LINE)
        problems = self.rehearse(unsafe)
        self.assertTrue(problems, 'the unsafe order went unnoticed')
        self.assertIn('whose VFs are', problems[0][1])
