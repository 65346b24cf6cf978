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

"""The pure parts of the database seeder: generations and capacity.

That Placement's API shows the same after either seeder is
``tests/functional/test_seed_db.py``."""

import testtools

from vfioclient.sandbox import estates
from vfioclient.sandbox import placement_db


class TestGenerations(testtools.TestCase):

    def test_new_providers_as_the_api_seeder_leaves_them(self):
        e = estates.large(2)
        new = {p.uuid for p in e.providers}
        fresh = [c for c in e.consumers if c.allocations]
        gen = placement_db.generations(e, new, fresh, [])
        root = e.provider('lg-0001.sandbox.test')
        used = e.provider('lg-0001.sandbox.test_pci_0000_41_00_4')
        idle = e.provider('lg-0001.sandbox.test_pci_0000_41_00_6')
        spare = e.provider('lg-0002.sandbox.test')
        # inventories + traits, then one POST /allocations batch
        self.assertEqual(3, gen[root.uuid])
        self.assertEqual(3, gen[used.uuid])
        self.assertEqual(2, gen[idle.uuid])
        self.assertEqual(2, gen[spare.uuid])

    def test_one_increment_per_batch(self):
        e = estates.large(2)
        root = e.provider('lg-0001.sandbox.test')
        consumers = [c for c in e.consumers if root.uuid in c.allocations]
        fresh = consumers * (placement_db.ALLOCATION_BATCH // len(
            consumers) + 1)
        gen = placement_db.generations(e, {p.uuid for p in e.providers},
                                       fresh, [])
        self.assertEqual(2 + 2, gen[root.uuid])

    def test_existing_providers_get_increments_only(self):
        e = estates.large(1)
        c = e.consumers[0]
        gen = placement_db.generations(e, set(), [], [c])
        for rp in c.allocations:
            self.assertEqual(1, gen[rp])
        self.assertEqual(0, gen[e.provider(
            'lg-0001.sandbox.test_pci_0000_41_00_7').uuid])


class TestCapacity(testtools.TestCase):

    def test_the_estates_fit(self):
        for name in sorted(estates.ESTATES):
            placement_db.check_capacity(estates.get(name, 8))

    def test_over_capacity_names_the_provider(self):
        e = estates.large(1)
        vf = e.provider('lg-0001.sandbox.test_pci_0000_41_00_4')
        e.consumers[0].allocations[vf.uuid] = {'VGPU': 2}
        exc = self.assertRaises(placement_db.SeedConflict,
                                placement_db.check_capacity, e)
        self.assertIn(vf.name, str(exc))
        self.assertIn('2 VGPU allocated, capacity 1', str(exc))

    def test_missing_inventory_is_named(self):
        e = estates.large(1)
        vf = e.provider('lg-0001.sandbox.test_pci_0000_41_00_5')
        e.consumers[0].allocations[vf.uuid] = {'CUSTOM_X': 1}
        exc = self.assertRaises(placement_db.SeedConflict,
                                placement_db.check_capacity, e)
        self.assertIn('%s has no CUSTOM_X inventory' % vf.name, str(exc))
