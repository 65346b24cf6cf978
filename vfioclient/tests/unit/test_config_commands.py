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

"""``openstack vfio config check/show`` through the real OSC shell."""

import json
import os

import fixtures

from vfioclient.tests import base
from vfioclient.tests.shell import run_shell

GOOD = ('[pci]\n'
        'device_spec = {"vendor_id": "10de", "product_id": "25b6", '
        '"address": "0000:25:00.4", "managed": "no", '
        '"resource_class": "CUSTOM_A16_16A", "traits": "blue,big"}\n'
        'alias = {"name": "A16_16A", "device_type": "type-VF", '
        '"resource_class": "CUSTOM_A16_16A"}\n'
        'report_in_placement = true\n'
        '[filter_scheduler]\npci_in_placement = true\n'
        '[devices]\nenabled_mdev_types = nvidia-558\n'
        '[mdev_nvidia-558]\ndevice_addresses = 0000:41:00.4\n'
        'mdev_class = CUSTOM_A40_2Q\n')
BROKEN = '[pci]\ndevice_spec = {"address": "0000:25:00.4", managed: "no"}\n'
WARN = '[pci]\ndevice_spec = {"vendor_id": "8086", "mangaed": "no"}\n'


class ConfigCommandTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def run_osc(self, *argv):
        return run_shell(argv, self)


class TestCheck(ConfigCommandTest):

    def test_clean_exit_0(self):
        rc, out, err = self.run_osc('vfio', 'config', 'check', '-f', 'json',
                                    self.write('n.conf', GOOD))
        self.assertEqual(0, rc, err)
        self.assertEqual([], json.loads(out))

    def test_clean_table_says_what_was_checked(self):
        path = self.write('n.conf', GOOD)
        rc, out, err = self.run_osc('vfio', 'config', 'check', path)
        self.assertEqual(0, rc, err)
        self.assertEqual('', out)
        self.assertEqual('checked %s (1 device_spec, 1 alias entries): no '
                         'findings\n' % path, err)
        # --print-empty asks for the empty table: it gets it.
        rc, out, err = self.run_osc('vfio', 'config', 'check',
                                    '--print-empty', path)
        self.assertEqual(0, rc, err)
        self.assertIn('| code', out)
        self.assertEqual('', err)

    def test_columns_apply_to_findings(self):
        path = self.write('n.conf', BROKEN)
        rc, out, err = self.run_osc('vfio', 'config', 'check', '-f', 'json',
                                    '-c', 'code', path)
        self.assertEqual(2, rc, err)
        self.assertEqual([{'code': 'VFIO-C101'}], json.loads(out))

    def test_error_exit_2(self):
        path = self.write('n.conf', BROKEN)
        rc, out, err = self.run_osc('vfio', 'config', 'check', '-f', 'json',
                                    path)
        self.assertEqual(2, rc, err)
        rows = json.loads(out)
        self.assertEqual(['VFIO-C101'], [r['code'] for r in rows])
        self.assertEqual('%s:2 [pci] device_spec #1' % path,
                         rows[0]['subject'])
        self.assertEqual(
            'device_spec = {"address": "0000:25:00.4", "managed": "no"}',
            rows[0]['remedy'])

    def test_fail_on_warning(self):
        path = self.write('n.conf', WARN)
        rc, out, _err = self.run_osc('vfio', 'config', 'check', '-f', 'json',
                                     path)
        self.assertEqual(0, rc)
        self.assertEqual(['VFIO-C159'], [r['code'] for r in json.loads(out)])
        rc, _out, _err = self.run_osc('vfio', 'config', 'check',
                                      '--fail-on', 'warning', path)
        self.assertEqual(2, rc)

    def test_several_files(self):
        a = self.write('a.conf', BROKEN)
        b = self.write('b.conf', WARN)
        rc, out, _err = self.run_osc('vfio', 'config', 'check', '-f', 'json',
                                     a, b)
        self.assertEqual(2, rc)
        subjects = [r['subject'] for r in json.loads(out)]
        self.assertIn('%s:2 [pci] device_spec #2' % b, subjects)

    def test_missing_file_exit_1(self):
        rc, out, err = self.run_osc('vfio', 'config', 'check',
                                    os.path.join(self.dir, 'nope.conf'))
        self.assertEqual(1, rc)
        self.assertIn('does not exist', err)
        self.assertNotIn('Traceback', err)

    def test_not_ini_exit_1(self):
        rc, _out, err = self.run_osc('vfio', 'config', 'check',
                                     self.write('x.conf', 'junk\n'))
        self.assertEqual(1, rc)
        self.assertIn('not an INI file', err)

    def test_host_report(self):
        report = {
            'schema_version': 1, 'kind': 'vfio-host-report',
            'hostname': 'h', 'collected_at': '2026-01-01T00:00:00Z',
            'sysfs_root': '/', 'gpus': [], 'warnings': [], 'devices': []}
        path = self.write('host.json', json.dumps(report))
        rc, out, err = self.run_osc(
            'vfio', 'config', 'check', '-f', 'json', '--host-report', path,
            self.write('n.conf', GOOD))
        # Warnings only: the spec and the mdev address are not on the host.
        self.assertEqual(0, rc, err)
        self.assertEqual(['VFIO-C170', 'VFIO-C175'],
                         [r['code'] for r in json.loads(out)])

    def test_nova_release(self):
        path = self.write('n.conf', '[pci]\ndevice_spec = {"vendor_id": '
                          '"10de", "one_time_use": "yes"}\n')
        found = {}
        for series in ('2025.1', '2026.1'):
            rc, out, err = self.run_osc('vfio', 'config', 'check', '-f',
                                        'json', '--nova-release', series,
                                        path)
            found[series] = ([r['code'] for r in json.loads(out)], rc)
        # 2025.1 keeps the tag it does not know; 2026.1 refuses to start
        # without report_in_placement.
        self.assertEqual({'2025.1': (['VFIO-C163'], 0),
                          '2026.1': (['VFIO-C105'], 2)}, found)
        rc, _out, err = self.run_osc('vfio', 'config', 'check',
                                     '--nova-release', '2024.2', path)
        self.assertEqual(2, rc)
        self.assertIn("unknown Nova release '2024.2'; known releases: "
                      "2025.1, 2025.2, 2026.1, 2026.2", err)

    def test_host_report_versions(self):
        report = {
            'schema_version': 1, 'kind': 'vfio-host-report',
            'hostname': 'h', 'collected_at': '2026-01-01T00:00:00Z',
            'sysfs_root': '/', 'gpus': [], 'warnings': [], 'devices': [],
            'libvirt_version': '8.0.0', 'qemu_version': '6.2.0'}
        conf = self.write('n.conf', '[pci]\ndevice_spec = {"vendor_id": '
                          '"10de", "live_migratable": "yes"}\n')
        rc, out, err = self.run_osc(
            'vfio', 'config', 'check', '-f', 'json', '--host-report',
            self.write('host.json', json.dumps(report)), conf)
        self.assertEqual(2, rc, err)
        self.assertIn('VFIO-C177', [r['code'] for r in json.loads(out)])

    def test_bad_host_report_exit_1(self):
        rc, _out, err = self.run_osc(
            'vfio', 'config', 'check', '--host-report',
            self.write('host.json', '{"devices": 1}'),
            self.write('n.conf', GOOD))
        self.assertEqual(1, rc)
        self.assertIn('host report', err)


