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

"""Write an estate (:mod:`vfioclient.sandbox.estates`) into the sandbox.

* Placement data through Placement's REST API (keystoneauth session, admin
  token, microversion 1.39), one request at a time: Placement runs on
  SQLite, and serial writes never hit "database is locked" (a locked or
  generation-conflict answer is retried anyway).
* Nova data through :mod:`vfioclient.sandbox.nova_db` (Nova's own objects,
  in a child process), run at the same time as the Placement writes.

Both halves are get-or-compare-then-write on ids derived with uuid5, so
seeding again changes nothing and duplicates nothing.

``via='db'`` writes the Placement half straight into Placement's
database instead (:mod:`vfioclient.sandbox.placement_db`, a child process
beside Nova's): seconds instead of minutes for thousands of hosts, for
benchmarks and fleet demos.
"""

import collections
import concurrent.futures
import json
import subprocess
import sys
import threading
import time

from vfioclient.sandbox import config
from vfioclient.sandbox import estates

PLACEMENT_HEADERS = {'OpenStack-API-Version': 'placement 1.39'}
# consumers per POST /allocations when seeding a grown estate
ALLOCATION_BATCH = 100
INV_FIELDS = ('total', 'reserved', 'min_unit', 'max_unit', 'step_size',
              'allocation_ratio')


class SeedError(Exception):
    pass


def admin_session(ports, password, project='admin', user='admin'):
    from keystoneauth1.identity import v3
    from keystoneauth1 import session
    auth = v3.Password(auth_url=config.url('keystone', ports),
                       username=user, password=password,
                       project_name=project, user_domain_name='Default',
                       project_domain_name='Default')
    return session.Session(auth=auth)


class Placement:
    """Tiny Placement REST client that counts what it did."""

    def __init__(self, sess, base):
        self.sess = sess
        self.base = base.rstrip('/')
        self.requests = 0
        self.stats = {}
        self._lock = threading.Lock()

    def count(self, what, n=1):
        with self._lock:
            self.stats[what] = self.stats.get(what, 0) + n

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        for attempt in range(8):
            with self._lock:
                self.requests += 1
            kw = {'headers': dict(PLACEMENT_HEADERS), 'raise_exc': False}
            if body is not None:
                kw['json'] = body
            r = self.sess.request(self.base + path, method, **kw)
            if r.status_code in ok:
                return r.json() if r.content else None
            text = r.text or ''
            if r.status_code >= 500 and 'locked' in text:
                time.sleep(0.1 * (attempt + 1))
                continue
            raise SeedError('%s %s -> %s: %s' % (method, path,
                                                 r.status_code, text[:500]))
        raise SeedError('%s %s: database stayed locked' % (method, path))

    # -- writes --------------------------------------------------------------
    def ensure_resource_class(self, name):
        self.call('PUT', '/resource_classes/%s' % name)

    def ensure_trait(self, name):
        self.call('PUT', '/traits/%s' % name)

    def existing_providers(self):
        body = self.call('GET', '/resource_providers')
        return {rp['uuid']: rp for rp in body['resource_providers']}

    def ensure_provider(self, p, existing):
        cur = existing.get(p.uuid)
        if cur is None:
            body = {'uuid': p.uuid, 'name': p.name}
            if p.parent_uuid:
                body['parent_provider_uuid'] = p.parent_uuid
            rp = self.call('POST', '/resource_providers', body)
            self.count('providers_created')
            return rp['generation'], True
        if (cur['name'] != p.name
                or cur.get('parent_provider_uuid') != p.parent_uuid):
            body = {'name': p.name}
            if p.parent_uuid:
                body['parent_provider_uuid'] = p.parent_uuid
            rp = self.call('PUT', '/resource_providers/%s' % p.uuid, body)
            self.count('providers_updated')
            return rp['generation'], False
        self.count('providers_unchanged')
        return cur['generation'], False

    def ensure_inventories(self, p, generation, new):
        path = '/resource_providers/%s/inventories' % p.uuid
        want = {rc: {k: inv[k] for k in INV_FIELDS}
                for rc, inv in p.inventories.items()}
        if not new:
            cur = self.call('GET', path)
            generation = cur['resource_provider_generation']
            have = {rc: {k: inv[k] for k in INV_FIELDS}
                    for rc, inv in cur['inventories'].items()}
            if have == want:
                self.count('inventories_unchanged')
                return generation
        body = self.call('PUT', path, {
            'resource_provider_generation': generation,
            'inventories': want})
        self.count('inventories_written')
        return body['resource_provider_generation']

    def ensure_traits(self, p, generation, new):
        path = '/resource_providers/%s/traits' % p.uuid
        want = sorted(set(p.traits))
        if new and not want:
            # a provider created just now has no traits
            self.count('traits_unchanged')
            return generation
        if not new:
            cur = self.call('GET', path)
            generation = cur['resource_provider_generation']
            if sorted(cur['traits']) == want:
                self.count('traits_unchanged')
                return generation
        body = self.call('PUT', path, {
            'resource_provider_generation': generation, 'traits': want})
        self.count('traits_written')
        return body['resource_provider_generation']

    def create_allocations(self, consumers, project_id, user_id):
        """Allocations of consumers known to have none (their providers
        were all created by this run): one ``POST /allocations`` for the
        lot (microversion 1.13+), instead of a GET and a PUT each."""
        if not consumers:
            return
        self.call('POST', '/allocations', {
            c.uuid: allocation_body(c, project_id, user_id, None)
            for c in consumers})
        self.count('allocations_written', len(consumers))

    def ensure_allocation(self, consumer, project_id, user_id):
        path = '/allocations/%s' % consumer.uuid
        cur = self.call('GET', path)
        have = {rp: a['resources']
                for rp, a in (cur.get('allocations') or {}).items()}
        if have == consumer.allocations:
            self.count('allocations_unchanged')
            return
        self.call('PUT', path, allocation_body(
            consumer, project_id, user_id, cur.get('consumer_generation')))
        self.count('allocations_written')


