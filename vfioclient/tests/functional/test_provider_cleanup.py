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

"""``openstack vfio provider cleanup`` against real Placement.

Placement is seeded from a builder estate (the same one the plan of the
``--from-plan`` tests is made from): ``a40-free`` with the 4 legacy VF
providers of an A40, a PCI provider and a NIC provider under its compute
node; ``a40-busy`` with 4 legacy providers, one holding a server's vGPU.
"""

import json
import os
import uuid

import fixtures

from vfioclient.cloud import placement as placement_api
from vfioclient.rules import plan as plan_rules
from vfioclient.tests.functional import base
from vfioclient.tests.unit import builders

FREE = 'a40-free'
BUSY = 'a40-busy'
LEGACY = ['%s_pci_0000_41_00_%d' % (FREE, f) for f in (4, 5, 6, 7)]
PCI = '%s_0000:81:00.0' % FREE
NIC = '%s:Open vSwitch agent' % FREE


def _estate():
    b = builders.PlanEstateBuilder()
    b.host(FREE)
    b.host(BUSY)
    b.legacy_gpu(FREE, vfs=4)
    b.pci(FREE, '0000:81:00.0', 'CUSTOM_NVIDIA_A40_2Q', 8)
    b.child(FREE, NIC, {'NET_BW_EGR_KILOBIT_PER_SEC': 1000})
    busy = b.legacy_gpu(BUSY, vfs=4, used=1)
    b.servers_on('vm', BUSY, builders.a40_flavor(b), busy, 1)
    return b


def _rows(result):
    return json.loads(result.stdout)


