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

"""The sandbox estates are plain data: check their shape (no cloud)."""

import json
import uuid

import testtools

from vfioclient.sandbox import estates


class TestHelpers(testtools.TestCase):

    def test_nodedev_name(self):
        self.assertEqual('pci_0000_41_00_4',
                         estates.nodedev_name('0000:41:00.4'))
        self.assertEqual('pci_0000_3b_00_0',
                         estates.nodedev_name('0000:3B:00.0'))

    def test_vf_addresses(self):
        self.assertEqual(
            ['0000:41:00.4', '0000:41:00.5', '0000:41:00.6',
             '0000:41:00.7', '0000:41:01.0', '0000:41:01.1'],
            estates.vf_addresses('0000:41:00.0', 6))
        self.assertEqual(['0000:41:01.0'],
                         estates.vf_addresses('0000:41:00.0', 1, first=8))

    def test_uuids_deterministic(self):
        a = estates.get('small').expected()
        b = estates.get('small').expected()
        self.assertEqual(a, b)
        for p in a['providers'].values():
            uuid.UUID(p['uuid'])


class TestSmall(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.e = estates.get('small')
        self.x = self.e.expected()

    def test_json_able(self):
        self.assertEqual(self.x, json.loads(json.dumps(self.x)))

    def test_roots_named_by_hypervisor_hostname(self):
        for h in self.e.hosts:
            root = self.x['providers'][h.hypervisor_hostname]
            self.assertEqual('root', root['kind'])
            self.assertIsNone(root['parent_provider_uuid'])
            self.assertEqual(h.uuid, root['uuid'])
            self.assertEqual({'VCPU', 'MEMORY_MB', 'DISK_GB'},
                             set(root['inventories']))
            self.assertIn('COMPUTE_NODE', root['traits'])

    def test_t4_pgpu_on_pf(self):
        p = self.x['providers']['t4-01.sandbox.test_pci_0000_3b_00_0']
        self.assertEqual({'VGPU': 16}, p['inventories'])
        self.assertEqual(['OWNER_NOVA'], p['traits'])
        self.assertEqual(
            self.x['providers']['t4-01.sandbox.test']['uuid'],
            p['parent_provider_uuid'])

    def test_a40_one_pgpu_per_vf(self):
        names = [n for n in self.x['providers']
                 if n.startswith('a40-01.sandbox.test_pci_')]
        self.assertEqual(8, len(names))
        self.assertIn('a40-01.sandbox.test_pci_0000_41_00_4', names)
        for n in names:
            self.assertEqual({'VGPU': 1},
                             self.x['providers'][n]['inventories'])

    def test_custom_mdev_class(self):
        p = self.x['providers']['a40-02.sandbox.test_pci_0000_41_00_4']
        self.assertEqual({'CUSTOM_NVIDIA_558': 1}, p['inventories'])
        self.assertIn('CUSTOM_VGPU_A40_2Q', p['traits'])
        f = self.x['flavors']['vgpu.a40-2q.custom']['extra_specs']
        self.assertEqual('1', f['resources:CUSTOM_NVIDIA_558'])
        self.assertEqual('required', f['trait:CUSTOM_VGPU_A40_2Q'])
        self.assertIn('CUSTOM_NVIDIA_558', self.x['resource_classes'])
        self.assertIn('CUSTOM_VGPU_A40_2Q', self.x['custom_traits'])

    def test_vgpu_flavors(self):
        self.assertEqual('1', self.x['flavors']['vgpu.t4-1q']
                         ['extra_specs']['resources:VGPU'])

    def test_converted_host(self):
        p = self.x['providers']['a40-03.sandbox.test_0000:41:00.0']
        self.assertEqual({'CUSTOM_NVIDIA_A40_2Q': 8}, p['inventories'])
        self.assertEqual(['COMPUTE_MANAGED_PCI_DEVICE', 'OWNER_NOVA'],
                         p['traits'])
        self.assertEqual('a40-03',
                         self.x['trouble']['converted_hosts'][0]['host'])

    def test_mixed_pf(self):
        (mixed,) = self.x['trouble']['mixed_pfs']
        self.assertEqual('a40-04.sandbox.test_0000:41:00.0',
                         mixed['pci_provider'])
        self.assertEqual(4, len(mixed['legacy_providers']))
        for n in mixed['legacy_providers']:
            self.assertIn(n, self.x['providers'])

    def test_stale_providers(self):
        stale = {s['reason']: s for s in
                 self.x['trouble']['stale_pgpu_providers']}
        self.assertEqual({'mdev-disabled', 'compute-service-gone'},
                         set(stale))
        gone = stale['compute-service-gone']
        self.assertNotIn(gone['host'], self.x['compute_hosts'])
        self.assertIn(gone['provider'], self.x['providers'])
        used = self.e.usage()
        for s in stale.values():
            self.assertNotIn(s['uuid'], used)

    def test_orphan_allocation(self):
        (orphan,) = self.x['trouble']['orphan_allocations']
        ids = {s['id'] for s in self.x['servers'].values()}
        self.assertNotIn(orphan['consumer'], ids)
        self.assertIn(orphan['consumer'], self.x['allocations'])

    def test_misplaced_server(self):
        (mis,) = self.x['trouble']['misplaced_servers']
        allocs = self.x['allocations'][mis['server']]
        root = self.x['providers'][mis['allocated_on']]['uuid']
        self.assertIn(root, allocs)
        server = [s for s in self.x['servers'].values()
                  if s['id'] == mis['server']][0]
        self.assertNotEqual(mis['allocated_on'], server['node'])

    def test_servers_allocations_match_flavors(self):
        for name, s in self.x['servers'].items():
            allocs = self.x['allocations'][s['id']]
            f = self.x['flavors'][s['flavor']]
            roots = [a for a in allocs.values() if 'VCPU' in a]
            self.assertEqual([{'VCPU': f['vcpus'], 'MEMORY_MB': f['ram'],
                               'DISK_GB': f['disk']}], roots)
            self.assertEqual(2, len(allocs), name)

    def test_no_overcommit(self):
        by_uuid = {p['uuid']: p for p in self.x['providers'].values()}
        for rp, used in self.e.usage().items():
            for rc, n in used.items():
                self.assertLessEqual(n, by_uuid[rp]['inventories'][rc])

    def test_servers_only_on_nova_hosts(self):
        for s in self.x['servers'].values():
            self.assertIn(s['host'], self.x['compute_hosts'])


class TestLarge(testtools.TestCase):

    def test_shape(self):
        e = estates.get('large', 8)
        x = e.expected()
        self.assertEqual(8, len(x['compute_hosts']))
        pgpus = [p for p in x['providers'].values() if p['kind'] == 'pgpu']
        self.assertEqual(32, len(pgpus))
        pci = [p for p in x['providers'].values() if p['kind'] == 'pci']
        self.assertEqual(2, len(pci))
        used = e.usage()
        allocated = [p for p in pgpus if p['uuid'] in used]
        self.assertEqual(8, len(allocated))         # half the hosts, 2 each
        self.assertEqual(8 + 2, len(x['servers']))

    def test_default_and_bad(self):
        self.assertEqual(50, len(estates.get('large').hosts))
        self.assertRaises(ValueError, estates.large, 0)
        self.assertRaises(KeyError, estates.get, 'nope')


class TestHealthyEstates(testtools.TestCase):

    def test_legacy_and_converted_have_no_trouble(self):
        for name in ('legacy', 'converted'):
            expected = estates.get(name).expected()
            self.assertEqual([], [k for k, v in expected['trouble'].items()
                                  if v and k != 'converted_hosts'], name)
        legacy = estates.get('legacy').expected()
        self.assertEqual(5, len(legacy['servers']))
        self.assertEqual(set(), {p['kind'] for p in
                                 legacy['providers'].values()} & {'pci'})
        converted = estates.get('converted').expected()
        self.assertEqual({'vf.a40-2q'}, set(converted['flavors']))


class TestEdgeEstate(testtools.TestCase):

    def test_holds_the_rarer_trouble(self):
        e = estates.get('edge')
        hosts = {p.host for p in e.providers if p.kind == 'pgpu'}
        self.assertEqual({'a40-11', 'a40-12'}, hosts)
        wide = [p for p in e.providers if p.host == 'a40-12'
                and p.kind == 'pgpu']
        self.assertEqual(8, len(wide))
        classes = {rc for p in e.providers if p.host == 'a40-11'
                   and p.kind == 'pgpu'
                   for rc in p.inventories}
        self.assertEqual({'VGPU', estates.A40_MDEV_CLASS}, classes)
        self.assertEqual([], e.servers)
