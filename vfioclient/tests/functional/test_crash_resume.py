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

"""SIGKILL in the middle of the apply commands, then run them again.

``openstack vfio resource class create --from-plan``: real Placement on
127.0.0.1 in the test process (:class:`LoopbackPlacement`), the real
``openstack`` CLI as a subprocess, and a :class:`FaultMiddleware` rule that
holds one request so the test knows exactly where the process is when it
is killed (before the first write, during a PUT that still lands, during a
PUT that is lost, between two writes, during the last one).

``openstack vfio flavor create --from-plan``: the sandbox (real Keystone,
Placement and Nova API), the CLI reaching Nova through a holding proxy in
the test process, killed after the flavor POST, after the extra specs,
before the description and in the middle of a list of flavors.  The plan
drift checks (source flavor deleted or renamed, a provider gone: the
apply commands stop before writing) share that sandbox, so the module
starts ONE sandbox (:class:`TestFlavorCrashAndDrift`).

After every kill the same command runs again: it must finish, report what
was already there as ``exists``/``created`` (resumed), create no duplicates
and lose nothing.
"""

import http.client
import http.server
import json
import os
import re
import signal
import socketserver
import subprocess
import threading
import time
import urllib.parse

import testtools

from vfioclient.apply import planfile
from vfioclient.tests import base
from vfioclient.tests import faults
from vfioclient.tests.functional import loopback
from vfioclient.tests.functional import sandbox
from vfioclient.tests import reliability_log

HOLD = 2.0            # seconds a held request waits (the kill comes first)


class TestResourceClassCrash(loopback.LoopbackCliTestCase):
    """Kill ``resource class create --from-plan`` at five points."""

    CLASSES = ['CUSTOM_CRASH_%d' % i for i in range(1, 7)]

    def crash_and_resume(self, rule, written_before_rerun):
        plan = self.write_plan(self.CLASSES)
        self.faults.add(rule)
        proc = self.start('vfio', 'resource', 'class', 'create',
                          '--from-plan', plan, '--concurrency', '1')
        self.kill_when(proc, lambda: rule.hits >= 1,
                       'the held request %s %s' % (rule.method, rule.path))
        # The held request finishes (or is dropped) on the server side.
        time.sleep(rule.delay + 0.2)
        before = [c for c in self.placement_classes()
                  if c.startswith('CUSTOM_CRASH_')]
        self.assertEqual(written_before_rerun, before)

        again = self.osc('vfio', 'resource', 'class', 'create',
                         '--from-plan', plan, '--concurrency', '1')
        self.assertEqual(0, again.rc, again.stderr)
        self.assertEqual('', again.stderr)
        rows = again.rows()
        self.assertEqual(self.CLASSES, list(rows))
        for name in self.CLASSES:
            want = 'exists' if name in written_before_rerun else 'created'
            self.assertEqual(want, rows[name]['action'], name)
        after = self.placement_classes()
        for name in self.CLASSES:
            self.assertEqual(1, after.count(name), name)
        third = self.osc('vfio', 'resource', 'class', 'create',
                         '--from-plan', plan, '--concurrency', '1')
        self.assertEqual(0, third.rc, third.stderr)
        self.assertEqual({'exists'},
                         {r['action'] for r in third.json})
        reliability_log.record(
            'fault', 'SIGKILL %s' % self.point, 'openstack vfio resource '
            'class create --from-plan (6 classes, real Placement)', 1,
            'killed with %d of 6 written; the re-run created the other %d '
            'and reported %d as exists; no duplicates'
            % (len(written_before_rerun), 6 - len(written_before_rerun),
               len(written_before_rerun)), test=self.id())

    def test_killed_before_any_write(self):
        self.point = 'before the first write (held GET of the first class)'
        self.crash_and_resume(
            faults.Rule(path=r'/resource_classes/CUSTOM_CRASH_1$',
                        method='GET', delay=HOLD, times=1), [])

    def test_killed_during_a_put_that_lands(self):
        self.point = ('during PUT of class 3 of 6 (the server completes it '
                      'after the client died)')
        self.crash_and_resume(
            faults.Rule(path=r'/resource_classes/CUSTOM_CRASH_3$',
                        method='PUT', delay=HOLD, times=1),
            self.CLASSES[:3])

    def test_killed_during_a_put_that_is_lost(self):
        self.point = ('during PUT of class 3 of 6 (the request is lost: '
                      'connection dropped)')
        self.crash_and_resume(
            faults.Rule(path=r'/resource_classes/CUSTOM_CRASH_3$',
                        method='PUT', delay=HOLD, drop=True, times=1),
            self.CLASSES[:2])

    def test_killed_between_two_writes(self):
        self.point = 'between two writes (after PUT 4, held GET of class 5)'
        self.crash_and_resume(
            faults.Rule(path=r'/resource_classes/CUSTOM_CRASH_5$',
                        method='GET', delay=HOLD, times=1),
            self.CLASSES[:4])

    def test_killed_during_the_last_write(self):
        self.point = 'during the last PUT (class 6 of 6, lands)'
        self.crash_and_resume(
            faults.Rule(path=r'/resource_classes/CUSTOM_CRASH_6$',
                        method='PUT', delay=HOLD, times=1),
            self.CLASSES)