class TestProviderCleanup(base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        self.estate = _estate()
        for p in self.estate.providers:
            self.create_provider(p.name, parent=p.parent_uuid,
                                 rp_uuid=p.uuid)
            if p.inventories:
                self.set_inventory(p.uuid, {
                    rc: {'total': i.total, 'max_unit': i.max_unit}
                    for rc, i in p.inventories.items()})
            if p.traits:
                self.set_traits(p.uuid, p.traits)
        for a in self.estate.allocations:
            self.allocate(a.consumer_uuid, {a.provider_uuid: a.resources})
        self.server = self.estate.servers[0]

    def cleanup(self, *argv, **kwargs):
        kwargs.setdefault('may_print_to_stderr', True)
        return self.openstack('vfio', 'provider', 'cleanup',
                              '--concurrency', '1', *argv, **kwargs)

    def names(self):
        listed = self.api.get('/resource_providers').json()
        return sorted(p['name'] for p in listed['resource_providers'])

    def write_plan(self, plan):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'plan.json')
        with open(path, 'w') as f:
            f.write(plan.to_json())
        return path

    def test_dry_run_changes_nothing(self):
        before = self.names()
        result = self.cleanup('--host', FREE, '--host', BUSY, '--dry-run',
                              may_fail=True)
        self.assertEqual(1, result.rc)
        rows = _rows(result)
        self.assertEqual([(FREE, name, 'would-delete') for name in LEGACY],
                         [(r['host'], r['provider'], r['action'])
                          for r in rows[:4]])
        self.assertEqual(('CUSTOM_NVIDIA_558', 1),
                         (rows[0]['resource_class'], rows[0]['total']))
        self.assertEqual({'refused'}, {r['action'] for r in rows[4:]})
        self.assertEqual(before, self.names())
        self.assertIn('nova-compute on %s must be stopped' % FREE,
                      result.stderr)

    def test_host_with_an_allocation_is_refused_with_its_consumer(self):
        before = self.names()
        result = self.cleanup('--host', BUSY, may_fail=True)
        self.assertEqual(1, result.rc)
        rows = _rows(result)
        self.assertEqual(4, len(rows))
        self.assertEqual({'refused'}, {r['action'] for r in rows})
        self.assertIn('holds allocations of 1 consumer(s): consumer %s'
                      % self.server.id, rows[0]['reason'])
        self.assertIn('a host is cleaned up as a whole', rows[1]['reason'])
        self.assertIn('provider cleanup: 4 refused; not done: ',
                      result.stderr)
        self.assertNotIn('must be stopped', result.stderr)
        # This Placement-only cloud has no Nova to name the server.
        self.assertIn('server names not shown', result.stderr)
        self.assertEqual(before, self.names())

    def test_free_host_is_cleaned_then_a_rerun_is_a_no_op(self):
        result = self.cleanup('--host', FREE)
        self.assertEqual([(name, 'deleted') for name in LEGACY],
                         [(r['provider'], r['action'])
                          for r in result.json])
        self.assertIn('ResourceProviderAllocationRetrievalFailed',
                      result.stderr)
        left = self.names()
        for name in LEGACY:
            self.assertNotIn(name, left)
        for name in (FREE, PCI, NIC, BUSY):
            self.assertIn(name, left)
        again = self.cleanup('--host', FREE, may_print_to_stderr=False)
        self.assertEqual(0, again.rc)
        self.assertEqual([(FREE, None, 'absent')],
                         [(r['host'], r['provider'], r['action'])
                          for r in again.json])
        self.assertEqual(left, self.names())

    def test_from_plan_cleans_up_and_refuses_drift(self):
        path = self.write_plan(plan_rules.make_plan(self.estate.snapshot()))
        extra = self.create_provider('%s_pci_0000_42_00_4' % FREE,
                                     parent=builders.uid(FREE))
        self.set_inventory(extra['uuid'], {'CUSTOM_NVIDIA_558': 1})
        before = self.names()
        result = self.cleanup('--host', FREE, '--from-plan', path,
                              may_fail=True)
        self.assertEqual(1, result.rc)
        self.assertIn('the plan no longer matches Placement: %s: legacy '
                      'provider %s_pci_0000_42_00_4' % (FREE, FREE),
                      result.stderr)
        self.assertIn('nothing was deleted', result.stderr)
        self.assertEqual(before, self.names())
        self.api.delete('/resource_providers/%s' % extra['uuid'])
        result = self.cleanup('--host', FREE, '--from-plan', path)
        self.assertEqual(['deleted'] * 4,
                         [r['action'] for r in result.json])
        again = self.cleanup('--host', FREE, '--from-plan', path,
                             may_print_to_stderr=False)
        self.assertEqual([(name, 'absent') for name in LEGACY],
                         [(r['provider'], r['action']) for r in again.json])

    def test_allocation_made_before_the_delete_is_refused_then_resumed(self):
        delete = placement_api.delete_resource_provider
        consumer = str(uuid.uuid4())
        raced = []

        def racing_delete(placement, provider_uuid):
            # The first time, a scheduler allocates on the provider after
            # the cleanup's re-read and before its DELETE.
            if not raced:
                raced.append(provider_uuid)
                self.allocate(consumer,
                              {provider_uuid: {'CUSTOM_NVIDIA_558': 1}})
            return delete(placement, provider_uuid)

        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.cloud.placement.delete_resource_provider',
            racing_delete))
        result = self.cleanup('--host', FREE, may_fail=True)
        self.assertEqual(1, result.rc)
        rows = _rows(result)
        self.assertEqual([builders.uid(LEGACY[0])], raced)
        self.assertEqual([(name, 'refused') for name in LEGACY],
                         [(r['provider'], r['action']) for r in rows])
        self.assertIn('Placement refused to delete it (HTTP 409: ',
                      rows[0]['reason'])
        self.assertIn('not attempted: the cleanup of %s stopped at %s'
                      % (FREE, LEGACY[0]), rows[1]['reason'])
        self.assertIn(LEGACY[0], self.names())
        # Once the consumer is gone, running again finishes the host.
        self.api.delete('/allocations/%s' % consumer)
        result = self.cleanup('--host', FREE)
        self.assertEqual(['deleted'] * 4, [r['action'] for r in result.json])
