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

"""State directory layout and generated service configs (pure functions).

Everything the sandbox writes lives under one state directory::

    <state>/sandbox.json            ports, pids, passwords' locations
    <state>/admin-password          0600, generated
    <state>/clouds.yaml             0600, entry ``vfio-sandbox``
    <state>/keystone/keystone.conf  + keystone.db, fernet/credential keys
    <state>/placement/placement.conf + placement.db
    <state>/nova/nova.conf, api-paste.ini, nova_api.db, nova_cell0.db,
                 nova_cell1.db
    <state>/logs/<service>.log      stdout+stderr of each service
    <state>/run/<service>.pid
"""

import os
import secrets

CLOUD_NAME = 'vfio-sandbox'
REGION = 'RegionOne'
SERVICES = ('keystone', 'placement', 'nova-api', 'neutron-stub')
# WSGI module and config-dir env var of each service
WSGI = {
    'keystone': ('keystone.wsgi.api', 'OS_KEYSTONE_CONFIG_DIR', 'keystone'),
    'placement': ('placement.wsgi.api', 'OS_PLACEMENT_CONFIG_DIR',
                  'placement'),
    'nova-api': ('nova.wsgi.osapi_compute', 'OS_NOVA_CONFIG_DIR', 'nova'),
    'neutron-stub': ('vfioclient.sandbox.neutron_stub', None, None),
}
PLACEMENT_API_VERSION = '1.39'


def default_state_dir(environ=None):
    env = os.environ if environ is None else environ
    explicit = env.get('VFIO_SANDBOX_STATE_DIR')
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    cache = env.get('XDG_CACHE_HOME') or os.path.join(
        os.path.expanduser('~'), '.cache')
    return os.path.join(os.path.abspath(cache), 'vfio-sandbox')


def new_password():
    return secrets.token_urlsafe(24)


class _StateFile:
    """A read-only attribute: the path of a fixed file in the state dir."""

    def __init__(self, *parts):
        self.parts = parts

    def __get__(self, layout, owner=None):
        if layout is None:
            return self
        return layout.path(*self.parts)


class Layout:
    """Paths inside a state directory."""

    def __init__(self, state):
        self.state = os.path.abspath(state)

    def path(self, *parts):
        return os.path.join(self.state, *parts)

    # The state directory's fixed files.
    meta = _StateFile('sandbox.json')
    admin_password = _StateFile('admin-password')
    clouds_yaml = _StateFile('clouds.yaml')
    keystone_conf = _StateFile('keystone', 'keystone.conf')
    placement_conf = _StateFile('placement', 'placement.conf')
    nova_conf = _StateFile('nova', 'nova.conf')
    api_paste = _StateFile('nova', 'api-paste.ini')

    def log(self, service):
        return self.path('logs', '%s.log' % service)

    def pidfile(self, service):
        return self.path('run', '%s.pid' % service)

    def conf_dir(self, service):
        return {'keystone': self.path('keystone'),
                'placement': self.path('placement'),
                'nova-api': self.path('nova'),
                'nova': self.path('nova')}.get(service)

    def db(self, name):
        return {
            'keystone': self.path('keystone', 'keystone.db'),
            'placement': self.path('placement', 'placement.db'),
            'nova_api': self.path('nova', 'nova_api.db'),
            'nova_cell0': self.path('nova', 'nova_cell0.db'),
            'nova_cell1': self.path('nova', 'nova_cell1.db'),
        }[name]

    def db_url(self, name):
        return 'sqlite:///' + self.db(name)

    def dirs(self):
        return [self.state, self.path('logs'), self.path('run'),
                self.path('keystone'), self.path('keystone', 'fernet-keys'),
                self.path('keystone', 'credential-keys'),
                self.path('placement'), self.path('nova'),
                self.path('nova', 'state'), self.path('locks'),
                self.path('seed')]


def url(service, ports):
    port = ports[service]
    if service == 'keystone':
        return 'http://127.0.0.1:%d/v3' % port
    if service == 'nova-api':
        return 'http://127.0.0.1:%d/v2.1' % port
    return 'http://127.0.0.1:%d' % port


def root_url(service, ports):
    return 'http://127.0.0.1:%d/' % ports[service]


def _authtoken(ports, username, password):
    return '\n'.join([
        '[keystone_authtoken]',
        'www_authenticate_uri = %s' % url('keystone', ports),
        'auth_url = %s' % url('keystone', ports),
        'auth_type = password',
        'username = %s' % username,
        'password = %s' % password,
        'project_name = service',
        'user_domain_name = Default',
        'project_domain_name = Default',
        'region_name = %s' % REGION,
        '',
    ])


def _service_auth(ports, password):
    return [
        'auth_type = password',
        'auth_url = %s' % url('keystone', ports),
        'username = nova',
        'password = %s' % password,
        'project_name = service',
        'user_domain_name = Default',
        'project_domain_name = Default',
        'region_name = %s' % REGION,
    ]


def keystone_conf(layout):
    return '\n'.join([
        '[DEFAULT]',
        'use_stderr = true',
        '[database]',
        'connection = %s' % layout.db_url('keystone'),
        # no fsync per commit: the sandbox's data is disposable
        'sqlite_synchronous = false',
        '[identity]',
        # bcrypt 12 costs 0.24 s per password auth; this is a sandbox
        'password_hash_rounds = 4',
        '[token]',
        'provider = fernet',
        '[fernet_tokens]',
        'key_repository = %s' % layout.path('keystone', 'fernet-keys'),
        '[fernet_receipts]',
        'key_repository = %s' % layout.path('keystone', 'fernet-keys'),
        '[credential]',
        'key_repository = %s' % layout.path('keystone', 'credential-keys'),
        '',
    ])


