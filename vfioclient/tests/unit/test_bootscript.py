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

"""The generated boot script, executed with sh against fake sysfs trees."""

import os
import shlex
import subprocess
import sys

import fixtures
from oslotest import base

import vfioclient
from vfioclient.render import bootscript
from vfioclient.sandbox import fakesysfs as fake_sysfs

SOURCE_ROOT = os.path.dirname(os.path.dirname(vfioclient.__file__))

PF = '0000:01:00.0'
VFS = ('0000:01:00.4', '0000:01:00.5', '0000:01:00.6', '0000:01:00.7')


class ScriptTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.root = os.path.join(self.tmp, 'root')
        self.state = os.path.join(self.tmp, 'state')

    def build(self, spec=None):
        fake_sysfs.build_host(self.root, spec or fake_sysfs.L40S_FRESH_HOST)

    def path(self, address, name='nvidia/current_vgpu_type'):
        return os.path.join(self.root, 'sys/bus/pci/devices', address, name)

    def read(self, address, name='nvidia/current_vgpu_type'):
        with open(self.path(address, name)) as f:
            return f.read().strip()

    def write(self, address, name, text):
        with open(self.path(address, name), 'w') as f:
            f.write(text)

    def run_script(self, script, *args, **env):
        script_path = os.path.join(self.tmp, 'vfio-vgpu-setup')
        with open(script_path, 'w') as f:
            f.write(script)
        environ = {'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                   'VFIO_SYSFS_ROOT': self.root,
                   'VFIO_STATE_DIR': self.state,
                   'VFIO_WAIT_SECONDS': '0',
                   'VFIO_SRIOV_MANAGE': os.path.join(self.tmp, 'absent')}
        environ.update(env)
        proc = subprocess.run(['sh', script_path] + list(args), env=environ,
                              capture_output=True, text=True, timeout=60,
                              cwd=self.tmp)
        return proc.returncode, proc.stdout, proc.stderr

    def types(self):
        return [self.read(vf) for vf in VFS]


class TestSetsTypes(ScriptTestCase):

    def test_syntax(self):
        script = bootscript.render_script('NVIDIA L40S-2Q')
        proc = subprocess.run(['sh', '-n', '/dev/stdin'], input=script,
                              text=True, capture_output=True)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.assertTrue(script.startswith('#!/bin/sh\n'))

    def test_by_name_sets_every_vf_and_is_idempotent(self):
        self.build()
        script = bootscript.render_script('NVIDIA L40S-2Q', gpus=[PF])
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertEqual(['1148'] * 4, self.types())
        self.assertIn('4 set, 0 already set, 0 failed', out)
        mtimes = [os.stat(self.path(vf)).st_mtime_ns for vf in VFS]
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertIn('0 set, 4 already set, 0 failed', out)
        self.assertNotIn('writing', out)
        self.assertEqual(mtimes,
                         [os.stat(self.path(vf)).st_mtime_ns for vf in VFS])

    def test_by_id_with_vf_count(self):
        self.build()
        rc, out, err = self.run_script(
            bootscript.render_script('1155', vfs=2))
        self.assertEqual(0, rc, err)
        self.assertEqual(['1155', '1155', '0', '0'], self.types())

    def test_short_name_case_insensitive(self):
        self.build()
        rc, _, err = self.run_script(bootscript.render_script('l40s-3b'))
        self.assertEqual(0, rc, err)
        self.assertEqual(['2164'] * 4, self.types())

    def test_other_type_is_cleared_first(self):
        self.build()
        self.write(VFS[0], 'nvidia/current_vgpu_type', '1145\n')
        rc, out, err = self.run_script(bootscript.render_script('1148'))
        self.assertEqual(0, rc, err)
        lines = [line for line in out.splitlines() if VFS[0] in line]
        self.assertEqual(2, len(lines), out)
        self.assertIn('writing 0 to', lines[0])
        self.assertIn('writing 1148 to', lines[1])
        self.assertEqual('1148', self.read(VFS[0]))

    def test_dry_run_writes_nothing(self):
        self.build()
        self.write(VFS[1], 'nvidia/current_vgpu_type', '1145\n')
        rc, out, err = self.run_script(
            bootscript.render_script('NVIDIA L40S-2Q'), '--dry-run')
        self.assertEqual(0, rc, err)
        self.assertEqual(['0', '1145', '0', '0'], self.types())
        self.assertIn('dry-run: would write 1148 to %s' % self.path(VFS[0]),
                      out)
        self.assertIn('dry-run: would write 0 to %s' % self.path(VFS[1]),
                      out)
        self.assertFalse(os.path.exists(self.state))

    def test_unknown_argument(self):
        self.build()
        rc, _, err = self.run_script(bootscript.render_script('1148'),
                                     '--force')
        self.assertEqual(2, rc)
        self.assertIn('unknown argument', err)
        self.assertEqual(['0'] * 4, self.types())


