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

"""``openstack vfio audit --reuse-snapshot`` against real Placement.

A second audit takes the inventories of child providers from the first
one's snapshot where Placement's generation says they cannot have changed,
reads everything else (allocations always), and must save exactly the
snapshot a fresh audit saves.

Placement is the real one, in-process (:class:`base.PlacementTestCase`).
The audit also reads Nova; Nova is not what is tested here, so a minimal
stand-in (a version document and empty lists) answers at the compute
endpoint (``OS_COMPUTE_ENDPOINT_OVERRIDE``).
"""

import json
import os
import re
import uuid

import fixtures
from wsgi_intercept import interceptor

from vfioclient.nova import providers as nova_providers
from vfioclient.tests.functional import base

INVENTORY_GETS = 'placement GET /resource_providers/{uuid}/inventories'
ALLOCATION_GETS = 'placement GET /resource_providers/{uuid}/allocations'
INVENTORY_READ = re.compile(
    r'placement GET /resource_providers/([0-9a-f-]{36})/inventories ')
# What a fresh audit of the same cloud may give differently.
COLLECTION_DETAILS = ('collected_at', 'strategy', 'request_counts')

_NOVA_LISTS = {'/os-services': 'services',
               '/os-hypervisors/detail': 'hypervisors',
               '/flavors/detail': 'flavors', '/servers/detail': 'servers'}


def empty_nova(environ, start_response):
    """Nova API 2.1 with no services, hypervisors, flavors or servers."""
    path = environ.get('PATH_INFO') or '/'
    if path == '/':
        href = '%s://%s%s/' % (environ['wsgi.url_scheme'],
                               environ['HTTP_HOST'], environ['SCRIPT_NAME'])
        status, body = '200 OK', {'version': {
            'id': 'v2.1', 'status': 'CURRENT', 'version': '2.96',
            'min_version': '2.1', 'updated': '2013-07-23T11:33:21Z',
            'links': [{'rel': 'self', 'href': href}]}}
    elif path in _NOVA_LISTS:
        status, body = '200 OK', {_NOVA_LISTS[path]: []}
    else:
        status, body = '404 Not Found', {'itemNotFound': {
            'code': 404, 'message': 'not in the test stand-in'}}
    start_response(status, [('Content-Type', 'application/json')])
    return [json.dumps(body).encode()]