def placement_conf(layout, ports, service_password):
    return '\n'.join([
        '[DEFAULT]',
        'use_stderr = true',
        '[placement_database]',
        'connection = %s' % layout.db_url('placement'),
        # no fsync per commit: seeding 10,000 providers is write-bound
        'sqlite_synchronous = false',
        '[api]',
        'auth_strategy = keystone',
        _authtoken(ports, 'placement', service_password),
    ])


def nova_conf(layout, ports, service_password):
    return '\n'.join([
        '[DEFAULT]',
        'host = sandbox-controller',
        'transport_url = fake://',
        'use_stderr = true',
        'state_path = %s' % layout.path('nova', 'state'),
        # seeded services never heartbeat: keep them "up" (10 years)
        'service_down_time = 315360000',
        # fake:// never answers an RPC call: fail in 5 s, not 60 s
        'rpc_response_timeout = 5',
        '[api]',
        'auth_strategy = keystone',
        '[api_database]',
        'connection = %s' % layout.db_url('nova_api'),
        'sqlite_synchronous = false',
        '[database]',
        'connection = %s' % layout.db_url('nova_cell1'),
        'sqlite_synchronous = false',
        '[oslo_concurrency]',
        'lock_path = %s' % layout.path('locks'),
        '[neutron]',
        # the Neutron stub (see neutron_stub.py)
        'endpoint_override = %s' % url('neutron-stub', ports),
    ] + _service_auth(ports, service_password) + [
        '[placement]',
    ] + _service_auth(ports, service_password) + [
        _authtoken(ports, 'nova', service_password),
    ])


# The osapi_compute part of nova's own etc/nova/api-paste.ini; used only
# when the installed copy cannot be found.
API_PASTE = """\
[composite:osapi_compute]
use = call:nova.api.openstack.urlmap:urlmap_factory
/: oscomputeversions
/v2.1: oscomputeversion_v2
/v2.1/+: openstack_compute_api_v21

[composite:openstack_compute_api_v21]
use = call:nova.api.auth:pipeline_factory_v21
keystone = cors http_proxy_to_wsgi compute_req_id faultwrap request_log \
sizelimit osprofiler authtoken keystonecontext osapi_compute_app_v21

[filter:request_log]
paste.filter_factory = nova.api.openstack.requestlog:RequestLog.factory

[filter:compute_req_id]
paste.filter_factory = nova.api.compute_req_id:ComputeReqIdMiddleware.factory

[filter:faultwrap]
paste.filter_factory = nova.api.openstack:FaultWrapper.factory

[filter:osprofiler]
paste.filter_factory = nova.profiler:WsgiMiddleware.factory

[filter:sizelimit]
paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory

[filter:http_proxy_to_wsgi]
paste.filter_factory = \
oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory

[app:osapi_compute_app_v21]
paste.app_factory = nova.api.openstack.compute:APIRouterV21.factory

[pipeline:oscomputeversions]
pipeline = cors faultwrap request_log http_proxy_to_wsgi oscomputeversionapp

[pipeline:oscomputeversion_v2]
pipeline = cors compute_req_id faultwrap request_log http_proxy_to_wsgi \
oscomputeversionapp_v2

[app:oscomputeversionapp]
paste.app_factory = nova.api.openstack.compute.versions:Versions.factory

[app:oscomputeversionapp_v2]
paste.app_factory = nova.api.openstack.compute.versions:VersionsV2.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = nova

[filter:keystonecontext]
paste.filter_factory = nova.api.auth:NovaKeystoneContext.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
"""


def installed_api_paste(prefix):
    """Nova's own api-paste.ini from the venv, or None."""
    path = os.path.join(prefix, 'etc', 'nova', 'api-paste.ini')
    if os.path.exists(path):
        with open(path) as f:
            return f.read()
    return None


def clouds_yaml(ports, admin_password, demo_password=None):
    """clouds.yaml text: ``vfio-sandbox`` (admin) and, with a demo
    password, ``vfio-sandbox-demo`` (member of project demo, which owns
    the seeded servers).  JSON is valid YAML, so no PyYAML is needed."""
    import json

    def entry(user, password, project):
        return {
            'auth': {
                'auth_url': url('keystone', ports),
                'username': user,
                'password': password,
                'project_name': project,
                'user_domain_name': 'Default',
                'project_domain_name': 'Default',
            },
            'region_name': REGION,
            'interface': 'public',
            'identity_api_version': '3',
            'placement_api_version': PLACEMENT_API_VERSION,
        }
    clouds = {CLOUD_NAME: entry('admin', admin_password, 'admin')}
    if demo_password:
        clouds[CLOUD_NAME + '-demo'] = entry('demo', demo_password, 'demo')
    return json.dumps({'clouds': clouds}, indent=2) + '\n'


def env_lines(layout):
    return ['export OS_CLIENT_CONFIG_FILE=%s' % layout.clouds_yaml,
            'export OS_CLOUD=%s' % CLOUD_NAME,
            'export OS_PLACEMENT_API_VERSION=%s' % PLACEMENT_API_VERSION]