class TestFailures(ScriptTestCase):

    def test_type_not_creatable_names_the_vf(self):
        self.build()
        self.write(VFS[2], 'nvidia/creatable_vgpu_types',
                   'ID    : vGPU Name\n1155  : NVIDIA L40S-24Q\n')
        rc, out, err = self.run_script(
            bootscript.render_script('NVIDIA L40S-2Q'))
        self.assertEqual(1, rc)
        self.assertIn('VF %s: vGPU type NVIDIA L40S-2Q is not in' % VFS[2],
                      err)
        self.assertIn('FAILED: %s' % VFS[2], err)
        # The other VFs are still done.
        self.assertEqual(['1148', '1148', '0', '1148'], self.types())

    def test_full_gpu_after_name_resolution_is_remembered(self):
        self.build()
        script = bootscript.render_script('NVIDIA L40S-2Q')
        self.assertEqual(0, self.run_script(script)[0])
        for vf in VFS:
            self.write(vf, 'nvidia/creatable_vgpu_types',
                       'ID    : vGPU Name\n')
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertIn('4 already set', out)
        # Without the per-boot state the name cannot be checked: say so.
        rc, _, err = self.run_script(
            script, VFIO_STATE_DIR=os.path.join(self.tmp, 'new'))
        self.assertEqual(1, rc)
        self.assertIn('cannot be resolved', err)

    def test_embedded_id_must_match_the_driver(self):
        self.build()
        rc, _, err = self.run_script(
            bootscript.render_script('NVIDIA L40S-2Q', type_id=4242))
        self.assertEqual(1, rc)
        self.assertIn('as id 1148, expected 4242', err)
        self.assertEqual(['0'] * 4, self.types())

    def test_vfs_missing_after_enabling_via_sriov_numvfs(self):
        self.build(fake_sysfs.L40S_HOST)
        pf = '0000:81:00.0'
        rc, out, err = self.run_script(
            bootscript.render_script('1148', gpus=[pf], vfs=2))
        self.assertEqual(1, rc)
        self.assertEqual('2', self.read(pf, 'sriov_numvfs'))
        self.assertIn('GPU %s: VF virtfn0' % pf, err)
        self.assertIn('FAILED: %s/virtfn0' % pf, err)

    def test_enable_with_sriov_manage(self):
        spec = fake_sysfs.preset('l40s')
        self.build(spec)
        gpu = dict(spec['gpus'][1], vfs=3, vf_mode='variant',
                   creatable=[(1148, 'NVIDIA L40S-2Q')])
        log = os.path.join(self.tmp, 'sriov-manage.log')
        manage = os.path.join(self.tmp, 'sriov-manage')
        with open(manage, 'w') as f:
            f.write('#!/bin/sh\necho "$@" >> %s\nexec %s -c %s\n' % (
                shlex.quote(log), shlex.quote(sys.executable),
                shlex.quote(
                    # The tree under test, not an installed vfioclient.
                    'import sys; sys.path.insert(0, %r); '
                    'from vfioclient.sandbox import fakesysfs; '
                    'fakesysfs.add_vfs(%r, %r)' % (SOURCE_ROOT, self.root,
                                                   gpu))))
        os.chmod(manage, 0o755)
        script = bootscript.render_script('NVIDIA L40S-2Q',
                                          gpus=['81:00.0'], vfs=3)
        rc, out, err = self.run_script(script, VFIO_SRIOV_MANAGE=manage)
        self.assertEqual(0, rc, err)
        with open(log) as f:
            self.assertEqual('-e 0000:81:00.0\n', f.read())
        self.assertEqual(['1148'] * 3,
                         [self.read(a) for a in ('0000:81:00.4',
                                                 '0000:81:00.5',
                                                 '0000:81:00.6')])
        # Second run: VFs exist, sriov-manage is not run again.
        rc, out, err = self.run_script(script, VFIO_SRIOV_MANAGE=manage)
        self.assertEqual(0, rc, err)
        with open(log) as f:
            self.assertEqual(1, len(f.readlines()))

    def test_write_error_names_the_vf(self):
        self.build()
        target = self.path(VFS[1])
        os.unlink(target)
        # Read-only even for root; reads as a number that is not the type.
        os.symlink('/proc/sys/kernel/ngroups_max', target)
        rc, _, err = self.run_script(bootscript.render_script('1148'))
        self.assertEqual(1, rc)
        self.assertIn('VF %s: cannot write 0 to' % VFS[1], err)
        # The other VFs are still done; the failing one is left alone.
        self.assertEqual(['1148', '1148', '1148'],
                         [self.read(v) for v in (VFS[0], VFS[2], VFS[3])])
        self.assertTrue(os.path.islink(target))

    def test_unknown_gpu(self):
        self.build()
        rc, _, err = self.run_script(
            bootscript.render_script('1148', gpus=['0000:99:00.0']))
        self.assertEqual(1, rc)
        self.assertIn('GPU 0000:99:00.0: no such PCI device', err)

    def test_too_many_vfs_wanted(self):
        self.build()
        rc, _, err = self.run_script(
            bootscript.render_script('1148', vfs=8))
        self.assertEqual(1, rc)
        self.assertIn('4 VFs enabled, 8 wanted', err)
        self.assertEqual(['0'] * 4, self.types())


