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

"""``openstack vfio host report|script`` through the real OSC shell."""

import json
import os
import stat

import fixtures
from oslotest import base

from vfioclient.model import host as model
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests import base as tests_base
from vfioclient.tests.shell import run_shell


class ShellTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tests_base.CleanOsEnvironment())
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def build(self, preset):
        root = os.path.join(self.tmp, preset)
        fake_sysfs.build_host(root, fake_sysfs.preset(preset))
        return root

    def openstack(self, *argv):
        return run_shell(argv, self)


class TestReport(ShellTestCase):

    def test_json_is_the_versioned_document(self):
        root = self.build('a10')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root,
                                      '--hostname', 'compute-7',
                                      '-f', 'json')
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        self.assertEqual((1, 'vfio-host-report', 'compute-7', root),
                         (doc['schema_version'], doc['kind'],
                          doc['hostname'], doc['sysfs_root']))
        report = model.HostReport.from_json(doc)
        self.assertEqual(66, len(report.devices))
        self.assertEqual(['0000:41:00.0', '0000:c1:00.0'],
                         [g.address for g in report.gpus])

    def test_table_per_gpu(self):
        root = self.build('l40s')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root)
        self.assertEqual(0, rc, err)
        rows = [line for line in out.splitlines() if '0000:' in line]
        self.assertEqual(2, len(rows), out)
        self.assertIn('variant-vf', rows[0])
        self.assertIn('1148 L40S-2Q x8', rows[0])
        self.assertIn('unconfigured', rows[1])

    def test_csv_columns(self):
        root = self.build('t4')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'csv')
        self.assertEqual(0, rc, err)
        self.assertEqual('"gpu","model","mode","vfs","types_in_use",'
                         '"types_offered"', out.splitlines()[0])
        self.assertIn('"0000:3b:00.0","T4","legacy-mdev-pf",0,',
                      out.splitlines()[1])

    def test_columns_select_rows(self):
        root = self.build('t4')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'json',
                                      '-c', 'gpu')
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('-c/--column apply to rows; -f json prints the whole '
                      'document', err)
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'value',
                                      '-c', 'gpu', '-c', 'mode')
        self.assertEqual(0, rc, err)
        self.assertEqual('0000:3b:00.0 legacy-mdev-pf', out.strip())

    def test_sort_column_refused_with_the_document(self):
        root = self.build('t4')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'json',
                                      '--sort-column', 'gpu')
        self.assertEqual(1, rc)
        self.assertIn('--sort-column apply to rows', err)

    def test_output_writes_the_document(self):
        root = self.build('a10')
        path = os.path.join(self.tmp, 'report.json')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root,
                                      '--hostname', 'compute-7',
                                      '--output', path, '-f', 'value',
                                      '-c', 'gpu')
        self.assertEqual(0, rc, err)
        self.assertEqual(['0000:41:00.0', '0000:c1:00.0'], out.split())
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(path) as f:
            doc = json.load(f)
        self.assertEqual('compute-7', doc['hostname'])
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root,
                                      '--hostname', 'compute-7', '-f', 'json')
        printed = json.loads(out)
        for d in (printed, doc):
            d.pop('collected_at')
        self.assertEqual(printed, doc)

    def test_noindent_applies_to_the_document(self):
        root = self.build('t4')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'json',
                                      '--noindent')
        self.assertEqual(0, rc, err)
        self.assertEqual(1, len(out.splitlines()))
        self.assertEqual('vfio-host-report', json.loads(out)['kind'])

    def test_broken_host_reports_warnings(self):
        root = self.build('broken')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root)
        self.assertEqual(0, rc, err)
        self.assertIn('warning: /sys/bus/pci/devices/0000:41:00.0/virtfn4: '
                      'dangling symlink', err)
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'json')
        self.assertEqual(8, len(json.loads(out)['warnings']))

    def test_no_nvidia(self):
        root = self.build('no-nvidia')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root)
        self.assertEqual(0, rc, err)
        self.assertIn('no NVIDIA GPU found', err)

    def test_missing_root(self):
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root',
                                      os.path.join(self.tmp, 'nope'))
        self.assertEqual(1, rc)
        self.assertIn('is not a directory', err)


