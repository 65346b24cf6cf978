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

"""Keystone users, projects and catalog of the sandbox (idempotent).

One keystoneauth session as the bootstrap admin creates:

* projects ``service`` and ``demo``;
* users ``placement`` and ``nova`` (admin + service on ``service``), which
  keystonemiddleware uses to validate tokens;
* user ``demo`` (member on ``demo``), owner of the seeded servers;
* services/endpoints (public, internal, admin in RegionOne):
  ``placement`` (placement), ``nova`` (compute) and ``neutron-stub``
  (network; the stub, see :mod:`vfioclient.sandbox.neutron_stub`).
"""

from vfioclient.sandbox import config

CATALOG = (
    # name, type, service key in ports, description
    ('keystone', 'identity', 'keystone', 'Keystone (sandbox)'),
    ('placement', 'placement', 'placement', 'Placement (sandbox)'),
    ('nova', 'compute', 'nova-api', 'Nova API (sandbox)'),
    ('neutron-stub', 'network', 'neutron-stub',
     'vfio-sandbox STUB: answers every list with []'),
)


class Keystone:
    def __init__(self, sess, ports):
        self.sess = sess
        self.base = config.url('keystone', ports)

    def _get(self, path, key, **params):
        return self.sess.get(self.base + path, params=params).json()[key]

    def _post(self, path, key, body):
        return self.sess.post(self.base + path, json={key: body}).json()[key]

    def get_or_create(self, path, key, find, body):
        found = self._get(path, key + 's', **find)
        if found:
            return found[0]
        return self._post(path, key, body)

    def project(self, name):
        return self.get_or_create(
            '/projects', 'project', {'name': name},
            {'name': name, 'domain_id': 'default',
             'description': 'vfio-sandbox'})

    def user(self, name, password, project_id):
        found = self._get('/users', 'users', name=name)
        if found:
            # keep the password in step with the state dir
            self.sess.patch(self.base + '/users/%s' % found[0]['id'],
                            json={'user': {'password': password}})
            return found[0]
        return self._post('/users', 'user', {
            'name': name, 'password': password, 'domain_id': 'default',
            'default_project_id': project_id})

    def role(self, name):
        found = self._get('/roles', 'roles', name=name)
        if found:
            return found[0]
        return self._post('/roles', 'role', {'name': name})

    def grant(self, project_id, user_id, role_id):
        self.sess.put(self.base + '/projects/%s/users/%s/roles/%s'
                      % (project_id, user_id, role_id))

    def service(self, name, type_, description):
        for svc in self._get('/services', 'services', type=type_):
            if svc.get('name') == name:
                return svc
        return self._post('/services', 'service', {
            'name': name, 'type': type_, 'description': description,
            'enabled': True})

    def endpoints(self, service_id, url):
        have = {e['interface']: e for e in self._get(
            '/endpoints', 'endpoints', service_id=service_id)}
        for iface in ('public', 'internal', 'admin'):
            cur = have.get(iface)
            if cur is None:
                self._post('/endpoints', 'endpoint', {
                    'service_id': service_id, 'interface': iface,
                    'url': url, 'region_id': config.REGION,
                    'enabled': True})
            elif cur['url'] != url:
                self.sess.patch(self.base + '/endpoints/%s' % cur['id'],
                                json={'endpoint': {'url': url}})


def register(sess, ports, service_password, demo_password):
    ks = Keystone(sess, ports)
    service = ks.project('service')
    demo = ks.project('demo')
    roles = {r: ks.role(r)['id'] for r in ('admin', 'member', 'service',
                                           'reader')}
    for name in ('placement', 'nova'):
        u = ks.user(name, service_password, service['id'])
        ks.grant(service['id'], u['id'], roles['admin'])
        ks.grant(service['id'], u['id'], roles['service'])
    u = ks.user('demo', demo_password, demo['id'])
    ks.grant(demo['id'], u['id'], roles['member'])
    ks.grant(demo['id'], u['id'], roles['reader'])
    for name, type_, key, desc in CATALOG:
        svc = ks.service(name, type_, desc)
        ks.endpoints(svc['id'], config.url(key, ports))
    return {'service_project': service['id'], 'demo_project': demo['id']}