class TestSelection(ScriptTestCase):

    def test_without_gpu_skips_pre_ampere_and_passthrough(self):
        spec = fake_sysfs.preset('l40s-fresh')
        spec['gpus'] += fake_sysfs.preset('t4')['gpus']
        spec['gpus'].append({'address': '0000:65:00.0',
                             'product_id': '2236', 'driver': 'vfio-pci',
                             'sriov_totalvfs': 32})
        self.build(spec)
        rc, out, err = self.run_script(bootscript.render_script('1148'))
        self.assertEqual(0, rc, err)
        self.assertIn('skipping 0000:3b:00.0: pre-Ampere', out)
        self.assertIn('skipping 0000:65:00.0: not bound to the nvidia', out)
        self.assertEqual(['1148'] * 4, self.types())
        self.assertEqual('0', self.read('0000:3b:00.0', 'sriov_numvfs'))
        self.assertEqual('0', self.read('0000:65:00.0', 'sriov_numvfs'))

    def test_no_gpu_at_all(self):
        self.build(fake_sysfs.NO_NVIDIA_HOST)
        rc, _, err = self.run_script(bootscript.render_script('1148'))
        self.assertEqual(1, rc)
        self.assertIn('no eligible NVIDIA SR-IOV GPU', err)

    def test_legacy_vfs_are_refused(self):
        self.build(fake_sysfs.A40_HOST)
        rc, _, err = self.run_script(
            bootscript.render_script('558', gpus=['0000:51:00.0']))
        self.assertEqual(1, rc)
        self.assertIn('legacy mdev model', err)


