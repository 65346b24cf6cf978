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

"""The Ansible inventory of a plan (render/inventory): each converted
host's files and sha256, the wave groups, the undefine scripts."""

import dataclasses
import hashlib
import json
import tempfile

import testtools

from vfioclient.render import bootscript
from vfioclient.render import fleet
from vfioclient.render import inventory
from vfioclient.tests import playbook_fixtures

ARTIFACTS = '/srv/vfio/artifacts'


class TestInventory(testtools.TestCase):

    @classmethod
    def setUpClass(cls):
        # One plan for every test (it is immutable); its fake trees are
        # needed only to make it.
        super().setUpClass()
        with tempfile.TemporaryDirectory() as directory:
            cls.plan, _roots = playbook_fixtures.make_plan(
                directory, ('cmp1', 'cmp2', 'cmp3'), unreported=('cmp3',))

    def group(self, result):
        doc = json.loads(result.text)
        self.assertEqual(['all'], list(doc))
        self.assertEqual([inventory.GROUP], list(doc['all']['children']))
        return doc['all']['children'][inventory.GROUP]

    def test_hosts_and_their_files(self):
        result = inventory.build(self.plan, ARTIFACTS)
        group = self.group(result)
        self.assertEqual(('cmp1', 'cmp2', 'cmp3'), result.hosts)
        self.assertEqual({
            'vfio_artifacts_dir': ARTIFACTS,
            'vfio_boot_script_path': bootscript.DEFAULT_SCRIPT_PATH,
            'vfio_unit_path': bootscript.DEFAULT_UNIT_PATH,
            'vfio_unit_name': bootscript.UNIT_NAME}, group['vars'])
        bundle = fleet.build(self.plan)
        for name, host_vars in group['hosts'].items():
            shared = bundle.hosts[name]
            # The files "plan --artifacts" writes, by name and bytes.
            for key, artifact in (('vfio_boot_script', shared.boot_script),
                                  ('vfio_unit', shared.unit)):
                self.assertEqual(artifact.name, host_vars[key])
                self.assertEqual(artifact, result.files[artifact.name])
            for key in ('vfio_boot_script', 'vfio_unit',
                        'vfio_undefine_mdevs_script'):
                text = result.files[host_vars[key]].text
                self.assertEqual(
                    hashlib.sha256(text.encode('utf-8')).hexdigest(),
                    host_vars[key + '_sha256'])
            plan_host = self.plan.host(name)
            self.assertEqual(plan_host.order, host_vars['vfio_order'])
            self.assertEqual(plan_host.kind, host_vars['vfio_kind'])
        self.assertEqual(
            {'vfio_wave_1': {'hosts': {'cmp1': None}},
             'vfio_wave_2': {'hosts': {'cmp2': None}},
             'vfio_wave_3': {'hosts': {'cmp3': None}}}, group['children'])
        self.assertEqual([1, 2, 3], [group['hosts'][h]['vfio_wave']
                                     for h in result.hosts])
        # Every file the inventory names is in the result, and only those.
        named = {v for h in group['hosts'].values() for k, v in h.items()
                 if k in ('vfio_boot_script', 'vfio_unit',
                          'vfio_undefine_mdevs_script')}
        self.assertEqual(named, set(result.files))

    def test_undefine_scripts(self):
        result = inventory.build(self.plan, ARTIFACTS)
        hosts = self.group(result)['hosts']
        self.assertEqual([2, 2, None], [hosts[h]['vfio_mdev_definitions']
                                        for h in result.hosts])
        for name in ('cmp1', 'cmp2'):
            text = result.files[hosts[name]['vfio_undefine_mdevs_script']
                                ].text
            self.assertIn('on %s.' % name, text.splitlines()[1])
            for d in self.plan.host(name).mdev_definitions:
                self.assertIn('%s/%s' % (d.uuid, d.parent), text)
        # No report of cmp3: its script lists none, so it only checks that
        # none is left.
        text = result.files[hosts['cmp3']['vfio_undefine_mdevs_script']].text
        self.assertIn("DEFINITIONS=''", text)
        self.assertEqual(3, len({h['vfio_undefine_mdevs_script']
                                 for h in hosts.values()}))

    def test_hosts_without_definitions_share_one_script(self):
        plan = dataclasses.replace(self.plan, hosts=tuple(
            dataclasses.replace(h, mdev_definitions=())
            for h in self.plan.hosts))
        hosts = self.group(inventory.build(plan, ARTIFACTS))['hosts']
        self.assertEqual([0, 0, 0], [h['vfio_mdev_definitions']
                                     for h in hosts.values()])
        self.assertEqual(1, len({h['vfio_undefine_mdevs_script']
                                 for h in hosts.values()}))

    def test_one_wave(self):
        result = inventory.build(self.plan, ARTIFACTS, wave=2)
        group = self.group(result)
        self.assertEqual(('cmp2',), result.hosts)
        self.assertEqual(['cmp2'], list(group['hosts']))
        self.assertEqual({'vfio_wave_2': {'hosts': {'cmp2': None}}},
                         group['children'])
        self.assertEqual(
            {group['hosts']['cmp2'][k] for k in (
                'vfio_boot_script', 'vfio_unit',
                'vfio_undefine_mdevs_script')}, set(result.files))

    def test_unknown_wave(self):
        e = self.assertRaises(ValueError, inventory.build, self.plan,
                              ARTIFACTS, wave=4)
        self.assertEqual('the plan has no wave 4 (waves 1 to 3)', str(e))
        plan = dataclasses.replace(self.plan, waves=())
        e = self.assertRaises(ValueError, inventory.build, plan, ARTIFACTS,
                              wave=1)
        self.assertIn('the plan has no wave 1 (it has no waves', str(e))
        # Without waves every host is still there, in no wave group.
        group = self.group(inventory.build(plan, ARTIFACTS))
        self.assertNotIn('children', group)
        self.assertEqual([None] * 3, [h['vfio_wave']
                                      for h in group['hosts'].values()])

    def test_blocked_hosts_are_left_out(self):
        plan = dataclasses.replace(self.plan, hosts=tuple(
            dataclasses.replace(h, order=None) if h.host == 'cmp2' else h
            for h in self.plan.hosts))
        result = inventory.build(plan, ARTIFACTS)
        self.assertEqual(('cmp1', 'cmp3'), result.hosts)
        self.assertNotIn('cmp2', self.group(result)['hosts'])

    def test_deterministic(self):
        first = inventory.build(self.plan, ARTIFACTS)
        self.assertEqual(first, inventory.build(self.plan, ARTIFACTS))
