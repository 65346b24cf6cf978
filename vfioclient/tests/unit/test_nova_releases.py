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


"""The per-release table ``vfioclient.nova.releases``; the facts were read
in Nova's branches (see the module) and the 2026.2 row is checked against
the installed nova 34.0.0 by the conformance tests."""

import testtools

from vfioclient.nova import releases


class TestTable(testtools.TestCase):

    def test_series_versions_and_default(self):
        self.assertEqual(('2025.1', '2025.2', '2026.1', '2026.2'),
                         releases.SERIES)
        self.assertEqual(['31.0.0', '32.0.0', '33.0.0', '34.0.0'],
                         [r.version for r in releases.RELEASES])
        self.assertEqual('2025.1', releases.DEFAULT_SERIES)
        self.assertIs(releases.OLDEST, releases.DEFAULT)
        self.assertEqual('Nova 2026.1 (Gazpacho, 33.0.0)',
                         str(releases.get('2026.1')))
        e = self.assertRaises(ValueError, releases.get, '2024.2')
        self.assertIn('known releases: 2025.1, 2025.2, 2026.1, 2026.2',
                      str(e))

    def test_for_version(self):
        self.assertEqual('2026.2', releases.for_version('34.0.0').series)
        self.assertEqual('2025.1', releases.for_version('31.3.1').series)
        self.assertRaises(ValueError, releases.for_version, '30.0.0')

    def test_tags(self):
        epoxy, flamingo = releases.get('2025.1'), releases.get('2025.2')
        self.assertTrue(epoxy.knows_tag('live_migratable'))
        self.assertTrue(epoxy.knows_tag('managed'))
        self.assertFalse(epoxy.knows_tag('one_time_use'))
        self.assertTrue(flamingo.knows_tag('one_time_use'))

    def test_pci_provider_traits(self):
        both = {'live_migratable': 'true', 'one_time_use': 'true'}
        expected = {
            '2025.1': {'COMPUTE_MANAGED_PCI_DEVICE'},
            '2025.2': {'COMPUTE_MANAGED_PCI_DEVICE', 'HW_PCI_ONE_TIME_USE'},
            '2026.1': {'COMPUTE_MANAGED_PCI_DEVICE', 'HW_PCI_ONE_TIME_USE'},
            '2026.2': {'COMPUTE_MANAGED_PCI_DEVICE', 'HW_PCI_ONE_TIME_USE',
                       'HW_PCI_LIVE_MIGRATABLE', 'OWNER_NOVA'}}
        for series, traits in expected.items():
            self.assertEqual(traits, releases.get(series)
                             .pci_provider_traits(both), series)
        self.assertEqual({'COMPUTE_MANAGED_PCI_DEVICE', 'OWNER_NOVA'},
                         releases.get('2026.2').pci_provider_traits(
                             {'live_migratable': 'false',
                              'one_time_use': 'false'}))


class TestVersions(testtools.TestCase):

    def test_version_tuple(self):
        self.assertEqual((10, 0, 0), releases.version_tuple('10.0.0'))
        self.assertEqual((8, 2, 0), releases.version_tuple('8.2'))
        for bad in ('', '10.0.0.1', 'x', '10.0.0-1', '1..2'):
            self.assertRaises(ValueError, releases.version_tuple, bad)

    def test_live_migratable_minimum(self):
        check = releases.live_migratable_version_problems
        self.assertEqual([], check('10.0.0', '8.2.2'))
        self.assertEqual([], check(None, None))
        self.assertEqual(['libvirt 9.10.0 < 10.0.0', 'QEMU 8.2.1 < 8.2.2'],
                         check('9.10.0', '8.2.1'))
        self.assertEqual(['QEMU 6.2.0 < 8.2.2'], check(None, '6.2.0'))