class TestHostileInput(ScriptTestCase):

    HOSTILE = ['$(touch {m})', "x'; touch {m}; echo '", '`touch {m}`',
               'a\ntouch {m}', '"; touch {m} #']

    def marker(self):
        return os.path.join(self.tmp, 'INJECTED')

    def test_hostile_values_are_refused(self):
        for text in self.HOSTILE:
            value = text.format(m=self.marker())
            self.assertRaises(ValueError, bootscript.render_script, value)
            self.assertRaises(ValueError, bootscript.render_script, '1148',
                              gpus=[value])
            self.assertRaises(ValueError, bootscript.render_systemd_unit,
                              value)
        self.assertRaises(ValueError, bootscript.render_script, '1148',
                          vfs=0)
        self.assertRaises(ValueError, bootscript.render_systemd_unit,
                          '1148', script_path='/usr/sbin/x; rm -rf /')
        self.assertRaises(ValueError, bootscript.render_systemd_unit,
                          '1148', script_path='relative')

    def test_quoting_holds_even_without_validation(self):
        # Defence in depth: bypass validation, the quoting alone must hold.
        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.nvidia.vgpu_types.validate_type_spec', lambda s: s))
        self.build()
        for text in self.HOSTILE:
            script = bootscript.render_script(text.format(m=self.marker()))
            self.run_script(script)
            self.assertFalse(os.path.exists(self.marker()), text)

    def test_hostile_sysfs_content_is_not_evaluated(self):
        self.build()
        marker = self.marker()
        self.write(VFS[0], 'nvidia/creatable_vgpu_types',
                   'ID : vGPU Name\n1148 : $(touch %s)\n'
                   '`touch %s` : NVIDIA L40S-2Q\n' % (marker, marker))
        self.write(VFS[1], 'nvidia/current_vgpu_type',
                   '$(touch %s)\n' % marker)
        rc, _, err = self.run_script(
            bootscript.render_script('NVIDIA L40S-2Q'))
        self.assertEqual(1, rc)
        self.assertFalse(os.path.exists(marker))
        self.assertIn('VF %s: cannot read a type id' % VFS[1], err)

    def test_values_are_shell_quoted(self):
        script = bootscript.render_script('NVIDIA A10-4Q',
                                          gpus=['41:00.0', 'c1:00.0'])
        self.assertIn("VGPU_TYPE='NVIDIA A10-4Q'\n", script)
        self.assertIn("GPUS='0000:41:00.0 0000:c1:00.0'\n", script)


class TestSystemdUnit(base.BaseTestCase):

    def test_unit(self):
        unit = bootscript.render_systemd_unit('NVIDIA A10-4Q')
        lines = unit.splitlines()
        self.assertIn('Before=nova-compute.service '
                      'openstack-nova-compute.service', lines)
        self.assertIn('After=nvidia-vgpu-mgr.service '
                      'nvidia-sriov-manage@ALL.service', lines)
        self.assertIn('ExecStart=/usr/local/sbin/vfio-vgpu-setup', lines)
        self.assertIn('Type=oneshot', lines)
        self.assertIn('WantedBy=multi-user.target', lines)

    def test_custom_script_path(self):
        unit = bootscript.render_systemd_unit('1148',
                                              script_path='/opt/bin/vgpu')
        self.assertIn('ExecStart=/opt/bin/vgpu\n', unit)


class TestTemplate(base.BaseTestCase):
    """The script body is the package's shell file, fully filled in."""

    def test_every_placeholder_is_filled(self):
        template = bootscript._script_template()
        self.assertTrue(template.startswith('#!/bin/sh\n'))
        self.assertGreater(len(bootscript._PLACEHOLDER_RE.findall(template)),
                           10)
        script = bootscript.render_script('NVIDIA L40S-2Q', gpus=[PF],
                                          vfs=2, type_id=1148)
        self.assertEqual([], bootscript._PLACEHOLDER_RE.findall(script))
        self.assertIn("\nVGPU_TYPE='NVIDIA L40S-2Q'\n", script)
        self.assertIn('\nGPUS=%s\n' % PF, script)

    def test_template_is_package_data(self):
        path = os.path.join(os.path.dirname(bootscript.__file__),
                            bootscript.SCRIPT_TEMPLATE)
        with open(path, encoding='utf-8') as f:
            self.assertEqual(f.read(), bootscript._script_template())


