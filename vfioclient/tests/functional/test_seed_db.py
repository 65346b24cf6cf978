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

"""``vfio-sandbox seed --via db`` leaves what seeding through the API does.

Two sandboxes side by side, the ``large`` estate seeded into one through
Placement's REST API and into the other straight into Placement's
database (:mod:`vfioclient.sandbox.placement_db`); then everything
Placement's and Nova's APIs show is read from both and compared: providers
with their tree (parent and root) and generation, inventories, usages,
traits, aggregates, allocations by provider and by consumer (project,
user, type, consumer generation), usages by project, resource classes and
traits.  Ids are compared by name (providers' and consumers' uuids are
derived from names, so they match too); only Nova's timestamps and
service ids, which a second run would change as well, are left out.
"""

import json
import shutil
import subprocess
import tempfile
import threading

import testtools

from vfioclient.sandbox import config
from vfioclient.sandbox import estates
from vfioclient.sandbox import seed
from vfioclient.tests.functional import sandbox

HOSTS = 6
PLACEMENT = {'OpenStack-API-Version': 'placement 1.39'}
COMPUTE = {'OpenStack-API-Version': 'compute 2.88'}
SERVER_FIELDS = ('id', 'name', 'status', 'tenant_id', 'user_id', 'flavor',
                 'addresses', 'OS-EXT-SRV-ATTR:host',
                 'OS-EXT-SRV-ATTR:hypervisor_hostname',
                 'OS-EXT-STS:vm_state', 'OS-EXT-AZ:availability_zone')
HYPERVISOR_FIELDS = ('id', 'hypervisor_hostname', 'state', 'status',
                     'hypervisor_type', 'host_ip', 'service', 'uptime')
SERVICE_FIELDS = ('binary', 'host', 'zone', 'status', 'state')


def run_sandbox(state, *args):
    """``vfio-sandbox args``; the JSON summary ``seed`` prints."""
    r = subprocess.run(sandbox.sandbox_cmd(state, *args),
                       capture_output=True, text=True, timeout=900,
                       stdin=subprocess.DEVNULL)
    if r.returncode:
        raise RuntimeError('vfio-sandbox %s failed: %s %s'
                           % (' '.join(args), r.stdout, r.stderr))
    if args[0] != 'seed':
        return None
    return json.loads(r.stdout[r.stdout.index('{'):
                               r.stdout.rindex('}') + 1])


class Views:
    """What Placement's and Nova's APIs show of one sandbox."""

    def __init__(self, state):
        layout = config.Layout(state)
        with open(layout.meta) as f:
            ports = json.load(f)['ports']
        with open(layout.admin_password) as f:
            self.sess = seed.admin_session(ports, f.read().strip())
        self.placement_url = config.url('placement', ports)
        self.nova_url = config.url('nova-api', ports)
        # each sandbox's Keystone made its own ids: compare by name
        project, user = seed.keystone_ids(self.sess, ports,
                                          estates.DEMO_PROJECT,
                                          estates.DEMO_USER)
        self.names = {project: 'project ' + estates.DEMO_PROJECT,
                      user: 'user ' + estates.DEMO_USER}

    def named(self, value):
        if isinstance(value, str):
            return self.names.get(value, value)
        return value

    def placement(self, path):
        r = self.sess.get(self.placement_url + path, headers=PLACEMENT)
        return r.json()

    def nova(self, path):
        r = self.sess.get(self.nova_url + path, headers=COMPUTE)
        return r.json()

    def placement_view(self, consumers):
        rps = self.placement('/resource_providers')['resource_providers']
        names = {rp['uuid']: rp['name'] for rp in rps}

        def by_name(d):
            return {names[k]: v for k, v in d.items()}

        providers = {}
        for rp in rps:
            path = '/resource_providers/%s/' % rp['uuid']
            inv = self.placement(path + 'inventories')
            allocs = self.placement(path + 'allocations')
            providers[rp['name']] = {
                'uuid': rp['uuid'],
                'generation': rp['generation'],
                'parent': names.get(rp['parent_provider_uuid']),
                'root': names[rp['root_provider_uuid']],
                'inventories': inv['inventories'],
                'inventory_generation': inv['resource_provider_generation'],
                'usages': self.placement(path + 'usages')['usages'],
                # a set in Placement; its order is the database's
                'traits': sorted(self.placement(path + 'traits')['traits']),
                'aggregates': sorted(
                    self.placement(path + 'aggregates')['aggregates']),
                'allocations': allocs['allocations'],
            }
        by_consumer = {}
        projects = set()
        for uuid in consumers:
            body = self.placement('/allocations/%s' % uuid)
            body['allocations'] = by_name(body['allocations'])
            projects.add((body['project_id'], body['user_id']))
            body['project_id'] = self.named(body['project_id'])
            body['user_id'] = self.named(body['user_id'])
            by_consumer[uuid] = body
        usages = {'%s/%s' % (self.named(p), self.named(u)): self.placement(
            '/usages?project_id=%s&user_id=%s' % (p, u))
            for p, u in projects}
        return {
            'providers': providers,
            'consumers': by_consumer,
            'usages_by_project': usages,
            'resource_classes': sorted(
                rc['name'] for rc in
                self.placement('/resource_classes')['resource_classes']),
            'traits': sorted(self.placement('/traits')['traits']),
        }

    def nova_view(self):
        servers = self.nova('/servers/detail?all_tenants=1')['servers']
        hypervisors = self.nova('/os-hypervisors/detail')['hypervisors']
        services = self.nova('/os-services')['services']
        flavors = self.nova('/flavors/detail?is_public=None')['flavors']
        return {
            'servers': {s['name']: {k: self.named(s.get(k))
                                    for k in SERVER_FIELDS}
                        for s in servers},
            'hypervisors': {h['hypervisor_hostname']: {
                k: h.get(k) for k in HYPERVISOR_FIELDS if k != 'service'}
                for h in hypervisors},
            'hypervisor_services': sorted(
                h['service']['host'] for h in hypervisors),
            'services': sorted(
                tuple(s[k] for k in SERVICE_FIELDS) for s in services),
            'flavors': {f['name']: {k: v for k, v in f.items()
                                    if k != 'links'} for f in flavors},
        }


