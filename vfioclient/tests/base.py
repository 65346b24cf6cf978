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

"""No cloud settings from the caller's environment reach a test.

The OSC shell (in-process or the ``openstack`` CLI as a subprocess) reads
every ``OS_*`` environment variable as a cloud setting (openstacksdk
``openstack/config/loader.py``, ``_get_os_environ``): a developer's
``OS_CLOUD`` or ``OS_TOKEN`` would send a test's requests to a real cloud.
Every test that runs the shell starts from an environment without them:

* :class:`TestCase` (or the :class:`CleanOsEnvironment` fixture, for test
  classes with another base) for the shell in-process;
* :func:`clean_os_environ` for the environment of a subprocess.

The test runner's own variables stay: ``OS_STDOUT_CAPTURE``,
``OS_STDERR_CAPTURE``, ``OS_LOG_CAPTURE``, ``OS_TEST_PATH``,
``OS_TEST_TIMEOUT`` (tox.ini, oslotest).  openstacksdk's loader skips the
same prefixes, so they are no cloud settings.
"""

import os

import fixtures
import testtools

RUNNER_PREFIXES = ('OS_STD', 'OS_LOG', 'OS_TEST')


def is_cloud_setting(name):
    """True for an ``OS_*`` variable that is not the test runner's."""
    return name.startswith('OS_') and not name.startswith(RUNNER_PREFIXES)


def clean_os_environ(**settings):
    """A copy of ``os.environ`` without cloud settings, plus ``settings``."""
    env = {name: value for name, value in os.environ.items()
           if not is_cloud_setting(name)}
    env.update(settings)
    return env


class CleanOsEnvironment(fixtures.Fixture):
    """Unsets every cloud setting (``OS_*``) until cleanup."""

    def _setUp(self):
        for name in sorted(os.environ):
            if is_cloud_setting(name):
                self.useFixture(fixtures.EnvironmentVariable(name))


class TestCase(testtools.TestCase):
    """A test case that runs with :class:`CleanOsEnvironment`."""

    def setUp(self):
        super().setUp()
        self.useFixture(CleanOsEnvironment())
