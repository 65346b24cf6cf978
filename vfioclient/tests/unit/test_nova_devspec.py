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

"""device_spec parsing and matching: ``nova/pci/devspec.py`` and
``nova/pci/whitelist.py`` (Nova 34.0.0)."""

import testtools

from vfioclient.nova import devspec
from vfioclient.nova import errors
from vfioclient.nova import releases


def parse(text, **kw):
    return devspec.parse_device_spec_line(text, **kw)


class TestParse(testtools.TestCase):

    def test_unquoted_keys_refused(self):
        e = self.assertRaises(
            errors.InvalidJson, parse,
            '{ "vendor_id": "10de", "address": "0000:25:00.4", '
            'managed: "no" }')
        self.assertIn("Invalid [pci]device_spec config: Invalid entry:",
                      str(e))

    def test_single_quotes_refused(self):
        self.assertRaises(errors.InvalidJson, parse,
                          "{'vendor_id': '8086', 'product_id': '1520'}")

    def test_list_and_dict(self):
        self.assertEqual(2, len(parse('[{"vendor_id": "10de"}, {}]')))
        self.assertEqual([], parse('[]'))
        self.assertRaises(errors.WrongJsonType, parse, '"x"')
        e = self.assertRaises(errors.WrongJsonType, parse, '[1]')
        self.assertIn('Expecting dict', str(e))

    def test_hex_ids(self):
        spec = parse('{"vendor_id": " 10DE", "product_id": "b6"}')[0]
        self.assertEqual(('10de', '00b6'), (spec.vendor_id, spec.product_id))
        e = self.assertRaises(errors.InvalidDeviceSpec, parse,
                              '{"vendor_id": "zz"}')
        self.assertIn("property vendor_id ('zz') does not parse as a hex "
                      "number.", str(e))
        e = self.assertRaises(errors.InvalidDeviceSpec, parse,
                              '{"vendor_id": "1ffff"}')
        self.assertIn('(1ffff) is greater than the maximum allowable value '
                      '(FFFF).', str(e))
        self.assertRaises(errors.InvalidDeviceSpec, parse,
                          '{"vendor_id": 4318}')
        self.assertRaises(errors.InvalidDeviceSpec, parse,
                          '{"product_id": null}')

    def test_address_glob(self):
        spec = parse('{"address": ":0a:00."}')[0]
        self.assertEqual(('*', '0a', '00', '*'), spec.address.fields())
        e = self.assertRaises(errors.InvalidDeviceSpec, parse,
                              '{"address": "0000:00:20.0"}')
        self.assertIn('property slot (20) is greater than the maximum '
                      'allowable value (1F).', str(e))
        self.assertRaises(errors.WrongAddressFormat, parse,
                          '{"address": "1:2:3:4.0"}')
        # Falsy addresses default to any device.
        self.assertEqual('*:*:*.*', str(parse('{"address": ""}')[0].address))
        self.assertRaises(errors.WrongAddressFormat, parse,
                          '{"address": 5}')

    def test_address_regex(self):
        spec = parse('{"address": {"bus": "4"}}')[0]
        self.assertTrue(spec.match(devspec.PciDevice('0000:41:00.0', 'a',
                                                     'b')))
        self.assertRaises(errors.WrongAddressFormat, parse,
                          '{"address": {"bus": "("}}')
        self.assertRaises(errors.InvalidDeviceSpec, parse,
                          '{"address": {"bus": 4}}')

    def test_devname_and_address(self):
        e = self.assertRaises(errors.InvalidDeviceSpec, parse,
                              '{"devname": "eth0", "address": "*:0a:00.*"}')
        self.assertIn('devname or address, but not both', str(e))

    def test_boolean_tags(self):
        spec = parse('{"managed": false, "live_migratable": "Yes", '
                     '"one_time_use": null}')[0]
        self.assertEqual('false', spec.tags['managed'])
        self.assertFalse(spec.managed)
        self.assertEqual('true', spec.tags['live_migratable'])
        self.assertIsNone(spec.tags['one_time_use'])
        e = self.assertRaises(errors.InvalidTag, parse,
                              '{"managed": "maybe"}')
        self.assertEqual(
            "Invalid [pci]device_spec config: Cannot parse tag 'managed': "
            "Unrecognized value 'maybe', acceptable values are: '0', '1', "
            "'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'",
            str(e))
        # remote_managed / trusted are not normalised.
        spec = parse('{"trusted": "maybe", "remote_managed": "x"}')[0]
        self.assertEqual('maybe', spec.tags['trusted'])

    def test_one_time_use_needs_placement(self):
        flamingo = releases.get('2025.2')
        self.assertRaises(errors.NeedsPlacement, parse,
                          '{"one_time_use": "yes"}', release=flamingo)
        spec = parse('{"one_time_use": "yes"}', report_in_placement=True,
                     release=flamingo)[0]
        self.assertEqual('true', spec.tags['one_time_use'])
        parse('{"one_time_use": "no"}', release=flamingo)
        self.assertRaises(errors.InvalidTag, parse,
                          '{"one_time_use": "maybe"}', release=flamingo)

    def test_one_time_use_is_a_plain_tag_before_2025_2(self):
        # stable/2025.1 nova/pci/devspec.py normalises managed and
        # live_migratable only; one_time_use stays as written.
        for text in ('"yes"', '"true"', '"maybe"'):
            spec = parse('{"one_time_use": %s}' % text,
                         release=releases.get('2025.1'))[0]
            self.assertEqual(text.strip('"'), spec.tags['one_time_use'])
        # The default is the oldest release of the table.
        self.assertEqual('yes', parse('{"one_time_use": "yes"}')[0]
                         .tags['one_time_use'])

    def test_placement_traits_per_release(self):
        spec = parse('{"vendor_id": "10de", "live_migratable": "yes", '
                     '"traits": "blue"}')[0]
        managed = {'COMPUTE_MANAGED_PCI_DEVICE', 'CUSTOM_BLUE'}
        for series in ('2025.1', '2025.2', '2026.1'):
            self.assertEqual(managed, spec.placement_traits(
                releases.get(series)), series)
        self.assertEqual(
            managed | {'HW_PCI_LIVE_MIGRATABLE', 'OWNER_NOVA'},
            spec.placement_traits(releases.get('2026.2')))
        otu = parse('{"one_time_use": "yes"}', report_in_placement=True,
                    release=releases.get('2026.1'))[0]
        self.assertIn('HW_PCI_ONE_TIME_USE',
                      otu.placement_traits(releases.get('2026.1')))

    def test_unknown_keys_kept(self):
        spec = parse('{"foo": "bar", "resource_class": "x"}')[0]
        self.assertEqual(('foo',), spec.unknown_keys)
        self.assertEqual('bar', spec.tags['foo'])

    def test_placement_names(self):
        spec = parse('{"vendor_id": "10de", "product_id": "25b6"}')[0]
        self.assertEqual('CUSTOM_PCI_10DE_25B6',
                         spec.placement_resource_class())
        self.assertEqual({'COMPUTE_MANAGED_PCI_DEVICE'},
                         spec.placement_traits())
        spec = parse('{"vendor_id": "10de"}')[0]
        self.assertIsNone(spec.placement_resource_class())
        self.assertEqual('CUSTOM_PCI_10DE_1234',
                         spec.placement_resource_class(product_id='1234'))


