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

"""Follow a generated runbook, phase by phase, on Nova's own harness.

:class:`RehearsalTestCase` builds a legacy estate in Nova 34's functional
harness (real API, conductor, scheduler, computes on fake libvirt, real
Placement), runs ``openstack vfio audit`` and ``openstack vfio plan``, and
:meth:`RehearsalTestCase.rehearse` then *reads the runbook the plan
rendered* and does what it says, in the order it says it:

* ``openstack vfio ...`` lines that talk to the cloud run through the real
  OSC shell (resource classes, flavors, provider cleanup, audit, verify);
  lines that run on a GPU host (``host report``, ``config check``, ``host
  script``) are covered by other tests and skipped here;
* ``openstack compute service set`` and the server moves (``server
  resize``/``migrate`` and their confirmation) go through Nova's API;
* the host-side steps become the harness's equivalents, found by the
  text the runbook prints for them: stopping (and masking) nova-compute
  stops the service object, the persisted-mdev step removes the fake
  libvirt's mdev definitions, the driver switch removes the parents' mdev
  types, the nova.conf step sets the host's options, starting nova-compute
  starts a new compute service on the same fake hypervisor;
* the controllers' ``[filter_scheduler] pci_in_placement`` is switched in
  the phase whose text sets it.

After every phase the safety checks of :meth:`violations` run; they
return what is wrong instead of failing, so that the negative tests can
show that an unsafe runbook (the same one with its steps reordered) is
caught by them.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import json
import os
import re
import shlex
import time

import fixtures
from lxml import etree
from oslo_config import cfg

import nova.conf
from nova.tests.fixtures import libvirt as fakelibvirt

from vfioclient.nova import releases
from vfioclient.sandbox import fakesysfs as fake_sysfs

CONF = nova.conf.CONF

A40_PRODUCT = '2235'
NUM_VFS = 4

# (host, PCI bus, legacy mdev type, its name, its mdev class)
A40_HOSTS = (
    ('a40-2q-a', 0x81, 'nvidia-558', 'NVIDIA A40-2Q', 'CUSTOM_NVIDIA_558'),
    ('a40-2q-b', 0x82, 'nvidia-558', 'NVIDIA A40-2Q', 'CUSTOM_NVIDIA_558'),
    ('a40-1b-a', 0x83, 'nvidia-555', 'NVIDIA A40-1B', 'CUSTOM_NVIDIA_555'),
    ('a40-1b-b', 0x84, 'nvidia-555', 'NVIDIA A40-1B', 'CUSTOM_NVIDIA_555'),
)
PF_HOST = 'm60-legacy'          # mdev on the PF: stays legacy
PF_BUS = 0x85

# Text the runbook prints for each host step, in the order of issue 18;
# :meth:`RehearsalTestCase.host_steps` orders them by where they appear.
HOST_STEP_MARKERS = (
    ('disable', 'compute service set --disable'),
    ('drain', 'Move its servers off'),
    ('stop', 'systemctl stop nova-compute'),
    ('undefine_mdevs', "Undefine Nova's persisted mdevs"),
    ('switch_driver', 'systemctl enable vfio-vgpu-setup.service'),
    ('nova_conf', 'In nova.conf remove the legacy vGPU lines'),
    ('cleanup', 'openstack vfio provider cleanup --host %(host)s '
                '--from-plan'),
    ('start', 'systemctl start nova-compute'),
    ('verify', 'openstack vfio audit --fail-on error'),
    ('enable', 'compute service set --enable'),
)

PCI_IN_PLACEMENT_LINE = 'pci_in_placement = True'
NOVA_SERIES = releases.for_version(harness.NOVA_RELEASE).series


def _pci_address(node):
    return '%04x:%02x:%02x.%x' % tuple(
        int(node.get(k), 16) for k in ('domain', 'bus', 'slot', 'function'))


def split_phases(text):
    """``{title: body}`` of the runbook's ``## `` sections, in order."""
    phases = {}
    for chunk in re.split(r'^## ', text, flags=re.M)[1:]:
        title, _, body = chunk.partition('\n')
        phases[title.strip()] = body
    return phases


def shell_lines(body):
    """The lines of the ``shell`` code blocks of a section."""
    out = []
    for block in re.findall(r'```shell\n(.*?)```', body, flags=re.S):
        out.extend(line.strip() for line in block.splitlines()
                   if line.strip())
    return out