@testtools.skipIf(sandbox.MISSING, 'sandbox packages missing (%s): '
                  "pip install '.[sandbox]'" % ', '.join(sandbox.MISSING))
class TestSeedViaDatabase(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.states = {via: tempfile.mkdtemp(prefix='vfio-test-seed-%s-'
                                            % via) for via in ('api', 'db')}
        cls.seeded = {}
        errors = []

        def bring_up(via):
            try:
                run_sandbox(cls.states[via], 'up')
                cls.seeded[via] = run_sandbox(
                    cls.states[via], 'seed', '--estate', 'large', '--hosts',
                    str(HOSTS), '--via', via)
            except Exception as exc:    # reported by the main thread
                errors.append(exc)

        threads = [threading.Thread(target=bring_up, args=(via,))
                   for via in cls.states]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            cls.tearDownClass()
            raise errors[0]

    @classmethod
    def tearDownClass(cls):
        for state in cls.states.values():
            subprocess.run(sandbox.sandbox_cmd(state, 'down'),
                           capture_output=True, timeout=120,
                           stdin=subprocess.DEVNULL)
            shutil.rmtree(state, True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.estate = estates.large(HOSTS)
        self.consumers = [c.uuid for c in self.estate.consumers]

    def test_each_way_wrote_the_whole_estate(self):
        api, db = self.seeded['api'], self.seeded['db']
        self.assertEqual('api', api['via'])
        self.assertEqual('db', db['via'])
        for done in (api, db):
            self.assertEqual(len(self.estate.providers),
                             done['placement']['providers_created'])
            self.assertEqual(len(self.estate.consumers),
                             done['placement']['allocations_written'])
        self.assertNotIn('requests', db['placement'])

    def test_placement_shows_the_same(self):
        api = Views(self.states['api']).placement_view(self.consumers)
        db = Views(self.states['db']).placement_view(self.consumers)
        self.assertEqual(len(self.estate.providers), len(api['providers']))
        self.assertEqual(len(self.consumers), len(api['consumers']))
        for name in api['providers']:
            self.assertEqual(api['providers'][name],
                             db['providers'].get(name), name)
        self.assertEqual(sorted(api['providers']), sorted(db['providers']))
        for uuid in self.consumers:
            self.assertEqual(api['consumers'][uuid], db['consumers'][uuid],
                             uuid)
        self.assertEqual(api, db)
        # and it is the estate, not two equal mistakes
        lg1 = api['providers']['lg-0001.sandbox.test_pci_0000_41_00_4']
        self.assertEqual('lg-0001.sandbox.test', lg1['parent'])
        self.assertEqual({'VGPU': 1}, lg1['usages'])
        self.assertEqual(['OWNER_NOVA'], lg1['traits'])
        some = api['consumers'][self.consumers[0]]
        self.assertEqual('INSTANCE', some['consumer_type'])
        self.assertEqual('project demo', some['project_id'])
        self.assertEqual(1, some['consumer_generation'])

    def test_nova_shows_the_same(self):
        api = Views(self.states['api']).nova_view()
        db = Views(self.states['db']).nova_view()
        self.assertEqual(len(self.estate.servers), len(api['servers']))
        self.assertEqual(HOSTS, len(api['hypervisors']))
        some = api['servers']['lg-0001-vgpu-1']
        self.assertEqual('project demo', some['tenant_id'])
        self.assertEqual('lg-0001', some['OS-EXT-SRV-ATTR:host'])
        self.assertEqual(api, db)

    def test_seeding_again_changes_nothing(self):
        views = Views(self.states['db'])
        before = views.placement_view(self.consumers)
        again = run_sandbox(self.states['db'], 'seed', '--estate', 'large',
                            '--hosts', str(HOSTS), '--via', 'db')
        self.assertEqual(0, again['placement']['providers_created'])
        self.assertEqual(len(self.estate.providers),
                         again['placement']['providers_unchanged'])
        self.assertEqual(0, again['placement']['allocations_written'])
        self.assertEqual({}, again['nova']['created'])
        self.assertEqual(before, views.placement_view(self.consumers))

