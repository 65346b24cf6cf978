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

"""``vfio audit`` when Placement fails mid-audit: a clear error naming the
request, exit 1, and no report on stdout (never a partial one)."""

import uuid

from keystoneauth1 import adapter
from keystoneauth1 import session as ks_session
from keystoneauth1.token_endpoint import Token

from vfioclient.nova import providers as nova_providers
from vfioclient.tests import faults
from vfioclient.tests.functional import base
from vfioclient.tests import placement_server


class TestAuditFaults(base.NoCloudTestCase):

    def setUp(self):
        super().setUp()
        self.faults = None

        def wrap(app):
            self.faults = faults.FaultMiddleware(app)
            return self.faults
        self.server = self.useFixture(
            placement_server.LoopbackPlacement(middleware=wrap))
        sess = ks_session.Session(auth=Token(self.server.endpoint,
                                             self.server.token))
        self.api = adapter.Adapter(sess, service_type='placement',
                                   endpoint_override=self.server.endpoint,
                                   default_microversion='1.39')
        self.used = self._seed()

    def _post(self, url, body, method='POST'):
        resp = self.api.request(url, method, json=body, raise_exc=False)
        self.assertIn(resp.status_code, (200, 201, 204), resp.text)
        return resp

    def _seed(self):
        root = str(uuid.uuid4())
        self._post('/resource_providers', {'name': 'cmp1', 'uuid': root})
        used = str(uuid.uuid4())
        self._post('/resource_providers', {
            'name': nova_providers.legacy_provider_name('cmp1',
                                                        '0000:41:00.4'),
            'uuid': used, 'parent_provider_uuid': root})
        self._post('/resource_providers/%s/inventories' % used,
                   {'resource_provider_generation': 0,
                    'inventories': {'VGPU': {'total': 1, 'max_unit': 1}}},
                   method='PUT')
        self._post('/allocations/%s' % uuid.uuid4(), {
            'allocations': {used: {'resources': {'VGPU': 1}}},
            'project_id': str(uuid.uuid4()), 'user_id': str(uuid.uuid4()),
            'consumer_generation': None, 'consumer_type': 'INSTANCE'},
            method='PUT')
        return used

    def audit(self, *extra):
        argv = ['--os-endpoint', self.server.endpoint,
                '--os-token', self.server.token,
                '--os-auth-type', 'admin_token', 'vfio', 'audit',
                '-f', 'json'] + list(extra)
        rc, out, err = base.run_shell(argv, self)
        return rc, out, err

    def test_500_on_allocations(self):
        rule = self.faults.add(faults.Rule(
            path=r'/allocations$', status=500, body=b'<html>oops</html>'))
        rc, out, err = self.audit()
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('Placement GET /resource_providers/%s/allocations '
                      'failed: HTTP 500: Internal Server Error' % self.used,
                      err)
        self.assertEqual(1, rule.hits)  # 500 is not retried

    def test_403_names_the_role(self):
        self.faults.add(faults.Rule(
            path=r'/traits$', status=403,
            content_type='application/json',
            body=faults.placement_error(
                403, 'Policy does not allow placement:traits:list to be '
                     'performed.')))
        rc, out, err = self.audit()
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('Placement GET /traits?associated=true failed: '
                      'HTTP 403: Policy does not allow placement:traits:'
                      'list', err)
        self.assertIn('admin role', err)

    def test_503_is_retried_then_reported(self):
        rule = self.faults.add(faults.Rule(path=r'/inventories$',
                                           status=503))
        rc, out, err = self.audit()
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('/inventories failed: HTTP 503', err)
        self.assertEqual(4, rule.hits)  # 1 try + 3 retries

    def test_timeout_is_retried_then_reported(self):
        rule = self.faults.add(faults.Rule(path=r'/inventories$',
                                           delay=1.0))
        rc, out, err = self.audit('--timeout', '0.2')
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('Placement GET /resource_providers/%s' % '', err)
        self.assertIn('/inventories failed: connection failed after 4 '
                      'attempt(s)', err)
        self.assertEqual(4, rule.hits)

    def test_dropped_connection_is_reported(self):
        self.faults.add(faults.Rule(path=r'/resource_providers$',
                                    drop=True))
        rc, out, err = self.audit()
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('Placement GET /resource_providers failed', err)

    def test_too_old_placement_names_the_version(self):
        self.faults.add(faults.Rule(
            path=r'^/placement/?$', status=200,
            content_type='application/json',
            body=b'{"versions": [{"id": "v1.0", "max_version": "1.10",'
                 b' "min_version": "1.0", "status": "CURRENT", "links": '
                 b'[{"rel": "self", "href": ""}]}]}'))
        rc, out, err = self.audit()
        self.assertEqual(1, rc)
        self.assertIn('requires Placement >= 1.18, server supports 1.10',
                      err)

    def test_offline_audit_needs_no_cloud(self):
        # The same command without --os-* but --from-snapshot of a missing
        # file: a clear error, not an auth error.
        rc, out, err = base.run_shell(
            ['vfio', 'audit', '--from-snapshot', '/nonexistent.json'], self)
        self.assertEqual(1, rc)
        self.assertIn('snapshot file /nonexistent.json does not exist', err)
