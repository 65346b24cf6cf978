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

"""``openstack vfio playbook list`` / ``playbook inventory`` (the command
classes, run directly) and the shipped playbooks' variables.

The playbooks themselves run in ``tox -e ansible``
(``vfioclient/tests/ansible``).
"""

import io
import json
import os
import re
import stat
import tempfile
from unittest import mock

import fixtures
import testtools
import yaml

from vfioclient import playbooks
from vfioclient.render import inventory
from vfioclient.tests import playbook_fixtures
from vfioclient.v1 import playbook

METAVAR = re.compile(r'^<[a-z][a-z0-9_.=-]*>$')
VARIABLE = re.compile(r'\bvfio_[a-z0-9_]+')
# "#   vfio_name  ..." in a playbook's header: a variable it documents.
DOCUMENTED = re.compile(r'^#   (vfio_[a-z0-9_]+)', re.M)


def run(command_class, *argv):
    """``(rc or rows, stdout, stderr)`` of a command class run directly."""
    app = mock.Mock(stdout=io.StringIO(), stderr=io.StringIO())
    cmd = command_class(app, None)
    parsed = cmd.get_parser('openstack vfio playbook').parse_args(argv)
    return cmd.take_action(parsed), app.stdout.getvalue(), \
        app.stderr.getvalue()


class TestList(testtools.TestCase):

    def test_rows(self):
        (columns, rows), out, err = run(playbook.ListPlaybook)
        self.assertEqual(('name', 'path', 'description'), columns)
        shipped = sorted(n for n in os.listdir(playbooks.DIRECTORY)
                         if n.endswith('.yml'))
        self.assertEqual(shipped, sorted(r[0] for r in rows))
        for name, path, description in rows:
            self.assertTrue(os.path.isabs(path))
            self.assertEqual(os.path.join(playbooks.DIRECTORY, name), path)
            self.assertTrue(os.path.isfile(path), path)
            self.assertTrue(description.endswith('.'), description)
            with open(path, encoding='utf-8') as f:
                self.assertIn('# %s (vfioclient)' % name, f.read())

    def test_unknown_playbook(self):
        e = self.assertRaises(ValueError, playbooks.path, 'site.yml')
        self.assertIn("no playbook 'site.yml'", str(e))


