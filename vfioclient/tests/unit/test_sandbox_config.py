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

"""Sandbox config generation, ports, processes and CLI errors (no cloud)."""

import configparser
import json
import os
import socket
import stat
import sys
import tempfile
import time

import fixtures
import testtools

from vfioclient import fileio
from vfioclient.sandbox import cli
from vfioclient.sandbox import config
from vfioclient.sandbox import neutron_stub
from vfioclient.sandbox import runner

PORTS = {'keystone': 15000, 'placement': 18778, 'nova-api': 18774,
         'neutron-stub': 19696}


def parse(text):
    cp = configparser.RawConfigParser(strict=True)
    cp.read_string(text)
    return cp


class TestConfig(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.layout = config.Layout('/tmp/sbx-unit')

    def test_default_state_dir(self):
        self.assertEqual('/x/y', config.default_state_dir(
            {'VFIO_SANDBOX_STATE_DIR': '/x/y'}))
        self.assertEqual('/c/vfio-sandbox', config.default_state_dir(
            {'XDG_CACHE_HOME': '/c'}))
        self.assertTrue(config.default_state_dir({}).endswith(
            os.path.join('.cache', 'vfio-sandbox')))

    def test_keystone_conf(self):
        cp = parse(config.keystone_conf(self.layout))
        self.assertEqual('sqlite:////tmp/sbx-unit/keystone/keystone.db',
                         cp.get('database', 'connection'))
        self.assertEqual('fernet', cp.get('token', 'provider'))

    def test_placement_conf(self):
        cp = parse(config.placement_conf(self.layout, PORTS, 'pw'))
        self.assertEqual('http://127.0.0.1:15000/v3',
                         cp.get('keystone_authtoken', 'auth_url'))
        self.assertEqual('placement',
                         cp.get('keystone_authtoken', 'username'))
        self.assertEqual('pw', cp.get('keystone_authtoken', 'password'))
        # disposable data: no fsync per commit (seeding is write-bound)
        self.assertEqual('false', cp.get('placement_database',
                                         'sqlite_synchronous'))

    def test_nova_conf(self):
        cp = parse(config.nova_conf(self.layout, PORTS, 'pw'))
        self.assertEqual('fake://', cp.get('DEFAULT', 'transport_url'))
        self.assertEqual('315360000',
                         cp.get('DEFAULT', 'service_down_time'))
        self.assertEqual('http://127.0.0.1:19696',
                         cp.get('neutron', 'endpoint_override'))
        self.assertEqual('sqlite:////tmp/sbx-unit/nova/nova_api.db',
                         cp.get('api_database', 'connection'))
        self.assertEqual('nova', cp.get('keystone_authtoken', 'username'))

    def test_only_loopback_urls(self):
        for s in config.SERVICES:
            self.assertTrue(config.url(s, PORTS).startswith(
                'http://127.0.0.1:'))

    def test_api_paste_fallback_parses(self):
        cp = parse(config.API_PASTE)
        self.assertIn('composite:osapi_compute', cp.sections())

    def test_clouds_yaml(self):
        doc = json.loads(config.clouds_yaml(PORTS, 'secret', 'demo-pw'))
        c = doc['clouds'][config.CLOUD_NAME]
        self.assertEqual('secret', c['auth']['password'])
        self.assertEqual('http://127.0.0.1:15000/v3', c['auth']['auth_url'])
        self.assertEqual('demo',
                         doc['clouds']['vfio-sandbox-demo']['auth']
                         ['project_name'])

    def test_passwords_random(self):
        self.assertNotEqual(config.new_password(), config.new_password())
        self.assertGreaterEqual(len(config.new_password()), 24)


class TestPorts(testtools.TestCase):

    def test_pick_ports_distinct_and_free(self):
        ports = runner.pick_ports(config.SERVICES)
        self.assertEqual(set(config.SERVICES), set(ports))
        self.assertEqual(4, len(set(ports.values())))
        for p in ports.values():
            self.assertFalse(runner.port_in_use(p))

    def test_pick_ports_base(self):
        self.assertEqual(
            {'keystone': 20000, 'placement': 20001, 'nova-api': 20002,
             'neutron-stub': 20003},
            runner.pick_ports(config.SERVICES, 20000))

    def test_port_in_use(self):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            s.listen()
            self.assertTrue(runner.port_in_use(s.getsockname()[1]))


class TestProcesses(testtools.TestCase):

    def test_crashed_service_reports_log_tail(self):
        d = self.useFixture(fixtures.TempDir()).path
        log = os.path.join(d, 'x.log')
        proc = runner.start([sys.executable, '-c',
                             'import sys; print("boom here"); sys.exit(3)'],
                            log)
        exc = self.assertRaises(
            runner.ServiceFailed, runner.wait_all,
            {'x': (proc, 'http://127.0.0.1:9/', log)}, 30)
        self.assertIn('exited with status 3', str(exc))
        self.assertIn('boom here', runner.tail(exc.log))

    def test_start_and_stop_group(self):
        d = self.useFixture(fixtures.TempDir()).path
        proc = runner.start([sys.executable, '-c',
                             'import time; time.sleep(60)'],
                            os.path.join(d, 'x.log'))
        self.assertTrue(runner.alive(proc.pid))
        self.assertEqual(proc.pid, os.getpgid(proc.pid))
        self.assertFalse(runner.is_ours(proc.pid, d))   # not a runner
        self.assertTrue(runner.stop(proc.pid, timeout=5))
        self.assertFalse(runner.alive(proc.pid))

    def test_runner_binds_loopback_and_reports_taken_port(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', self.useFixture(
                fixtures.StringStream('stderr')).stream))
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            s.listen()
            rc = runner.main(['vfioclient.sandbox.neutron_stub',
                              str(s.getsockname()[1]), 'x'])
        self.assertEqual(runner.EXIT_PORT_IN_USE, rc)