class TestScript(ShellTestCase):

    def test_script_to_stdout(self):
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', 'NVIDIA A10-4Q',
                                      '--gpu', '41:00.0', '--vfs', '6')
        self.assertEqual(0, rc, err)
        self.assertTrue(out.startswith('#!/bin/sh\n'))
        self.assertIn('GPUS=0000:41:00.0\n', out)
        self.assertIn("VFS_PER_GPU=6\n", out)

    def test_hostile_type_is_refused(self):
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', "x'; rm -rf / #")
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('is not a type id', err)

    def test_hostile_gpu_is_refused(self):
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', '597',
                                      '--gpu', '0000:41:00.0;reboot')
        self.assertEqual(1, rc)
        self.assertIn('is not a PCI address', err)

    def test_output_files_and_modes(self):
        script = os.path.join(self.tmp, 'setup.sh')
        unit = os.path.join(self.tmp, 'setup.service')
        rc, _, err = self.openstack('vfio', 'host', 'script',
                                    '--vgpu-type', '597', '--output', script)
        self.assertEqual(0, rc, err)
        self.assertEqual(0o700, stat.S_IMODE(os.stat(script).st_mode))
        rc, _, err = self.openstack('vfio', 'host', 'script',
                                    '--vgpu-type', '597', '--format',
                                    'systemd', '--output', unit)
        self.assertEqual(0, rc, err)
        self.assertEqual(0o644, stat.S_IMODE(os.stat(unit).st_mode))
        with open(unit) as f:
            self.assertIn('Before=nova-compute.service', f.read())

    def test_output_dir(self):
        out_dir = os.path.join(self.tmp, 'vgpu')
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', '597',
                                      '--script-path', '/opt/vgpu-setup',
                                      '--output-dir', out_dir)
        self.assertEqual(0, rc, err)
        self.assertEqual(['vfio-vgpu-setup', 'vfio-vgpu-setup.service'],
                         sorted(os.listdir(out_dir)))
        with open(os.path.join(out_dir, 'vfio-vgpu-setup.service')) as f:
            self.assertIn('ExecStart=/opt/vgpu-setup\n', f.read())

    def test_host_report_resolves_name_and_checks_gpus(self):
        root = self.build('l40s')
        rc, out, err = self.openstack('vfio', 'host', 'report',
                                      '--sysfs-root', root, '-f', 'json')
        report_file = os.path.join(self.tmp, 'report.json')
        with open(report_file, 'w') as f:
            f.write(out)
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', 'NVIDIA L40S-2Q',
                                      '--host-report', report_file)
        self.assertEqual(0, rc, err)
        self.assertIn("VGPU_TYPE_ID=1148\n", out)
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', '1148',
                                      '--gpu', '0000:99:00.0',
                                      '--host-report', report_file)
        self.assertEqual(1, rc)
        self.assertIn('0000:99:00.0 is not a physical GPU', err)

    def test_a_type_per_gpu(self):
        rc, out, err = self.openstack(
            'vfio', 'host', 'script', '--gpu', '41:00.0=NVIDIA A40-2Q',
            '--gpu', '0000:81:00.0=nvidia-555')
        self.assertEqual(0, rc, err)
        self.assertIn("GPUS='0000:41:00.0 0000:81:00.0'\n", out)
        self.assertIn("GPU_TYPES='0000:41:00.0|NVIDIA A40-2Q||nvidia "
                      "a40-2q|a40-2q|0\n0000:81:00.0|nvidia-555|555|"
                      "nvidia-555|nvidia-555|1'\n", out)
        self.assertIn("VGPU_TYPE=''\n", out)
        rc, out, err = self.openstack(
            'vfio', 'host', 'script', '--gpu', '41:00.0=NVIDIA A40-2Q',
            '--gpu', '0000:81:00.0', '--vgpu-type', '555', '--format',
            'systemd')
        self.assertEqual(0, rc, err)
        self.assertIn('(vGPU types 555, NVIDIA A40-2Q, one per GPU)', out)

    def test_a_gpu_without_a_type_needs_vgpu_type(self):
        rc, out, err = self.openstack(
            'vfio', 'host', 'script', '--gpu', '41:00.0=NVIDIA A40-2Q',
            '--gpu', '0000:81:00.0')
        self.assertEqual(1, rc)
        self.assertIn('--vgpu-type is required', err)
        rc, out, err = self.openstack(
            'vfio', 'host', 'script', '--gpu', '41:00.0=555',
            '--gpu', '0000:41:00.0=558')
        self.assertEqual(1, rc)
        self.assertIn('GPU 0000:41:00.0 is given two types', err)
        rc, out, err = self.openstack(
            'vfio', 'host', 'script', '--gpu', '41:00.0=555;reboot')
        self.assertEqual(1, rc)
        self.assertIn('is not a type id', err)

    def test_bad_host_report(self):
        report_file = os.path.join(self.tmp, 'report.json')
        with open(report_file, 'w') as f:
            json.dump({'kind': 'vfio-host-report', 'schema_version': 0},
                      f)
        rc, out, err = self.openstack('vfio', 'host', 'script',
                                      '--vgpu-type', '1148',
                                      '--host-report', report_file)
        self.assertEqual(1, rc)
        self.assertIn('has schema_version 0', err)
