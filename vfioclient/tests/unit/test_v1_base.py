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

"""``vfioclient.v1.base``: credentials through the shell's hook
(``connect``), the collector paused for bulk work (``paused_gc``)."""

import argparse
import gc
from unittest import mock

import fixtures
from keystoneauth1 import exceptions as ks_exceptions
from osc_lib import exceptions
import testtools

from vfioclient.cloud import client
from vfioclient.v1 import base


def args(**kwargs):
    return argparse.Namespace(**dict({'concurrency': 2, 'timeout': 5.0},
                                     **kwargs))


class TestConnect(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cmd = mock.Mock(auth_required=False)
        self.built = self.useFixture(fixtures.MockPatchObject(
            client.CloudClient, 'from_client_manager')).mock

    def test_offline_command_asks_the_shell_to_prepare_auth(self):
        cloud = base.connect(self.cmd, args())
        self.cmd.app.prepare_to_run_command.assert_called_once_with(self.cmd)
        self.assertTrue(self.cmd.auth_required)
        self.built.assert_called_once_with(
            self.cmd.app.client_manager, concurrency=2, timeout=5.0)
        self.assertIs(self.built.return_value, cloud)
        # Prepared once: a second connect does not authenticate again.
        base.connect(self.cmd, args())
        self.assertEqual(1, self.cmd.app.prepare_to_run_command.call_count)

    def test_no_cloud_is_a_clear_message(self):
        self.cmd.app.prepare_to_run_command.side_effect = ValueError(
            'Set a cloud-name with --os-cloud or OS_CLOUD')
        e = self.assertRaises(exceptions.CommandError, base.connect,
                              self.cmd, args())
        self.assertIn('this command needs a cloud', str(e))
        self.assertIn('OS_CLOUD', str(e))

    def test_bad_credentials(self):
        self.cmd.app.prepare_to_run_command.side_effect = (
            ks_exceptions.http.Unauthorized('The request you have made '
                                            'requires authentication.'))
        e = self.assertRaises(exceptions.CommandError, base.connect,
                              self.cmd, args())
        self.assertIn('cannot authenticate', str(e))

    def test_arguments_checked_before_authenticating(self):
        self.assertRaises(exceptions.CommandError, base.connect,
                          self.cmd, args(concurrency=0))
        self.cmd.app.prepare_to_run_command.assert_not_called()


class TestPausedGc(testtools.TestCase):

    def setUp(self):
        super().setUp()
        was = gc.isenabled()
        self.addCleanup(lambda: gc.enable() if was else gc.disable())
        gc.enable()

    def test_paused_inside_enabled_after(self):
        with base.paused_gc():
            self.assertFalse(gc.isenabled())
        self.assertTrue(gc.isenabled())

    def test_enabled_again_after_an_error(self):
        with testtools.ExpectedException(ValueError):
            with base.paused_gc():
                raise ValueError('boom')
        self.assertTrue(gc.isenabled())

    def test_nested_pause_leaves_the_outer_one_paused(self):
        with base.paused_gc():
            with base.paused_gc():
                pass
            self.assertFalse(gc.isenabled())
        self.assertTrue(gc.isenabled())

    def test_a_live_read_runs_the_collector(self):
        # HTTP objects may hold cycles: a live read is never paused
        seen = []

        class Collector:
            def __init__(self, *args, **kwargs):
                pass

            def collect(self):
                seen.append(gc.isenabled())
                return 'snapshot'

        parsed = args(from_snapshot=None, reuse_snapshot=None,
                      strategy='bulk', save_snapshot=None)
        command = mock.Mock(auth_required=True)
        command.app.stderr.isatty.return_value = False
        command.app.options.verbose_level = 1
        self.useFixture(fixtures.MockPatchObject(
            base, 'connect', return_value=mock.Mock()))
        self.useFixture(fixtures.MockPatchObject(
            base.collect_cloud, 'Collector', Collector))
        with base.paused_gc():
            self.assertEqual('snapshot',
                             base.collect_or_load(command, parsed))
            self.assertFalse(gc.isenabled())
        self.assertEqual([True], seen)

    def test_plan_command_runs_paused(self):
        from vfioclient.v1 import plan as v1_plan
        seen = []
        cmd = v1_plan.Plan(mock.Mock(), None)
        with mock.patch.object(base.DocumentLister, 'run',
                               lambda self, args: seen.append(
                                   gc.isenabled()) or 0):
            self.assertEqual(0, cmd.run(argparse.Namespace()))
        self.assertEqual([False], seen)
        self.assertTrue(gc.isenabled())
