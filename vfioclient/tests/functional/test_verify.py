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

"""``openstack vfio verify --from-plan`` against real Placement seeded with
VF inventories (PCI-in-Placement providers, one per PF)."""

import json
import os
import tempfile
import uuid

from vfioclient.apply import planfile
from vfioclient.nova import providers as nova_providers
from vfioclient.tests.functional import base

A40 = 'CUSTOM_NVIDIA_A40_2Q'
A16 = 'CUSTOM_NVIDIA_A16_4Q'
L4 = 'CUSTOM_NVIDIA_L4_4Q'


class TestVerify(base.PlacementTestCase):

    def _host(self, node, pfs, disabled=False):
        """``pfs``: [(address, rc, total, used)]."""
        root = self.create_provider(node)['uuid']
        self.set_inventory(root, {'VCPU': 64, 'MEMORY_MB': 262144,
                                  'DISK_GB': 1000})
        if disabled:
            self.set_traits(root, ['COMPUTE_STATUS_DISABLED'])
        for i, (address, rc, total, used) in enumerate(pfs):
            rp = self.create_provider(
                nova_providers.pci_provider_name(node, address),
                parent=root)['uuid']
            self.set_inventory(rp, {rc: total})
            self.set_traits(rp, ['COMPUTE_MANAGED_PCI_DEVICE', 'OWNER_NOVA'])
            if used:
                self.allocate(str(uuid.uuid4()),
                              {rp: {rc: used}, root: {'VCPU': 1}})
        return root

    def _seed(self):
        self._host('cmp0', [('0000:41:00.0', A40, 8, 3),
                            ('0000:61:00.0', A40, 8, 0)])
        self._host('cmp1', [('0000:41:00.0', A40, 8, 8)])      # full
        self._host('cmp2', [('0000:41:00.0', A40, 4, 0)], disabled=True)
        self._host('cmp4', [('0000:41:00.0', A16, 4, 0)])
        # A legacy mdev host: VGPU inventory on pGPU providers.
        root = self.create_provider('cmp3')['uuid']
        self.set_inventory(root, {'VCPU': 64, 'MEMORY_MB': 262144,
                                  'DISK_GB': 1000})
        rp = self.create_provider(
            nova_providers.legacy_provider_name('cmp3', '0000:41:00.4'),
            parent=root)['uuid']
        self.set_inventory(rp, {'VGPU': 1})
        self.ensure_resource_class(L4)

    def _plan(self, flavors):
        aliases = [{'name': 'a40', 'resource_class': A40},
                   {'name': 'a16', 'resource_class': A16},
                   {'name': 'l4', 'resource_class': L4}]
        doc = planfile.minimal_document(
            resource_classes=[A40, A16, L4], aliases=aliases,
            flavors=flavors)
        fd, path = tempfile.mkstemp(suffix='.json')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            json.dump(doc, f)
        return path

    @staticmethod
    def _flavor(name, alias, rc, count=1, servers=0):
        return {'name': name, 'vcpus': 4, 'ram': 8192, 'disk': 20,
                'alias': alias, 'resource_class': rc, 'count': count,
                'servers_to_move': servers}

    def _verify(self, *argv, **kwargs):
        result = self.openstack('vfio', 'verify', '--concurrency', '1',
                                *argv, **kwargs)
        return result

    def test_counts_match_seeded_providers(self):
        self._seed()
        path = self._plan([
            self._flavor('vgpu.a40-2q.vf', 'a40', A40, servers=10),
            self._flavor('vgpu.a40-2q-x2.vf', 'a40', A40, count=2,
                         servers=7),
            self._flavor('vgpu.a16-4q.vf', 'a16', A16, servers=4),
            self._flavor('vgpu.l4-4q.vf', 'l4', L4, servers=1),
        ])
        result = self._verify('--from-plan', path, '--summary',
                              may_fail=True)
        self.assertEqual(2, result.rc, result.stderr)
        rows = {r['flavor']: r for r in result.json}
        a40 = rows['vgpu.a40-2q.vf']
        # cmp0 only: cmp1 is full, cmp2 is disabled.
        self.assertEqual((1, 13, 10, 'ok'), (a40['hosts'], a40['capacity'],
                                             a40['expected'], a40['status']))
        self.assertEqual(A40, a40['resource_class'])
        x2 = rows['vgpu.a40-2q-x2.vf']
        # 5 + 8 free VFs, two per server; 2 ** 2 candidates on cmp0.
        self.assertEqual((1, 6, 2, 4, 'error'),
                         (x2['hosts'], x2['capacity'], x2['per_server'],
                          x2['candidates'], x2['status']))
        a16 = rows['vgpu.a16-4q.vf']
        self.assertEqual((1, 4, 'ok'), (a16['hosts'], a16['capacity'],
                                        a16['status']))
        l4 = rows['vgpu.l4-4q.vf']
        self.assertEqual((0, 0, 'error'), (l4['hosts'], l4['capacity'],
                                           l4['status']))
        found = self._verify('--from-plan', path, may_fail=True)
        codes = {(f['code'], f['subject']) for f in found.json}
        self.assertEqual({('VFIO-V102', 'vgpu.a40-2q-x2.vf'),
                          ('VFIO-V101', 'vgpu.l4-4q.vf')}, codes)

    def test_enabling_a_host_changes_counts(self):
        self._seed()
        path = self._plan([self._flavor('f', 'a40', A40, servers=1)])
        before = self._verify('--from-plan', path, '--summary').json[0]
        self._host('cmp9', [('0000:41:00.0', A40, 16, 0)])
        after = self._verify('--from-plan', path, '--summary').json[0]
        self.assertEqual((before['hosts'] + 1, before['capacity'] + 16),
                         (after['hosts'], after['capacity']))

    def test_limit_hit_warns(self):
        self._seed()
        path = self._plan([self._flavor('x2', 'a40', A40, count=2)])
        ok = self._verify('--from-plan', path)
        self.assertEqual([], ok.json)
        result = self._verify('--from-plan', path, '--limit',
                              '2')
        self.assertEqual(['VFIO-V103'], [f['code'] for f in result.json])
        strict = self._verify('--from-plan', path, '--summary', '--limit', '2',
                              '--fail-on', 'warning', may_fail=True)
        self.assertEqual(2, strict.rc)
        self.assertEqual(2, strict.json[0]['candidates'])

    def test_devices_only_ignores_cpu(self):
        self._seed()
        big = dict(self._flavor('big', 'a40', A40), vcpus=128)
        path = self._plan([big])
        result = self._verify('--from-plan', path, '--summary',
                              may_fail=True)
        self.assertEqual(2, result.rc)
        self.assertEqual(0, result.json[0]['hosts'])
        devices = self._verify('--from-plan', path, '--summary',
                               '--devices-only')
        self.assertEqual(1, devices.json[0]['hosts'])
