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

"""Resource class / trait normalisation: ``get_resource_class`` and
``get_traits`` in ``nova/compute/pci_placement_translator.py``
(Nova 34.0.0)."""

import testtools

from vfioclient.nova import names


class TestResourceClass(testtools.TestCase):

    def test_cases_from_reference(self):
        cases = {
            'a16-16a': 'CUSTOM_A16_16A',
            'pgpu': 'PGPU',
            'vgpu': 'VGPU',
            'custom_a16-16a': 'CUSTOM_A16-16A',
            'CUSTOM_a b': 'CUSTOM_A B',
            'a__b': 'CUSTOM_A_B',
            'CUSTOM_A16_16A': 'CUSTOM_A16_16A',
        }
        for raw, expected in cases.items():
            self.assertEqual(expected, names.normalize_resource_class(raw),
                             raw)

    def test_custom_prefixed_names_are_refused_by_placement(self):
        self.assertIsNotNone(names.resource_class_problem('CUSTOM_A16-16A'))
        self.assertIsNotNone(names.resource_class_problem('CUSTOM_A B'))
        self.assertIsNone(names.resource_class_problem('CUSTOM_A16_16A'))
        self.assertIsNone(names.resource_class_problem('VGPU'))

    def test_length_not_checked_by_nova(self):
        rc = names.normalize_resource_class('x' * 260)
        self.assertEqual(267, len(rc))
        self.assertIn('255', names.resource_class_problem(rc))

    def test_default_from_ids(self):
        self.assertEqual('CUSTOM_PCI_10DE_25B6',
                         names.get_resource_class(None, '10de', '25b6'))
        self.assertEqual('CUSTOM_PCI_10DE_25B6',
                         names.get_resource_class('', '10de', '25b6'))
        self.assertEqual('CUSTOM_X',
                         names.get_resource_class('x', '10de', '25b6'))

    def test_suggestion_is_valid(self):
        self.assertEqual('CUSTOM_A16_16A',
                         names.suggest_custom_name('custom_a16-16a'))


class TestTraits(testtools.TestCase):

    def test_no_strip(self):
        self.assertEqual({'CUSTOM_BLUE', 'CUSTOM__BIG'},
                         names.get_traits('blue, big'))
        self.assertEqual({'HW_GPU_API_VULKAN', 'CUSTOM__MY_AWESOME_GPU'},
                         names.get_traits('HW_GPU_API_VULKAN, my-awesome-gpu'))

    def test_standard_check_before_upper(self):
        self.assertEqual({'CUSTOM_HW_GPU_API_VULKAN'},
                         names.get_traits('hw_gpu_api_vulkan'))

    def test_custom_prefixed_only_upper_cased(self):
        self.assertEqual({'CUSTOM_FOO-BAR'},
                         names.get_traits('custom_foo-bar'))
        self.assertIsNotNone(names.trait_problem('CUSTOM_FOO-BAR'))

    def test_empty(self):
        self.assertEqual(frozenset(), names.get_traits(''))
        self.assertEqual(frozenset(), names.get_traits(None))
        self.assertEqual({'CUSTOM_A', 'CUSTOM_'}, names.get_traits('a,'))
        self.assertIsNotNone(names.trait_problem('CUSTOM_'))