class TestAuditReuse(base.PlacementTestCase):

    def setUp(self):
        super().setUp()
        endpoint = 'http://%s/compute/v2.1' % uuid.uuid4()
        intercept = interceptor.RequestsInterceptor(lambda: empty_nova,
                                                    url=endpoint)
        intercept.install_intercept()
        self.addCleanup(intercept.uninstall_intercept)
        self.useFixture(fixtures.EnvironmentVariable(
            'OS_COMPUTE_ENDPOINT_OVERRIDE', endpoint))
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.rp = self._seed()

    def _seed(self):
        """A T4 host, an A40 host (a provider per VF), a converted host, a
        bandwidth provider on each, and a host whose root name does not
        (yet) prefix its GPU child's name."""
        rp = {}
        for node in ('cmp0', 'cmp1', 'cmp2'):
            rp[node] = self.create_provider(node)['uuid']
            self.set_inventory(rp[node], {'VCPU': 64})
            rp[node + '-ovs'] = self.create_provider(
                '%s:Open vSwitch agent' % node, parent=rp[node])['uuid']
            self.set_inventory(rp[node + '-ovs'],
                               {'NET_BW_EGR_KILOBIT_PER_SEC': 10000})
        rp['t4'] = self.create_provider(
            nova_providers.legacy_provider_name('cmp0', '0000:3b:00.0'),
            parent=rp['cmp0'])['uuid']
        self.set_inventory(rp['t4'], {'VGPU': 16})
        self.set_traits(rp['t4'], ['CUSTOM_NVIDIA_T4'])
        self.allocate(self.consumer(0), {rp['t4']: {'VGPU': 1},
                                         rp['cmp0']: {'VCPU': 4}})
        for vf in range(4):
            name = 'vf%d' % vf
            rp[name] = self.create_provider(
                nova_providers.legacy_provider_name(
                    'cmp1', '0000:41:00.%d' % (4 + vf)),
                parent=rp['cmp1'])['uuid']
            self.set_inventory(rp[name], {'CUSTOM_NVIDIA_558': 1})
        self.allocate(self.consumer(1), {rp['vf0']: {'CUSTOM_NVIDIA_558': 1}})
        self.allocate(self.consumer(2), {rp['vf1']: {'CUSTOM_NVIDIA_558': 1}})
        rp['pci'] = self.create_provider(
            nova_providers.pci_provider_name('cmp2', '0000:41:00.0'),
            parent=rp['cmp2'])['uuid']
        self.set_inventory(rp['pci'], {'CUSTOM_NVIDIA_A40_2Q': 8})
        self.set_traits(rp['pci'], ['COMPUTE_MANAGED_PCI_DEVICE',
                                    'OWNER_NOVA'])
        self.allocate(self.consumer(3),
                      {rp['pci']: {'CUSTOM_NVIDIA_A40_2Q': 3}})
        rp['cmp9'] = self.create_provider('cmp9-old')['uuid']
        rp['cmp9-gpu'] = self.create_provider(
            nova_providers.legacy_provider_name('cmp9', '0000:3b:00.0'),
            parent=rp['cmp9'])['uuid']
        self.set_inventory(rp['cmp9-gpu'], {'SRIOV_NET_VF': 4})
        return rp

    @staticmethod
    def consumer(n):
        return '%08d-0000-4000-8000-000000000000' % n

    # -- helpers ---------------------------------------------------------

    def path(self, name):
        return os.path.join(self.tmp, name)

    def audit(self, save, *extra):
        """Audit the cloud and save its snapshot; returns (doc, stderr)."""
        # The in-process SQLite Placement takes one request at a time.
        r = self.openstack('vfio', 'audit', '--concurrency', '1',
                           '--save-snapshot', self.path(save), *extra,
                           may_fail=True,
                           may_print_to_stderr=True)
        self.assertIn(r.rc, (0, 2), r.stderr)
        with open(self.path(save)) as f:
            return json.load(f), r.stderr

    def assertSameCloud(self, expected, actual):
        def cloud(doc):
            return {k: v for k, v in doc.items()
                    if k not in COLLECTION_DETAILS}
        self.assertEqual(cloud(expected), cloud(actual))

    def children(self):
        return [v for k, v in self.rp.items()
                if k not in ('cmp0', 'cmp1', 'cmp2', 'cmp9')]

    # -- tests -----------------------------------------------------------

    def test_unchanged_cloud_reads_no_inventory(self):
        first, _ = self.audit('first.json')
        self.assertEqual(len(self.children()),
                         first['request_counts'][INVENTORY_GETS])
        second, err = self.audit('second.json', '--debug',
                                 '--reuse-snapshot', self.path('first.json'))
        fresh, _ = self.audit('fresh.json')

        self.assertEqual(0, second['request_counts'].get(INVENTORY_GETS, 0))
        self.assertEqual([], INVENTORY_READ.findall(err))
        self.assertIn('Reused %d of %d inventories from %s' % (
            len(self.children()), len(self.children()),
            self.path('first.json')), err)
        # Allocations are read exactly as a fresh audit reads them.
        self.assertEqual(fresh['request_counts'][ALLOCATION_GETS],
                         second['request_counts'][ALLOCATION_GETS])
        self.assertEqual('bulk', second['strategy'])
        self.assertSameCloud(fresh, second)
        self.assertSameCloud(first, second)

    def test_changes_between_audits(self):
        first, _ = self.audit('first.json')
        rp = self.rp
        # An inventory write, trait writes (one makes a bandwidth provider
        # a PCI provider), an allocation moved to another VF (only the
        # new one's generation changes), a consumer's allocation deleted
        # (no generation changes) and a root renamed (no generation
        # changes, but its GPU child now has a Nova name).
        self.set_inventory(rp['t4'], {'VGPU': 8})
        self.set_traits(rp['vf3'], ['CUSTOM_NVIDIA_A40_SPARE'])
        self.set_traits(rp['cmp0-ovs'], ['COMPUTE_MANAGED_PCI_DEVICE'])
        moved = self._call('GET', '/allocations/%s' % self.consumer(1))
        self._call('PUT', '/allocations/%s' % self.consumer(1), {
            'allocations': {rp['vf2']: {'resources': {
                'CUSTOM_NVIDIA_558': 1}}},
            'project_id': moved['project_id'], 'user_id': moved['user_id'],
            'consumer_generation': moved['consumer_generation'],
            'consumer_type': 'INSTANCE'})
        self._call('DELETE', '/allocations/%s' % self.consumer(3))
        self._call('PUT', '/resource_providers/%s' % rp['cmp9'],
                   {'name': 'cmp9'})

        second, err = self.audit('second.json', '--debug',
                                 '--reuse-snapshot', self.path('first.json'))
        fresh, _ = self.audit('fresh.json')
        self.assertSameCloud(fresh, second)

        changed = {rp[k] for k in ('t4', 'vf3', 'cmp0-ovs', 'vf2',
                                   'cmp9-gpu')}
        self.assertEqual(changed, set(INVENTORY_READ.findall(err)))
        self.assertEqual(len(changed),
                         second['request_counts'][INVENTORY_GETS])
        self.assertIn('Reused %d of %d inventories' % (
            len(self.children()) - len(changed), len(self.children())), err)
        # What changed is really in the snapshot.
        by_uuid = {p['uuid']: p for p in second['providers']}
        self.assertEqual(8, by_uuid[rp['t4']]['inventories']['VGPU']['total'])
        self.assertEqual(['CUSTOM_NVIDIA_A40_SPARE'],
                         by_uuid[rp['vf3']]['traits'])
        self.assertEqual({'NET_BW_EGR_KILOBIT_PER_SEC'},
                         set(by_uuid[rp['cmp0-ovs']]['inventories']))
        self.assertEqual({'CUSTOM_NVIDIA_558': 0},
                         by_uuid[rp['vf0']]['usages'])
        self.assertEqual({'CUSTOM_NVIDIA_558': 1},
                         by_uuid[rp['vf2']]['usages'])
        self.assertEqual({'CUSTOM_NVIDIA_A40_2Q': 0},
                         by_uuid[rp['pci']]['usages'])
        self.assertEqual({'SRIOV_NET_VF'},
                         set(by_uuid[rp['cmp9-gpu']]['inventories']))
        self.assertIsNone(
            {p['uuid']: p for p in first['providers']}[rp['cmp9-gpu']][
                'inventories'])

    def test_snapshot_of_another_cloud_reuses_nothing(self):
        first, _ = self.audit('first.json')
        other = json.loads(json.dumps(first))
        # new uuids throughout (parents and roots too: the loader refuses
        # a tree that names providers it does not hold)
        renamed = {p['uuid']: str(uuid.uuid4()) for p in other['providers']}
        for p in other['providers']:
            p['uuid'] = renamed[p['uuid']]
            p['root_uuid'] = renamed[p['root_uuid']]
            if p['parent_uuid'] is not None:
                p['parent_uuid'] = renamed[p['parent_uuid']]
        for a in other['allocations']:
            a['provider_uuid'] = renamed.get(a['provider_uuid'],
                                             a['provider_uuid'])
        with open(self.path('other.json'), 'w') as f:
            json.dump(other, f)
        second, err = self.audit('second.json', '-v', '--reuse-snapshot',
                                 self.path('other.json'))
        fresh, _ = self.audit('fresh.json')
        self.assertIn('Reused 0 of %d inventories from %s' % (
            len(self.children()), self.path('other.json')), err)
        self.assertEqual(len(self.children()),
                         second['request_counts'][INVENTORY_GETS])
        self.assertSameCloud(fresh, second)

    def test_plan_reuses_too(self):
        self.audit('first.json')
        r = self.openstack('vfio', 'plan', '-v', '--concurrency', '1',
                           '--reuse-snapshot',
                           self.path('first.json'), may_fail=True,
                           may_print_to_stderr=True)
        self.assertEqual(0, r.rc, r.stderr)
        self.assertEqual('vfio-plan', r.json['kind'])
        self.assertIn('Reused %d of %d inventories' % (
            len(self.children()), len(self.children())), r.stderr)


