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

"""Undefining Nova's persisted mdevs: the runbook step, and the script
``host script --undefine-mdevs`` writes, run with sh against fake roots and
a fake ``mdevctl``."""

import json
import os
import stat
import subprocess

import fixtures
from oslotest import base

from vfioclient.collect import sysfs
from vfioclient.model import plan as plan_model
from vfioclient.render import mdevs
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests import base as tests_base
from vfioclient.tests import fake_mdevctl
from vfioclient.tests.shell import run_shell

A40_PF = '0000:51:00.0'
A40_VFS = ('0000:51:00.4', '0000:51:00.5', '0000:51:00.6', '0000:51:00.7')
UUID = '4b20d080-1b54-4048-85b3-a6a62d165c01'

def definitions_of(root):
    definitions, _ = sysfs.collect_mdev_definitions(root)
    return definitions


class ScriptTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.root = os.path.join(self.tmp, 'root')
        fake_sysfs.build_host(self.root, fake_sysfs.A40_HOST)
        self.bin = os.path.join(self.tmp, 'bin')
        os.makedirs(self.bin)
        mdevctl = os.path.join(self.bin, 'mdevctl')
        with open(mdevctl, 'w') as f:
            f.write(fake_mdevctl.SCRIPT)
        os.chmod(mdevctl, 0o755)
        self.log = os.path.join(self.tmp, 'mdevctl.log')

    def run_script(self, script, *args, **env):
        path = os.path.join(self.tmp, mdevs.SCRIPT_NAME)
        with open(path, 'w') as f:
            f.write(script)
        environ = {'PATH': '%s:%s' % (self.bin, os.environ.get(
                       'PATH', '/usr/bin:/bin')),
                   'VFIO_SYSFS_ROOT': self.root,
                   'FAKE_MDEVCTL_LOG': self.log}
        environ.update(env)
        proc = subprocess.run(['sh', path] + list(args), env=environ,
                              capture_output=True, text=True, timeout=60,
                              cwd=self.tmp)
        return proc.returncode, proc.stdout, proc.stderr

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return f.read().splitlines()

    def defined(self):
        return sorted(d.uuid for d in definitions_of(self.root))