# -- flavor create --from-plan against the sandbox ----------------------------

class HoldingProxy:
    """An HTTP proxy on 127.0.0.1 in front of Nova that can hold a request.

    ``hold(method, path_regex, nth, after)`` arms a hold on the ``nth``
    matching request: ``after=False`` holds it before it reaches Nova (and
    then drops it: the request is lost), ``after=True`` forwards it, lets
    Nova answer, then holds the answer (the write happened, the client
    never learns its result).  :attr:`held` is set when the hold starts.
    """

    def __init__(self, upstream):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.held = threading.Event()
        self.rule = None
        self.count = 0
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _any(self):
                proxy.handle(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.server = Server(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d%s' % (self.server.server_address[1],
                                              self.upstream.path)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={'poll_interval': 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def hold(self, method, path, nth=1, after=False):
        with self.lock:
            self.rule = (method, re.compile(path), nth, after)
            self.count = 0
            self.held.clear()

    def _match(self, method, path):
        with self.lock:
            if self.rule is None:
                return None
            want, regex, nth, after = self.rule
            if want != method or not regex.search(path):
                return None
            self.count += 1
            if self.count != nth:
                return None
            self.rule = None
            return 'after' if after else 'before'

    def handle(self, req):
        length = int(req.headers.get('Content-Length') or 0)
        body = req.rfile.read(length) if length else None
        path = req.path.split('?')[0]
        hold = self._match(req.command, path)
        if hold == 'before':
            self.held.set()
            time.sleep(HOLD)
            req.close_connection = True
            return
        conn = http.client.HTTPConnection(self.upstream.hostname,
                                          self.upstream.port, timeout=120)
        headers = {k: v for k, v in req.headers.items()
                   if k.lower() not in ('host', 'connection')}
        conn.request(req.command, req.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        if hold == 'after':
            self.held.set()
            time.sleep(HOLD)
        try:
            req.send_response(resp.status, resp.reason)
            for key, value in resp.getheaders():
                if key.lower() not in ('transfer-encoding', 'connection',
                                       'content-length'):
                    req.send_header(key, value)
            req.send_header('Content-Length', str(len(data)))
            req.end_headers()
            req.wfile.write(data)
        except OSError:
            req.close_connection = True   # the client was killed


ALIAS = {'name': 'nvidia-a40-2q', 'resource_class': 'CUSTOM_NVIDIA_A40_2Q'}


def flavor_plan(names, sources=None):
    sources = sources or {}
    flavors = []
    for name in names:
        doc = {'name': name, 'vcpus': 4, 'ram': 16384, 'disk': 40,
               'alias': ALIAS['name'],
               'resource_class': ALIAS['resource_class'],
               'description': 'VF flavor %s' % name}
        if name in sources:
            doc['source_flavor'], doc['source_flavor_id'] = sources[name]
        flavors.append(doc)
    return planfile.minimal_document(
        resource_classes=[ALIAS['resource_class']], aliases=[ALIAS],
        flavors=flavors)


@testtools.skipIf(sandbox.MISSING, 'sandbox packages missing')
@testtools.skipUnless(os.path.exists(sandbox.OPENSTACK),
                      'python-openstackclient is not installed')
class TestFlavorCrashAndDrift(sandbox.SandboxTestCase):
    """ONE sandbox for the module: flavor crash points, drift, non-admin."""

    ESTATE = 'small'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            env = base.clean_os_environ(
                OS_CLIENT_CONFIG_FILE=cls.layout.clouds_yaml,
                OS_CLOUD=sandbox.config.CLOUD_NAME)
            out = subprocess.run(
                [sandbox.OPENSTACK, 'endpoint', 'list', '--service', 'compute',
                 '--interface', 'public', '-f', 'json'], env=env,
                capture_output=True, text=True, check=True, timeout=120,
                stdin=subprocess.DEVNULL).stdout
            upstream = json.loads(out)[0]['URL']
            cls.proxy = HoldingProxy(upstream)
            with open(cls.layout.clouds_yaml) as f:
                clouds = json.load(f)
            for entry in clouds['clouds'].values():
                entry['compute_endpoint_override'] = cls.proxy.url
            cls.proxied_yaml = os.path.join(cls.state, 'clouds-proxy.yaml')
            with open(cls.proxied_yaml, 'w') as f:
                json.dump(clouds, f)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        proxy = getattr(cls, 'proxy', None)
        if proxy is not None:
            proxy.close()
        super().tearDownClass()

    def env(self):
        env = super().env()
        env['OS_CLIENT_CONFIG_FILE'] = self.proxied_yaml
        return env

    def write_plan(self, doc):
        path = self.tmp_path('plan.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        return path

    def flavor_names(self):
        return [f['Name'] for f in self.osc('flavor', 'list', '--all').json]

    def apply_rows(self, plan, ok=(0,), *extra):
        r = self.osc('vfio', 'flavor', 'create', '--from-plan', plan,
                     *extra, ok=ok)
        return {row['name']: row for row in r.json or ()}, r

    # -- crash points ---------------------------------------------------

    def crash_and_resume(self, prefix, method, path, nth, after, done,
                         resumed, point):
        names = ['%s.f%d' % (prefix, i) for i in (1, 2, 3)]
        plan = self.write_plan(flavor_plan(names))
        self.proxy.hold(method, path, nth=nth, after=after)
        proc = subprocess.Popen(
            [sandbox.OPENSTACK, 'vfio', 'flavor', 'create', '--from-plan',
             plan, '-f', 'json'], env=self.env(), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            loopback.wait_for(lambda: self.proxy.held.is_set()
                              or proc.poll() is not None, timeout=300,
                              what='the held request')
            if proc.poll() is not None:
                self.fail('finished before the hold: %s'
                          % (proc.communicate(),))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate(timeout=60)
        self.assertEqual(-signal.SIGKILL, proc.returncode)
        time.sleep(HOLD + 0.2)

        rows, r = self.apply_rows(plan)
        self.assertEqual(names, list(rows))
        for name in names:
            if name in done:
                want = ('exists', '')
            elif name in resumed:
                want = ('created', 'resumed an interrupted create')
            else:
                want = ('created', '')
            self.assertEqual(want, (rows[name]['action'],
                                    rows[name]['reason'].split(';')[0]),
                             name)
        # Complete: a third run finds every flavor exactly as planned
        # (description without the mark, extra specs) and no duplicates.
        rows, r = self.apply_rows(plan)
        self.assertEqual({'exists'}, {row['action'] for row in
                                      rows.values()})
        listed = self.flavor_names()
        for name in names:
            self.assertEqual(1, listed.count(name), name)
        reliability_log.record(
            'fault', 'SIGKILL %s' % point, 'openstack vfio flavor create '
            '--from-plan (3 flavors, sandbox Nova)', 1,
            'the re-run finished it: %d exists, %d resumed, %d created; '
            'a third run: all exists; each flavor listed once'
            % (len(done), len(resumed), 3 - len(done) - len(resumed)),
            test=self.id())

    def test_crash_after_flavor_post(self):
        self.crash_and_resume(
            'crash-a', 'POST', r'/flavors$', 2, True,
            done=['crash-a.f1'], resumed=['crash-a.f2'],
            point='after Nova created flavor 2 of 3 (answer never seen)')

    def test_crash_after_extra_specs(self):
        self.crash_and_resume(
            'crash-b', 'POST', r'/os-extra_specs$', 1, True,
            done=[], resumed=['crash-b.f1'],
            point='after the extra specs of flavor 1 of 3 were set')

    def test_crash_before_description(self):
        self.crash_and_resume(
            'crash-c', 'PUT', r'/flavors/[^/]+$', 3, False,
            done=['crash-c.f1', 'crash-c.f2'], resumed=['crash-c.f3'],
            point='before the final description of flavor 3 of 3 (lost)')

    def test_crash_mid_list(self):
        self.crash_and_resume(
            'crash-d', 'POST', r'/flavors$', 3, False,
            done=['crash-d.f1', 'crash-d.f2'], resumed=[],
            point='mid-list: before the POST of flavor 3 of 3 (lost)')

    # -- drift: stop before writing --------------------------------------

    def assert_stops(self, plan, names, expect):
        for argv in (['vfio', 'flavor', 'create', '--from-plan', plan],
                     ['vfio', 'resource', 'class', 'create',
                      '--from-plan', plan]):
            r = self.osc(*argv, ok=(1,))
            self.assertEqual('', r.stdout)
            self.assertNotIn('Traceback', r.stderr)
            self.assertIn(expect, r.stderr)
            self.assertIn('nothing was written', r.stderr)
        listed = self.flavor_names()
        for name in names:
            self.assertNotIn(name, listed)

    def test_drift_source_flavor_deleted(self):
        src = self.osc('flavor', 'create', '--vcpus', '1', '--ram', '64',
                       '--disk', '1', 'drift.src').json
        self.osc('flavor', 'delete', src['id'], as_json=False)
        plan = self.write_plan(flavor_plan(
            ['drift.a', 'drift.b'],
            sources={'drift.b': ('drift.src', src['id'])}))
        self.assert_stops(plan, ['drift.a', 'drift.b'], 'no longer exists')
        reliability_log.record(
            'bad-input', 'plan whose source flavor was deleted in Nova',
            'openstack vfio flavor create / resource class create '
            '--from-plan (sandbox)', 2, 'exit 1 naming the flavor, '
            '"nothing was written"; no flavor created', test=self.id())

    def test_drift_source_flavor_renamed(self):
        flavors = {f['Name']: f['ID'] for f in
                   self.osc('flavor', 'list', '--all').json}
        plan = self.write_plan(flavor_plan(
            ['drift.c'],
            sources={'drift.c': ('vgpu.old-name', flavors['vgpu.t4-1q'])}))
        self.assert_stops(plan, ['drift.c'], 'was renamed to vgpu.t4-1q')
        reliability_log.record(
            'bad-input', 'plan whose source flavor has another name now',
            'openstack vfio flavor create / resource class create '
            '--from-plan (sandbox)', 2, 'exit 1 naming old and new name, '
            '"nothing was written"; no flavor created', test=self.id())

    def test_drift_provider_gone(self):
        # A real plan of the estate, then one of its providers goes.
        path = self.tmp_path('real-plan.json')
        self.osc('vfio', 'plan', '--output', path, as_json=False,
                 ok=(0, 2))
        with open(path) as f:
            doc = json.load(f)
        refs = [p for h in doc['hosts'] for g in h['gpus']
                for p in g['providers_before'] if p['used'] == 0]
        self.assertTrue(refs, 'the plan names no unused provider')
        gone = refs[-1]['name']
        rps = self.osc('--os-placement-api-version', '1.14', 'resource',
                       'provider', 'list', '--name', gone).json
        self.osc('--os-placement-api-version', '1.14', 'resource',
                 'provider', 'delete', rps[0]['uuid'], as_json=False)
        classes_before = self.osc('--os-placement-api-version', '1.14',
                                  'resource', 'class', 'list').json
        self.assert_stops(path, [f['name'] for f in doc['flavors']],
                          gone)
        self.assertEqual(classes_before, self.osc(
            '--os-placement-api-version', '1.14', 'resource', 'class',
            'list').json)
        reliability_log.record(
            'bad-input', 'plan made from a provider that is gone from '
            'Placement', 'openstack vfio flavor create / resource class '
            'create --from-plan (sandbox, real plan)', 2,
            'exit 1 naming the provider, "nothing was written"; no flavor '
            'or resource class created', test=self.id())

    # -- non-admin -----------------------------------------------------

    def test_non_admin_flavor_create_names_the_role(self):
        env = self.env()
        env['OS_CLOUD'] = sandbox.config.CLOUD_NAME + '-demo'
        plan = self.write_plan(flavor_plan(['nonadmin.f1']))
        r = subprocess.run(
            [sandbox.OPENSTACK, 'vfio', 'flavor', 'create', '--from-plan',
             plan], env=env, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL)
        self.assertEqual(1, r.returncode)
        self.assertNotIn('Traceback', r.stderr)
        self.assertIn('HTTP 403', r.stderr)
        self.assertIn('admin role', r.stderr)
        self.assertNotIn('nonadmin.f1', self.flavor_names())
        reliability_log.record(
            'fault', '403 from Nova/Placement policy (member, not admin)',
            'openstack vfio flavor create --from-plan (sandbox, real '
            'Keystone roles)', 1, 'exit 1; the message names the request, '
            'the policy answer and the admin role; nothing written',
            test=self.id())

    # -- secrets ---------------------------------------------------------

    def test_password_never_shown_and_files_private(self):
        with open(self.layout.clouds_yaml) as f:
            clouds = json.load(f)
        password = clouds['clouds'][sandbox.config.CLOUD_NAME]['auth'][
            'password']
        self.assertGreaterEqual(len(password), 8)
        snapshot = self.tmp_path('snapshot.json')
        log = self.tmp_path('osc.log')
        r = self.osc('--debug', '--log-file', log, 'vfio', 'audit',
                     '--save-snapshot', snapshot, ok=(0, 2))
        self.assertIn('POST', open(log).read())   # the auth request
        plan = self.tmp_path('plan.json')
        p = self.osc('--debug', 'vfio', 'plan', '--from-snapshot',
                     snapshot, '--output', plan, ok=(0,), as_json=False)
        for path in (snapshot, plan):
            self.assertEqual(0o600, os.stat(path).st_mode & 0o777, path)
        texts = {'audit stdout': r.stdout, 'audit stderr': r.stderr,
                 'plan stdout': p.stdout, 'plan stderr': p.stderr}
        for path in (snapshot, plan, log):
            with open(path) as f:
                texts[path] = f.read()
        for where, text in texts.items():
            self.assertNotIn(password, text, where)
        reliability_log.record(
            'security', 'known password (clouds.yaml) with --debug and '
            '--log-file', 'openstack vfio audit --save-snapshot, vfio plan '
            '--output (sandbox, real Keystone)', 2,
            'the password appears in no output, log, snapshot or plan; '
            'snapshot and plan are mode 0600', test=self.id())
