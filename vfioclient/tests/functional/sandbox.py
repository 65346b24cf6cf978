"""Test base for tests against a running sandbox (real Keystone,
Placement and Nova API on 127.0.0.1), one sandbox per test class.

The real ``openstack`` CLI runs as a subprocess with the sandbox's
``clouds.yaml``, exactly as an operator would run it.
"""

import json
import os
import shutil
import subprocess
import tempfile

import fixtures
import testtools

from vfioclient.sandbox import config
from vfioclient.tests.functional import test_sandbox


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
                    test_sandbox.sandbox_cmd(cls.state, *args),
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
        subprocess.run(test_sandbox.sandbox_cmd(cls.state, 'down'),
                       capture_output=True, timeout=120,
                       stdin=subprocess.DEVNULL)
        shutil.rmtree(cls.state, True)
        super().tearDownClass()

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith('OS_')}
        env.update(OS_CLIENT_CONFIG_FILE=self.layout.clouds_yaml,
                   OS_CLOUD=config.CLOUD_NAME)
        return env

    def osc(self, *args, ok=(0,), as_json=True):
        """Run ``openstack args``; ``.json`` holds the parsed output."""
        argv = [test_sandbox.OPENSTACK] + list(args)
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