class TestScript(ScriptTestCase):

    def test_syntax(self):
        script = mdevs.render_script(definitions_of(self.root), 'h')
        proc = subprocess.run(['sh', '-n', '/dev/stdin'], input=script,
                              text=True, capture_output=True)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertTrue(script.startswith('#!/bin/sh\n'))
        self.assertIn("Nova's persisted mdevs on h.", script)

    def test_undefines_each_and_is_idempotent(self):
        listed = definitions_of(self.root)
        self.assertEqual(4, len(listed))
        script = mdevs.render_script(listed, 'a40-host', 'report.json')
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertEqual(
            ['undefine --uuid %s --parent %s' % (d.uuid, d.parent)
             for d in listed], self.calls())
        self.assertEqual([], self.defined())
        self.assertIn('4 undefined, 0 already undefined, 0 failed, 0 not '
                      'listed', out)
        # Undefining leaves the running mdevs alone (no mdevctl stop).
        self.assertIn('running; it stays until the driver switch', out)
        self.assertEqual(4, len(os.listdir(os.path.join(
            self.root, 'sys/bus/mdev/devices'))))
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertIn('0 undefined, 4 already undefined', out)
        self.assertEqual(4, len(self.calls()))

    def test_dry_run_changes_nothing(self):
        before = self.defined()
        script = mdevs.render_script(definitions_of(self.root))
        rc, out, err = self.run_script(script, '--dry-run',
                                       VFIO_MDEVCTL='/nonexistent/mdevctl')
        self.assertEqual(0, rc, err)
        self.assertEqual(before, self.defined())
        self.assertEqual([], self.calls())
        self.assertEqual(4, out.count('dry-run: would run: '
                                      '/nonexistent/mdevctl undefine'))
        self.assertIn('nothing changed; 4 to undefine', out)

    def test_definition_not_listed_is_named_and_fails(self):
        script = mdevs.render_script(definitions_of(self.root))
        fake_sysfs.write_definitions(self.root, [
            {'parent': A40_VFS[2], 'uuid': UUID,
             'mdev_type': 'nvidia-558'}])
        rc, out, err = self.run_script(script)
        self.assertEqual(1, rc, out)
        self.assertEqual([UUID], self.defined())
        self.assertIn('%s on %s: defined but not listed in this script'
                      % (UUID, A40_VFS[2]), err)
        self.assertIn('mdevctl undefine --uuid %s --parent %s'
                      % (UUID, A40_VFS[2]), err)
        self.assertIn('4 undefined, 0 already undefined, 0 failed, 1 not '
                      'listed', out)

    def test_mdevctl_failure_is_named_and_the_rest_done(self):
        listed = definitions_of(self.root)
        failing = listed[1].uuid
        rc, out, err = self.run_script(mdevs.render_script(listed),
                                       FAKE_MDEVCTL_FAIL=failing)
        self.assertEqual(1, rc, out)
        self.assertEqual([failing], self.defined())
        self.assertIn('%s on %s: mdevctl undefine failed'
                      % (failing, listed[1].parent), err)
        self.assertIn('3 undefined, 0 already undefined, 1 failed', out)

    def test_without_mdevctl(self):
        rc, out, err = self.run_script(
            mdevs.render_script(definitions_of(self.root)),
            VFIO_MDEVCTL='/nonexistent/mdevctl')
        self.assertEqual(1, rc)
        self.assertIn('/nonexistent/mdevctl not found', err)
        self.assertEqual(4, len(self.defined()))

    def test_nothing_listed_checks_that_nothing_is_left(self):
        script = mdevs.render_script(())
        rc, out, err = self.run_script(script)
        self.assertEqual(1, rc)
        self.assertEqual(4, err.count('defined but not listed'))
        empty = os.path.join(self.tmp, 'empty')
        os.makedirs(empty)
        rc, out, err = self.run_script(script, VFIO_SYSFS_ROOT=empty)
        self.assertEqual(0, rc, err)
        self.assertIn('0 undefined, 0 already undefined, 0 failed, 0 not '
                      'listed', out)

    def test_usage(self):
        rc, _, err = self.run_script(mdevs.render_script(()), '--force')
        self.assertEqual(2, rc)
        self.assertIn('unknown argument: --force', err)


class TestRender(base.BaseTestCase):

    def definition(self, uuid=UUID, parent=A40_VFS[0], active=False):
        return plan_model.PersistedMdev(uuid=uuid, parent=parent,
                                        mdev_type='nvidia-558',
                                        active=active)

    def test_unsafe_values_are_refused(self):
        for uuid, parent in ((UUID + ';reboot', A40_VFS[0]),
                             ('not-a-uuid', A40_VFS[0]),
                             (UUID, '0000:51:00.4 /'),
                             (UUID, "0000:51:00.4'"), (UUID, '')):
            d = self.definition(uuid, parent)
            self.assertRaises(ValueError, mdevs.render_script, [d])
            self.assertRaises(ValueError, mdevs.undefine_command, d)

    def test_undefine_command(self):
        self.assertEqual('mdevctl undefine --uuid %s --parent %s'
                         % (UUID, A40_VFS[0]),
                         mdevs.undefine_command(self.definition()))

    def host(self, definitions):
        return plan_model.HostPlan(
            host='a40-host', order=1, kind='k', vf_types=(), gpus=(),
            device_spec=(), alias=(), conf_set=(), conf_remove=(),
            boot_setup=plan_model.BootSetup('NVIDIA A40-2Q', 558, (A40_PF,),
                                            4),
            drain=(), notes=(), mdev_definitions=definitions)

    def test_runbook_step_lists_the_commands(self):
        other = '0f5d2c6e-5d8a-4a33-9d39-6f0b3c1d2e4f'
        text = '\n'.join(mdevs.runbook_step(self.host((
            self.definition(active=True),
            self.definition(other, A40_VFS[1]))), 4))
        self.assertTrue(text.startswith("4. Undefine Nova's persisted "
                                        'mdevs'))
        self.assertIn('VFIO-A119', text)
        self.assertIn('mdevctl list --defined\n'
                      'mdevctl undefine --uuid %s --parent %s\n'
                      'mdevctl undefine --uuid %s --parent %s\n'
                      'mdevctl list --defined   # must print nothing'
                      % (UUID, A40_VFS[0], other, A40_VFS[1]), text)
        self.assertIn('openstack vfio host script --undefine-mdevs '
                      '--host-report a40-host.json --output '
                      'vfio-undefine-mdevs\nsh vfio-undefine-mdevs '
                      '--dry-run', text)
        self.assertIn('Rollback: nothing to undo', text)

    def test_runbook_step_without_a_report(self):
        text = '\n'.join(mdevs.runbook_step(self.host(None), 3))
        self.assertIn('No host report lists them', text)
        self.assertIn('# mdevctl undefine --uuid UUID --parent PARENT',
                      text)
        self.assertIn('openstack vfio host script --undefine-mdevs '
                      '--output vfio-undefine-mdevs', text)
        self.assertNotIn('--host-report', text)

    def test_runbook_step_when_the_report_shows_none(self):
        text = '\n'.join(mdevs.runbook_step(self.host(()), 3,
                                            report_file='r.json'))
        self.assertIn('The host report shows none', text)
        self.assertNotIn('openstack vfio host script', text)


