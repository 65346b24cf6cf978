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

"""A host whose two GPUs ran two legacy types gets two VF types (issue 19).

``mixhost`` has two A40s whose VFs are mdev parents: the first runs
nvidia-558 (A40-2Q), the second nvidia-555 (A40-1B), chosen per GPU with
``[mdev_<type>] device_addresses`` and told apart in Placement by
``mdev_class``.  ``openstack vfio plan`` gives each GPU the VF type of its
legacy type.  Converted the way the plan says, Nova must accept the plan's
``device_spec`` lines (Nova takes one resource class per PF, not per host:
``PciResourceProvider.add_child`` in
``nova/compute/pci_placement_translator.py``, stable/2025.1 and later) and
report two PCI providers, one per PF, each with its own resource class and
one unit per planned VF; a server of each new flavor must boot there on a
VF of the right GPU.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import json

from lxml import etree
from oslo_config import cfg

import nova.conf
from nova.tests.fixtures import libvirt as fakelibvirt

from vfioclient.tests.conformance import scenario

CONF = nova.conf.CONF

HOST = 'mixhost'
A40 = '2235'
# bus -> (legacy type, profile, legacy class, VF resource class, VFs)
GPUS = {
    0x82: ('nvidia-558', 'NVIDIA A40-2Q', 'CUSTOM_NVIDIA_558',
           'CUSTOM_NVIDIA_A40_2Q', 4),
    0x83: ('nvidia-555', 'NVIDIA A40-1B', 'CUSTOM_NVIDIA_555',
           'CUSTOM_NVIDIA_A40_1B', 2),
}
# Every VF offers both legacy types; the config picks one per GPU.
MDEV_TYPES = [('nvidia-558', 'NVIDIA A40-2Q', 1),
              ('nvidia-555', 'NVIDIA A40-1B', 1)]


def pf(bus):
    return '0000:%02x:00.0' % bus


class MixedTypesHostTest(harness.NovaTestCase):

    def setUp(self):
        super().setUp()
        self.flags(enabled_mdev_types=[t[0] for t in GPUS.values()],
                   group='devices')
        nova.conf.devices.register_dynamic_opts(CONF)
        pci_info = fakelibvirt.HostPCIDevicesInfo(num_pci=0, num_pfs=0,
                                                  num_vfs=0)
        self.vfs = {}
        for bus, (legacy, _profile, legacy_rc, _rc, num_vfs) in sorted(
                GPUS.items()):
            self.vfs[bus] = harness.add_sriov_gpu(
                pci_info, bus, A40, num_vfs, vf_mdev_types=MDEV_TYPES)
            self.flags(device_addresses=self.vfs[bus],
                       mdev_class=legacy_rc, group='mdev_%s' % legacy)
        self.start_gpu_compute(HOST, pci_info)
        children = self.child_providers(HOST)
        self.assertEqual(
            sum(len(v) for v in self.vfs.values()), len(children),
            'Nova %s should make one legacy pGPU provider per mdev-capable '
            'VF: %s' % (harness.NOVA_RELEASE, sorted(children)))
        for bus, (_l, _p, legacy_rc, _rc, _n) in GPUS.items():
            for vf in self.vfs[bus]:
                name = '%s_pci_%s' % (HOST, vf.replace(':', '_').replace(
                    '.', '_'))
                self.assertEqual(
                    {legacy_rc}, set(self._get_provider_inventory(
                        children[name]['uuid'])),
                    'mdev_class %s on %s' % (legacy_rc, name))
        self.plan_path = self.write_file('plan.json', '')
        self.openstack('vfio', 'plan', '--nova-release',
                       scenario.NOVA_SERIES, '--output', self.plan_path,
                       '--concurrency', '1')
        with open(self.plan_path, encoding='utf-8') as f:
            self.plan = json.load(f)
        self.host = next(h for h in self.plan['hosts']
                         if h['host'] == HOST)

    def convert_host(self):
        """The plan's nova.conf on mixhost and the controllers, the VFs on
        the variant driver (no mdev types), nova-compute restarted."""
        harness.remove_mdev_support(self.connection(HOST).pci_info)
        for opt in self.host['conf_remove']:
            try:
                CONF.clear_override(opt['option'], group=opt['section'])
            except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
                pass    # never set in this harness
        for opt in (list(self.host['conf_set'])
                    + list(self.plan['controllers']['conf_set'])):
            if opt['option'] not in ('device_spec', 'alias'):
                self.flags(**{opt['option']: scenario._conf_value(
                    opt['value']), 'group': opt['section']})
        self.flags(device_spec=list(self.host['device_spec']),
                   alias=list(self.plan['controllers']['alias']),
                   group='pci')
        self.restart_compute_service(HOST)

    def test_the_plan_gives_each_gpu_its_type(self):
        self.assertEqual([], self.plan['refusals'])
        self.assertEqual(
            {pf(bus): (profile, rc, n) for bus, (_l, profile, _lrc, rc, n)
             in GPUS.items()},
            {g['address']: (g['vf_type_name'], g['resource_class'],
                            g['vf_count']) for g in self.host['gpus']})
        setup = self.host['boot_setup']
        self.assertIsNone(setup['vf_type'])
        self.assertEqual({pf(bus): GPUS[bus][1] for bus in GPUS},
                         {g['gpu']: g['vf_type'] for g in setup['vfs']})

    def test_nova_reports_one_provider_per_gpu_with_its_class(self):
        self.convert_host()
        children = self.child_providers(HOST)
        # The legacy providers stay until "vfio provider cleanup" (the
        # runbook's next step): Nova does not remove them.
        pci = {name for name in children if '_pci_' not in name}
        self.assertEqual(
            {'%s_%s' % (HOST, pf(bus).upper()) for bus in GPUS}, pci,
            'Nova %s should report one PCI provider per PF'
            % harness.NOVA_RELEASE)
        for bus, (_l, _p, _lrc, rc, num_vfs) in GPUS.items():
            rp = children['%s_%s' % (HOST, pf(bus).upper())]
            self.assertEqual(
                {rc: (num_vfs, num_vfs)},
                {c: (v['total'], v['max_unit']) for c, v in
                 self._get_provider_inventory(rp['uuid']).items()},
                'Nova %s: the VFs of %s under the class of their '
                'device_spec lines' % (harness.NOVA_RELEASE, pf(bus)))
            (gpu,) = [g for g in self.host['gpus']
                      if g['address'] == pf(bus)]
            self.assertEqual(set(gpu['provider_traits']),
                             self.provider_traits(rp['uuid']))

    def test_a_flavor_of_each_type_boots_on_its_gpu(self):
        self.convert_host()
        aliases = {a['resource_class']: a['name']
                   for a in self.plan['aliases']}
        children = self.child_providers(HOST)
        for bus, (_l, profile, _lrc, rc, _n) in sorted(GPUS.items()):
            _rc, rows, _out = self.openstack(
                'vfio', 'flavor', 'create', 'vgpu.%s.vf' % profile.split()[
                    -1].lower(), '--vcpus', '2', '--ram', '2048', '--disk',
                '10', '--resource-class', rc, '--alias', aliases[rc],
                '--concurrency', '1')
            (row,) = rows
            server = self.boot('vm-%s' % profile.split()[-1], row['id'])
            self.assertEqual(HOST, server['OS-EXT-SRV-ATTR:host'])
            rp = children['%s_%s' % (HOST, pf(bus).upper())]
            allocations = self._get_allocations_by_server_uuid(server['id'])
            self.assertEqual(
                {rc: 1}, allocations.get(rp['uuid'], {}).get('resources'),
                'Nova %s places a %s server on the PCI provider of %s; '
                'allocations: %s' % (harness.NOVA_RELEASE, rc, pf(bus),
                                     allocations))
            xml = etree.fromstring(self.domain_xml(HOST, server['id']))
            (hostdev,) = xml.findall('./devices/hostdev')
            addr = hostdev.find('./source/address')
            address = '%04x:%02x:%02x.%x' % tuple(
                int(addr.get(k), 16) for k in ('domain', 'bus', 'slot',
                                                'function'))
            self.assertIn(address, self.vfs[bus])
            self.assertEqual('no', hostdev.get('managed'))
