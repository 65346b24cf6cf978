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

"""``openstack vfio flavor create`` argument handling, offline.

What is refused or parsed before the command needs a cloud; the
requests themselves are covered by the functional tests.
"""


import fixtures

from vfioclient.apply import flavors as apply_flavors
from vfioclient.tests import base
from vfioclient.tests.shell import run_shell

AD_HOC = ('vfio', 'flavor', 'create', 't1.vf', '--vcpus', '2', '--ram',
          '2048', '--resource-class', 'CUSTOM_A40_2Q')


class TestFlavorCreateArguments(base.TestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.TempHomeDir())

    def openstack(self, *argv):
        return run_shell(argv, self)

    def test_property_is_parsed_like_osc(self):
        seen = {}
        real = apply_flavors.adhoc_spec

        def spy(*args, **kwargs):
            seen.update(kwargs['properties'])
            return real(*args, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.apply.flavors.adhoc_spec', spy))
        rc, out, err = self.openstack(
            *AD_HOC, '--property', 'hw:cpu_policy=dedicated',
            '--property', 'hw:mem_page_size=large')
        # Parsed, then the command asks for a cloud (there is none).
        self.assertEqual(1, rc)
        self.assertIn('needs a cloud', err)
        self.assertEqual({'hw:cpu_policy': 'dedicated',
                          'hw:mem_page_size': 'large'}, seen)

    def test_property_without_value_is_a_usage_error(self):
        rc, out, err = self.openstack(*AD_HOC, '--property', 'nokey')
        self.assertEqual(2, rc)
        self.assertIn('--property', err)

    def test_project_domain_needs_project(self):
        rc, out, err = self.openstack(*AD_HOC, '--private',
                                      '--project-domain', 'Default')
        self.assertEqual(1, rc)
        self.assertIn('--project-domain needs --project', err)

    def test_project_needs_private(self):
        rc, out, err = self.openstack(*AD_HOC, '--project', 'demo')
        self.assertEqual(1, rc)
        self.assertIn('--project needs --private', err)

    def test_from_plan_refuses_ad_hoc_options(self):
        rc, out, err = self.openstack(
            'vfio', 'flavor', 'create', '--from-plan', 'plan.json',
            '--property', 'a=b', '--project', 'demo')
        self.assertEqual(1, rc)
        self.assertIn('--from-plan cannot be combined with ad hoc flavor '
                      'options (property, project)', err)
