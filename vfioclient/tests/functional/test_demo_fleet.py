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

"""The demo's fleet run end to end, at a small size.

``python -m vfioclient.sandbox.demo --fleet 6``: real Keystone, Placement
and Nova API seeded with ``large 6``, host reports gathered by the shipped
collect playbook through ``ansible-playbook`` on this machine, a plan in
waves with ``--artifacts``, and the first wave's inventory.  What it leaves
in ``<state-dir>/demo/`` is checked, not only its exit code.
"""

import json
import os
import subprocess
import sys
import tempfile

import testtools

from vfioclient.model import documents
from vfioclient.sandbox import estates
from vfioclient.tests import base

HOSTS = 6


class TestFleetDemo(testtools.TestCase):

    def test_fleet_run(self):
        state = tempfile.mkdtemp(prefix='vfio-fleet-demo-')
        self.addCleanup(subprocess.run, ['rm', '-rf', state])
        r = subprocess.run(
            [sys.executable, '-m', 'vfioclient.sandbox.demo', '--fleet',
             str(HOSTS), '--state-dir', state],
            capture_output=True, text=True, timeout=900,
            env=base.clean_os_environ())
        self.assertEqual(0, r.returncode,
                         'fleet demo failed:\n%s\n%s' % (r.stdout[-6000:],
                                                         r.stderr[-3000:]))
        demo = os.path.join(state, 'demo')
        # a report per GPU host of the estate, each naming its host
        gpu_hosts = sorted(h.hypervisor_hostname for h in
                           estates.large(HOSTS).hosts if h.in_nova)
        reports = os.path.join(demo, 'reports')
        self.assertEqual(['%s.json' % h for h in gpu_hosts],
                         sorted(os.listdir(reports)))
        for host in gpu_hosts:
            with open(os.path.join(reports, '%s.json' % host)) as f:
                self.assertEqual(host, json.load(f)['hostname'])
        # every host planned (the nova.conf gives the type of those with
        # no vGPU in use), in waves that cover the plan's order
        plan = documents.load(os.path.join(demo, 'plan.json'),
                              documents.PLAN)
        self.assertEqual((), tuple(plan.refusals))
        self.assertEqual(sorted(gpu_hosts), sorted(plan.order))
        self.assertEqual(tuple(plan.order),
                         tuple(h for w in plan.waves for h in w.hosts))
        self.assertIn('plan: %d hosts to convert in %d waves'
                      % (HOSTS, len(plan.waves)), r.stdout)
        with open(os.path.join(demo, 'runbook.md')) as f:
            runbook = f.read()
        for wave in plan.waves:
            for host in wave.hosts:
                self.assertIn(host, runbook)
        # the first wave's inventory names exactly its hosts
        with open(os.path.join(demo, 'artifacts', 'inventory.json')) as f:
            inventory = f.read()
        for host in plan.order:
            if host in plan.waves[0].hosts:
                self.assertIn(host, inventory)
            else:
                self.assertNotIn('"%s"' % host, inventory)
