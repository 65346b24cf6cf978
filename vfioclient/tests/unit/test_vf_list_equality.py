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

"""The boot script and the device_spec lines of a host name the same VFs.

For every planned host of a few plans, the host's converted GPUs are built
as a fake sysfs tree (variant driver, every VF enabled), the host's boot
script is run against it, and the VFs it wrote ``current_vgpu_type`` to are
compared with the devices the host's ``[pci] device_spec`` lines match with
Nova's matching rules (:mod:`vfioclient.nova.devspec`).
"""

import os
import re
import subprocess

import fixtures
import testtools

from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import plan as plan_model
from vfioclient.nova import devspec
from vfioclient.render import bootscript
from vfioclient.rules import plan as rules
from vfioclient.sandbox import estates
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders

TOTAL_VFS = 32
_WRITE_RE = re.compile(r'writing (\d+) to .*/sys/bus/pci/devices/'
                       r'([0-9a-f:.]+)/nvidia/current_vgpu_type$')


def gap_estate():
    """Legacy providers on VFs 0, 1, 3 and 6 only: not the first N VFs."""
    b = builders.PlanEstateBuilder()
    b.host('gaps')
    vfs = estates.vf_addresses(builders.A40_PF, 8)
    for i in (0, 1, 3, 6):
        b.legacy('gaps', vfs[i], rc='CUSTOM_NVIDIA_558')
    return b


def two_gpu_estate():
    b = builders.PlanEstateBuilder()
    b.host('two')
    b.legacy_gpu('two', pf='0000:41:00.0', vfs=8)
    b.legacy_gpu('two', pf='0000:c1:00.0', vfs=8)
    return b


def mixed_types_estate():
    """Two GPUs of one host with different legacy types, so different VF
    types (and VF counts)."""
    b = builders.PlanEstateBuilder()
    b.host('mixed')
    b.legacy_gpu('mixed', pf='0000:41:00.0', vfs=8)
    b.legacy_gpu('mixed', pf='0000:c1:00.0', vfs=4, rc='CUSTOM_NVIDIA_555')
    return b


def plans():
    """``{label: plan}``: plans from legacy provider names and from host
    reports, with one and two GPUs per host."""
    a40 = builders.two_host_estate()
    a40.host('a40-host')
    a40.legacy_gpu('a40-host', rc='VGPU')
    return {
        'two hosts': rules.make_plan(
            builders.two_host_estate().snapshot()),
        'gaps': rules.make_plan(gap_estate().snapshot()),
        'two GPUs': rules.make_plan(two_gpu_estate().snapshot()),
        'two types': rules.make_plan(mixed_types_estate().snapshot()),
        'host report': rules.make_plan(a40.snapshot(), [builders.report(
            'a40', address=builders.A40_PF)]),
        'sandbox small': rules.make_plan(
            builders.estate_snapshot(estates.small()),
            options=rules.Options(maps=(('VGPU', 'NVIDIA A40-2Q'),))),
    }


