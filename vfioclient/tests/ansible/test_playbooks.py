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

"""The shipped playbooks run by ``ansible-playbook`` (``tox -e ansible``).

Every host is this machine (``ansible_connection=local``) with its own
fake tree (``vfio_sysfs_root`` / ``vfio_root``), as the boot script and the
collector are tested on fake sysfs trees: the collector reads the tree,
the install writes below it and the undefine script runs against its
``etc/mdevctl.d`` with a fake ``mdevctl``.  systemd is left out
(``vfio_systemd=false``).
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys

import fixtures
from oslotest import base
from testtools import content

from vfioclient.collect import hostscan_script
from vfioclient.collect import sysfs
from vfioclient import playbooks
from vfioclient.render import fleet
from vfioclient.render import inventory
from vfioclient.sandbox import fakesysfs
from vfioclient.tests import base as tests_base
from vfioclient.tests import fake_mdevctl
from vfioclient.tests import playbook_fixtures
from vfioclient.tests.shell import run_shell
from vfioclient.v1 import base as v1_base

RECAP = re.compile(r'^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)'
                   r'\s+failed=(\d+)', re.M)

def ansible_playbook():
    """The ansible-playbook of this Python's environment (tox -e ansible
    installs ansible-core there), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    return beside if os.path.exists(beside) else shutil.which(
        'ansible-playbook')


def tree(root):
    """``{path: (mode, bytes)}`` of every file and directory below root."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            st = os.lstat(path)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(path, 'rb') as f:
                    content = f.read()
            found[os.path.relpath(path, root)] = (st.st_mode, content)
    return found


class PlaybookTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tests_base.CleanOsEnvironment())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.command = ansible_playbook()
        if self.command is None:
            self.fail('ansible-playbook not found: run these tests with '
                      '"tox -e ansible"')
        home = os.path.join(self.dir, 'ansible-home')
        os.makedirs(home)
        # Where the playbooks' temporary directories go (tempfile).
        self.tmp = os.path.join(self.dir, 'tmp')
        os.makedirs(self.tmp)
        # This Python's bin first: ansible-playbook and the openstack
        # command the collector playbook runs on the controller.
        path = os.pathsep.join([os.path.dirname(sys.executable),
                                os.environ.get('PATH', '')])
        self.env = dict(os.environ, PATH=path, ANSIBLE_HOME=home,
                        ANSIBLE_LOCAL_TEMP=os.path.join(home, 'tmp'),
                        ANSIBLE_REMOTE_TEMP=os.path.join(home, 'remote'),
                        ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                        ANSIBLE_RETRY_FILES_ENABLED='0',
                        ANSIBLE_CONFIG=os.path.join(home, 'none.cfg'),
                        TMPDIR=self.tmp)

    def connection_inventory(self, roots):
        """Every host local, with its fake tree; returns the path."""
        doc = {'all': {
            'hosts': {name: {'vfio_root': root, 'vfio_sysfs_root': root}
                      for name, root in roots.items()},
            'vars': {'ansible_connection': 'local',
                     'ansible_python_interpreter': sys.executable,
                     'ansible_become': False}}}
        path = os.path.join(self.dir, 'hosts.json')
        with open(path, 'w', encoding='utf-8') as f:
            json.dump(doc, f)
        return path

    def playbook(self, name, inventories, *args, **extra_vars):
        """``(returncode, output, {host: (ok, changed, failed)})``."""
        vars_file = os.path.join(self.dir, 'extra-vars.json')
        with open(vars_file, 'w', encoding='utf-8') as f:
            json.dump(extra_vars, f)
        argv = [self.command]
        for path in inventories:
            argv += ['-i', path]
        argv += ['-e', '@' + vars_file, playbooks.path(name)] + list(args)
        result = subprocess.run(argv, env=self.env, cwd=self.dir,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                timeout=300, check=False)
        recap = {m.group(1): (int(m.group(2)), int(m.group(3)),
                              int(m.group(5)))
                 for m in RECAP.finditer(result.stdout)}
        self.addDetail('%s output' % name,
                       content.text_content(result.stdout))
        return result.returncode, result.stdout, recap

    def changed(self, recap):
        return {host: counts[1] for host, counts in recap.items()}


class TestCollect(PlaybookTestCase):

    def setUp(self):
        super().setUp()
        self.roots = {}
        for name, spec in (('cmp1', playbook_fixtures.host_spec('cmp1')),
                           ('cmp2', fakesysfs.preset('a10'))):
            self.roots[name] = fakesysfs.build_host(
                os.path.join(self.dir, name), spec)
        self.hosts = self.connection_inventory(self.roots)
        self.reports = os.path.join(self.dir, 'reports')

    def host_report(self, name):
        """``openstack vfio host report -f json`` of a host's tree."""
        rc, out, err = run_shell(
            ('vfio', 'host', 'report', '-f', 'json', '--sysfs-root',
             self.roots[name], '--hostname', name), self)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def assert_reports(self, names):
        self.assertEqual(sorted('%s.json' % n for n in names),
                         sorted(os.listdir(self.reports)))
        for name in names:
            with open(os.path.join(self.reports, name + '.json'),
                      encoding='utf-8') as f:
                collected = json.load(f)
            expected = self.host_report(name)
            for doc in (collected, expected):
                doc.pop('collected_at')
            self.assertEqual(expected, collected)
        # What --host-report DIR reads.
        reports = v1_base.load_host_reports([self.reports])
        self.assertEqual(sorted(names), [r.hostname for r in reports])

    def test_reports_equal_host_report(self):
        # The collector made on the controller by "openstack vfio host
        # collector" (the default).
        rc, out, recap = self.playbook(
            'collect-host-reports.yml', [self.hosts],
            vfio_report_dir=self.reports)
        self.assertEqual(0, rc, out)
        # Each report fetched, and the report directory made (run once,
        # counted on the first host).
        self.assertEqual({'cmp1': 2, 'cmp2': 1}, self.changed(recap))
        self.assert_reports(['cmp1', 'cmp2'])
        # The collector went through temporary directories on the
        # controller and the hosts, removed at the end.
        self.assertIn('Make a private temporary directory on the host', out)
        self.assertEqual([], os.listdir(self.tmp))

    def test_given_collector_needs_only_the_standard_library(self):
        collector = os.path.join(self.dir, 'vfio-host-report')
        with open(collector, 'w', encoding='utf-8') as f:
            f.write(hostscan_script.render_script())
        rc, out, recap = self.playbook(
            'collect-host-reports.yml', [self.hosts], '--limit', 'cmp1',
            vfio_report_dir=self.reports, vfio_collector=collector,
            vfio_openstack='/nonexistent/openstack',
            vfio_python='%s -I -S' % sys.executable)
        self.assertEqual(0, rc, out)
        self.assert_reports(['cmp1'])

    def test_report_dir_is_required(self):
        rc, out, recap = self.playbook('collect-host-reports.yml',
                                       [self.hosts])
        self.assertNotEqual(0, rc)
        self.assertIn('Set vfio_report_dir', out)
        self.assertFalse(os.path.exists(self.reports))


