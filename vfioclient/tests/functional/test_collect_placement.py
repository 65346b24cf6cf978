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

"""The Placement collector against real Placement: both strategies agree,
and the bulk one reads far less."""

from keystoneauth1 import adapter

from vfioclient.cloud import client
from vfioclient.collect import cloud as collect_cloud
from vfioclient.nova import providers as nova_providers
from vfioclient.tests.functional import base


class TestCollectorStrategies(base.PlacementTestCase):

    def _seed(self, hosts=6):
        """Legacy T4/A40 hosts, a converted host, a stale one, orphans."""
        for h in range(hosts):
            node = 'cmp%d' % h
            root = self.create_provider(node)['uuid']
            self.set_inventory(root, {'VCPU': 64, 'MEMORY_MB': 262144})
            self.set_traits(root, ['COMPUTE_STATUS_DISABLED',
                                   'HW_CPU_X86_AVX'])
            if h % 3 == 0:
                # T4-style: one provider on the PF, 16 vGPUs.
                rp = self.create_provider(
                    nova_providers.legacy_provider_name(node, '0000:3b:00.0'),
                    parent=root)['uuid']
                self.set_inventory(rp, {'VGPU': 16})
                self.set_traits(rp, ['CUSTOM_NVIDIA_T4'])
                self.allocate('%08d-0000-4000-8000-%012d' % (h, 1),
                              {rp: {'VGPU': 1}, root: {'VCPU': 4}})
            elif h % 3 == 1:
                # A40-style: one provider per VF, total 1, some used.
                for vf in range(4):
                    rp = self.create_provider(
                        nova_providers.legacy_provider_name(
                            node, '0000:41:00.%d' % (4 + vf)),
                        parent=root)['uuid']
                    self.set_inventory(rp, {'CUSTOM_NVIDIA_558': 1})
                    if vf < 2:
                        self.allocate(
                            '%08d-0000-4000-8000-%012d' % (h, vf),
                            {rp: {'CUSTOM_NVIDIA_558': 1}})
            else:
                # Converted: PCI provider per PF, VFs as inventory.
                rp = self.create_provider(
                    nova_providers.pci_provider_name(node, '0000:41:00.0'),
                    parent=root)['uuid']
                self.set_inventory(rp, {'CUSTOM_NVIDIA_A40_2Q': 8})
                self.set_traits(rp, ['COMPUTE_MANAGED_PCI_DEVICE',
                                     'OWNER_NOVA'])
                self.allocate('%08d-0000-4000-8000-%012d' % (h, 9),
                              {rp: {'CUSTOM_NVIDIA_A40_2Q': 3}})
            # A non-GPU child (e.g. a bandwidth provider) is read but ignored.
            other = self.create_provider('%s:Open vSwitch agent' % node,
                                         parent=root)['uuid']
            self.set_inventory(other, {'NET_BW_EGR_KILOBIT_PER_SEC': 10000})

    def _collector(self, strategy):
        stats = client.RequestStats()
        placement = client.ServiceClient('placement', adapter.Adapter(
            self.api.session, service_type='placement',
            endpoint_override=self.placement.endpoint), stats=stats)
        # The in-process SQLite Placement takes one request at a time.
        cloud = client.CloudClient(placement, None, concurrency=1)
        collector = collect_cloud.Collector(cloud, strategy=strategy)
        return collector, stats

    def _placement_part(self, strategy):
        collector, stats = self._collector(strategy)
        _, providers, allocations = collector._placement()
        return (sorted(providers, key=lambda p: p.uuid),
                sorted(allocations, key=lambda a: (a.provider_uuid,
                                                   a.consumer_uuid)),
                stats)

    def test_bulk_equals_per_provider(self):
        self._seed()
        bulk_p, bulk_a, bulk_stats = self._placement_part('bulk')
        slow_p, slow_a, slow_stats = self._placement_part('per-provider')
        self.assertEqual(slow_p, bulk_p)
        self.assertEqual(slow_a, bulk_a)
        # Everything the audit needs is there.
        by_name = {p.name: p for p in bulk_p}
        t4 = by_name['cmp0_pci_0000_3b_00_0']
        self.assertEqual({'VGPU': 1}, t4.usages)
        self.assertEqual(('CUSTOM_NVIDIA_T4',), t4.traits)
        pci = by_name['cmp2_0000:41:00.0']
        self.assertEqual(('COMPUTE_MANAGED_PCI_DEVICE', 'OWNER_NOVA'),
                         pci.traits)
        self.assertEqual(8, pci.inventories['CUSTOM_NVIDIA_A40_2Q'].total)
        self.assertIsNone(by_name['cmp0'].inventories)
        self.assertIsNone(by_name['cmp0:Open vSwitch agent'].inventories)
        # T4 hosts 1 allocation each, A40 hosts 2, converted hosts 1.
        self.assertEqual(2 * 1 + 2 * 2 + 2 * 1, len(bulk_a))
        # And reads less: 24 providers, 4 reads each the slow way.
        per_rp = 'placement GET /resource_providers/{uuid}/%s'
        for what in ('inventories', 'usages', 'traits', 'allocations'):
            self.assertEqual(24, slow_stats.by_endpoint[per_rp % what])
        self.assertEqual(0, bulk_stats.by_endpoint[per_rp % 'usages'])
        self.assertEqual(0, bulk_stats.by_endpoint[per_rp % 'traits'])
        # Allocations only where something is allocated (8 of 12).
        self.assertEqual(8, bulk_stats.by_endpoint[per_rp % "allocations"])
        self.assertLess(bulk_stats.total, slow_stats.total / 2)

    def test_aggregates_on_request(self):
        self._seed(hosts=3)
        agg = '7a0cf5f5-5a5e-4f4a-9d6e-3a5d0d5b8e11'
        by_name = {}
        for p in self._call('GET', '/resource_providers')[
                'resource_providers']:
            by_name[p['name']] = p
        for name in ('cmp0', 'cmp0_pci_0000_3b_00_0'):
            rp = by_name[name]
            self._call('PUT', '/resource_providers/%s/aggregates'
                       % rp['uuid'],
                       {'aggregates': [agg],
                        'resource_provider_generation': rp['generation']})
        collector, stats = self._collector('bulk')
        _, providers, _ = collector._placement()
        self.assertTrue(all(p.aggregates is None for p in providers))
        collector.aggregates = True
        got = {p.name: p.aggregates
               for p in collector._with_aggregates(providers)}
        self.assertEqual((agg,), got['cmp0'])
        self.assertEqual((agg,), got['cmp0_pci_0000_3b_00_0'])
        self.assertEqual((), got['cmp1'])   # a root with GPU children
        self.assertIsNone(got['cmp0:Open vSwitch agent'])
