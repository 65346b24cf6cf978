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


"""The runbook's live-migration decision
(``vfioclient.render.decisions.live_migration_decision``)."""

import dataclasses

import testtools

from vfioclient.model import plan as plan_model
from vfioclient.nova import releases
from vfioclient.render import decisions
from vfioclient.rules import plan as rules
from vfioclient.tests.unit import builders


def decision(**options):
    plan = rules.make_plan(builders.two_host_estate().snapshot(),
                           options=rules.Options(**options))
    return '\n'.join(decisions.live_migration_decision(plan))


class TestLiveMigrationDecision(testtools.TestCase):

    def test_chosen_states_the_requirements(self):
        text = decision(live_migratable=True)
        self.assertTrue(text.startswith('### Live migration: chosen\n'))
        for needed in ('libvirt >= 10.0.0 and QEMU >= 8.2.2',
                       "PCI device spec is configured for live_migratable "
                       "but it's not supported by libvirt.",
                       'live_migration_permit_post_copy = False',
                       'VFIO-C123',
                       decisions.NVIDIA_LIVE_MIGRATION_DOC,
                       decisions.RHEL_VGPU_LIVE_MIGRATION_DOC):
            self.assertIn(needed, text)
        self.assertNotIn('second resize', text)
        self.assertNotIn('HW_PCI_LIVE_MIGRATABLE', text)

    def test_not_chosen_says_what_it_costs_later(self):
        text = decision()
        self.assertTrue(text.startswith('### Live migration: not chosen\n'))
        self.assertIn('**Choosing later costs a second resize of every '
                      'server**', text)
        self.assertIn('openstack vfio plan --live-migratable', text)
        self.assertIn('libvirt >= 10.0.0 and QEMU >= 8.2.2', text)

    def test_release_with_the_trait(self):
        text = decision(live_migratable=True,
                        nova_release=releases.get('2026.2'))
        self.assertIn('Nova 2026.2 (Hibiscus, 34.0.0) also puts the trait '
                      '`HW_PCI_LIVE_MIGRATABLE`', text)

    def test_plan_documents_without_the_options(self):
        # Plans written before these options existed: not chosen, oldest
        # release; a hand-edited series falls back to the oldest too.
        plan = rules.make_plan(builders.two_host_estate().snapshot(),
                               options=rules.Options(live_migratable=True))
        for options in ({}, {'live_migratable': True,
                             'nova_release': 'folsom'}):
            old = dataclasses.replace(plan, inputs=dataclasses.replace(
                plan.inputs, options=options))
            text = '\n'.join(decisions.live_migration_decision(
                plan_model.Plan.from_json(old.to_json())))
            self.assertIn('### Live migration:', text)
            self.assertNotIn('HW_PCI_LIVE_MIGRATABLE', text)