class TestListedVfs(ScriptTestCase):
    """``gpu_vfs``: exactly the VFs a plan's device_spec names."""

    def test_sets_exactly_the_listed_vfs(self):
        self.build()
        script = bootscript.render_script(
            'NVIDIA L40S-2Q', gpu_vfs={PF: [VFS[1], VFS[3]]})
        self.assertIn('GPU_VFS=%s=%s,%s' % (PF, VFS[1], VFS[3]),
                      script.splitlines())
        self.assertIn("\nGPUS=%s\n" % PF, script)
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertEqual(['0', '1148', '0', '1148'], self.types())
        self.assertIn('on 2 VFs: 2 set, 0 already set, 0 failed', out)
        rc, out, err = self.run_script(script)
        self.assertIn('0 set, 2 already set', out)

    def test_a_listed_address_that_is_not_a_vf_of_the_gpu_fails(self):
        spec = fake_sysfs.preset('l40s-fresh')
        spec['gpus'].append(dict(spec['gpus'][0], address='0000:02:00.0'))
        self.build(spec)
        other_vf = fake_sysfs.vf_address('0000:02:00.0', 0)
        rc, _, err = self.run_script(bootscript.render_script(
            '1148', gpu_vfs={PF: [VFS[0], other_vf]}))
        self.assertEqual(1, rc)
        self.assertIn('GPU %s: %s is not a VF of this GPU' % (PF, other_vf),
                      err)
        self.assertIn("plan's VF list is not this host's", err)
        self.assertEqual(['0'] * 4, self.types())

    def test_enabling_enables_every_vf(self):
        self.build(fake_sysfs.L40S_HOST)
        pf = '0000:81:00.0'
        vf = fake_sysfs.vf_address(pf, 5)
        rc, out, err = self.run_script(
            bootscript.render_script('1148', gpu_vfs={pf: [vf]}),
            '--dry-run')
        self.assertEqual(0, rc, err)
        self.assertIn('would write 32 to %s' % self.path(pf, 'sriov_numvfs'),
                      out)
        self.assertIn('would then set type 1148 on 1 VFs', out)

    def test_render_boot_setup_uses_the_plan_list(self):
        from vfioclient.model import plan as plan_model
        setup = plan_model.BootSetup(
            'NVIDIA L40S-2Q', 1148, (PF,), 2,
            (plan_model.GpuVfs(PF, (VFS[0], VFS[2])),))
        self.assertEqual(
            bootscript.render_script('NVIDIA L40S-2Q', gpus=[PF],
                                     type_id=1148,
                                     gpu_vfs={PF: [VFS[0], VFS[2]]}),
            bootscript.render_boot_setup(setup))
        # Plans made before the list was kept: the first N VFs.
        old = plan_model.BootSetup('NVIDIA L40S-2Q', 1148, (PF,), 2)
        self.assertIn("\nVFS_PER_GPU=2\n", bootscript.render_boot_setup(old))
        self.assertIn("\nGPU_VFS=''\n", bootscript.render_boot_setup(old))

    def test_bad_lists_are_refused(self):
        for kwargs in ({'gpu_vfs': {PF: []}},
                       {'gpu_vfs': {PF: [VFS[0], VFS[0]]}},
                       {'gpu_vfs': {PF: [PF]}},
                       {'gpu_vfs': {PF: ['$(reboot)']}},
                       {'gpu_vfs': {PF: [VFS[0]]}, 'vfs': 1},
                       {'gpu_vfs': {PF: [VFS[0]]},
                        'gpus': ['0000:02:00.0']}):
            self.assertRaises(ValueError, bootscript.render_script, '1148',
                              **kwargs)


