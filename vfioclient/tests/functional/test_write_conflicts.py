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

"""409 conflicts and 401/403 on the apply commands, through the real CLI.

Real Placement on 127.0.0.1 in the test process, the ``openstack`` CLI as
a subprocess:

* a 409 injected on the first ``PUT /resource_classes/{name}`` (nothing
  created): the command re-reads, retries the idempotent PUT once and
  reports ``created``; a 409 that persists is a clear ``failed`` row and
  exit 1, never a traceback, and the other classes are still created;
* another writer creating the class between our read and our PUT (its 409):
  re-read, reported as ``exists``, exit 0;
* two real CLI runs racing over the same classes: both succeed, every
  class exists once;
* a non-admin token (Placement's own policy answers 403) and a 401: the
  message names the policy and the role needed.

Non-admin ``flavor create`` against Nova's real policy is in
``test_crash_resume.TestFlavorCrashAndDrift`` (it needs the sandbox).
"""

import json
import threading

from vfioclient.tests import faults
from vfioclient.tests.functional import loopback
from vfioclient.tests import reliability_log

CLASSES = ['CUSTOM_WC_%d' % i for i in range(1, 5)]


class RaceOnce:
    """On the first PUT of each name in ``names``, create the class through
    the app first (another client winning the race), then answer 409."""

    def __init__(self, app):
        self.app = app
        self.names = set()
        self.raced = []
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get('PATH_INFO', '')
        name = path.rsplit('/', 1)[-1]
        with self._lock:
            hit = (environ['REQUEST_METHOD'] == 'PUT'
                   and path.startswith('/resource_classes/')
                   and name in self.names)
            if hit:
                self.names.discard(name)
                self.raced.append(name)
        if not hit:
            return self.app(environ, start_response)
        # The other writer's request: same method, path and headers.
        other = dict(environ)
        statuses = []
        body = self.app(other, lambda status, headers, exc=None:
                        statuses.append(status))
        b''.join(body)
        assert statuses[0].startswith(('201', '204')), statuses
        text = faults.placement_error(
            409, 'Conflicting resource class already exists: %s' % name)
        start_response('409 Conflict', [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(text)))])
        return [text]


