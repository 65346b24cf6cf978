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

"""Hand-built estates for the unit tests: snapshots and host reports.

:class:`EstateBuilder` makes cloud snapshots shaped like what Nova's libvirt
driver and Placement report (providers named as Nova names them, servers,
flavors, allocations); :class:`PlanEstateBuilder` adds whole legacy GPUs
(one provider per VF); :func:`estate_snapshot` reads a sandbox estate
as the collector would; :func:`report` collects a host report from a fake
sysfs tree.  Shared by the audit, plan, runbook and document tests, so it
lives outside any ``test_*`` module.
"""

import tempfile
import uuid

from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import cloud as model
from vfioclient.nova import providers as nova_providers
from vfioclient.sandbox import estates
from vfioclient.sandbox import fakesysfs as fake_sysfs


def uid(name):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


class EstateBuilder:
    """Builds snapshots shaped like Nova's libvirt driver output."""

    def __init__(self):
        self.providers = []
        self.allocations = []
        self.services = []
        self.hypervisors = []
        self.flavors = []
        self.servers = []
        self.placement_max = '1.39'
        self.compute_max = '2.100'

    def host(self, name, in_nova=True):
        root = model.Provider(uid(name), name, 1, None, uid(name),
                              inventories=None, usages=None)
        self.providers.append(root)
        if in_nova:
            self.services.append(model.ComputeService(
                uid('svc' + name), name, 'nova-compute', 'enabled', 'up'))
            self.hypervisors.append(model.Hypervisor(
                uid('hv' + name), name, name, 'up', 'enabled'))
        return root

    def child(self, host, name, inventories, used=None, traits=()):
        inv = {rc: model.Inventory(total=t, max_unit=t)
               for rc, t in inventories.items()}
        usages = {rc: (used or {}).get(rc, 0) for rc in inventories}
        p = model.Provider(uid(name), name, 1, uid(host), uid(host),
                           inventories=inv, usages=usages,
                           traits=tuple(sorted(traits)))
        self.providers.append(p)
        return p

    def legacy(self, host, address, total=1, rc='VGPU', used=0, traits=()):
        name = nova_providers.legacy_provider_name(host, address)
        return self.child(host, name, {rc: total}, {rc: used}, traits)

    def pci(self, host, pf, rc, total, used=0):
        name = nova_providers.pci_provider_name(host, pf)
        return self.child(host, name, {rc: total}, {rc: used},
                          traits=('COMPUTE_MANAGED_PCI_DEVICE',
                                  'OWNER_NOVA'))

    def flavor(self, name, **extra_specs):
        f = model.Flavor(uid('flavor' + name), name, 4, 8192, 40,
                         extra_specs=dict(extra_specs))
        self.flavors.append(f)
        return f

    def server(self, name, host, flavor, provider=None, rc='VGPU'):
        s = model.Server(uid('server' + name), name, 'p1', 'ACTIVE', host,
                         host, flavor.name,
                         flavor_extra_specs=dict(flavor.extra_specs))
        self.servers.append(s)
        if provider is not None:
            self.allocate(s.id, provider, rc)
        return s

    def allocate(self, consumer, provider, rc='VGPU', amount=1):
        self.allocations.append(model.Allocation(consumer, provider.uuid,
                                                 {rc: amount}))

    def snapshot(self):
        return model.build(
            collected_at='2026-11-25T00:00:00Z',
            microversions={'placement': '1.39', 'compute': '2.61'},
            placement_max_version=self.placement_max,
            compute_max_version=self.compute_max,
            providers=self.providers, allocations=self.allocations,
            resource_classes=['VGPU', 'VCPU'], services=self.services,
            hypervisors=self.hypervisors, flavors=self.flavors,
            servers=self.servers)


A40_PF = '0000:41:00.0'


class PlanEstateBuilder(EstateBuilder):
    """EstateBuilder plus whole legacy GPUs and servers on them."""

    def legacy_gpu(self, host, pf=A40_PF, vfs=8, rc='CUSTOM_NVIDIA_558',
                   used=0, traits=()):
        providers = []
        for i, vf in enumerate(estates.vf_addresses(pf, vfs)):
            providers.append(self.legacy(host, vf, rc=rc,
                                         used=1 if i < used else 0,
                                         traits=traits))
        return providers

    def servers_on(self, prefix, host, flavor, providers, count,
                   rc='CUSTOM_NVIDIA_558'):
        return [self.server('%s-%d' % (prefix, i), host, flavor,
                            providers[i], rc=rc) for i in range(count)]


def a40_flavor(b, name='vgpu.a40-2q', **extra):
    specs = {'resources:CUSTOM_NVIDIA_558': '1'}
    specs.update(extra)
    return b.flavor(name, **specs)


def two_host_estate():
    b = PlanEstateBuilder()
    b.host('cmp1')
    b.host('cmp2')
    p1 = b.legacy_gpu('cmp1', used=3)
    p2 = b.legacy_gpu('cmp2', used=1)
    f = a40_flavor(b)
    b.servers_on('vm', 'cmp1', f, p1, 3)
    b.servers_on('other', 'cmp2', f, p2, 1)
    return b


def estate_snapshot(e):
    """A Snapshot of a sandbox estate, as the collector would read it."""
    hosts = {h.name: h for h in e.hosts}
    usage = e.usage()
    providers = []
    for p in e.providers:
        root = e.root(hosts[p.host])
        providers.append(model.Provider(
            uuid=p.uuid, name=p.name, generation=1,
            parent_uuid=p.parent_uuid, root_uuid=root.uuid,
            inventories={rc: model.Inventory(**inv)
                         for rc, inv in p.inventories.items()},
            usages={rc: usage.get(p.uuid, {}).get(rc, 0)
                    for rc in p.inventories},
            traits=tuple(sorted(p.traits)), aggregates=()))
    allocations = [model.Allocation(c.uuid, rp, dict(res))
                   for c in e.consumers
                   for rp, res in c.allocations.items()]
    services = [model.ComputeService('svc-' + h.name, h.name,
                                           'nova-compute', 'enabled', 'up')
                for h in e.hosts if h.in_nova]
    hypervisors = [model.Hypervisor('hv-' + h.name,
                                          h.hypervisor_hostname, h.name,
                                          'up', 'enabled')
                   for h in e.hosts if h.in_nova]
    flavors = {f.name: f for f in e.flavors}
    servers = [model.Server(
        c.uuid, c.name, 'p', 'ACTIVE', c.host,
        hosts[c.host].hypervisor_hostname, c.flavor,
        flavor_extra_specs=dict(flavors[c.flavor].extra_specs),
        flavor_vcpus=flavors[c.flavor].vcpus,
        flavor_ram=flavors[c.flavor].ram,
        flavor_disk=flavors[c.flavor].disk) for c in e.servers]
    return model.build(
        '2026-11-25T00:00:00Z', {'placement': '1.39', 'compute': '2.100'},
        '1.39', '2.100', providers, allocations,
        e.resource_classes + ['VGPU'], services, hypervisors,
        [model.Flavor(f.flavorid, f.name, f.vcpus, f.ram, f.disk,
                            extra_specs=dict(f.extra_specs))
         for f in e.flavors], servers)


def report(preset, hostname=None, address=None):
    spec = fake_sysfs.preset(preset)
    if hostname:
        spec['hostname'] = hostname
    if address:
        spec['gpus'][0]['address'] = address
    root = tempfile.mkdtemp()
    fake_sysfs.build_host(root, spec)
    return collect_sysfs.collect_host_report(
        root, hostname=spec['hostname'],
        collected_at='2026-11-25T00:00:00Z')
