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

"""The scenario conformance tests 3-5 share: a legacy A40 host, its plan,
and the host converted the way the plan says.

``gpuhost`` is an A40 whose 4 VFs are mdev parents (Nova makes one pGPU
provider per VF).  :class:`ConvertedHostTestCase` starts it, makes the plan
with ``openstack vfio plan`` from its host report, and
:meth:`~ConvertedHostTestCase.convert_host` applies the plan: the VFs move
to NVIDIA's variant driver (no mdev types any more) and nova-compute
restarts with the plan's nova.conf lines.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import json

import fixtures
from oslo_config import cfg

import nova.conf
from nova.tests.fixtures import libvirt as fakelibvirt

from vfioclient.nova import releases
from vfioclient.sandbox import fakesysfs as fake_sysfs

CONF = nova.conf.CONF

HOST = 'gpuhost'
PF = '0000:82:00.0'
A40_PRODUCT = '2235'
LEGACY_TYPE = ('nvidia-558', 'NVIDIA A40-2Q', 1)
VF_TYPE = (558, 'NVIDIA A40-2Q')
RESOURCE_CLASS = 'CUSTOM_NVIDIA_A40_2Q'
# The series of the pinned Nova: every plan here passes it explicitly.
NOVA_SERIES = releases.for_version(harness.NOVA_RELEASE).series


class ConvertedHostTestCase(harness.NovaTestCase):
    """A legacy A40 host, its plan, and the host converted by the plan."""

    NUM_VFS = 4
    PLAN_OPTIONS = ()      # more "vfio plan" options

    def setUp(self):
        super().setUp()
        self.flags(enabled_mdev_types=[LEGACY_TYPE[0]], group='devices')
        nova.conf.devices.register_dynamic_opts(CONF)
        pci_info = fakelibvirt.HostPCIDevicesInfo(num_pci=0, num_pfs=0,
                                                  num_vfs=0)
        self.vfs = harness.add_sriov_gpu(pci_info, 0x82, A40_PRODUCT,
                                         self.NUM_VFS,
                                         vf_mdev_types=[LEGACY_TYPE])
        self.start_gpu_compute(HOST, pci_info)
        self.legacy_flavor = self._create_flavor(
            name='vgpu.a40-2q', extra_spec={'resources:VGPU': '1'})
        self.assertEqual(
            {'%s_pci_%s' % (HOST, a.replace(':', '_').replace('.', '_'))
             for a in self.vfs},
            set(self.child_providers(HOST)),
            'Nova %s should make one legacy pGPU provider per mdev-capable '
            'VF' % harness.NOVA_RELEASE)
        self.plan_path, self.plan = self.make_plan()

    def host_report(self, mode):
        """The host report ``vfio host report`` gives for ``gpuhost``."""
        gpu = {'address': PF, 'product_id': A40_PRODUCT,
               'sriov_totalvfs': 32, 'vfs': self.NUM_VFS}
        if mode == 'legacy':
            gpu.update(vf_mode='legacy',
                       vf_mdev_types=[(VF_TYPE[0], VF_TYPE[1], 24)])
        else:
            gpu.update(vf_mode='variant', creatable=[VF_TYPE],
                       current={i: VF_TYPE[0] for i in range(self.NUM_VFS)})
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, {'hostname': HOST, 'gpus': [gpu]})
        rc, report, out = self.openstack(
            'vfio', 'host', 'report', '--sysfs-root', root,
            '--hostname', HOST)
        self.assertEqual(
            self.vfs, [d['address'] for d in report['devices']
                       if d.get('physfn')],
            'the fake sysfs and the fake libvirt disagree on VF addresses')
        return self.write_file('%s-%s.json' % (HOST, mode), out)

    def make_plan(self):
        report = self.host_report('legacy')
        out = self.write_file('plan.json', '')
        # No vGPU is in use, so nothing names the legacy type: say it.
        self.openstack('vfio', 'plan', '--host-report', report,
                       '--map', 'VGPU=%s' % VF_TYPE[1],
                       '--nova-release', NOVA_SERIES,
                       '--output', out, '--concurrency', '1',
                       *self.PLAN_OPTIONS)
        with open(out, encoding='utf-8') as f:
            plan = json.load(f)
        return out, plan

    def host_plan(self):
        for host in self.plan['hosts']:
            if host['host'] == HOST:
                return host
        self.fail('the plan has no entry for %s: %s' % (HOST, self.plan))

    def convert_host(self):
        """Apply the plan's nova.conf to gpuhost and restart nova-compute.

        The VFs switch to the variant driver: they stop offering mdev
        types.  Controllers get the plan's alias and pci_in_placement.
        """
        host = self.host_plan()
        harness.remove_mdev_support(self.connection(HOST).pci_info)
        for opt in host['conf_remove']:
            try:
                CONF.clear_override(opt['option'], group=opt['section'])
            except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
                pass    # never set in this harness
        self.flags(device_spec=list(host['device_spec']),
                   alias=list(host['alias']), group='pci')
        for opt in (list(host['conf_set'])
                    + list(self.plan['controllers']['conf_set'])):
            if opt['option'] in ('device_spec', 'alias'):
                continue
            self.flags(**{opt['option']: _conf_value(opt['value']),
                          'group': opt['section']})
        self.flags(alias=list(self.plan['controllers']['alias']),
                   group='pci')
        self.restart_compute_service(HOST)

    def pci_provider(self):
        name = '%s_%s' % (HOST, PF.upper())
        children = self.child_providers(HOST)
        self.assertIn(
            name, children,
            'Nova %s did not report the PCI provider %s for the plan\'s '
            'device_spec; providers: %s' % (harness.NOVA_RELEASE, name,
                                            sorted(children)))
        return children[name]

    def create_vf_flavor(self, name, count=1, disk=10):
        """``openstack vfio flavor create``; returns the flavor id."""
        alias = self.plan['aliases'][0]
        rc, rows, _ = self.openstack(
            'vfio', 'flavor', 'create', name, '--vcpus', '2', '--ram',
            '2048', '--disk', str(disk), '--resource-class',
            RESOURCE_CLASS, '--alias', alias['name'],
            '--count', str(count), '--concurrency', '1')
        self.assertEqual(1, len(rows), rows)
        row = rows[0]
        self.assertEqual('%s:%d' % (alias['name'], count),
                         row['extra_specs'].get('pci_passthrough:alias'),
                         row)
        return row['id']


def _conf_value(value):
    if value in ('True', 'False'):
        return value == 'True'
    return value