def allocation_body(consumer, project_id, user_id, generation):
    """One consumer's allocations as ``PUT /allocations/{uuid}`` takes
    them (also one entry of ``POST /allocations``), microversion 1.38+."""
    return {'allocations': {rp: {'resources': res}
                            for rp, res in consumer.allocations.items()},
            'project_id': project_id, 'user_id': user_id,
            'consumer_type': 'INSTANCE',
            'consumer_generation': generation}


def seed_placement(placement, estate, project_id, user_id, threads=1):
    """Write the estate's Placement half.  ``threads`` > 1 writes that
    many providers at a time (worth it only with as many Placement
    workers: one threaded Python server uses one core)."""
    for rc in estate.resource_classes:
        placement.ensure_resource_class(rc)
    for t in estate.custom_traits:
        placement.ensure_trait(t)
    existing = placement.existing_providers()
    created = set()

    def write(p):
        gen, new = placement.ensure_provider(p, existing)
        gen = placement.ensure_inventories(p, gen, new)
        placement.ensure_traits(p, gen, new)
        return p.uuid if new else None

    # roots first: a child needs its parent
    roots = [p for p in estate.providers if p.kind == 'root']
    children = [p for p in estate.providers if p.kind != 'root']
    with concurrent.futures.ThreadPoolExecutor(max(1, threads)) as pool:
        for phase in (roots, children):
            created.update(u for u in pool.map(write, phase) if u)
    fresh = []
    for c in estate.consumers:
        # A consumer whose every provider was created just now can hold
        # no allocation yet (consumer uuids are derived from the estate,
        # so it is this estate's own); the others are compared first.
        if c.allocations and set(c.allocations) <= created:
            fresh.append(c)
        else:
            placement.ensure_allocation(c, project_id, user_id)
    for i in range(0, len(fresh), ALLOCATION_BATCH):
        batch = fresh[i:i + ALLOCATION_BATCH]
        try:
            placement.create_allocations(batch, project_id, user_id)
        except SeedError:
            # POST /allocations is all or nothing; a consumer that
            # exists after all (another estate's): compare one by one
            for c in batch:
                placement.ensure_allocation(c, project_id, user_id)
    return dict(placement.stats, requests=placement.requests)