class TestTypePerGpu(ScriptTestCase):
    """``gpu_types``: a host whose GPUs have different types (Nova takes one
    resource class per PF, not per host)."""

    PF2 = '0000:02:00.0'

    def setUp(self):
        super().setUp()
        spec = fake_sysfs.preset('l40s-fresh')
        spec['gpus'].append(dict(spec['gpus'][0], address=self.PF2))
        self.build(spec)
        self.vfs2 = tuple(fake_sysfs.vf_address(self.PF2, i)
                          for i in range(4))

    def two_types(self, **kwargs):
        return bootscript.render_script(
            None, gpu_types={PF: ('NVIDIA L40S-2Q', None),
                             self.PF2: ('L40S-1B', 1145)},
            gpu_vfs={PF: list(VFS), self.PF2: list(self.vfs2[:2])},
            **kwargs)

    def test_each_gpu_gets_its_type_and_a_second_run_changes_nothing(self):
        script = self.two_types()
        self.assertIn("\nGPUS='%s %s'\n" % (PF, self.PF2), script)
        self.assertIn('types L40S-1B, NVIDIA L40S-2Q (one per GPU', script)
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertEqual(['1148'] * 4, self.types())
        self.assertEqual(['1145', '1145', '0', '0'],
                         [self.read(vf) for vf in self.vfs2])
        self.assertIn('GPU %s: type NVIDIA L40S-2Q (id 1148) on 4 VFs: 4 '
                      'set' % PF, out)
        self.assertIn('GPU %s: type L40S-1B (id 1145) on 2 VFs: 2 set'
                      % self.PF2, out)
        mtimes = [os.stat(self.path(vf)).st_mtime_ns
                  for vf in VFS + self.vfs2]
        rc, out, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertNotIn('writing', out)
        self.assertIn('on 4 VFs: 0 set, 4 already set', out)
        self.assertIn('on 2 VFs: 0 set, 2 already set', out)
        self.assertEqual(mtimes, [os.stat(self.path(vf)).st_mtime_ns
                                  for vf in VFS + self.vfs2])

    def test_a_gpu_whose_type_is_not_creatable_fails_alone(self):
        script = bootscript.render_script(
            None, gpu_types={PF: ('1148', None),
                             self.PF2: ('NVIDIA A40-2Q', None)},
            gpu_vfs={PF: [VFS[0]], self.PF2: [self.vfs2[0]]})
        rc, out, err = self.run_script(script)
        self.assertEqual(1, rc)
        self.assertIn('VF %s: vGPU type NVIDIA A40-2Q is not in' % (
            self.vfs2[0]), err)
        self.assertEqual('1148', self.read(VFS[0]))
        self.assertEqual('0', self.read(self.vfs2[0]))

    def test_gpus_without_their_own_type_take_the_default(self):
        script = bootscript.render_script(
            '1155', gpus=[PF, self.PF2],
            gpu_types={self.PF2: ('2164', None)})
        rc, _, err = self.run_script(script)
        self.assertEqual(0, rc, err)
        self.assertEqual(['1155'] * 4, self.types())
        self.assertEqual(['2164'] * 4, [self.read(vf) for vf in self.vfs2])

    def test_render_boot_setup_of_a_mixed_host(self):
        from vfioclient.model import plan as plan_model
        setup = plan_model.BootSetup(
            None, None, (PF, self.PF2), None,
            (plan_model.GpuVfs(PF, VFS, 'NVIDIA L40S-2Q', None),
             plan_model.GpuVfs(self.PF2, self.vfs2[:2], 'L40S-1B', 1145)))
        self.assertEqual(self.two_types(),
                         bootscript.render_boot_setup(setup))
        unit = bootscript.render_boot_unit(setup)
        self.assertIn('(vGPU types L40S-1B, NVIDIA L40S-2Q, one per GPU)',
                      unit)
        # One type on every GPU: the script of one type, as before.
        same = plan_model.BootSetup(
            'NVIDIA L40S-2Q', None, (PF, self.PF2), 4,
            (plan_model.GpuVfs(PF, VFS, 'NVIDIA L40S-2Q', None),
             plan_model.GpuVfs(self.PF2, self.vfs2, 'NVIDIA L40S-2Q',
                               None)))
        script = bootscript.render_boot_setup(same)
        self.assertIn("\nGPU_TYPES=''\n", script)
        self.assertIn("\nVGPU_TYPE='NVIDIA L40S-2Q'\n", script)

    def test_bad_type_maps_are_refused(self):
        for args, kwargs in (
                ((None,), {}),
                ((None,), {'gpus': [PF], 'gpu_types': {self.PF2: ('1148',
                                                                  None)}}),
                ((None,), {'gpu_types': {PF: ('1148', 1155)}}),
                ((None,), {'gpu_types': {PF: ('a|b', None)}}),
                ((None,), {'gpu_types': {PF: ('$(reboot)', None)}}),
                ((None,), {'gpu_types': {'$(reboot)': ('1148', None)}}),
                ((None,), {'gpu_types': {PF: ('1148', None)},
                           'type_id': 1148}),
                (('1148',), {'gpu_types': {PF: ('1148', None),
                                           '01:00.0': ('1145', None)}})):
            self.assertRaises(ValueError, bootscript.render_script, *args,
                              **kwargs)
