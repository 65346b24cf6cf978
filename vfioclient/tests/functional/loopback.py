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

"""Test base for the ``openstack`` CLI (a subprocess) against real
Placement on 127.0.0.1 in the test process, with injectable faults.

:class:`LoopbackCliTestCase` serves Placement through
:class:`~vfioclient.tests.placement_server.LoopbackPlacement` behind a
:class:`~vfioclient.tests.faults.FaultMiddleware` (``self.faults``), runs
the CLI with ``--os-token``/``--os-endpoint`` and no cloud settings from
the caller's environment, and can SIGKILL a running CLI at a known point.
"""

import http.client
import json
import os
import signal
import subprocess
import time
import urllib.parse

import fixtures
import testtools

from vfioclient.apply import planfile
from vfioclient.tests import base
from vfioclient.tests import faults
from vfioclient.tests.functional import sandbox
from vfioclient.tests import placement_server


def wait_for(predicate, timeout=60.0, what='condition'):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError('timed out waiting for %s' % what)


class Run:
    """A finished CLI run: rc, stdout, stderr and parsed JSON rows."""

    def __init__(self, rc, stdout, stderr):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        try:
            self.json = json.loads(stdout) if stdout.strip() else None
        except ValueError:
            self.json = None

    def rows(self, key='name'):
        return {row[key]: row for row in self.json or ()}


class LoopbackCliTestCase(testtools.TestCase):
    """Real Placement on loopback with faults; the CLI as a subprocess."""

    TOKEN = 'admin'

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.TempHomeDir())
        self.faults = None

        def wrap(app):
            self.faults = faults.FaultMiddleware(self.inner_middleware(app))
            return self.faults
        self.server = self.useFixture(
            placement_server.LoopbackPlacement(middleware=wrap))
        self.dir = self.useFixture(fixtures.TempDir()).path

    def inner_middleware(self, app):
        """Subclasses may wrap the app under the fault middleware."""
        return app

    def cloud_argv(self, token=None):
        return ['--os-endpoint', self.server.endpoint,
                '--os-token', token or self.TOKEN,
                '--os-auth-type', 'admin_token']

    def argv(self, *args, token=None, as_json=True):
        argv = [sandbox.OPENSTACK] + self.cloud_argv(token) + list(args)
        if as_json:
            argv += ['-f', 'json']
        return argv

    def osc(self, *args, token=None, as_json=True, timeout=120):
        r = subprocess.run(self.argv(*args, token=token, as_json=as_json),
                           capture_output=True, text=True,
                           env=base.clean_os_environ(), timeout=timeout,
                           stdin=subprocess.DEVNULL)
        return Run(r.returncode, r.stdout, r.stderr)

    def start(self, *args, token=None):
        return subprocess.Popen(
            self.argv(*args, token=token), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=base.clean_os_environ(),
            stdin=subprocess.DEVNULL)

    def kill_when(self, proc, predicate, what):
        """SIGKILL ``proc`` as soon as ``predicate()`` holds."""
        try:
            wait_for(lambda: predicate() or proc.poll() is not None,
                     what=what)
            if proc.poll() is not None:
                self.fail('the process ended before %s: %s'
                          % (what, proc.communicate()))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate(timeout=60)
        self.assertEqual(-signal.SIGKILL, proc.returncode)

    def write_plan(self, classes, name='plan.json'):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            json.dump(planfile.minimal_document(resource_classes=classes), f)
        return path

    def placement_classes(self):
        resp = self.placement('GET', '/resource_classes')
        return [rc['name'] for rc in resp['resource_classes']]

    def placement(self, method, path, body=None, token='admin',
                  version='1.39'):
        url = urllib.parse.urlsplit(self.server.endpoint)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        headers = {'X-Auth-Token': token,
                   'OpenStack-API-Version': 'placement %s' % version,
                   'Accept': 'application/json'}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers['Content-Type'] = 'application/json'
        conn.request(method, url.path + path, body=data, headers=headers)
        resp = conn.getresponse()
        text = resp.read()
        conn.close()
        if resp.status >= 400:
            raise AssertionError('%s %s: %s %s' % (method, path, resp.status,
                                                   text))
        return json.loads(text) if text else None
