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

"""Files vfio writes are private; hostile names never become shell code.

* snapshots and plans (:func:`vfioclient.fileio.write_private_file`) are
  0600 whatever the umask and whatever mode an earlier file had;
* a hostile compute host, server or flavor name, a hostile ``--hostname``
  in a host report and a hostile plan file name end up quoted in every
  shell block of the runbook, which operators paste into a shell; bash
  parses each block and none of the hostile text runs.

The token tests (``--os-token`` with ``--debug``) run the real CLI against
real Placement: ``vfioclient/tests/functional/test_secrets_cli.py``.  The
sandbox listens on 127.0.0.1 only:
``vfioclient/tests/functional/test_sandbox.py``.
"""

import os
import re
import shutil
import stat
import subprocess
import tempfile

import fixtures
import testtools

from vfioclient.collect import sysfs as collect_sysfs
from vfioclient import fileio
from vfioclient.render import runbook
from vfioclient.rules import plan as plan_rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests import reliability_log
from vfioclient.tests.unit import builders

# Each one, if it ran, would create the file named by its marker.
HOSTILE = ['cmp$(touch {m})', 'cmp`touch {m}`', 'cmp;touch {m}',
           "cmp'$(touch {m})'", 'cmp\ntouch {m}', 'cmp && touch {m}',
           'cmp|touch {m}', 'cmp>{m}']


class TestPrivateFiles(testtools.TestCase):

    def test_mode_0600_under_any_umask_and_over_old_files(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        tried = 0
        for umask in (0o000, 0o022, 0o077):
            old = os.umask(umask)
            try:
                path = os.path.join(tmp, 'plan-%o.json' % umask)
                with open(path, 'w') as f:
                    f.write('old')
                os.chmod(path, 0o666)
                fileio.write_private_file(path, '{"token": "none"}\n')
            finally:
                os.umask(old)
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
            with open(path) as f:
                self.assertEqual('{"token": "none"}\n', f.read())
            tried += 1
        # No temporary file left behind.
        self.assertEqual(sorted('plan-%o.json' % u for u in (0, 0o22, 0o77)),
                         sorted(os.listdir(tmp)))
        reliability_log.record(
            'security', 'snapshot/plan written under umask 000, 022, 077 '
            'over a 0666 file', 'vfioclient.fileio.write_private_file '
            '(audit --save-snapshot, plan --output)', tried,
            'mode 0600 every time, no temporary file left', test=self.id())


def _shell_blocks(markdown):
    return re.findall(r'```shell\n(.*?)```', markdown, re.S)


class TestHostileNamesInRunbook(testtools.TestCase):

    def plan_for(self, name):
        b = builders.PlanEstateBuilder()
        b.host(name)
        b.host('cmp2')
        p1 = b.legacy_gpu(name, used=2)
        b.legacy_gpu('cmp2', used=0)
        flavor = builders.a40_flavor(b)
        b.servers_on(name, name, flavor, p1, 2)
        spec = fake_sysfs.preset('a40')
        spec['gpus'][0]['address'] = builders.A40_PF
        shm = '/dev/shm'   # a GPU tree is ~1500 files: tmpfs is faster
        root = tempfile.mkdtemp(
            dir=shm if os.access(shm, os.W_OK | os.X_OK) else None)
        try:
            fake_sysfs.build_host(root, spec)
            report = collect_sysfs.collect_host_report(
                root, hostname=name, collected_at='2026-11-25T00:00:00Z')
        finally:
            shutil.rmtree(root)
        return plan_rules.make_plan(b.snapshot(), [report])

    def test_hostile_names_are_quoted_in_every_shell_block(self):
        if not shutil.which('bash'):
            self.skipTest('bash is not installed')
        tmp = self.useFixture(fixtures.TempDir()).path
        tried = 0
        for i, template in enumerate(HOSTILE):
            marker = os.path.join(tmp, 'pwned-%d' % i)
            name = template.format(m=marker)
            plan = self.plan_for(name)
            self.assertIn(name, [h.host for h in plan.hosts])
            plan_file = os.path.join(tmp, 'plan %s.json' % template.format(
                m='x'))
            text = runbook.render(plan, plan_file=plan_file)
            blocks = _shell_blocks(text)
            self.assertTrue(any(name.split('\n')[0] in b for b in blocks))
            # Every command is replaced by a harmless function, so the
            # blocks can really run: only quoting stands between the
            # hostile name and a shell.  Each block runs in a subshell.
            script = ('openstack() { :; }\nsystemctl() { :; }\n'
                      'chmod() { :; }\ncp() { :; }\ncd %s || exit 9\n'
                      % tmp) + ''.join('(\n%s\n)\n' % b for b in blocks)
            r = subprocess.run(['bash', '-c', script], capture_output=True,
                               text=True, timeout=60,
                               stdin=subprocess.DEVNULL)
            self.assertFalse(os.path.exists(marker),
                             'hostile name ran:\n%s' % script)
            self.assertNotIn('syntax error', r.stderr, script)
            self.assertEqual(0, r.returncode, r.stderr)
            tried += 1
        reliability_log.record(
            'security', 'hostile compute host / --hostname / server and '
            'plan file names ($(...), backticks, ;, &&, |, >, quotes, '
            'newline)', 'openstack vfio plan -f markdown (runbook shell '
            'blocks, run with bash)', tried,
            'every value quoted: no hostile text ran, every block parses',
            test=self.id())