class TestScriptAndDeviceSpecNameTheSameVfs(testtools.TestCase):

    def converted_tree(self, host, type_ids):
        """The host after its driver switch: each GPU on the variant
        driver with every VF enabled and every type of the host creatable
        (``type_ids``: one id, or ``{GPU: id}``), so that a GPU given
        another GPU's type would take it."""
        if isinstance(type_ids, int):
            type_ids = {g.address: type_ids for g in host.gpus}
        creatable = sorted({(type_ids[g.address], g.vf_type_name)
                            for g in host.gpus})
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, {'hostname': host.host, 'gpus': [
            {'address': g.address, 'product_id': g.product_id,
             'sriov_totalvfs': TOTAL_VFS, 'vfs': TOTAL_VFS,
             'vf_mode': 'variant', 'creatable': creatable}
            for g in host.gpus]})
        return root

    def run_script(self, script, root):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'vfio-vgpu-setup')
        with open(path, 'w') as f:
            f.write(script)
        proc = subprocess.run(
            ['sh', path], capture_output=True, text=True, timeout=120,
            env={'PATH': os.environ.get('PATH', '/usr/bin:/bin'),
                 'VFIO_SYSFS_ROOT': root,
                 'VFIO_STATE_DIR': os.path.join(tmp, 'state'),
                 'VFIO_WAIT_SECONDS': '0',
                 'VFIO_SRIOV_MANAGE': os.path.join(tmp, 'absent')})
        return proc

    @staticmethod
    def written(stdout, type_id):
        found = set()
        for line in stdout.splitlines():
            m = _WRITE_RE.search(line)
            if m and int(m.group(1)) == type_id:
                found.add(m.group(2))
        return found

    @staticmethod
    def written_ids(stdout):
        """``{VF: type id}`` the script wrote (not the clearing 0s)."""
        found = {}
        for line in stdout.splitlines():
            m = _WRITE_RE.search(line)
            if m and m.group(1) != '0':
                found[m.group(2)] = int(m.group(1))
        return found

    @staticmethod
    def type_ids(host):
        """``{GPU: id}`` the tree offers each GPU's type as: the plan's id,
        else a made-up one per type."""
        setup = host.boot_setup
        planned = {g.address: g.vf_type_id for g in host.gpus}
        return {gpu: type_id or planned[gpu]
                or 4242 + setup.types().index(vf_type)
                for gpu, vf_type, type_id in setup.gpu_types()}

    @staticmethod
    def matched(host, root):
        """Devices of the tree the host's device_spec lines match."""
        specs = devspec.parse_device_specs(host.device_spec,
                                           report_in_placement=True)
        report = collect_sysfs.collect_host_report(root, hostname=host.host,
                                                   collected_at='x')
        pfs = frozenset(d.address for d in report.devices
                        if d.sriov_totalvfs)
        return {d.address for d in report.devices
                if devspec.first_match(specs, devspec.PciDevice(
                    d.address, d.vendor_id, d.product_id, d.physfn), pfs)}

    def check_host(self, label, host):
        setup = host.boot_setup
        type_ids = self.type_ids(host)
        root = self.converted_tree(host, type_ids)
        proc = self.run_script(bootscript.render_boot_setup(setup), root)
        self.assertEqual(0, proc.returncode, '%s %s: %s'
                         % (label, host.host, proc.stderr))
        written = self.written_ids(proc.stdout)
        matched = self.matched(host, root)
        # Each planned VF gets its own GPU's type id ...
        planned = {vf: type_ids[g.address] for g in host.gpus
                   for vf in g.vfs}
        self.assertTrue(planned, '%s %s' % (label, host.host))
        self.assertEqual(matched, set(written), '%s %s' % (label, host.host))
        self.assertEqual(planned, written, '%s %s' % (label, host.host))
        report = collect_sysfs.collect_host_report(root, hostname='x',
                                                   collected_at='x')
        self.assertEqual(written, {d.address: d.current_vgpu_type
                                   for d in report.devices
                                   if d.current_vgpu_type})
        # ... and the device_spec line Nova takes for it (the first that
        # matches) gives it that GPU's resource class.
        specs = devspec.parse_device_specs(host.device_spec,
                                           report_in_placement=True)
        pfs = frozenset(g.address for g in host.gpus)
        for g in host.gpus:
            for vf in g.vfs:
                _index, spec = devspec.first_match(
                    specs, devspec.PciDevice(vf, '10de', g.product_id,
                                             g.address), pfs)
                self.assertEqual(g.resource_class, spec.resource_class,
                                 '%s %s %s' % (label, host.host, vf))
        return root, type_ids

    def test_every_planned_host(self):
        checked = 0
        for label, plan in plans().items():
            self.assertTrue(plan.hosts, label)
            for host in plan.hosts:
                self.check_host(label, host)
                checked += 1
        self.assertGreaterEqual(checked, 8)

    def test_first_n_vfs_would_differ_where_providers_leave_gaps(self):
        # What the check guards against: a script that sets the first N
        # VFs sets VFs the device_spec does not name (and misses some).
        plan = rules.make_plan(gap_estate().snapshot())
        host = plan.host('gaps')
        setup = host.boot_setup
        self.assertEqual(4, setup.vfs_per_gpu)
        root = self.converted_tree(host, 558)
        proc = self.run_script(bootscript.render_script(
            setup.vf_type, gpus=list(setup.gpus), vfs=setup.vfs_per_gpu),
            root)
        self.assertEqual(0, proc.returncode, proc.stderr)
        written = self.written(proc.stdout, 558)
        self.assertEqual(4, len(written))
        self.assertNotEqual(self.matched(host, root), written)


class TestPlanDocumentKeepsOneList(testtools.TestCase):

    def test_round_trip_and_hand_edited_list_refused(self):
        plan = rules.make_plan(gap_estate().snapshot())
        doc = plan.to_dict()
        (entry,) = doc['hosts'][0]['boot_setup']['vfs']
        self.assertEqual(builders.A40_PF, entry['gpu'])
        self.assertEqual(list(plan.hosts[0].gpus[0].vfs), entry['vfs'])
        self.assertEqual(plan, plan_model.Plan.from_dict(doc))
        entry['vfs'] = entry['vfs'][:-1]
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertIn('boot_setup.vfs does not name the VFs', str(e))
        # Plans made before the list was kept still load.
        del doc['hosts'][0]['boot_setup']['vfs']
        self.assertEqual((), plan_model.Plan.from_dict(
            doc).hosts[0].boot_setup.vfs)