class TestCommand(ScriptTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tests_base.CleanOsEnvironment())

    def openstack(self, *argv):
        return run_shell(argv, self)

    def report_file(self, drop_key=False):
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', self.root,
                                      '--hostname', 'a40-host', '-f', 'json')
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        if drop_key:
            del doc['mdev_definitions']
        path = os.path.join(self.tmp, 'report.json')
        with open(path, 'w') as f:
            json.dump(doc, f)
        return path

    def test_from_the_host_root(self):
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--undefine-mdevs', '--sysfs-root',
                                      self.root)
        self.assertEqual(0, rc, err)
        self.assertIn('4 definition(s) from %s/etc/mdevctl.d' % self.root,
                      out)
        rc, stdout, stderr = self.run_script(out)
        self.assertEqual(0, rc, stderr)
        self.assertEqual([], self.defined())

    def test_from_a_host_report_to_a_file(self):
        report = self.report_file()
        target = os.path.join(self.tmp, 'undefine.sh')
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--undefine-mdevs', '--host-report',
                                      report, '--output', target)
        self.assertEqual(0, rc, err)
        self.assertEqual(0o700, stat.S_IMODE(os.stat(target).st_mode))
        with open(target) as f:
            script = f.read()
        self.assertIn("Nova's persisted mdevs on a40-host.", script)
        for d in definitions_of(self.root):
            self.assertIn('%s/%s' % (d.uuid, d.parent), script)

    def test_malformed_definitions_are_reported(self):
        fake_sysfs.write_definitions(self.root, [
            {'parent': A40_VFS[2], 'uuid': UUID, 'content': '{'}])
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--undefine-mdevs', '--sysfs-root',
                                      self.root)
        self.assertEqual(0, rc, err)
        self.assertIn('warning: /etc/mdevctl.d/%s/%s: malformed mdev '
                      'definition' % (A40_VFS[2], UUID), err)
        self.assertNotIn(UUID, out.split('DEFINITIONS=')[1].split('\n')[0])

    def test_refusals(self):
        for argv, message in (
                (('--undefine-mdevs', '--vgpu-type', '558'),
                 '--vgpu-type: not with --undefine-mdevs'),
                (('--undefine-mdevs', '--format', 'systemd', '--vfs', '2'),
                 '--vfs, --format: not with --undefine-mdevs'),
                ((), '--vgpu-type is required (or --undefine-mdevs)'),
                (('--undefine-mdevs', '--sysfs-root',
                  os.path.join(self.tmp, 'nowhere')), 'is not a directory'),
                (('--undefine-mdevs', '--host-report',
                  self.report_file(drop_key=True)),
                 'predates mdev definitions in host reports')):
            rc, out, err = self.openstack('vfio', 'host', 'script', *argv)
            self.assertEqual(1, rc, (argv, out, err))
            self.assertIn(message, err)