class PlanTestCase(PlaybookTestCase):
    """A plan of cmp1 (wave 1) and cmp2 (wave 2), its inventory written by
    "openstack vfio playbook inventory"."""

    def setUp(self):
        super().setUp()
        self.plan, self.roots = playbook_fixtures.make_plan(
            os.path.join(self.dir, 'roots'))
        plan_file = os.path.join(self.dir, 'plan.json')
        with open(plan_file, 'w', encoding='utf-8') as f:
            f.write(self.plan.to_json())
        self.artifacts = os.path.join(self.dir, 'artifacts')
        rc, out, err = run_shell(
            ('vfio', 'playbook', 'inventory', '--from-plan', plan_file,
             '--output-dir', self.artifacts), self)
        self.assertEqual((0, ''), (rc, err))
        self.inventories = [self.connection_inventory(self.roots),
                            out.strip()]
        self.bundle = fleet.build(self.plan)


class TestInstall(PlanTestCase):

    def installed(self, host):
        """``{path below the root: (mode, text)}`` of the two files."""
        found = {}
        for path in ('usr/local/sbin/vfio-vgpu-setup',
                     'etc/systemd/system/vfio-vgpu-setup.service'):
            full = os.path.join(self.roots[host], path)
            if os.path.exists(full):
                with open(full, encoding='utf-8') as f:
                    found[path] = (stat.S_IMODE(os.stat(full).st_mode),
                                   f.read())
        return found

    def expected(self, host):
        files = self.bundle.hosts[host]
        return {'usr/local/sbin/vfio-vgpu-setup':
                (0o700, files.boot_script.text),
                'etc/systemd/system/vfio-vgpu-setup.service':
                (0o644, files.unit.text)}

    def install(self, *args):
        return self.playbook('install-boot-setup.yml', self.inventories,
                             *args, vfio_systemd=False)

    def test_check_install_by_wave_then_nothing_changes(self):
        before = {h: tree(r) for h, r in self.roots.items()}
        # --check --diff: the changes shown, no file written.
        rc, out, recap = self.install('--check', '--diff')
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 2, 'cmp2': 2}, self.changed(recap))
        self.assertIn('+ExecStart=/usr/local/sbin/vfio-vgpu-setup', out)
        self.assertEqual(before, {h: tree(r) for h, r in self.roots.items()})
        # One wave.
        rc, out, recap = self.install('--limit', 'vfio_wave_1')
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 2}, self.changed(recap))
        self.assertEqual(self.expected('cmp1'), self.installed('cmp1'))
        self.assertEqual({}, self.installed('cmp2'))
        # All: only cmp2 changes; then nothing does.
        rc, out, recap = self.install()
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 0, 'cmp2': 2}, self.changed(recap))
        self.assertEqual(self.expected('cmp2'), self.installed('cmp2'))
        rc, out, recap = self.install()
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 0, 'cmp2': 0}, self.changed(recap))
        # A unit edited by hand: --check --diff shows it, keeps it.
        unit = os.path.join(self.roots['cmp1'], 'etc/systemd/system',
                            'vfio-vgpu-setup.service')
        with open(unit, 'a', encoding='utf-8') as f:
            f.write('# edited\n')
        edited = tree(self.roots['cmp1'])
        rc, out, recap = self.install('--check', '--diff')
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 1, 'cmp2': 0}, self.changed(recap))
        self.assertIn('-# edited', out)
        self.assertEqual(edited, tree(self.roots['cmp1']))

    def test_file_not_matching_the_plan_is_refused(self):
        with open(os.path.join(self.artifacts, inventory.INVENTORY_NAME),
                  encoding='utf-8') as f:
            host_vars = json.load(f)['all']['children'][inventory.GROUP][
                'hosts']['cmp1']
        with open(os.path.join(self.artifacts, host_vars['vfio_unit']), 'a',
                  encoding='utf-8') as f:
            f.write('ExecStartPost=/bin/true\n')
        rc, out, recap = self.install()
        self.assertNotEqual(0, rc)
        # Both hosts share the unit: neither gets anything.
        self.assertEqual({'cmp1': 1, 'cmp2': 1},
                         {h: c[2] for h, c in recap.items()})
        self.assertEqual({}, self.installed('cmp1'))
        self.assertEqual({}, self.installed('cmp2'))


