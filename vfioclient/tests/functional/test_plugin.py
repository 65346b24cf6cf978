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

"""The plugin loads in the real ``openstack`` shell; the client talks to
real Placement, also from many threads at once."""

import os
import shutil
import subprocess
import sys
import uuid

from vfioclient.cloud import client
from vfioclient.tests import base as tests_base
from vfioclient.tests.functional import base

EXPECTED_COMMANDS = (
    'vfio config check', 'vfio config show', 'vfio host report',
    'vfio host collector', 'vfio host script', 'vfio audit', 'vfio plan',
    'vfio resource class create', 'vfio flavor create',
    'vfio provider cleanup', 'vfio verify', 'vfio playbook list',
    'vfio playbook inventory',
)


def _openstack_bin():
    found = os.path.join(os.path.dirname(sys.executable), 'openstack')
    return found if os.path.exists(found) else shutil.which('openstack')


class TestPluginLoads(base.NoCloudTestCase):

    def test_command_list_group(self):
        result = self.openstack('command', 'list', '--group',
                                'openstack.vfio.v1')
        commands = result.json[0]['Commands']
        for name in EXPECTED_COMMANDS:
            self.assertIn(name, commands)

    def test_help_in_subprocess_has_no_version_options(self):
        # A real process, as an operator would run it: the plugin must not
        # add --os-placement-api-version (it would clash with osc-placement).
        env = tests_base.clean_os_environ()
        out = subprocess.run([_openstack_bin(), '--help'], env=env,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertIn('vfio audit', out.stdout)
        self.assertIn('vfio flavor create', out.stdout)
        self.assertNotIn('--os-vfio-api-version', out.stdout)
        out = subprocess.run([_openstack_bin(), 'help', 'vfio', 'audit'],
                             env=env, capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(0, out.returncode, out.stderr)
        self.assertIn('usage: openstack vfio audit', out.stdout)

    def test_parsers_build_without_a_session(self):
        # What bash completion and the docs build do: no app, no network.
        import stevedore
        mgr = stevedore.ExtensionManager('openstack.vfio.v1')
        names = sorted(ext.name for ext in mgr)
        self.assertEqual(len(EXPECTED_COMMANDS), len(names))
        for ext in mgr:
            parser = ext.plugin(None, None).get_parser(ext.name)
            self.assertTrue(parser.format_help())


class TestClientAgainstRealPlacement(base.PlacementTestCase):

    def _cloud(self):
        from keystoneauth1 import adapter
        return client.ServiceClient('placement', adapter.Adapter(
            self.api.session, service_type='placement',
            endpoint_override=self.placement.endpoint))

    def test_negotiates_with_the_real_server(self):
        svc = self._cloud()
        self.assertEqual('1.14', svc.negotiate('1.14'))
        self.assertGreaterEqual(client.parse_version(svc.negotiate(
            '1.14', '1.99')), (1, 39))
        err = self.assertRaises(client.MicroversionError, svc.negotiate,
                                '9.0')
        self.assertIn('requires Placement >= 9.0, server supports 1.',
                      str(err))

    def test_real_404_message(self):
        svc = self._cloud()
        missing = str(uuid.uuid4())
        err = self.assertRaises(client.ApiError, svc.get,
                                '/resource_providers/%s' % missing, '1.14')
        self.assertEqual(404, err.status)
        self.assertIn('GET /resource_providers/%s' % missing, str(err))
        self.assertIn(missing, err.detail)

    def test_shared_session_across_threads_never_mixes_responses(self):
        # Many concurrent GETs through one keystoneauth session over real
        # HTTP: every response must be the one its own request asked for.
        from keystoneauth1 import adapter
        from keystoneauth1 import session as ks_session
        from keystoneauth1.token_endpoint import Token
        from vfioclient.tests import placement_server

        server = self.useFixture(placement_server.LoopbackPlacement())
        sess = ks_session.Session(auth=Token(server.endpoint, server.token))
        api = adapter.Adapter(sess, service_type='placement',
                              endpoint_override=server.endpoint)
        uuids = []
        for i in range(40):
            rp_uuid = str(uuid.uuid4())
            resp = api.post('/resource_providers', microversion='1.20',
                            json={'name': 'rp-%02d' % i, 'uuid': rp_uuid})
            self.assertEqual(200, resp.status_code, resp.text)
            uuids.append(rp_uuid)
        svc = client.ServiceClient('placement', api)
        cloud = client.CloudClient(svc, None, concurrency=8)
        for _ in range(3):
            got = cloud.map(
                lambda u: svc.get('/resource_providers/%s' % u, '1.14'),
                uuids)
            self.assertEqual(uuids, [rp['uuid'] for rp in got])
            self.assertEqual(['rp-%02d' % i for i in range(40)],
                             [rp['name'] for rp in got])
        self.assertEqual(120, svc.stats.by_endpoint[
            'placement GET /resource_providers/{uuid}'])
