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

"""Test base for tests against a running sandbox (real Keystone,
Placement and Nova API on 127.0.0.1), one sandbox per test class.

The real ``openstack`` CLI runs as a subprocess with the sandbox's
``clouds.yaml``, exactly as an operator would run it.  :data:`OPENSTACK`
and :data:`MISSING` say whether it can (tests skip otherwise), and
:func:`sandbox_cmd` is how tests run ``vfio-sandbox``.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

import fixtures
import testtools

from vfioclient.sandbox import config
from vfioclient.tests import base

BIN = os.path.dirname(sys.executable)
OPENSTACK = os.path.join(BIN, 'openstack')
MISSING = [m for m in ('keystone', 'placement', 'nova')
           if importlib.util.find_spec(m) is None]


def sandbox_cmd(state, *args, state_dir_after=False):
    exe = os.path.join(BIN, 'vfio-sandbox')
    if os.path.exists(exe):
        command = [exe]
    else:
        command = [sys.executable, '-c',
                   'import sys; from vfioclient.sandbox.cli import main; '
                   'sys.exit(main())']
    if state_dir_after:
        # vfio-sandbox <subcommand> --state-dir <dir> ...
        return (command + list(args[:1]) + ['--state-dir', state]
                + list(args[1:]))
    return command + ['--state-dir', state] + list(args)


class SandboxTestCase(testtools.TestCase):
    """Brings a sandbox up once for the class and seeds ``ESTATE``."""

    ESTATE = 'small'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.state = tempfile.mkdtemp(prefix='vfio-test-%s-' % cls.ESTATE)
        cls.layout = config.Layout(cls.state)
        try:
            for args in (('up',), ('seed', '--estate', cls.ESTATE)):
                r = subprocess.run(
                    sandbox_cmd(cls.state, *args),
                    capture_output=True, text=True, timeout=900,
                    stdin=subprocess.DEVNULL)
                if r.returncode:
                    raise RuntimeError('vfio-sandbox %s failed: %s %s'
                                       % (' '.join(args), r.stdout,
                                          r.stderr))
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        subprocess.run(sandbox_cmd(cls.state, 'down'),
                       capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
        shutil.rmtree(cls.state, True)
        super().tearDownClass()

    def env(self):
        return base.clean_os_environ(
            OS_CLIENT_CONFIG_FILE=self.layout.clouds_yaml,
            OS_CLOUD=config.CLOUD_NAME)

    def osc(self, *args, ok=(0,), as_json=True):
        """Run ``openstack args``; ``.json`` holds the parsed output."""
        argv = [OPENSTACK] + list(args)
        if as_json:
            argv += ['-f', 'json']
        r = subprocess.run(argv, capture_output=True, text=True,
                           env=self.env(), timeout=600,
                           stdin=subprocess.DEVNULL)
        self.assertIn(r.returncode, ok, 'openstack %s: rc %s\n%s\n%s'
                      % (' '.join(args), r.returncode, r.stdout, r.stderr))
        r.json = (json.loads(r.stdout) if as_json and r.stdout.strip()
                  else None)
        return r

    def tmp_path(self, name):
        directory = self.useFixture(fixtures.TempDir()).path
        return os.path.join(directory, name)
