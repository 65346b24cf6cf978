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

"""``openstack vfio plan`` through the real OSC shell, offline."""

import hashlib
import json
import os
import stat

import fixtures

from vfioclient.model import plan as plan_model
from vfioclient.tests import base
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit import builders


class TestPlanCommand(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        b = builders.two_host_estate()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU')
        self.snapshot = os.path.join(self.tmp, 'snap.json')
        with open(self.snapshot, 'w') as f:
            f.write(b.snapshot().to_json())
        rep = builders.report('a40', address=builders.A40_PF)
        self.report = os.path.join(self.tmp, 'a40.json')
        with open(self.report, 'w') as f:
            json.dump(rep.to_json(), f)

    def run_osc(self, *argv):
        return run_shell(argv, self)

    def plan_args(self, *extra):
        return ('vfio', 'plan', '--from-snapshot', self.snapshot,
                '--host-report', self.report) + extra

    def test_json_is_the_plan_document(self):
        rc, out, err = self.run_osc(*self.plan_args('-f', 'json'))
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        self.assertEqual((2, 'vfio-plan'), (doc['schema_version'],
                                            doc['kind']))
        self.assertEqual(['CUSTOM_NVIDIA_A40_2Q'], doc['resource_classes'])
        self.assertEqual(['a40-host'],
                         [r['hostname'] for r in
                          doc['inputs']['host_reports']])
        self.assertEqual('nvidia-a40-2q', doc['aliases'][0]['name'])
        self.assertEqual(['vgpu.a40-2q.vf'],
                         [f['name'] for f in doc['flavors']])
        self.assertEqual({'pci_passthrough:alias': 'nvidia-a40-2q:1'},
                         doc['flavors'][0]['extra_specs'])
        self.assertEqual(['a40-host', 'cmp2', 'cmp1'], doc['order'])
        host = [h for h in doc['hosts'] if h['host'] == 'a40-host'][0]
        self.assertEqual(24, host['gpus'][0]['vf_count'])
        # Exactly the document: it loads back and prints identically.
        self.assertEqual(out, plan_model.Plan.from_json(out).to_json())

    def test_inputs_record_the_sha256_of_the_files(self):
        # what sha256sum prints for the files the plan read, so that an
        # operator can tell which snapshot and reports a plan came from
        rc, out, err = self.run_osc(*self.plan_args('-f', 'json'))
        self.assertEqual(0, rc, err)
        inputs = json.loads(out)['inputs']

        def sha256sum(path):
            with open(path, 'rb') as f:
                return hashlib.sha256(f.read()).hexdigest()
        self.assertEqual(sha256sum(self.snapshot),
                         inputs['snapshot']['sha256'])
        self.assertEqual([sha256sum(self.report)],
                         [r['sha256'] for r in inputs['host_reports']])

    def test_markdown_is_the_runbook(self):
        rc, out, err = self.run_osc(*self.plan_args('-f', 'markdown'))
        self.assertEqual(0, rc, err)
        self.assertTrue(out.startswith('# vGPU migration runbook'))
        self.assertEqual(4, out.count('```mermaid'))
        self.assertIn('"managed": "no"', out)
        self.assertIn('report_in_placement = True', out)

    def test_table_summary_and_output_files(self):
        plan_file = os.path.join(self.tmp, 'plan.json')
        book = os.path.join(self.tmp, 'runbook.md')
        rc, out, err = self.run_osc(*self.plan_args(
            '-f', 'value', '--output', plan_file, '--runbook', book))
        self.assertEqual(0, rc, err)
        lines = out.splitlines()
        self.assertEqual(3, len(lines))
        self.assertTrue(lines[0].startswith('1 a40-host '))
        for path in (plan_file, book):
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(plan_file) as f:
            plan = plan_model.Plan.from_json(f.read())
        self.assertEqual(('a40-host', 'cmp2', 'cmp1'), plan.order)
        with open(book) as f:
            self.assertIn('--from-plan %s' % plan_file, f.read())

    def test_map_and_templates(self):
        rc, out, err = self.run_osc(*self.plan_args(
            '-f', 'json', '--map', 'nvidia-558=NVIDIA A40-1B',
            '--resource-class-template', 'CUSTOM_VF_{short}',
            '--alias-template', 'vf-{short}',
            '--flavor-name-template', '{flavor}-{alias}'))
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        self.assertEqual(['CUSTOM_VF_A40_1B'], doc['resource_classes'])
        self.assertEqual(['vgpu.a40-2q-vf-a40-1b'],
                         [f['name'] for f in doc['flavors']])

    def test_live_migratable_and_nova_release(self):
        rc, out, err = self.run_osc(*self.plan_args(
            '-f', 'json', '--live-migratable', '--nova-release', '2026.2'))
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        self.assertEqual((True, '2026.2'),
                         (doc['inputs']['options']['live_migratable'],
                          doc['inputs']['options']['nova_release']))
        host = [h for h in doc['hosts'] if h['host'] == 'a40-host'][0]
        self.assertEqual('yes', json.loads(
            host['device_spec'][0])['live_migratable'])
        self.assertEqual('yes', json.loads(
            doc['aliases'][0]['line'])['live_migratable'])
        self.assertEqual(['COMPUTE_MANAGED_PCI_DEVICE',
                          'HW_PCI_LIVE_MIGRATABLE', 'OWNER_NOVA'],
                         host['gpus'][0]['provider_traits'])
        # Defaults: no live_migratable, the oldest release.
        rc, out, err = self.run_osc(*self.plan_args('-f', 'json'))
        options = json.loads(out)['inputs']['options']
        self.assertEqual((False, '2025.1'), (options['live_migratable'],
                                             options['nova_release']))

    def test_bad_template_and_map_fail_cleanly(self):
        rc, out, err = self.run_osc(*self.plan_args(
            '--alias-template', '{nope}'))
        self.assertEqual(1, rc)
        self.assertIn('unknown placeholder {nope}', err)
        rc, out, err = self.run_osc(*self.plan_args('--map', 'x'))
        self.assertEqual(1, rc)
        self.assertIn('--map takes OLD_TYPE=NEW_TYPE', err)
        self.assertEqual('', out)

    def test_columns_refused_with_the_documents(self):
        plan_file = os.path.join(self.tmp, 'plan.json')
        for fmt in ('json', 'markdown'):
            rc, out, err = self.run_osc(*self.plan_args(
                '-f', fmt, '-c', 'host', '--output', plan_file))
            self.assertEqual(1, rc)
            self.assertEqual('', out)
            self.assertIn('-c/--column apply to rows; -f %s prints the '
                          'whole document' % fmt, err)
            # Refused before any work: nothing written.
            self.assertFalse(os.path.exists(plan_file))

    def test_columns_apply_to_rows(self):
        rc, out, err = self.run_osc(*self.plan_args(
            '-f', 'value', '-c', 'host', '-c', 'status'))
        self.assertEqual(0, rc, err)
        self.assertEqual(['a40-host ready', 'cmp2 ready', 'cmp1 ready'],
                         out.splitlines())

    def test_host_is_repeatable(self):
        rc, out, err = self.run_osc(*self.plan_args(
            '-f', 'value', '-c', 'host', '--host', 'a40-host',
            '--host', 'cmp1'))
        self.assertEqual(0, rc, err)
        self.assertEqual(['a40-host', 'cmp1'], sorted(out.split()))

    def test_missing_snapshot(self):
        rc, out, err = self.run_osc('vfio', 'plan', '--from-snapshot',
                                    os.path.join(self.tmp, 'nope.json'))
        self.assertEqual(1, rc)
        self.assertIn('does not exist', err)
