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

"""A known token never appears in output, ``--debug`` logs or files.

Real Placement on 127.0.0.1 (its noauth2 middleware takes
``admin:<project>`` tokens, so the token carries a recognisable secret),
the real ``openstack`` CLI as a subprocess with ``--debug`` and
``--log-file``, on success and on failure paths (a 403, a 500 and a
dropped connection), writing a plan-driven apply and its outputs.  The
secret must appear nowhere: not in stdout, stderr, the log file or any file
written.  The sandbox password check (``audit --save-snapshot`` with
``--debug``) is in ``test_crash_resume.TestFlavorCrashAndDrift``.
"""

import os

from vfioclient.tests import faults
from vfioclient.tests.functional import loopback
from vfioclient.tests import reliability_log

SECRET = 'SECRET-TOKEN-1234'


class TestTokenNeverShown(loopback.LoopbackCliTestCase):

    TOKEN = 'admin:' + SECRET

    def run_debug(self, *args):
        log = os.path.join(self.dir, 'osc.log')
        r = self.osc('--debug', '--log-file', log, *args)
        with open(log, encoding='utf-8', errors='replace') as f:
            logged = f.read()
        return r, logged

    def assert_no_secret(self, r, logged):
        for where, text in (('stdout', r.stdout), ('stderr', r.stderr),
                            ('log file', logged)):
            self.assertNotIn(SECRET, text, where)
        for name in os.listdir(self.dir):
            with open(os.path.join(self.dir, name), 'rb') as f:
                self.assertNotIn(SECRET.encode(), f.read(), name)

    def test_token_absent_on_success_and_failures(self):
        cases = [('success', None)]
        cases += [('403', faults.Rule(
            path=r'/resource_classes/CUSTOM_SECRET_1_2$', method='PUT',
            status=403, content_type='application/json',
            body=faults.placement_error(403, 'Policy does not allow '
                                             'placement:resource_classes:'
                                             'update to be performed.'),
            times=1))]
        cases += [('500', faults.Rule(path=r'/resource_classes/',
                                      method='GET', status=500, times=1))]
        cases += [('dropped connection', faults.Rule(
            path=r'/resource_classes/', method='GET', drop=True,
            times=4))]
        tried = 0
        for i, (label, rule) in enumerate(cases):
            plan = self.write_plan(['CUSTOM_SECRET_%d_1' % i,
                                    'CUSTOM_SECRET_%d_2' % i],
                                   name='plan%d.json' % i)
            if rule is not None:
                self.faults.add(rule)
            r, logged = self.run_debug('vfio', 'resource', 'class',
                                       'create', '--from-plan', plan)
            # The debug log really is there and shows requests...
            self.assertIn('/resource_classes', logged, label)
            # ...and the token is what the server saw.
            self.assert_no_secret(r, logged)
            if rule is not None:
                self.assertGreaterEqual(rule.hits, 1, label)
                self.assertEqual(1, r.rc, label)
            tried += 1
        # Ad hoc names and the plan-less path too.
        r, logged = self.run_debug('vfio', 'resource', 'class', 'create',
                                   'secret-3', '--dry-run')
        self.assertEqual(0, r.rc, r.stderr)
        self.assert_no_secret(r, logged)
        tried += 1
        reliability_log.record(
            'security', 'known token (--os-token ...%s) with --debug and '
            '--log-file: success, 403, 500, dropped connection, dry run'
            % SECRET[-4:], 'openstack vfio resource class create (real '
            'Placement)', tried, 'the token appears in no output, log or '
            'file', test=self.id())