class TestWriteConflicts(loopback.LoopbackCliTestCase):

    def inner_middleware(self, app):
        self.race = RaceOnce(app)
        return self.race

    def create(self, *extra, token=None):
        plan = self.write_plan(CLASSES)
        return self.osc('vfio', 'resource', 'class', 'create',
                        '--from-plan', plan, '--concurrency', '1', *extra,
                        token=token)

    def test_409_on_first_put_is_retried(self):
        rule = self.faults.add(faults.Rule(
            path=r'/resource_classes/CUSTOM_WC_2$', method='PUT',
            status=409, content_type='application/json',
            body=faults.placement_error(
                409, 'There was a conflict when trying to complete your '
                     'request.'), times=1))
        r = self.create()
        self.assertEqual(0, r.rc, r.stderr)
        self.assertEqual('', r.stderr)
        rows = r.rows()
        self.assertEqual(1, rule.hits)
        self.assertEqual('created', rows['CUSTOM_WC_2']['action'])
        self.assertIn('retry', rows['CUSTOM_WC_2']['reason'])
        self.assertEqual({'created'}, {row['action'] for row in r.json})
        self.assertEqual(sorted(CLASSES), sorted(
            c for c in self.placement_classes() if c.startswith('CUSTOM_WC')))
        reliability_log.record(
            'fault', '409 on the first PUT /resource_classes/{name} (class '
            'not created)', 'openstack vfio resource class create '
            '--from-plan (real Placement)', 1,
            're-read (absent), retried the idempotent PUT once: created; '
            'exit 0', test=self.id())

    def test_409_that_persists_is_reported(self):
        rule = self.faults.add(faults.Rule(
            path=r'/resource_classes/CUSTOM_WC_3$', method='PUT',
            status=409, content_type='application/json',
            body=faults.placement_error(409, 'conflict: try again')))
        r = self.create()
        self.assertEqual(1, r.rc)
        self.assertNotIn('Traceback', r.stderr)
        self.assertEqual(2, rule.hits)   # the PUT and one retry, no more
        rows = r.rows()
        self.assertEqual('failed', rows['CUSTOM_WC_3']['action'])
        reason = rows['CUSTOM_WC_3']['reason']
        self.assertIn('Placement PUT /resource_classes/CUSTOM_WC_3 failed: '
                      'HTTP 409: conflict: try again', reason)
        self.assertIn('one retry', reason)
        self.assertIn('not done: CUSTOM_WC_3', r.stderr)
        self.assertEqual(1, len(r.stderr.strip().splitlines()), r.stderr)
        # The others were created all the same.
        for name in ('CUSTOM_WC_1', 'CUSTOM_WC_2', 'CUSTOM_WC_4'):
            self.assertEqual('created', rows[name]['action'])
        self.assertNotIn('CUSTOM_WC_3', self.placement_classes())
        reliability_log.record(
            'fault', '409 on every PUT of one class', 'openstack vfio '
            'resource class create --from-plan (real Placement)', 1,
            'one retry, then a "failed" row naming the request and status, '
            'the other 3 classes created, exit 1 with a one-line summary',
            test=self.id())

    def test_concurrent_writer_wins_the_race(self):
        self.race.names.update(['CUSTOM_WC_1', 'CUSTOM_WC_4'])
        r = self.create()
        self.assertEqual(0, r.rc, r.stderr)
        self.assertEqual(['CUSTOM_WC_1', 'CUSTOM_WC_4'], self.race.raced)
        rows = r.rows()
        for name in ('CUSTOM_WC_1', 'CUSTOM_WC_4'):
            self.assertEqual('exists', rows[name]['action'])
            self.assertIn('concurrently', rows[name]['reason'])
        for name in ('CUSTOM_WC_2', 'CUSTOM_WC_3'):
            self.assertEqual('created', rows[name]['action'])
        names = self.placement_classes()
        for name in CLASSES:
            self.assertEqual(1, names.count(name))
        reliability_log.record(
            'fault', '409 because another client created the class between '
            'our read and our PUT', 'openstack vfio resource class create '
            '--from-plan (real Placement)', 2,
            're-read: reported as exists ("created concurrently"), exit 0',
            test=self.id())

    def test_two_runs_race(self):
        self.faults.latency = 0.02   # interleave the two runs' requests
        plan = self.write_plan(CLASSES)
        procs = [self.start('vfio', 'resource', 'class', 'create',
                            '--from-plan', plan, '--concurrency', '1')
                 for _ in range(2)]
        outputs = [p.communicate(timeout=120) for p in procs]
        for proc, (out, err) in zip(procs, outputs):
            self.assertEqual(0, proc.returncode, err)
            rows = json.loads(out)
            self.assertEqual(sorted(CLASSES), sorted(r['name']
                                                     for r in rows))
            for row in rows:
                self.assertIn(row['action'], ('created', 'exists'))
        names = self.placement_classes()
        for name in CLASSES:
            self.assertEqual(1, names.count(name))
        reliability_log.record(
            'fault', 'two runs of the same command at once', 'openstack '
            'vfio resource class create --from-plan (real Placement)', 1,
            'both exit 0, every class exists once', test=self.id())

    def test_non_admin_403_names_policy_and_role(self):
        # Placement's noauth2: any user but "admin" has no role, and the
        # real policy refuses it.
        r = self.create(token='demo')
        self.assertEqual(1, r.rc)
        self.assertNotIn('Traceback', r.stderr)
        for row in r.json:
            self.assertEqual('failed', row['action'])
            self.assertIn('HTTP 403', row['reason'])
            self.assertIn('placement:resource_classes:', row['reason'])
            self.assertIn('admin role', row['reason'])
        self.assertEqual([], [c for c in self.placement_classes()
                              if c.startswith('CUSTOM_WC')])
        reliability_log.record(
            'fault', '403 from Placement policy (non-admin token)',
            'openstack vfio resource class create --from-plan (real '
            'Placement)', 1, 'every row "failed" naming the policy rule '
            '(placement:resource_classes:...) and the admin role; nothing '
            'written; exit 1', test=self.id())

    def test_401_says_check_credentials(self):
        # Every API request but the (unauthenticated) version document.
        self.faults.add(faults.Rule(
            path=r'^/placement/.', method='*', status=401,
            content_type='application/json',
            body=faults.placement_error(
                401, 'The request you have made requires authentication.')))
        r = self.create()
        self.assertEqual(1, r.rc)
        self.assertNotIn('Traceback', r.stderr)
        text = r.stdout + r.stderr
        self.assertIn('HTTP 401', text)
        self.assertIn('check your credentials and token expiry', text)
        reliability_log.record(
            'fault', '401 on every request (expired token)', 'openstack '
            'vfio resource class create --from-plan (real Placement)', 1,
            'exit 1, message says to check credentials and token expiry',
            test=self.id())