class TestMatch(testtools.TestCase):

    vf = devspec.PciDevice('0000:41:00.4', '10de', '2236', '0000:41:00.0')
    pf = devspec.PciDevice('0000:41:00.0', '10de', '2236')

    def test_first_match_wins(self):
        specs = devspec.parse_device_specs([
            '{"vendor_id": "10de", "resource_class": "A"}',
            '{"address": "0000:41:00.4", "resource_class": "B"}'])
        index, spec = devspec.first_match(specs, self.vf)
        self.assertEqual(0, index)
        self.assertEqual('A', spec.resource_class)

    def test_pf_address_matches_vfs(self):
        spec = parse('{"address": "0000:41:00.0"}')[0]
        self.assertEqual('0000:41:00.0', spec.single_address)
        self.assertFalse(spec.match(self.vf))
        self.assertTrue(spec.match(self.vf, pf_addresses={'0000:41:00.0'}))
        self.assertTrue(spec.match(self.pf, pf_addresses={'0000:41:00.0'}))

    def test_ids_filter(self):
        spec = parse('{"vendor_id": "10de", "product_id": "2237"}')[0]
        self.assertFalse(spec.match(self.vf))

    def test_devname_without_host(self):
        spec = parse('{"devname": "eth0"}')[0]
        self.assertFalse(spec.match(self.vf))
        self.assertTrue(spec.match(self.vf, ifnames={
            'eth0': ('0000:41:00.4', False)}))
