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

"""Test 2: legacy vGPU estates made by Nova, read by ``openstack vfio audit``.

Nova (see :mod:`harness` for the release) builds three legacy layouts with
its fake libvirt and boots servers on them with VGPU flavors:

* ``t4host``: mdevs on the PF (Turing style), two GPUs, 16 x nvidia-11 each;
* ``a40host``: an Ampere GPU whose 4 VFs are each an mdev parent
  (nvidia-558, one instance per VF): Nova makes one pGPU provider per VF;
* ``customhost``: one GPU whose nvidia-12 type has
  ``mdev_class = CUSTOM_NVIDIA_12``.

The audit, through the real OSC shell against that Nova API and Placement,
must find and classify every legacy provider, flavor, server and allocation
exactly, with no other finding; ``openstack vfio plan --nova-conf`` given
the nova.conf the estate was built from must read from it the type and
class Nova gave each GPU.  Then trouble is made the way it happens:
the A40 host is switched to the variant driver (mdev types gone, mdev
disabled in nova.conf) and its compute restarted, which leaves Nova's pGPU
providers stale; a server's record is deleted behind Placement's back.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import fixtures

import nova.conf
from nova.tests.fixtures import libvirt as fakelibvirt

from vfioclient.sandbox import fakesysfs as fake_sysfs

CONF = nova.conf.CONF

A40_PRODUCT = '2235'
A40_VF_TYPE = ('nvidia-558', 'NVIDIA A40-2Q', 1)
T4_HOST, A40_HOST, CUSTOM_HOST = 't4host', 'a40host', 'customhost'
CUSTOM_CLASS = 'CUSTOM_NVIDIA_12'


class LegacyEstateTest(harness.NovaTestCase):

    def setUp(self):
        super().setUp()
        self.a40_vfs = ['0000:82:00.%d' % f for f in (4, 5, 6, 7)]
        # One nova.conf for all three hosts: nvidia-11 is the default type
        # (no device_addresses), nvidia-558 on the A40's VFs, nvidia-12 with
        # a custom class on customhost's GPU.
        self.flags(enabled_mdev_types=['nvidia-11', 'nvidia-558',
                                       'nvidia-12'], group='devices')
        nova.conf.devices.register_dynamic_opts(CONF)
        self.flags(device_addresses=self.a40_vfs, group='mdev_nvidia-558')
        self.flags(device_addresses=['0000:83:00.0'], group='mdev_nvidia-12')
        self.flags(mdev_class=CUSTOM_CLASS, group='mdev_nvidia-12')

        self.start_gpu_compute(T4_HOST, fakelibvirt.HostPCIDevicesInfo(
            num_pci=0, num_pfs=0, num_vfs=0, num_mdevcap=2))
        a40 = fakelibvirt.HostPCIDevicesInfo(num_pci=0, num_pfs=0,
                                             num_vfs=0)
        vfs = harness.add_sriov_gpu(a40, 0x82, A40_PRODUCT, 4,
                                    vf_mdev_types=[A40_VF_TYPE])
        self.assertEqual(self.a40_vfs, vfs)
        self.start_gpu_compute(A40_HOST, a40)
        self.start_gpu_compute(CUSTOM_HOST, fakelibvirt.HostPCIDevicesInfo(
            num_pci=0, num_pfs=0, num_vfs=0, num_mdevcap=1,
            multiple_gpu_types=True, bus=0x83))

        self.flavors = {}
        for name, specs in (('vgpu.t4-1q', {'resources:VGPU': '1'}),
                            ('vgpu.a40-2q', {'resources:VGPU': '1'}),
                            ('vgpu.custom', {'resources:%s' % CUSTOM_CLASS:
                                             '1'}),
                            ('m1.plain', None)):
            self.flavors[name] = self._create_flavor(name=name,
                                                     extra_spec=specs)
        self.servers = {}
        for name, flavor, host in (('t4-vm', 'vgpu.t4-1q', T4_HOST),
                                   ('a40-vm1', 'vgpu.a40-2q', A40_HOST),
                                   ('a40-vm2', 'vgpu.a40-2q', A40_HOST),
                                   ('custom-vm', 'vgpu.custom', CUSTOM_HOST),
                                   ('plain-vm', 'm1.plain', T4_HOST)):
            self.servers[name] = self.boot(name, self.flavors[flavor], host)
        self.expected_layout()

    def expected_layout(self):
        """What Nova must have made, checked in Placement directly."""
        layout = {
            T4_HOST: {'%s_pci_0000_81_0%d_0' % (T4_HOST, i): ('VGPU', 16)
                      for i in (0, 1)},
            A40_HOST: {'%s_pci_0000_82_00_%d' % (A40_HOST, f): ('VGPU', 1)
                       for f in (4, 5, 6, 7)},
            CUSTOM_HOST: {'%s_pci_0000_83_00_0' % CUSTOM_HOST: (CUSTOM_CLASS,
                                                                8)},
        }
        self.providers = {}
        for host, expected in layout.items():
            children = self.child_providers(host)
            got = {}
            for name, rp in children.items():
                inv = self._get_provider_inventory(rp['uuid'])
                got[name] = tuple((rc, v['total']) for rc, v in inv.items())
                self.providers[name] = rp['uuid']
            self.assertEqual(
                {n: (v,) for n, v in expected.items()}, got,
                'Nova %s no longer makes the legacy pGPU providers this test '
                'expects on %s (one per mdev parent, named <host>_<libvirt '
                'nodedev>, total = instances of the configured type, '
                'mdev_class as resource class)' % (harness.NOVA_RELEASE,
                                                   host))

    def audit(self, *extra, expect_rc=(0,)):
        rc, data, _ = self.openstack('vfio', 'audit', '--concurrency', '1',
                                     *extra, expect_rc=expect_rc)
        return data

    @staticmethod
    def pairs(findings):
        return sorted((f['code'], f['subject']) for f in findings)

    def flavor_subject(self, name):
        return 'flavor %s (%s)' % (name, self.flavors[name])

    def server_subject(self, name):
        return 'server %s (%s)' % (name, self.servers[name]['id'])

    def provider_subject(self, name):
        return 'provider %s (%s)' % (name, self.providers[name])

    def assertFindings(self, expected, findings, situation):
        expected = sorted(expected)
        got = self.pairs(findings)
        missing = [p for p in expected if p not in got]
        extra = [p for p in got if p not in expected]
        self.assertEqual(
            expected, got,
            '%s: the audit disagrees with the estate Nova %s built.\n'
            'missed: %s\nfalse findings: %s\nall findings:\n%s'
            % (situation, harness.NOVA_RELEASE, missing, extra,
               '\n'.join('%s %s: %s' % (f['code'], f['subject'],
                                        f['message'])
                         for f in findings)))

    def test_legacy_estate_classified_exactly(self):
        findings = self.audit()
        self.assertFindings(
            [('VFIO-A101', 'host %s' % h)
             for h in (T4_HOST, A40_HOST, CUSTOM_HOST)]
            + [('VFIO-A102', self.flavor_subject(f))
               for f in ('vgpu.t4-1q', 'vgpu.a40-2q', 'vgpu.custom')]
            + [('VFIO-A103', self.server_subject(s))
               for s in ('t4-vm', 'a40-vm1', 'a40-vm2', 'custom-vm')],
            findings, 'legacy estate')
        messages = {(f['code'], f['subject']): f['message']
                    for f in findings}
        for host, text in ((T4_HOST, '1 of 32 VGPU in use on 2 legacy '
                            'provider(s)'),
                           (A40_HOST, '2 of 4 VGPU in use on 4 legacy '
                            'provider(s)'),
                           (CUSTOM_HOST, '1 of 8 %s in use on 1 legacy '
                            'provider(s)' % CUSTOM_CLASS)):
            self.assertEqual(text, messages[('VFIO-A101', 'host %s' % host)],
                             'legacy capacity of %s as Nova reports it'
                             % host)
        for flavor, text in (('vgpu.t4-1q', 'VGPU=1; 1 server(s)'),
                             ('vgpu.a40-2q', 'VGPU=1; 2 server(s)'),
                             ('vgpu.custom', '%s=1; 1 server(s)'
                              % CUSTOM_CLASS)):
            self.assertIn(text, messages[('VFIO-A102',
                                          self.flavor_subject(flavor))])

        # Every allocation on a legacy provider belongs to the server the
        # audit names, on the provider Nova allocated.
        for name in ('t4-vm', 'a40-vm1', 'a40-vm2', 'custom-vm'):
            allocs = self._get_allocations_by_server_uuid(
                self.servers[name]['id'])
            legacy = [(self._get_provider_name(rp), a['resources'])
                      for rp, a in allocs.items()
                      if rp in self.providers.values()]
            self.assertEqual(1, len(legacy), '%s allocations: %s'
                             % (name, allocs))
            rp_name, resources = legacy[0]
            self.assertIn(rp_name, messages[('VFIO-A103',
                                             self.server_subject(name))])

        self.assertEqual(
            self.pairs(findings),
            self.pairs(self.audit('--strategy', 'per-provider')),
            'the bulk and per-provider collectors read Nova\'s estate '
            'differently')

        rc, rows, _ = self.openstack('vfio', 'audit', '--summary',
                                     '--concurrency', '1')
        summary = {r['host']: r for r in rows}
        self.assertEqual(
            {T4_HOST: (2, 32, 1, 1), A40_HOST: (1, 4, 2, 2),
             CUSTOM_HOST: (1, 8, 1, 1)},
            {h: (r['gpus'], r['legacy_vgpu_total'], r['legacy_vgpu_used'],
                 r['servers_to_move']) for h, r in summary.items()},
            'audit --summary (gpus, legacy total, used, servers to move) '
            'per host; the A40 host\'s 4 VF providers are one GPU')

    def test_plan_reads_the_types_from_the_same_nova_conf(self):
        """``vfio plan --nova-conf``: the file this estate was built from
        gives each GPU the type and the resource class Nova gave its
        providers (the default type's VGPU, mdev_class for listed
        addresses), so no GPU is refused as "not the file it runs"."""
        conf = self.write_file('gpu-hosts-nova.conf', (
            '[devices]\nenabled_mdev_types = nvidia-11, nvidia-558, '
            'nvidia-12\n\n[mdev_nvidia-558]\ndevice_addresses = %s\n\n'
            '[mdev_nvidia-12]\ndevice_addresses = 0000:83:00.0\n'
            'mdev_class = %s\n' % (','.join(self.a40_vfs), CUSTOM_CLASS)))
        a40 = 'gpu 0000:82:00.0 on %s' % A40_HOST
        rc, plan, _ = self.openstack('vfio', 'plan', '--concurrency', '1')
        refusals = {r['subject']: r['reason'] for r in plan['refusals']}
        self.assertIn('legacy vGPU type unknown', refusals[a40])
        rc, plan, _ = self.openstack('vfio', 'plan', '--concurrency', '1',
                                     '--nova-conf', '*host=%s' % conf)
        self.assertEqual(
            [(A40_HOST, CUSTOM_HOST, T4_HOST)],
            [tuple(r['hosts']) for r in plan['inputs']['nova_confs']])
        refusals = {r['subject']: r['reason'] for r in plan['refusals']}
        self.assertNotIn(a40, refusals)
        for subject, reason in refusals.items():
            self.assertNotIn('is not what nova-compute', reason,
                             '%s: the file Nova %s runs is read otherwise'
                             % (subject, harness.NOVA_RELEASE))
            self.assertNotIn('gives it', reason, subject)
        gpu = plan['hosts'][0]['gpus'][0]
        self.assertEqual(
            (A40_HOST, 'nvidia-558', 'nova-conf', conf, 4),
            (plan['hosts'][0]['host'], gpu['legacy_type'],
             gpu['legacy_source'], gpu['legacy_source_file'],
             gpu['vf_count']))

    def _get_provider_name(self, rp_uuid):
        return self.placement.get('/resource_providers/%s' % rp_uuid
                                  ).body['name']

    def _variant_host_report(self):
        """``vfio host report`` of a40host after the driver switch."""
        root = self.useFixture(fixtures.TempDir()).path
        fake_sysfs.build_host(root, {
            'hostname': A40_HOST,
            'gpus': [{'address': '0000:82:00.0', 'product_id': A40_PRODUCT,
                      'sriov_totalvfs': 32, 'vfs': 4, 'vf_mode': 'variant',
                      'creatable': [(558, 'NVIDIA A40-2Q')]}]})
        rc, report, out = self.openstack(
            'vfio', 'host', 'report', '--sysfs-root', root,
            '--hostname', A40_HOST)
        return self.write_file('a40host-report.json', out)

    def test_trouble_stale_providers_and_orphans(self):
        # 1. a40host moves to the variant driver: its VFs stop offering
        #    mdev types, mdev is disabled in nova.conf, compute restarts.
        harness.remove_mdev_support(self.connection(A40_HOST).pci_info)
        self.flags(enabled_mdev_types=[], group='devices')
        self.restart_compute_service(A40_HOST)
        self.flags(enabled_mdev_types=['nvidia-11', 'nvidia-558',
                                       'nvidia-12'], group='devices')
        a40_rps = {n for n in self.providers if n.startswith(A40_HOST)}
        still = {n: self._get_provider_inventory(u)
                 for n, u in self.providers.items() if n in a40_rps}
        self.assertEqual(
            {n: 1 for n in a40_rps},
            {n: inv.get('VGPU', {}).get('total') for n, inv in still.items()},
            'Nova %s is expected to leave pGPU providers (and their VGPU '
            'inventory) untouched when a compute restarts with mdev '
            'disabled (_update_provider_tree_for_vgpu returns early); it '
            'changed them' % harness.NOVA_RELEASE)
        used = {n for n in a40_rps
                if self._get_provider_usages(self.providers[n])['VGPU']}
        self.assertEqual(2, len(used))

        # 2. A server's record disappears behind Placement's back.
        orphan = self.servers['t4-vm']['id']
        self.destroy_instance_record(orphan)
        self.assertTrue(self._get_allocations_by_server_uuid(orphan),
                        'destroying the instance row must not touch '
                        'Placement')

        report = self._variant_host_report()
        findings = self.audit('--host-report', report, expect_rc=(2,))
        self.assertFindings(
            [('VFIO-A101', 'host %s' % h)
             for h in (T4_HOST, A40_HOST, CUSTOM_HOST)]
            + [('VFIO-A102', self.flavor_subject(f))
               for f in ('vgpu.t4-1q', 'vgpu.a40-2q', 'vgpu.custom')]
            + [('VFIO-A103', self.server_subject(s))
               for s in ('a40-vm1', 'a40-vm2', 'custom-vm')]
            + [('VFIO-A105', self.provider_subject(n)) for n in used]
            + [('VFIO-A118', 'host %s' % A40_HOST)]
            + [('VFIO-A106', 'consumer %s' % orphan)],
            findings, 'after the driver switch on %s and a lost server '
            'record' % A40_HOST)
        messages = {(f['code'], f['subject']): f['message']
                    for f in findings}
        converted = messages[('VFIO-A118', 'host %s' % A40_HOST)]
        for name in a40_rps - used:
            self.assertIn('%s (%s)' % (name, self.providers[name]),
                          converted)
        for name in used:
            self.assertNotIn(self.providers[name], converted)

        # The same hazard from the host's nova.conf alone (no host report):
        # the file the compute was restarted with enables no mdev type.
        conf = self.write_file('a40host-nova.conf',
                               '[devices]\nenabled_mdev_types =\n')
        by_conf = self.audit('--nova-conf', '%s=%s' % (A40_HOST, conf),
                             expect_rc=(2,))
        self.assertIn(('VFIO-A118', 'host %s' % A40_HOST),
                      {(f['code'], f['subject']) for f in by_conf})
        self.assertIn('VGPU=1', messages[('VFIO-A106',
                                          'consumer %s' % orphan)])
        self.assertIn('0 server(s)', messages[(
            'VFIO-A102', self.flavor_subject('vgpu.t4-1q'))])
