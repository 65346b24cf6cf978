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

"""``--host-report DIR`` (issue 19): every ``*.json`` report in it, for
audit, plan and config check."""

import json
import os

import fixtures
from osc_lib import exceptions

from vfioclient.tests import base
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit import builders
from vfioclient.v1 import base as v1_base

CONF = ('[pci]\n'
        'device_spec = {"vendor_id": "10de", "product_id": "2235", '
        '"address": "0000:41:00.4", "managed": "no", '
        '"resource_class": "CUSTOM_A40_2Q"}\n')


def empty_report(hostname):
    return {'schema_version': 1, 'kind': 'vfio-host-report',
            'hostname': hostname, 'collected_at': '2026-01-01T00:00:00Z',
            'sysfs_root': '/', 'gpus': [], 'warnings': [], 'devices': []}


class HostReportDirTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def directory(self, name, files):
        """``files``: ``{name: document (dict) or text}``."""
        path = os.path.join(self.tmp, name)
        os.mkdir(path)
        for file_name, content in files.items():
            with open(os.path.join(path, file_name), 'w') as f:
                f.write(content if isinstance(content, str)
                        else json.dumps(content))
        return path


class TestLoad(HostReportDirTest):

    def test_every_json_report_sorted(self):
        path = self.directory('reports', {
            'c.json': empty_report('cmp3'), 'a.json': empty_report('cmp1'),
            'b.json': empty_report('cmp2'), 'README.txt': 'not a report',
            '.partial.json': '{', 'b.json.tmp': '{'})
        os.mkdir(os.path.join(path, 'old.json'))
        self.assertEqual(
            [os.path.join(path, n) for n in ('a.json', 'b.json', 'c.json')],
            v1_base.host_report_files([path]))
        self.assertEqual(['cmp1', 'cmp2', 'cmp3'],
                         [r.hostname for r in
                          v1_base.load_host_reports([path])])

    def test_files_and_directories_in_order(self):
        path = self.directory('reports', {'a.json': empty_report('cmp1')})
        single = os.path.join(self.tmp, 'z.json')
        with open(single, 'w') as f:
            json.dump(empty_report('cmp9'), f)
        self.assertEqual(['cmp9', 'cmp1'],
                         [r.hostname for r in
                          v1_base.load_host_reports([single, path])])

    def test_empty_directory(self):
        for files in ({}, {'notes.txt': 'x'}):
            path = self.directory('empty%d' % len(files), files)
            e = self.assertRaises(exceptions.CommandError,
                                  v1_base.load_host_reports, [path])
            self.assertEqual(
                '--host-report %s: the directory holds no host report '
                '(*.json); write them with "openstack vfio host report -f '
                'json"' % path, str(e))

    def test_bad_file_is_named(self):
        path = self.directory('reports', {
            'a.json': empty_report('cmp1'), 'b.json': {'devices': 1}})
        e = self.assertRaises(exceptions.CommandError,
                              v1_base.load_host_reports, [path])
        self.assertIn(os.path.join(path, 'b.json'), str(e))
        self.assertIn('host report', str(e))

    def test_one_host_commands_need_one_report(self):
        one = self.directory('one', {'a.json': empty_report('cmp1')})
        self.assertEqual('cmp1', v1_base.load_host_report(
            one, '"host script"').hostname)
        two = self.directory('two', {'a.json': empty_report('cmp1'),
                                     'b.json': empty_report('cmp2')})
        e = self.assertRaises(exceptions.CommandError,
                              v1_base.load_host_report, two,
                              '"host script"')
        self.assertEqual('--host-report %s holds 2 host reports; "host '
                         'script" needs the report of one host: name its '
                         'file' % two, str(e))


class TestCommands(HostReportDirTest):
    """Through the real ``openstack`` shell."""

    def test_plan(self):
        b = builders.two_host_estate()
        b.host('a40-host')
        b.legacy_gpu('a40-host', rc='VGPU')
        snapshot = os.path.join(self.tmp, 'snap.json')
        with open(snapshot, 'w') as f:
            f.write(b.snapshot().to_json())
        reports = self.directory('reports', {
            'a40-host.json': builders.report(
                'a40', hostname='a40-host',
                address=builders.A40_PF).to_json(),
            'other.json': empty_report('elsewhere')})
        rc, out, err = run_shell(['vfio', 'plan', '--from-snapshot',
                                  snapshot, '--host-report', reports,
                                  '-f', 'json'], self)
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        self.assertEqual(['a40-host', 'elsewhere'],
                         [r['hostname'] for r in
                          doc['inputs']['host_reports']])
        host = [h for h in doc['hosts'] if h['host'] == 'a40-host'][0]
        self.assertEqual(24, host['gpus'][0]['vf_count'])

    def test_audit_with_an_empty_directory(self):
        snapshot = os.path.join(self.tmp, 'snap.json')
        with open(snapshot, 'w') as f:
            f.write(builders.two_host_estate().snapshot().to_json())
        empty = self.directory('empty', {})
        rc, out, err = run_shell(['vfio', 'audit', '--from-snapshot',
                                  snapshot, '--host-report', empty], self)
        self.assertEqual(1, rc)
        self.assertIn('the directory holds no host report', err)

    def test_config_check_against_every_host(self):
        conf = os.path.join(self.tmp, 'nova.conf')
        with open(conf, 'w') as f:
            f.write(CONF)
        reports = self.directory('reports', {
            'h1.json': empty_report('h1'), 'h2.json': empty_report('h2')})
        rc, out, err = run_shell(['vfio', 'config', 'check', '-f', 'json',
                                  '--host-report', reports, conf], self)
        self.assertEqual(0, rc, err)
        found = [(r['code'], r['subject'].split(':')[0])
                 for r in json.loads(out)]
        self.assertEqual([('VFIO-C170', 'host h1'),
                          ('VFIO-C170', 'host h2')], found)