class RehearsalTestCase(harness.NovaTestCase):
    """The estate of issue 18's rehearsal and the runbook executor."""

    def setUp(self):
        super().setUp()
        # Cold migration and resize on fake libvirt (as Nova's own
        # test_vgpu.py does): no disks to copy.
        self.useFixture(fixtures.MockPatch(
            'nova.virt.libvirt.LibvirtDriver._get_instance_disk_info',
            return_value=[]))
        self.useFixture(fixtures.MockPatch('os.rename'))
        self.vfs = {}
        self.pci_infos = {}
        for host, bus, mdev_type, name, mdev_class in A40_HOSTS:
            info = fakelibvirt.HostPCIDevicesInfo(num_pci=0, num_pfs=0,
                                                  num_vfs=0)
            self.vfs[host] = harness.add_sriov_gpu(
                info, bus, A40_PRODUCT, NUM_VFS,
                vf_mdev_types=[(mdev_type, name, 1)], numa_node=0)
            self.pci_infos[host] = info
        # A custom mdev class needs device_addresses (Nova gives the
        # default type, the one without addresses, the class VGPU).
        self.flags(enabled_mdev_types=sorted({t for *_x, t, _n, _c in
                                              A40_HOSTS}), group='devices')
        nova.conf.devices.register_dynamic_opts(CONF)
        for mdev_type in sorted({t for *_x, t, _n, _c in A40_HOSTS}):
            hosts = [h for h, _b, t, _n, _c in A40_HOSTS if t == mdev_type]
            mdev_class = next(c for _h, _b, t, _n, c in A40_HOSTS
                              if t == mdev_type)
            self.flags(device_addresses=[a for h in hosts
                                         for a in self.vfs[h]],
                       mdev_class=mdev_class, group='mdev_%s' % mdev_type)
        for host, _bus, mdev_type, _name, _class in A40_HOSTS:
            self.flags(enabled_mdev_types=[mdev_type], group='devices')
            self.start_gpu_compute(host, self.pci_infos[host])
        self.flags(enabled_mdev_types=['nvidia-11'], group='devices')
        nova.conf.devices.register_dynamic_opts(CONF)
        self.start_gpu_compute(PF_HOST, fakelibvirt.HostPCIDevicesInfo(
            num_pci=0, num_pfs=0, num_vfs=0, num_mdevcap=1, bus=PF_BUS))
        # What a converted compute must not keep: its legacy mdev config.
        self.flags(enabled_mdev_types=[], group='devices')

        self.flavor_ids = {}
        self.flavor_ids['vgpu.a40-2q'] = self._create_flavor(
            name='vgpu.a40-2q',
            extra_spec={'resources:CUSTOM_NVIDIA_558': '1'})
        self.flavor_ids['vgpu.a40-2q.private'] = self.private_flavor(
            'vgpu.a40-2q.private', {'resources:CUSTOM_NVIDIA_558': '1'})
        self.flavor_ids['vgpu.a40-1b'] = self._create_flavor(
            name='vgpu.a40-1b',
            extra_spec={'resources:CUSTOM_NVIDIA_555': '1'})
        self.flavor_ids['vgpu.a40-1b.numa'] = self._create_flavor(
            name='vgpu.a40-1b.numa',
            extra_spec={'resources:CUSTOM_NVIDIA_555': '1',
                        'hw:numa_nodes': '1'})
        self.flavor_ids['vgpu.m60'] = self._create_flavor(
            name='vgpu.m60', extra_spec={'resources:VGPU': '1'})
        self.servers = {}
        for name, flavor, host in (
                ('private-vm', 'vgpu.a40-2q.private', 'a40-2q-a'),
                ('numa-vm', 'vgpu.a40-1b.numa', 'a40-1b-a'),
                ('m60-vm', 'vgpu.m60', PF_HOST)):
            self.servers[name] = self.boot(name, self.flavor_ids[flavor],
                                           host)
        self.converted = set()
        self.just_converted = set()
        self.stopped = {}
        self.plan_path = self.plan = self.runbook = None

    def private_flavor(self, name, extra_spec):
        body = {'flavor': {'name': name, 'ram': 2048, 'vcpus': 2,
                           'disk': 10, 'os-flavor-access:is_public': False}}
        flavor = self.admin_api.post_flavor(body)
        self.admin_api.post_extra_spec(flavor['id'],
                                       {'extra_specs': extra_spec})
        self.admin_api.api_post(
            '/flavors/%s/action' % flavor['id'],
            {'addTenantAccess': {'tenant': self.api_fixture.project_id}})
        return flavor['id']

    # -- inputs: host reports, audit, plan ----------------------------------

    def host_report(self, host, bus, mdev_type, name):
        number = int(mdev_type.split('-')[1])
        gpu = {'address': '0000:%02x:00.0' % bus, 'product_id': A40_PRODUCT,
               'sriov_totalvfs': 32, 'vfs': NUM_VFS, 'vf_mode': 'legacy',
               'vf_mdev_types': [(number, name, 32)]}
        # The host's own root: it holds the mdevctl definitions Nova made
        # for the servers' mdevs (harness.NovaTestCase._fake_create_mdev).
        root = self.host_root(host)
        fake_sysfs.build_host(root, {'hostname': host, 'gpus': [gpu]})
        rc, report, out = self.openstack(
            'vfio', 'host', 'report', '--sysfs-root', root,
            '--hostname', host)
        self.assertEqual(
            self.vfs[host], [d['address'] for d in report['devices']
                             if d.get('physfn')],
            'the fake sysfs and the fake libvirt disagree on VF addresses')
        return self.write_file('%s.json' % host, out)

    def make_plan(self):
        reports = []
        for host, bus, mdev_type, name, _c in A40_HOSTS:
            reports += ['--host-report', self.host_report(host, bus,
                                                          mdev_type, name)]
        rc, findings, _ = self.openstack('vfio', 'audit', '--concurrency',
                                         '1', *reports, expect_rc=(0, 1))
        errors = [f for f in findings if f['severity'] == 'error']
        self.assertEqual([], errors, 'the legacy estate should audit clean')
        self.plan_path = self.write_file('plan.json', '')
        runbook_path = self.write_file('runbook.md', '')
        self.openstack('vfio', 'plan', *reports, '--output', self.plan_path,
                       '--runbook', runbook_path, '--concurrency', '1',
                       '--nova-release', NOVA_SERIES)
        with open(self.plan_path, encoding='utf-8') as f:
            self.plan = json.load(f)
        with open(runbook_path, encoding='utf-8') as f:
            self.runbook = f.read()
        return self.plan, self.runbook

    def host_plan(self, host):
        for h in self.plan['hosts']:
            if h['host'] == host:
                return h
        self.fail('the plan does not convert %s' % host)

    def host_resource_class(self, host):
        classes = {g['resource_class'] for g in self.host_plan(host)['gpus']}
        self.assertEqual(1, len(classes), classes)
        return classes.pop()

    # -- the executor -------------------------------------------------------

    def host_steps(self, host, body):
        """The step names of a host phase, in the runbook's order."""
        found = []
        for step, marker in HOST_STEP_MARKERS:
            pos = body.find(marker % {'host': host})
            if pos >= 0:
                found.append((pos, step))
        return [step for _pos, step in sorted(found)]

    def rehearse(self, runbook, stop_at_first=True):
        """Do what ``runbook`` says; return the safety violations seen
        after each phase (``[(phase, problem)]``)."""
        seen = []
        for title, body in split_phases(runbook).items():
            match = re.match(r'Phase \d+: convert (\S+)', title)
            if match:
                host = match.group(1)
                for step in self.host_steps(host, body):
                    getattr(self, 'step_' + step)(host, body)
            elif title.startswith('Phase 0'):
                continue
            else:
                self.run_cloud_commands(body)
                if PCI_IN_PLACEMENT_LINE in body:
                    self.switch_pci_in_placement()
            problems = self.violations()
            seen.extend((title, p) for p in problems)
            if problems and stop_at_first:
                break
        return seen

    def run_cloud_commands(self, body):
        """The section's ``openstack vfio`` lines that act on the cloud."""
        for line in shell_lines(body):
            argv = shlex.split(line.split('  #')[0])
            if argv[:2] != ['openstack', 'vfio']:
                continue
            if argv[2] in ('host', 'config') or '>' in argv:
                continue        # runs on a GPU host: not this harness's
            if argv[2] == 'audit' and '--save-snapshot' in argv:
                continue        # phase 0 backups
            argv = [a if a != 'plan.json' else self.plan_path
                    for a in argv[2:]]
            expect = (0,)
            if argv[0] in ('audit', 'verify'):
                expect = (0, 1, 2)     # findings are checked separately
                argv += ['--concurrency', '1']
            self.openstack('vfio', *argv, expect_rc=expect, as_json=False)

    def switch_pci_in_placement(self):
        self.flags(pci_in_placement=True, group='filter_scheduler')

    def set_service(self, host, enabled):
        service = self.admin_api.get_services(host=host,
                                              binary='nova-compute')[0]
        self.admin_api.put_service(service['id'], {
            'status': 'enabled' if enabled else 'disabled'})

    def step_disable(self, host, body):
        self.set_service(host, False)

    def step_enable(self, host, body):
        self.set_service(host, True)

    def step_drain(self, host, body):
        for line in shell_lines(body.split('Check that nothing is left')[0]):
            argv = shlex.split(line.split('  #')[0])
            if argv[:3] == ['openstack', 'server', 'resize'] and \
                    argv[3] == '--flavor':
                self.resize(argv[5], argv[4])
            elif argv[:4] == ['openstack', 'server', 'resize', 'confirm']:
                self.confirm(argv[4], host)
            elif 'migrate' in argv and '--host' in argv:
                self.migrate(argv[-1], argv[argv.index('--host') + 1])
            elif argv[:4] == ['openstack', 'server', 'migrate', 'confirm']:
                self.confirm(argv[4], host)
        left = self.admin_api.get_servers(search_opts={
            'host': host, 'all_tenants': 1})
        self.assertEqual([], [s['name'] for s in left],
                         'the runbook left servers on %s' % host)

    def step_stop(self, host, body):
        compute = self.computes[host]
        compute.stop()
        self.stopped[host] = compute

    def step_undefine_mdevs(self, host, body):
        """``mdevctl undefine --uuid U --parent P`` for each line the step
        prints: mdevctl removes ``/etc/mdevctl.d/P/U`` (src/mdev.rs)."""
        step = body.split("Undefine Nova's persisted mdevs")[1]
        for line in shell_lines(step.split('Undefining leaves')[0]):
            argv = shlex.split(line.split('  #')[0])
            if argv[:2] != ['mdevctl', 'undefine']:
                continue
            uuid = argv[argv.index('--uuid') + 1]
            parent = argv[argv.index('--parent') + 1]
            os.remove(os.path.join(self.host_root(host), 'etc/mdevctl.d',
                                   parent, uuid))

    def step_switch_driver(self, host, body):
        # The reboot into the variant driver: the mdevs are gone (their
        # definitions stay unless undefined) and no parent offers a type.
        harness.stop_mdevs(self.connection(host))
        harness.remove_mdev_support(self.pci_infos[host])

    def step_nova_conf(self, host, body):
        hp = self.host_plan(host)
        for opt in hp['conf_remove']:
            try:
                CONF.clear_override(opt['option'], group=opt['section'])
            except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
                pass
        self.flags(enabled_mdev_types=[], group='devices')
        self.flags(device_spec=list(hp['device_spec']),
                   alias=list(hp['alias']), group='pci')
        for opt in hp['conf_set']:
            if opt['option'] in ('device_spec', 'alias'):
                continue
            value = opt['value']
            if value in ('True', 'False'):
                value = value == 'True'
            self.flags(**{opt['option']: value, 'group': opt['section']})
        self.flags(alias=list(self.plan['controllers']['alias']),
                   group='pci')

    def step_cleanup(self, host, body):
        self.run_cloud_commands(re.sub(
            r'(?m)^openstack vfio provider cleanup --host (?!%s ).*$'
            % re.escape(host), '', body))

    def step_start(self, host, body):
        old = self.stopped.pop(host)
        self.computes.pop(host)
        self.compute_rp_uuids.pop(host)
        cell = self.host_mappings[old.host].cell_mapping.name
        self.start_compute(host, None, None, None, None, None, None, cell,
                           old.manager.driver._get_connection())
        self.converted.add(host)
        self.just_converted.add(host)

    def step_verify(self, host, body):
        self.run_cloud_commands(body.split('Verify before')[1].split(
            'Enable the service')[0])

    # -- server moves through Nova's API ---------------------------------

    def _wait(self, server_id, states):
        for _ in range(300):
            server = self.admin_api.get_server(server_id)
            if server['status'] in states:
                return server
            time.sleep(0.1)
        self.fail('server %s stayed %s' % (server_id, server['status']))

    def resize(self, server_id, flavor_name):
        flavor = self.flavor_id(flavor_name)
        self.admin_api.post_server_action(
            server_id, {'resize': {'flavorRef': flavor}})
        server = self._wait(server_id, ('VERIFY_RESIZE', 'ERROR'))
        self.assertEqual('VERIFY_RESIZE', server['status'],
                         'resize of %s to %s failed: %s' % (
                             server['name'], flavor_name,
                             server.get('fault')))

    def migrate(self, server_id, host):
        self.admin_api.post_server_action(server_id,
                                          {'migrate': {'host': host}})
        self._wait(server_id, ('VERIFY_RESIZE',))

    def confirm(self, server_id, source_host):
        # libvirt's _cleanup_resize takes the source host from CONF.host,
        # global in this harness (Nova's test_vgpu.py does the same).
        original = CONF.host
        self.flags(host=source_host)
        try:
            self.admin_api.post_server_action(server_id,
                                              {'confirmResize': None})
            self._wait(server_id, ('ACTIVE',))
        finally:
            self.flags(host=original)

    def flavor_id(self, name):
        # is_public=None: private flavors too (Nova's flavor list API).
        for f in self.admin_api.api_get(
                '/flavors?is_public=None').body['flavors']:
            if f['name'] == name:
                return f['id']
        self.fail('no flavor %s' % name)

    # -- the safety checks -----------------------------------------------

    def violations(self):
        """What is unsafe now.  Probes run on the hosts converted in this
        phase (all converted hosts after a controllers' phase)."""
        hosts = sorted(self.just_converted or self.converted)
        self.just_converted = set()
        hosts = [h for h in hosts if self.enabled(h)]
        problems = []
        problems += self.servers_without_device()
        problems += self.legacy_flavor_probes(hosts)
        problems += self.vf_type_probes(hosts)
        problems += self.verify_disagreements()
        return problems

    def enabled(self, host):
        return self.admin_api.get_services(
            host=host, binary='nova-compute')[0]['status'] == 'enabled'

    def flavor_extra_specs(self, server):
        return server['flavor'].get('extra_specs', {})

    def servers_without_device(self):
        """Every server has its device, of the right kind and type."""
        problems = []
        vf_class = {}
        for host in self.converted:
            rc = self.host_resource_class(host)
            for a in self.host_plan(host)['gpus'][0]['vfs']:
                vf_class[a] = rc
        for server in self.admin_api.get_servers(
                search_opts={'all_tenants': 1}):
            server = self.admin_api.get_server(server['id'])
            host = server['OS-EXT-SRV-ATTR:host']
            name = server['name']
            specs = self.flavor_extra_specs(server)
            xml = etree.fromstring(self.domain_xml(host, server['id']))
            hostdevs = xml.findall('./devices/hostdev')
            if any(k.startswith('resources') and 'PCI' not in k
                   for k in specs):
                if host in self.converted:
                    problems.append('%s (legacy flavor %s) runs on the '
                                    'converted host %s' % (
                                        name, server['flavor'][
                                            'original_name'], host))
                if not [h for h in hostdevs if h.get('type') == 'mdev']:
                    problems.append('%s has no mdev in its guest XML on %s'
                                    % (name, host))
                continue
            alias = specs.get('pci_passthrough:alias')
            if not alias:
                continue
            pci = [h for h in hostdevs if h.get('type') == 'pci']
            if not pci:
                problems.append('%s has no PCI device in its guest XML on %s'
                                % (name, host))
                continue
            for h in pci:
                if h.get('managed') != 'no':
                    problems.append('%s: hostdev managed=%r on %s' % (
                        name, h.get('managed'), host))
                address = _pci_address(h.find('./source/address'))
                want = self.flavor_resource_class(specs)
                if vf_class.get(address) != want:
                    problems.append(
                        '%s (flavor for %s) got VF %s of %s on %s' % (
                            name, want, address, vf_class.get(address),
                            host))
        return problems

    def flavor_resource_class(self, specs):
        name = specs['pci_passthrough:alias'].split(':')[0]
        for a in self.plan['aliases']:
            if a['name'] == name:
                return a['resource_class']
        return None

    def probe(self, flavor_name, host):
        """Boot ``flavor_name`` on ``host``; its server if it went ACTIVE
        (deleted again), else None."""
        server = self.boot('probe', self.flavor_id(flavor_name), host,
                           expected_state=('ACTIVE', 'ERROR'))
        try:
            if server['status'] == 'ACTIVE':
                server = self.admin_api.get_server(server['id'])
                server['xml'] = self.domain_xml(
                    server['OS-EXT-SRV-ATTR:host'], server['id'])
                return server
            fault = server.get('fault', {}).get('message', '')
            self.assertIn('No valid host', fault,
                          'probe %s on %s failed for another reason'
                          % (flavor_name, host))
            return None
        finally:
            self.delete_settled(server)

    def legacy_flavor_probes(self, hosts):
        """No legacy flavor can be scheduled onto a converted host: probe
        the flavor of the host's own legacy type (its old providers' class).
        """
        problems = []
        legacy_flavor = {h: 'vgpu.a40-2q' if t == 'nvidia-558'
                         else 'vgpu.a40-1b'
                         for h, _b, t, _n, _c in A40_HOSTS}
        for host in hosts:
            server = self.probe(legacy_flavor[host], host)
            if server is not None:
                problems.append(
                    'a new server of the legacy flavor %s went ACTIVE on '
                    'the converted host %s (an mdev in its XML: %s)' % (
                        legacy_flavor[host], host,
                        "type='mdev'" in server['xml']))
        return problems

    def plan_flavor(self, resource_class):
        """A plan flavor of ``resource_class`` (the plainest one)."""
        return sorted((len(f['extra_specs']), f['name'])
                      for f in self.plan['flavors']
                      if f['resource_class'] == resource_class)[0][1]

    def vf_type_probes(self, hosts):
        """A new flavor gets a VF of its own type (``managed='no'``), and
        a flavor of another type gets no host."""
        problems = []
        classes = sorted({f['resource_class'] for f in self.plan['flavors']})
        for host in hosts:
            rc = self.host_resource_class(host)
            for other in classes:
                flavor = self.plan_flavor(other)
                server = self.probe(flavor, host)
                if other != rc and server is not None:
                    problems.append(
                        'a new server of %s (for %s) went ACTIVE on %s, '
                        'whose VFs are %s' % (flavor, other, host, rc))
                elif other == rc and server is None:
                    problems.append('%s found no VF on %s, whose VFs are '
                                    'its type %s' % (flavor, host, rc))
                elif other == rc:
                    xml = etree.fromstring(server['xml'])
                    devs = [(_pci_address(h.find('./source/address')),
                             h.get('managed'))
                            for h in xml.findall('./devices/hostdev')]
                    if len(devs) != 1 or devs[0][0] not in self.vfs[host] \
                            or devs[0][1] != 'no':
                        problems.append('%s on %s got %s, not one of its '
                                        'VFs with managed=no' % (
                                            flavor, host, devs))
        return problems

    def verify_disagreements(self):
        """``vfio verify`` counts, per flavor, the enabled converted hosts
        with a free VF of its class, as the scheduler sees them."""
        if not self.converted:
            return []
        rc, rows, _ = self.openstack(
            'vfio', 'verify', '--from-plan', self.plan_path, '--summary',
            '--concurrency', '1', expect_rc=(0, 1, 2))
        rows = {r['flavor']: r for r in rows}
        problems = []
        for f in self.plan['flavors']:
            want = 0
            for host in sorted(self.converted):
                if not self.enabled(host) or \
                        self.host_resource_class(host) != f['resource_class']:
                    continue
                provider = self.child_providers(host).get(
                    '%s_%s' % (host, self.host_plan(host)['gpus'][0][
                        'address'].upper()))
                if provider is None:
                    continue
                inventory = self._get_provider_inventory(provider['uuid'])
                usage = self._get_provider_usages(provider['uuid'])
                rc_ = f['resource_class']
                if inventory.get(rc_, {}).get('total', 0) > usage.get(rc_, 0):
                    want += 1
            got = rows.get(f['name'], {}).get('hosts')
            if got != want:
                problems.append('vfio verify says %s hosts can take %s; '
                                'Placement has %d with a free VF' % (
                                    got, f['name'], want))
        return problems
