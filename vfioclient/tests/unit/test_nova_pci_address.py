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

"""nova.pci_address: the two ways Nova parses an address, and ours."""

from oslotest import base

from vfioclient.nova import errors
from vfioclient.nova import mdev
from vfioclient.nova import pci_address


class TestParseAddress(base.BaseTestCase):
    """nova/pci/utils.py parse_address."""

    def test_valid(self):
        self.assertEqual(('0000', '41', '00', '4'),
                         tuple(pci_address.parse_address('0000:41:00.4')))
        # Case is kept, as Nova keeps it.
        self.assertEqual(('0000', 'C1', '1f', '7'),
                         tuple(pci_address.parse_address('0000:C1:1f.7')))
        # Nova's regex leaves the '.' unescaped: any separator passes.
        self.assertEqual(('0000', '41', '00', '4'),
                         tuple(pci_address.parse_address('0000:41:00x4')))

    def test_invalid(self):
        for bad in ('41:00.4', '0000:41:00.8', '0000:41:0.4',
                    '00000:41:00.4', '0000:41:00.4 ', 'zzzz:41:00.4', '',
                    None, 41):
            self.assertRaises(errors.WrongAddressFormat,
                              pci_address.parse_address, bad)

    def test_mdev_device_addresses_use_it(self):
        self.assertIsNone(mdev.pci_address_problem('0000:41:00x4'))
        self.assertEqual('incorrect device address: 41:00.4',
                         mdev.pci_address_problem('41:00.4'))


class TestParsePhysicalAddress(base.BaseTestCase):
    """nova/pci/devspec.py PhysicalPciAddress."""

    def test_valid_fields_are_reformatted(self):
        self.assertEqual('0000:41:00.4',
                         str(pci_address.parse_physical_address(
                             '0:41:0.4')))
        self.assertEqual('0000:c1:1f.7',
                         str(pci_address.parse_physical_address(
                             '0x0000:C1:1F.7')))

    def test_invalid(self):
        for bad in ('0000:41:20.0', '0000:41:00.8', '0000:100:00.0',
                    '41:00.4', '0000:41:00', 'x:41:00.0', None):
            self.assertRaises(errors.WrongAddressFormat,
                              pci_address.parse_physical_address, bad)

    def test_hex_field(self):
        self.assertEqual('*', pci_address.hex_field('bus', '*', 0xFF,
                                                    '%02x'))
        self.assertEqual('0a', pci_address.hex_field('bus', ' 0xa', 0xFF,
                                                     '%02x'))
        self.assertRaises(errors.InvalidDeviceSpec, pci_address.hex_field,
                          'bus', '100', 0xFF, '%02x')
        self.assertRaises(errors.InvalidDeviceSpec, pci_address.hex_field,
                          'bus', 1, 0xFF, '%02x')


class TestCanonical(base.BaseTestCase):

    def test_is_canonical(self):
        self.assertTrue(pci_address.is_canonical('0000:41:00.4'))
        for other in ('0000:C1:00.0', '41:00.4', '0000:41:00.8',
                      '0000:41:00x4', None):
            self.assertFalse(pci_address.is_canonical(other), other)

    def test_normalize_address(self):
        self.assertEqual('0000:41:00.0',
                         pci_address.normalize_address('41:00.0'))
        self.assertEqual('0000:c1:00.0',
                         pci_address.normalize_address(' 0000:C1:00.0 '))
        for bad in ('41:00.8', '0000:41:00', "0000:41:00.0'; id",
                    '0000:41:00.0 0000:42:00.0', '0000:41:00x0', None):
            self.assertRaises(ValueError, pci_address.normalize_address,
                              bad)