class TestShow(ConfigCommandTest):

    def test_rows(self):
        rc, out, err = self.run_osc('vfio', 'config', 'show', '-f', 'json',
                                    self.write('n.conf', GOOD))
        self.assertEqual(0, rc, err)
        rows = json.loads(out)
        self.assertEqual(['device_spec', 'alias', 'mdev_type'],
                         [r['kind'] for r in rows])
        spec, alias, mdev = rows
        self.assertEqual(['kind', 'entry', 'vendor_id', 'product_id',
                          'address', 'device_type', 'name', 'numa_policy',
                          'managed', 'resource_class', 'traits', 'valid'],
                         list(spec))
        self.assertIs(False, spec['managed'])
        self.assertEqual(['CUSTOM_BIG', 'CUSTOM_BLUE'], spec['traits'])
        self.assertEqual('CUSTOM_A16_16A', spec['resource_class'])
        self.assertEqual(('type-VF', 'A16_16A', 'legacy', None),
                         (alias['device_type'], alias['name'],
                          alias['numa_policy'], alias['managed']))
        self.assertEqual(('nvidia-558', 'CUSTOM_A40_2Q', '0000:41:00.4'),
                         (mdev['name'], mdev['resource_class'],
                          mdev['address']))

    def test_default_rc_and_invalid(self):
        rc, out, _err = self.run_osc(
            'vfio', 'config', 'show', '-f', 'json', self.write(
                'n.conf', '[pci]\ndevice_spec = {"vendor_id": "10DE", '
                '"product_id": "25b6"}\ndevice_spec = {"managed": "x"}\n'))
        self.assertEqual(0, rc)
        first, second = json.loads(out)
        self.assertEqual('CUSTOM_PCI_10DE_25B6', first['resource_class'])
        self.assertIsNone(first['managed'])
        self.assertIs(True, first['valid'])
        self.assertIs(False, second['valid'])