class TestNeutronStub(testtools.TestCase):

    def call(self, path, method='GET'):
        status = []
        body = neutron_stub.application(
            {'PATH_INFO': path, 'REQUEST_METHOD': method},
            lambda s, h: status.append(s))
        return status[0], json.loads(b''.join(body))

    def test_lists_are_empty(self):
        self.assertEqual(('200 OK', {'ports': []}),
                         self.call('/v2.0/ports'))
        self.assertEqual(('200 OK', {'security_groups': []}),
                         self.call('/v2.0/security-groups.json'))

    def test_versions_and_404(self):
        self.assertEqual('v2.0', self.call('/')[1]['versions'][0]['id'])
        self.assertTrue(self.call('/v2.0/ports', 'POST')[0].startswith(
            '404'))


class TestCliErrors(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.state = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'state')
        self.stderr = self.useFixture(
            fixtures.StringStream('stderr')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stderr', self.stderr))
        self.stdout = self.useFixture(
            fixtures.StringStream('stdout')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', self.stdout))

    def main(self, *args):
        return cli.main(['--state-dir', self.state] + list(args))

    def test_missing_package(self):
        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.sandbox.cli.REQUIRED_MODULES',
            {'no_such_module_xyz': 'no-such-package'}))
        self.assertEqual(2, self.main('up'))
        self.stderr.seek(0)
        err = self.stderr.read()
        self.assertIn('no-such-package', err)
        self.assertIn(".[sandbox]", err)

    def test_port_taken_with_base_port(self):
        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.sandbox.cli.REQUIRED_MODULES', {}))
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            s.listen()
            port = s.getsockname()[1]
            self.assertEqual(1, self.main('up', '--base-port', str(port)))
        self.stderr.seek(0)
        self.assertIn('%d (keystone)' % port, self.stderr.read())

    def test_status_down_reset_without_sandbox(self):
        self.assertEqual(3, self.main('status'))
        self.assertEqual(0, self.main('down'))
        self.assertEqual(0, self.main('reset'))
        self.assertFalse(os.path.exists(self.state))

    def test_reset_refuses_foreign_dir(self):
        os.makedirs(self.state)
        with open(os.path.join(self.state, 'precious'), 'w') as f:
            f.write('x')
        self.assertEqual(1, self.main('reset'))
        self.assertTrue(os.path.exists(os.path.join(self.state,
                                                    'precious')))

    def test_state_dir_after_the_subcommand_is_used(self):
        os.makedirs(self.state)
        with open(os.path.join(self.state, 'precious'), 'w') as f:
            f.write('x')
        other = os.path.join(os.path.dirname(self.state), 'other')
        # The option after the subcommand wins over the one before it.
        self.assertEqual(1, cli.main(['--state-dir', other, 'reset',
                                      '--state-dir', self.state]))
        self.stderr.seek(0)
        self.assertIn(self.state, self.stderr.read())
        self.assertEqual(1, cli.main(['seed', '--state-dir', self.state,
                                      '--estate', 'small']))
        self.stderr.seek(0)
        self.assertIn('not running', self.stderr.read())

    def test_seed_needs_running_sandbox(self):
        self.assertEqual(1, self.main('seed', '--estate', 'small'))
        self.stderr.seek(0)
        self.assertIn('not running', self.stderr.read())

    def test_estate_prints_json(self):
        self.assertEqual(0, self.main('estate', 'small'))
        self.stdout.seek(0)
        self.assertEqual('small', json.loads(self.stdout.read())['estate'])

    def test_write_private_mode(self):
        d = tempfile.mkdtemp(dir=self.useFixture(fixtures.TempDir()).path)
        path = os.path.join(d, 'pw')
        fileio.write_private_file(path, 'x')
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))


