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

"""Functional test base: real Placement in-process, the real OSC shell.

Modelled on osc-placement's functional tests: ``PlacementFixture`` serves the
real Placement WSGI app (SQLite in memory) through wsgi-intercept, and
``openstack()`` runs ``OpenStackShell().run(argv)`` in-process with
``admin_token`` auth.  Clients are built per ClientManager from
``sdk_connection``, so no ClientCache monkeypatch is needed.
"""

import json
import logging
import uuid

import fixtures
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import session as ks_session
from keystoneauth1.token_endpoint import Token
from placement.tests.functional.fixtures import placement as placement_fx

from vfioclient.tests import base as tests_base
from vfioclient.tests.shell import run_shell  # noqa: F401 (re-exported)

PLACEMENT_VERSION = '1.39'


class CommandResult:
    def __init__(self, rc, stdout, stderr, as_json):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.json = None
        if as_json and stdout.strip():
            self.json = json.loads(stdout)

    def __iter__(self):
        return iter((self.rc, self.json, self.stderr))


class NoCloudTestCase(tests_base.TestCase):
    """The shell with no cloud settings (``OS_*``) at all (offline
    commands)."""

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.TempHomeDir())
        for name in ('keystoneauth', 'stevedore', 'osc_lib', 'cliff'):
            logging.getLogger(name).setLevel(logging.WARNING)

    def openstack(self, *argv, use_json=True, may_fail=False,
                  may_print_to_stderr=False, extra_argv=()):
        args = list(extra_argv) + list(argv)
        if use_json:
            args += ['-f', 'json']
        rc, out, err = run_shell(args, self)
        if not may_fail and rc != 0:
            self.fail('openstack %s exited %s\nstdout:\n%s\nstderr:\n%s'
                      % (' '.join(args), rc, out, err))
        if rc == 0 and err.strip() and not may_print_to_stderr:
            self.fail('openstack %s printed to stderr:\n%s'
                      % (' '.join(args), err))
        return CommandResult(rc, out, err, use_json and rc in (0, 2))


class PlacementTestCase(NoCloudTestCase):
    """Real Placement in-process, reached by the real shell and a seeder."""

    def setUp(self):
        super().setUp()
        for name in ('placement', 'oslo_policy.policy',
                     'oslo_concurrency.lockutils', 'migrate', 'alembic'):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        self.placement = self.useFixture(placement_fx.PlacementFixture())
        sess = ks_session.Session(
            auth=Token(self.placement.endpoint, self.placement.token))
        self.api = ks_adapter.Adapter(
            sess, service_type='placement',
            endpoint_override=self.placement.endpoint,
            default_microversion=PLACEMENT_VERSION)

    def cloud_argv(self):
        return ['--os-endpoint', self.placement.endpoint,
                '--os-token', self.placement.token,
                '--os-auth-type', 'admin_token']

    def openstack(self, *argv, **kwargs):
        kwargs.setdefault('extra_argv', self.cloud_argv())
        return super().openstack(*argv, **kwargs)

    # -- seeding through the real Placement API -----------------------------

    def _call(self, method, url, body=None, ok=(200, 201, 204)):
        kwargs = {'raise_exc': False}
        if body is not None:
            kwargs['json'] = body
        resp = self.api.request(url, method, **kwargs)
        if resp.status_code not in ok:
            self.fail('seeding %s %s: %s %s' % (method, url,
                                                resp.status_code, resp.text))
        return resp.json() if resp.content else None

    def create_provider(self, name, parent=None, rp_uuid=None):
        body = {'name': name, 'uuid': rp_uuid or str(uuid.uuid4())}
        if parent:
            body['parent_provider_uuid'] = parent
        return self._call('POST', '/resource_providers', body)

    def ensure_resource_class(self, name):
        if name.startswith('CUSTOM_'):
            self._call('PUT', '/resource_classes/%s' % name)

    def set_inventory(self, rp_uuid, inventories):
        for rc in inventories:
            self.ensure_resource_class(rc)
        rp = self._call('GET', '/resource_providers/%s' % rp_uuid)
        inv = {}
        for rc, value in inventories.items():
            if isinstance(value, int):
                value = {'total': value, 'max_unit': value}
            inv[rc] = value
        return self._call(
            'PUT', '/resource_providers/%s/inventories' % rp_uuid,
            {'resource_provider_generation': rp['generation'],
             'inventories': inv})

    def set_traits(self, rp_uuid, traits):
        for trait in traits:
            if trait.startswith('CUSTOM_'):
                self._call('PUT', '/traits/%s' % trait)
        rp = self._call('GET', '/resource_providers/%s' % rp_uuid)
        return self._call(
            'PUT', '/resource_providers/%s/traits' % rp_uuid,
            {'resource_provider_generation': rp['generation'],
             'traits': sorted(traits)})

    def allocate(self, consumer, allocations, project=None, user=None,
                 consumer_type='INSTANCE'):
        """``allocations``: {rp_uuid: {rc: amount}}."""
        body = {
            'allocations': {rp: {'resources': res}
                            for rp, res in allocations.items()},
            'project_id': project or str(uuid.uuid4()),
            'user_id': user or str(uuid.uuid4()),
            'consumer_generation': None,
            'consumer_type': consumer_type,
        }
        return self._call('PUT', '/allocations/%s' % consumer, body)