def nova_plan(estate, project_id, user_id):
    usage = estate.usage()
    servers = estate.servers
    # counted once: per host over all servers was quadratic (minutes at
    # 10,000 hosts)
    running_on = collections.Counter(c.host for c in servers)
    hosts = []
    for i, h in enumerate(estate.hosts):
        if not h.in_nova:
            continue
        used = usage.get(h.uuid, {})
        running = running_on[h.name]
        hosts.append({
            'host': h.name, 'hypervisor_hostname': h.hypervisor_hostname,
            'uuid': h.uuid, 'vcpus': h.vcpus, 'memory_mb': h.memory_mb,
            'disk_gb': h.disk_gb, 'vcpus_used': used.get('VCPU', 0),
            'memory_mb_used': used.get('MEMORY_MB', 0) + 512,
            'disk_gb_used': used.get('DISK_GB', 0),
            'running_vms': running,
            'host_ip': '192.0.2.%d' % (1 + i % 250)})
    hostnames = {h.name: h.hypervisor_hostname for h in estate.hosts}
    return {
        'project_id': project_id, 'user_id': user_id,
        'controller': 'sandbox-controller',
        'hosts': hosts,
        'flavors': [{'name': f.name, 'flavorid': f.flavorid,
                     'vcpus': f.vcpus, 'memory_mb': f.ram,
                     'root_gb': f.disk, 'extra_specs': f.extra_specs}
                    for f in estate.flavors],
        'servers': [{'uuid': c.uuid, 'name': c.name, 'host': c.host,
                     'node': hostnames[c.host], 'flavor': c.flavor}
                    for c in servers],
    }


def keystone_ids(sess, ports, project, user):
    ks = config.url('keystone', ports)
    p = sess.get(ks + '/projects', params={'name': project}).json()
    u = sess.get(ks + '/users', params={'name': user}).json()
    if not p['projects'] or not u['users']:
        raise SeedError('project/user %s/%s missing in Keystone; run '
                        '`vfio-sandbox up` again' % (project, user))
    return p['projects'][0]['id'], u['users'][0]['id']


def _child(python, module, args, log, layout):
    return subprocess.Popen(
        [python or sys.executable, '-m', module] + args,
        stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
        cwd=layout.state)


def _child_result(proc, out, what, log_path):
    if proc.returncode != 0:
        from vfioclient.sandbox import runner
        raise SeedError('seeding %s failed (exit %s); %s:\n%s'
                        % (what, proc.returncode, log_path,
                           runner.tail(log_path)))
    return json.loads(out.decode().strip().splitlines()[-1])


def seed(layout, ports, admin_password, estate, python=None, threads=1,
         via='api'):
    """Seed ``estate``; returns a summary dict (counts and timings).
    ``via``: ``'api'`` (Placement's REST API) or ``'db'`` (Placement's
    database, :mod:`vfioclient.sandbox.placement_db`)."""
    if via not in ('api', 'db'):
        raise ValueError('via must be api or db, not %r' % via)
    t0 = time.monotonic()
    sess = admin_session(ports, admin_password)
    project_id, user_id = keystone_ids(sess, ports, estates.DEMO_PROJECT,
                                       estates.DEMO_USER)
    plan_path = layout.path('seed', '%s-nova-plan.json' % estate.name)
    with open(plan_path, 'w') as f:
        json.dump(nova_plan(estate, project_id, user_id), f, indent=1)
    log_path = layout.log('seed-nova')
    with open(log_path, 'ab') as log:
        nova = _child(python, 'vfioclient.sandbox.nova_db',
                      ['--config-file', layout.nova_conf, plan_path],
                      log, layout)
    try:
        if via == 'db':
            p_stats, t_placement = _seed_placement_db(
                layout, estate, project_id, user_id, python, t0)
        else:
            placement = Placement(sess, config.url('placement', ports))
            p_stats = seed_placement(placement, estate, project_id,
                                     user_id, threads=threads)
            t_placement = time.monotonic() - t0
    finally:
        out, _ = nova.communicate()
    n_stats = _child_result(nova, out, 'Nova', log_path)
    expected = estate.expected()
    exp_path = layout.path('seed', '%s.json' % estate.name)
    with open(exp_path, 'w') as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    return {'estate': estate.name, 'via': via, 'placement': p_stats,
            'nova': n_stats, 'expected': exp_path,
            'seconds': round(time.monotonic() - t0, 1),
            'placement_seconds': round(t_placement, 1)}


def _seed_placement_db(layout, estate, project_id, user_id, python, t0):
    """The Placement half through its database, in a child process."""
    log_path = layout.log('seed-placement-db')
    args = ['--config-file', layout.placement_conf, '--estate', estate.name,
            '--project-id', project_id, '--user-id', user_id]
    if estate.name == 'large':
        args += ['--hosts', str(len(estate.hosts))]
    with open(log_path, 'ab') as log:
        proc = _child(python, 'vfioclient.sandbox.placement_db', args, log,
                      layout)
    out, _ = proc.communicate()
    stats = _child_result(proc, out, 'Placement', log_path)
    return stats, time.monotonic() - t0
