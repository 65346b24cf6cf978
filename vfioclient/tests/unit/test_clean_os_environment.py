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

"""The caller's cloud settings never reach a test (``tests/base.py``)."""

import os

import fixtures
import testtools

from vfioclient.tests import base


class TestCleanOsEnvironment(testtools.TestCase):

    def setUp(self):
        super().setUp()
        for name, value in (('OS_CLOUD', 'production'),
                            ('OS_TOKEN', 'secret'),
                            ('OS_DEBUG', '1'),
                            ('OS_STDOUT_CAPTURE', '1'),
                            ('OS_TEST_PATH', './vfioclient/tests/unit'),
                            ('HOME_OS_CLOUD', 'kept')):
            self.useFixture(fixtures.EnvironmentVariable(name, value))

    def test_fixture_unsets_cloud_settings_until_cleanup(self):
        with base.CleanOsEnvironment():
            self.assertNotIn('OS_CLOUD', os.environ)
            self.assertNotIn('OS_TOKEN', os.environ)
            self.assertNotIn('OS_DEBUG', os.environ)
            self.assertEqual('1', os.environ['OS_STDOUT_CAPTURE'])
            self.assertEqual('./vfioclient/tests/unit',
                             os.environ['OS_TEST_PATH'])
            self.assertEqual('kept', os.environ['HOME_OS_CLOUD'])
        self.assertEqual('production', os.environ['OS_CLOUD'])
        self.assertEqual('secret', os.environ['OS_TOKEN'])

    def test_subprocess_environment(self):
        env = base.clean_os_environ(OS_CLOUD='sandbox')
        self.assertEqual('sandbox', env['OS_CLOUD'])
        self.assertNotIn('OS_TOKEN', env)
        self.assertNotIn('OS_DEBUG', env)
        self.assertEqual('1', env['OS_STDOUT_CAPTURE'])
        self.assertEqual(os.environ['PATH'], env['PATH'])
        self.assertEqual('production', os.environ['OS_CLOUD'])

    def test_test_case_runs_without_cloud_settings(self):
        seen = {}

        class Probe(base.TestCase):
            def test_env(self):
                seen.update(os.environ)

        result = testtools.TestResult()
        Probe('test_env').run(result)
        self.assertTrue(result.wasSuccessful(), result.errors)
        self.assertNotIn('OS_CLOUD', seen)
        self.assertEqual('1', seen['OS_STDOUT_CAPTURE'])
        self.assertEqual('production', os.environ['OS_CLOUD'])