class TestReuseErrors(base.NoCloudTestCase):
    """Refused before any request: no cloud is configured at all, so a
    request (or even connecting) would fail with another message."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def fails(self, *argv):
        rc, out, err = base.run_shell(list(argv), self)
        self.assertEqual(1, rc, err)
        self.assertEqual('', out)
        self.assertNotIn('needs a cloud', err)
        self.assertNotIn('Traceback', err)
        return err

    def test_with_from_snapshot(self):
        path = self.write('s.json', '{}')
        for command in ('audit', 'plan'):
            err = self.fails('vfio', command, '--reuse-snapshot', path,
                             '--from-snapshot', path)
            self.assertIn('--reuse-snapshot and --from-snapshot cannot be '
                          'combined', err)

    def test_with_per_provider(self):
        path = self.write('s.json', '{}')
        err = self.fails('vfio', 'audit', '--reuse-snapshot', path,
                         '--strategy', 'per-provider')
        self.assertIn('--reuse-snapshot cannot be combined with --strategy '
                      'per-provider', err)

    def test_bad_files(self):
        missing = os.path.join(self.tmp, 'missing.json')
        cases = [
            (missing, 'snapshot file %s does not exist' % missing),
            (self.write('cut.json', '{"kind": "vfio-cl'),
             'is not valid JSON'),
            (self.write('plan.json', '{"kind": "vfio-plan"}'),
             "is not a vfio cloud snapshot (kind 'vfio-plan')"),
            (self.write('v9.json', json.dumps(
                {'kind': 'vfio-cloud-snapshot', 'schema_version': 9})),
             'has schema_version 9'),
        ]
        for path, message in cases:
            err = self.fails('vfio', 'audit', '--reuse-snapshot', path)
            self.assertIn('--reuse-snapshot: ', err)
            self.assertIn(message, err)