class TestUndefine(PlanTestCase):

    def setUp(self):
        super().setUp()
        mdevctl = os.path.join(self.dir, 'mdevctl')
        with open(mdevctl, 'w', encoding='utf-8') as f:
            f.write(fake_mdevctl.SCRIPT)
        os.chmod(mdevctl, 0o755)
        self.log = os.path.join(self.dir, 'mdevctl.log')
        self.env['FAKE_MDEVCTL_LOG'] = self.log
        self.mdevctl = mdevctl

    def defined(self, host):
        definitions, _warnings = sysfs.collect_mdev_definitions(
            self.roots[host])
        return sorted((d.uuid, d.parent) for d in definitions)

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding='utf-8') as f:
            return f.read().splitlines()

    def undefine(self, *args):
        return self.playbook('undefine-mdevs.yml', self.inventories, *args,
                             vfio_mdevctl=self.mdevctl)

    def test_check_then_undefine_then_nothing_changes(self):
        planned = {h.host: sorted((d.uuid, d.parent)
                                  for d in h.mdev_definitions)
                   for h in self.plan.hosts}
        self.assertEqual(planned, {h: self.defined(h) for h in self.roots})
        self.assertEqual([2, 2], [len(v) for v in planned.values()])
        rc, out, recap = self.undefine('--check')
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 1, 'cmp2': 1}, self.changed(recap))
        self.assertEqual(planned, {h: self.defined(h) for h in self.roots})
        self.assertEqual([], self.calls())
        rc, out, recap = self.undefine()
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 1, 'cmp2': 1}, self.changed(recap))
        self.assertEqual({'cmp1': [], 'cmp2': []},
                         {h: self.defined(h) for h in self.roots})
        self.assertEqual(sorted('undefine --uuid %s --parent %s' % d
                                for v in planned.values() for d in v),
                         sorted(self.calls()))
        rc, out, recap = self.undefine()
        self.assertEqual(0, rc, out)
        self.assertEqual({'cmp1': 0, 'cmp2': 0}, self.changed(recap))
        self.assertEqual(4, len(self.calls()))

    def test_definition_not_in_the_plan_fails_its_host(self):
        uuid = fakesysfs.mdev_uuid('made after the report', 0)
        parent = self.plan.host('cmp2').mdev_definitions[0].parent
        fakesysfs.write_definitions(self.roots['cmp2'], [
            {'parent': parent, 'uuid': uuid, 'mdev_type': 'nvidia-558'}])
        rc, out, recap = self.undefine()
        self.assertNotEqual(0, rc)
        self.assertEqual({'cmp1': 0, 'cmp2': 1},
                         {h: c[2] for h, c in recap.items()})
        self.assertIn('%s on %s: defined but not listed' % (uuid, parent),
                      out)
        # The listed ones are undefined all the same; the other is left
        # for the operator to check.
        self.assertEqual([], self.defined('cmp1'))
        self.assertEqual([(uuid, parent)], self.defined('cmp2'))