class TestWorkers(testtools.TestCase):
    """``runner --workers N``: N processes answer on one port and all go
    with the process group."""

    def test_two_workers_share_the_port_and_stop_together(self):
        import http.client
        d = self.useFixture(fixtures.TempDir()).path
        port = runner.pick_free_port()
        cmd = runner.command('vfioclient.tests.pid_app', port, 'x', d,
                             workers=2)
        self.assertEqual(['--workers', '2'], cmd[-2:])
        proc = runner.start(cmd, os.path.join(d, 'x.log'))
        self.addCleanup(runner.stop, proc.pid, 5)
        runner.wait_all({'x': (proc, 'http://127.0.0.1:%d/' % port,
                               os.path.join(d, 'x.log'))}, 30)
        # The second worker may still be starting when the first answers
        # (a loaded machine): ask until both answered, for at most 30 s.
        pids = set()
        deadline = time.monotonic() + 30
        while len(pids) < 2 and time.monotonic() < deadline:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            conn.request('GET', '/')
            pids.add(int(conn.getresponse().read()))
            conn.close()
        self.assertEqual(2, len(pids), 'answered by %s' % pids)
        self.assertIn(proc.pid, pids)
        for pid in pids:
            self.assertEqual(proc.pid, os.getpgid(pid))
        self.assertTrue(runner.stop(proc.pid, timeout=5))
        for pid in pids:
            self.assertFalse(runner.alive(pid))

    def test_one_worker_is_the_default(self):
        cmd = runner.command('m', 1, 'x', '/s')
        self.assertNotIn('--workers', cmd)

    def test_bad_workers_argument(self):
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', self.useFixture(
                fixtures.StringStream('stderr')).stream))
        self.assertEqual(2, runner.main(['m', '1', 'x', '--workers', '0']))

    def test_state_dir_before_or_after_every_subcommand(self):
        parser = cli.build_parser()
        for argv in (['up'], ['status'], ['down'], ['reset'], ['env'],
                     ['seed'], ['estate', 'small']):
            args = parser.parse_args(argv[:1] + ['--state-dir', '/after']
                                     + argv[1:])
            self.assertEqual('/after', args.sub_state_dir, argv)
            args = parser.parse_args(['--state-dir', '/before'] + argv)
            self.assertEqual(('/before', None),
                             (args.state_dir, args.sub_state_dir), argv)

    def test_placement_workers_option(self):
        parser = cli.build_parser()
        args = parser.parse_args(['up', '--placement-workers', '2'])
        self.assertEqual(2, args.placement_workers)
        self.useFixture(fixtures.MonkeyPatch(
            'sys.stderr', self.useFixture(
                fixtures.StringStream('stderr')).stream))
        self.assertRaises(SystemExit, parser.parse_args,
                          ['up', '--placement-workers', '0'])
