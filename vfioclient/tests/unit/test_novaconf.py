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

"""nova.conf snippets rendered from a plan's option values."""

import testtools

from vfioclient.model import plan as plan_model
from vfioclient.render import novaconf
from vfioclient.rules import plan as rules
from vfioclient.tests.unit import builders


class TestConfText(testtools.TestCase):

    def test_sections_in_first_seen_order(self):
        opt = plan_model.ConfOption
        self.assertEqual(
            '[pci]\nreport_in_placement = True\nalias = {"a": 1}\n\n'
            '[libvirt]\nx = False\n',
            novaconf.conf_text([opt('pci', 'report_in_placement', 'True'),
                                opt('libvirt', 'x', 'False'),
                                opt('pci', 'alias', '{"a": 1}')]))

    def test_no_options(self):
        self.assertEqual('', novaconf.conf_text(()))

    def test_plan_snippets(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        host = plan.host('cmp1')
        self.assertEqual(
            '[pci]\nreport_in_placement = True\n%s%s\n'
            '[libvirt]\nlive_migration_permit_post_copy = False\n' % (
                ''.join('device_spec = %s\n' % s for s in host.device_spec),
                ''.join('alias = %s\n' % a for a in host.alias)),
            novaconf.host_snippet(host))
        self.assertEqual(
            '[pci]\nalias = %s\n\n[filter_scheduler]\n'
            'pci_in_placement = True\n' % plan.aliases[0].line,
            novaconf.controllers_snippet(plan.controllers))
