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

"""[pci] alias: ``_ALIAS_SCHEMA`` in ``nova/pci/request.py`` (Nova 34.0.0)."""

import testtools

from vfioclient.nova import alias
from vfioclient.nova import errors
from vfioclient.nova import extra_specs


class TestAlias(testtools.TestCase):

    def test_managed_refused(self):
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases, [
            '{"name": "a", "vendor_id": "10de", "product_id": "25b6", '
            '"managed": "no"}'])
        self.assertEqual(
            "Invalid PCI alias definition: Additional properties are not "
            "allowed ('managed' was unexpected)", str(e))

    def test_unquoted_key(self):
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases,
                              ['{"name": "a", vendor_id: "10de"}'])
        self.assertIn('Expecting property name enclosed in double quotes',
                      str(e))

    def test_pci_id_pattern(self):
        self.assertRaises(errors.InvalidAlias, alias.parse_alias_entry,
                          '{"name": "a", "vendor_id": "10d"}')
        self.assertRaises(errors.InvalidAlias, alias.parse_alias_entry,
                          '{"name": "a", "device_type": "vdpa"}')

    def test_live_migratable(self):
        entry = alias.parse_alias_entry(
            '{"name": "a", "live_migratable": "YES"}')
        self.assertEqual('true', entry.spec['live_migratable'])
        e = self.assertRaises(errors.InvalidAlias, alias.parse_alias_entry,
                              '{"name": "a", "live_migratable": "maybe"}')
        self.assertIn("Unrecognized value 'maybe'", str(e))

    def test_merge_rules(self):
        base = '{"name": "a", "vendor_id": "10de", "product_id": "%s"%s}'
        vf = ', "device_type": "type-VF"'
        aliases = alias.parse_aliases([base % ('0001', vf),
                                       base % ('0002', vf)])
        self.assertEqual(2, len(aliases['a'].specs))
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases,
                              [base % ('0001', vf), base % ('0002', '')])
        self.assertEqual("Invalid PCI alias definition: 'dev_type'", str(e))
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases,
                              [base % ('0001', ''), base % ('0002', '')])
        self.assertIn("'dev_type'", str(e))
        e = self.assertRaises(
            errors.InvalidAlias, alias.parse_aliases,
            [base % ('0001', vf),
             base % ('0002', ', "device_type": "type-PF"')])
        self.assertIn("Device type mismatch for alias 'a'", str(e))
        e = self.assertRaises(
            errors.InvalidAlias, alias.parse_aliases,
            [base % ('0001', vf),
             base % ('0002', vf + ', "numa_policy": "required"')])
        self.assertIn("NUMA policy mismatch for alias 'a'", str(e))
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases,
                              [base % ('0001', vf), base % ('0002', vf)],
                              pci_in_placement=True)
        self.assertIn('have multiple specs', str(e))

    def test_required_ids(self):
        rc_only = '{"name": "a", "resource_class": "CUSTOM_X"}'
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases,
                              [rc_only])
        self.assertIn('does not have vendor_id and product_id fields set.',
                      str(e))
        self.assertIn('a', alias.parse_aliases([rc_only],
                                               pci_in_placement=True))
        e = self.assertRaises(errors.InvalidAlias, alias.parse_aliases,
                              ['{"name": "t", "traits": "x"}'],
                              pci_in_placement=True)
        self.assertIn('or resource_class field set.', str(e))

    def test_request_groups(self):
        aliases = alias.parse_aliases([
            '{"device_type": "type-VF", "resource_class": "CUSTOM_A16_16A",'
            ' "name": "A16_16A", "traits": "blue, big"}',
            '{"name": "MYVF", "vendor_id": "10de", "product_id": "25b6"}'],
            pci_in_placement=True)
        groups = extra_specs.alias_request_groups('A16_16A:2', aliases)
        self.assertEqual(2, len(groups))
        self.assertEqual('CUSTOM_A16_16A', groups[0].resource_class)
        self.assertEqual({'CUSTOM_BLUE', 'CUSTOM__BIG'}, groups[0].traits)
        groups = extra_specs.alias_request_groups(' MYVF :1', aliases)
        self.assertEqual('CUSTOM_PCI_10DE_25B6', groups[0].resource_class)
        self.assertEqual(frozenset(), groups[0].traits)
        self.assertRaises(errors.AliasNotDefined,
                          extra_specs.alias_request_groups, 'X:1', aliases)


class TestExtraSpec(testtools.TestCase):

    def test_valid(self):
        for value in ('A16_16A:1', 'A16_16A:1, MYVF:2', 'A16 16A:1'):
            extra_specs.validate_alias_extra_spec(value)

    def test_invalid(self):
        for value in ('A16_16A', 'A16_16A:x', 'A16_16A:1,', 'a:b:1',
                      ' A16_16A : 1'):
            e = self.assertRaises(errors.InvalidExtraSpec,
                                  extra_specs.validate_alias_extra_spec,
                                  value)
            self.assertIn('is not of the format', str(e))