class TestPlaybookVariables(testtools.TestCase):
    """Every ``vfio_*`` variable a playbook reads is set by the inventory,
    by the playbook itself or documented in its header for the operator:
    a misspelt name would otherwise be an undefined variable at run time
    on the hosts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with tempfile.TemporaryDirectory() as directory:
            plan, _roots = playbook_fixtures.make_plan(directory)
        doc = json.loads(inventory.build(plan, '/artifacts').text)
        group = doc['all']['children'][inventory.GROUP]
        cls.inventory_vars = set(group['vars'])
        for host_vars in group['hosts'].values():
            cls.inventory_vars |= set(host_vars)

    def defined_in(self, node):
        """Names a playbook sets: vars, register."""
        found = set()
        if isinstance(node, dict):
            found |= set((node.get('vars') or {}))
            if 'register' in node:
                found.add(node['register'])
            for value in node.values():
                found |= self.defined_in(value)
        elif isinstance(node, list):
            for item in node:
                found |= self.defined_in(item)
        return found

    def test_variables_are_known(self):
        for name, _description in playbooks.PLAYBOOKS:
            with open(playbooks.path(name), encoding='utf-8') as f:
                text = f.read()
            plays = yaml.safe_load(text)
            self.assertIsInstance(plays, list, name)
            documented = set(DOCUMENTED.findall(text))
            self.assertTrue(documented, name)
            known = documented | self.defined_in(plays)
            if name != 'collect-host-reports.yml':
                known |= self.inventory_vars
            # Group names: the inventory's group and its wave groups.
            used = {v for v in VARIABLE.findall(text)
                    if v != inventory.GROUP
                    and not re.match(r'^vfio_wave_[0-9]+$', v)}
            self.assertEqual(set(), used - known, name)

    def test_plan_playbooks_target_the_inventory_group(self):
        for name in ('install-boot-setup.yml', 'undefine-mdevs.yml'):
            with open(playbooks.path(name), encoding='utf-8') as f:
                plays = yaml.safe_load(f)
            self.assertEqual(
                "{{ vfio_target | default('%s') }}" % inventory.GROUP,
                plays[0]['hosts'])


class TestInventoryCommand(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with tempfile.TemporaryDirectory() as directory:
            cls.plan_json = playbook_fixtures.make_plan(directory)[0].to_json()

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.plan_file = os.path.join(self.dir, 'plan.json')
        with open(self.plan_file, 'w', encoding='utf-8') as f:
            f.write(self.plan_json)
        self.out = os.path.join(self.dir, 'out')

    def test_writes_the_inventory_and_its_files(self):
        rc, out, err = run(playbook.InventoryPlaybook, '--from-plan',
                           self.plan_file, '--output-dir', self.out)
        path = os.path.join(self.out, inventory.INVENTORY_NAME)
        self.assertEqual((0, path + '\n', ''), (rc, out, err))
        with open(path, encoding='utf-8') as f:
            doc = json.load(f)
        group = doc['all']['children'][inventory.GROUP]
        self.assertEqual(os.path.abspath(self.out),
                         group['vars']['vfio_artifacts_dir'])
        self.assertEqual(['cmp1', 'cmp2'], sorted(group['hosts']))
        names = sorted(os.listdir(self.out))
        self.assertEqual(sorted({inventory.INVENTORY_NAME} | {
            v for h in group['hosts'].values() for k, v in h.items()
            if k in ('vfio_boot_script', 'vfio_unit',
                     'vfio_undefine_mdevs_script')}), names)
        for name in names:
            mode = stat.S_IMODE(os.stat(os.path.join(self.out, name)).st_mode)
            self.assertEqual(0o755 if name.endswith('.sh') else 0o644, mode,
                             name)

    def test_one_wave(self):
        run(playbook.InventoryPlaybook, '--from-plan', self.plan_file,
            '--output-dir', self.out, '--wave', '2')
        with open(os.path.join(self.out, inventory.INVENTORY_NAME),
                  encoding='utf-8') as f:
            doc = json.load(f)
        self.assertEqual(['cmp2'], list(
            doc['all']['children'][inventory.GROUP]['hosts']))

    def test_unknown_wave_is_an_error_naming_the_plan(self):
        e = self.assertRaises(
            Exception, run, playbook.InventoryPlaybook, '--from-plan',
            self.plan_file, '--output-dir', self.out, '--wave', '7')
        self.assertEqual('%s: the plan has no wave 7 (waves 1 to 2)'
                         % self.plan_file, str(e))
        self.assertFalse(os.path.exists(self.out))

    def test_bad_plan_file(self):
        with open(self.plan_file, 'w', encoding='utf-8') as f:
            f.write('{"kind": "vfio-plan"')
        e = self.assertRaises(
            Exception, run, playbook.InventoryPlaybook, '--from-plan',
            self.plan_file, '--output-dir', self.out)
        self.assertIn(self.plan_file, str(e))
        self.assertFalse(os.path.exists(self.out))

    def test_options_are_required_and_metavars_follow_osc(self):
        for argv in ((), ('--from-plan', self.plan_file),
                     ('--output-dir', self.out)):
            self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO()))
            self.assertRaises(SystemExit, run, playbook.InventoryPlaybook,
                              *argv)
        parser = playbook.InventoryPlaybook(mock.Mock(), None).get_parser(
            'openstack vfio playbook inventory')
        metavars = [a.metavar for a in parser._actions if a.metavar]
        self.assertEqual(3, len(metavars))
        for metavar in metavars:
            self.assertRegex(metavar, METAVAR)
        for cls in (playbook.ListPlaybook, playbook.InventoryPlaybook):
            self.assertTrue(cls.__doc__.strip().splitlines()[0].endswith('.'))
            self.assertFalse(cls.auth_required)
