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

"""Seed estates for the sandbox, as plain data.

An estate is what Nova's libvirt driver and resource tracker would have
left in Nova and Placement on a cloud that uses legacy NVIDIA vGPU (mdev),
part-way through a move to SR-IOV VFs reported as PCI devices in Placement.
Names, parents, inventories and traits follow Nova exactly:

* compute node root provider: named by the hypervisor hostname, uuid =
  ComputeNode.uuid, VCPU/MEMORY_MB/DISK_GB, traits COMPUTE_NODE, OWNER_NOVA
  and a few CPU/compute traits;
* legacy pGPU provider: ``<hypervisor_hostname>_<libvirt nodedev name>``,
  e.g. ``t4-01.sandbox.test_pci_0000_3b_00_0`` (mdev on the PF, T4) or
  ``a40-01.sandbox.test_pci_0000_41_00_4`` (one per VF, A40), inventory
  ``VGPU`` (or the ``mdev_class`` custom class) with max_unit = total,
  trait OWNER_NOVA only (plus traits an operator added);
* PCI-in-Placement provider: ``<hypervisor_hostname>_<PF address upper>``,
  e.g. ``a40-03.sandbox.test_0000:41:00.0``, inventory of the device_spec
  resource class with total = number of VFs, traits
  COMPUTE_MANAGED_PCI_DEVICE and OWNER_NOVA.

Nothing here talks to a cloud; :mod:`vfioclient.sandbox.seed` writes an
estate, and tests (and the audit's tests) read :meth:`Estate.expected` to
know what must be found.  Every id is derived with uuid5, so the same
estate always has the same ids.
"""

import dataclasses
import uuid

import os_traits

NAMESPACE = uuid.UUID('6f0c2b8e-2f7a-5b39-9a43-51a1d7c0b6a1')
DOMAIN = 'sandbox.test'

T4_TYPE = {'id': 'nvidia-230', 'name': 'GRID T4-1Q', 'per_pf': 16}
A40_TYPE = {'id': 'nvidia-558', 'name': 'NVIDIA A40-2Q', 'per_vf': 1}
A40_VF_RC = 'CUSTOM_NVIDIA_A40_2Q'      # device_spec resource_class
A40_MDEV_CLASS = 'CUSTOM_NVIDIA_558'    # [mdev_nvidia-558] mdev_class
A40_OPERATOR_TRAIT = 'CUSTOM_VGPU_A40_2Q'
PCI_ALIAS = 'nvidia-a40-2q'

ROOT_TRAITS = ('COMPUTE_NODE', 'OWNER_NOVA', 'HW_CPU_X86_AVX2',
               'HW_CPU_X86_SSE42', 'COMPUTE_IMAGE_TYPE_QCOW2',
               'COMPUTE_NET_VIF_MODEL_VIRTIO')
PGPU_TRAITS = ('OWNER_NOVA',)
PCI_TRAITS = (os_traits.COMPUTE_MANAGED_PCI_DEVICE, os_traits.OWNER_NOVA)

DEMO_PROJECT = 'demo'
DEMO_USER = 'demo'


def make_uuid(kind, name):
    """Deterministic uuid for an object of ``kind`` called ``name``."""
    return str(uuid.uuid5(NAMESPACE, '%s:%s' % (kind, name)))


def nodedev_name(address):
    """libvirt node-device name of a PCI address: pci_0000_41_00_4."""
    return 'pci_' + address.lower().replace(':', '_').replace('.', '_')


def vf_addresses(pf, count, first=4):
    """Addresses of the first ``count`` VFs of an NVIDIA PF.

    NVIDIA Ampere VFs start at function 4 of the PF's device and go on in
    the next devices: 41:00.4 .. 41:00.7, 41:01.0 .. 41:01.7, ...
    """
    dom, bus, devfn = pf.split(':')
    dev = int(devfn.split('.')[0], 16)
    out = []
    for i in range(first, first + count):
        out.append('%s:%s:%02x.%d' % (dom, bus, dev + i // 8, i % 8))
    return out


def inventory(total, **kw):
    inv = {'total': total, 'reserved': 0, 'min_unit': 1,
           'max_unit': total, 'step_size': 1, 'allocation_ratio': 1.0}
    inv.update(kw)
    return inv


@dataclasses.dataclass
class Host:
    name: str                 # nova-compute service host
    vcpus: int = 64
    memory_mb: int = 262144
    disk_gb: int = 1800
    in_nova: bool = True      # False: compute service and node are gone
    gpu: str = ''             # description, for humans

    @property
    def hypervisor_hostname(self):
        return '%s.%s' % (self.name, DOMAIN)

    @property
    def uuid(self):
        # ComputeNode.uuid == root resource provider uuid
        return make_uuid('compute-node', self.hypervisor_hostname)

    def root_inventories(self):
        return {
            'VCPU': inventory(self.vcpus, allocation_ratio=4.0),
            'MEMORY_MB': inventory(self.memory_mb, reserved=512),
            'DISK_GB': inventory(self.disk_gb),
        }


@dataclasses.dataclass
class Provider:
    name: str
    host: str                 # Host.name
    kind: str                 # 'root', 'pgpu' or 'pci'
    parent_uuid: str = None
    inventories: dict = dataclasses.field(default_factory=dict)
    traits: tuple = ()
    address: str = ''         # PCI address of the parent device (pgpu/pci)
    pf: str = ''              # PF address

    @property
    def uuid(self):
        if self.kind == 'root':
            return make_uuid('compute-node', self.name)
        return make_uuid('rp', self.name)


@dataclasses.dataclass
class Flavor:
    name: str
    vcpus: int
    ram: int
    disk: int
    extra_specs: dict

    @property
    def flavorid(self):
        return make_uuid('flavor', self.name)


@dataclasses.dataclass
class Consumer:
    """A Placement consumer; a Nova server when ``server`` is True."""
    name: str
    allocations: dict         # {rp uuid: {rc: amount}}
    server: bool = True
    host: str = None          # Host.name in Nova's server record
    flavor: str = None

    @property
    def uuid(self):
        return make_uuid('server' if self.server else 'consumer', self.name)


class Estate:
    def __init__(self, name):
        self.name = name
        self.hosts = []
        self.providers = []
        self.flavors = []
        self.consumers = []
        self.trouble = {
            'stale_pgpu_providers': [],
            'orphan_allocations': [],
            'misplaced_servers': [],
            'converted_hosts': [],
            'mixed_pfs': [],
        }
        self._by_name = {}

    # -- building -----------------------------------------------------
    def add_host(self, host):
        self.hosts.append(host)
        self._add(Provider(name=host.hypervisor_hostname, host=host.name,
                           kind='root',
                           inventories=host.root_inventories(),
                           traits=ROOT_TRAITS))
        return host

    def _add(self, provider):
        if provider.name in self._by_name:
            raise ValueError('duplicate provider %s' % provider.name)
        self.providers.append(provider)
        self._by_name[provider.name] = provider
        return provider

    def root(self, host):
        return self._by_name[host.hypervisor_hostname]

    def add_pgpu(self, host, address, total, rc='VGPU', traits=(), pf=''):
        name = '%s_%s' % (host.hypervisor_hostname, nodedev_name(address))
        return self._add(Provider(
            name=name, host=host.name, kind='pgpu',
            parent_uuid=self.root(host).uuid,
            inventories={rc: inventory(total)},
            traits=tuple(PGPU_TRAITS) + tuple(traits),
            address=address, pf=pf or address))

    def add_pci(self, host, pf, vfs, rc=A40_VF_RC):
        name = '%s_%s' % (host.hypervisor_hostname, pf.upper())
        return self._add(Provider(
            name=name, host=host.name, kind='pci',
            parent_uuid=self.root(host).uuid,
            inventories={rc: inventory(vfs)},
            traits=PCI_TRAITS, address=pf, pf=pf))

    def add_flavor(self, flavor):
        self.flavors.append(flavor)
        return flavor

    def flavor(self, name):
        return next(f for f in self.flavors if f.name == name)

    def add_server(self, name, host, flavor, alloc_host=None, device=None):
        """A Nova server on ``host``; allocated on ``alloc_host`` (default
        ``host``): root gets the flavor's VCPU/MEMORY_MB/DISK_GB and
        ``device`` (a Provider) gets the flavor's device resources."""
        fl = self.flavor(flavor)
        allocs = self._allocs(alloc_host or host, fl, device)
        c = Consumer(name=name, allocations=allocs, server=True,
                     host=host.name, flavor=flavor)
        self.consumers.append(c)
        return c

    def add_orphan(self, name, host, flavor, device=None):
        c = Consumer(name=name, server=False,
                     allocations=self._allocs(host, self.flavor(flavor),
                                              device))
        self.consumers.append(c)
        self.trouble['orphan_allocations'].append(
            {'consumer': c.uuid, 'host': host.hypervisor_hostname})
        return c

    def _allocs(self, host, flavor, device):
        allocs = {self.root(host).uuid: {
            'VCPU': flavor.vcpus, 'MEMORY_MB': flavor.ram,
            'DISK_GB': flavor.disk}}
        if device is not None:
            (rc,) = device.inventories
            allocs[device.uuid] = {rc: 1}
        return allocs

    # -- reading ------------------------------------------------------
    @property
    def servers(self):
        return [c for c in self.consumers if c.server]

    @property
    def resource_classes(self):
        return sorted({rc for p in self.providers for rc in p.inventories
                       if rc.startswith('CUSTOM_')})

    @property
    def custom_traits(self):
        return sorted({t for p in self.providers for t in p.traits
                       if t.startswith('CUSTOM_')})

    def provider(self, name):
        return self._by_name[name]

    def usage(self):
        """{rp uuid: {rc: used}} summed over all consumers."""
        out = {}
        for c in self.consumers:
            for rp, res in c.allocations.items():
                for rc, n in res.items():
                    out.setdefault(rp, {}).setdefault(rc, 0)
                    out[rp][rc] += n
        return out

    def expected(self):
        """The estate's contents, as plain JSON-able data."""
        hosts = {h.name: h for h in self.hosts}
        return {
            'estate': self.name,
            'compute_hosts': sorted(h.name for h in self.hosts if h.in_nova),
            'hypervisors': {h.hypervisor_hostname: h.uuid
                            for h in self.hosts if h.in_nova},
            'flavors': {f.name: {'id': f.flavorid, 'vcpus': f.vcpus,
                                 'ram': f.ram, 'disk': f.disk,
                                 'extra_specs': dict(f.extra_specs)}
                        for f in self.flavors},
            'servers': {c.name: {'id': c.uuid, 'host': c.host,
                                 'node': hosts[c.host].hypervisor_hostname,
                                 'flavor': c.flavor}
                        for c in self.servers},
            'providers': {p.name: {'uuid': p.uuid, 'kind': p.kind,
                                   'host': p.host,
                                   'parent_provider_uuid': p.parent_uuid,
                                   'inventories': {
                                       rc: inv['total'] for rc, inv
                                       in p.inventories.items()},
                                   'traits': sorted(p.traits)}
                          for p in self.providers},
            'allocations': {c.uuid: c.allocations for c in self.consumers},
            'resource_classes': self.resource_classes,
            'custom_traits': self.custom_traits,
            'trouble': self.trouble,
        }


# ---------------------------------------------------------------------------
FLAVORS = (
    Flavor('vgpu.t4-1q', 4, 8192, 40, {'resources:VGPU': '1'}),
    Flavor('vgpu.a40-2q', 4, 16384, 40, {'resources:VGPU': '1'}),
    Flavor('vgpu.a40-2q.custom', 4, 16384, 40, {
        'resources:%s' % A40_MDEV_CLASS: '1',
        'trait:%s' % A40_OPERATOR_TRAIT: 'required'}),
    Flavor('vf.a40-2q', 4, 16384, 40, {
        'pci_passthrough:alias': '%s:1' % PCI_ALIAS}),
)


def _a40_on_vfs(e):
    """a40-01: one A40 with mdev nvidia-558 on 8 VFs (one pGPU provider per
    VF, total 1 each) and 3 servers on its first VFs."""
    host = e.add_host(Host('a40-01', gpu='1x A40, mdev nvidia-558 on VFs'))
    vfs = [e.add_pgpu(host, vf, 1, pf='0000:41:00.0')
           for vf in vf_addresses('0000:41:00.0', 8)]
    for i in range(3):
        e.add_server('vgpu-a40-%d' % (i + 1), host, 'vgpu.a40-2q',
                     device=vfs[i])
    return host


def small():
    """A handful of hosts with every kind of trouble the audit knows."""
    e = Estate('small')
    for f in FLAVORS:
        e.add_flavor(f)

    # T4: mdev on the PF, one pGPU provider with 16 x T4-1Q.
    t4 = e.add_host(Host('t4-01', gpu='1x T4, mdev nvidia-230'))
    t4_gpu = e.add_pgpu(t4, '0000:3b:00.0', T4_TYPE['per_pf'])
    e.add_server('vgpu-t4-1', t4, 'vgpu.t4-1q', device=t4_gpu)
    e.add_server('vgpu-t4-2', t4, 'vgpu.t4-1q', device=t4_gpu)

    # T4 whose mdev was disabled: the provider stays (Nova never removes
    # it when no mdev types are enabled), with nothing allocated.
    t4b = e.add_host(Host('t4-02', gpu='1x T4, mdev disabled'))
    stale = e.add_pgpu(t4b, '0000:3b:00.0', T4_TYPE['per_pf'])
    e.trouble['stale_pgpu_providers'].append(
        {'provider': stale.name, 'uuid': stale.uuid, 'host': t4b.name,
         'reason': 'mdev-disabled'})

    # A40 legacy: one pGPU provider per VF, total 1 each.
    a1 = _a40_on_vfs(e)

    # A40 with a custom mdev_class and an operator trait.
    a2 = e.add_host(Host('a40-02', gpu='1x A40, mdev_class %s'
                         % A40_MDEV_CLASS))
    a2_vfs = [e.add_pgpu(a2, vf, 1, rc=A40_MDEV_CLASS,
                         traits=(A40_OPERATOR_TRAIT,), pf='0000:41:00.0')
              for vf in vf_addresses('0000:41:00.0', 4)]
    for i in range(2):
        e.add_server('vgpu-a40-custom-%d' % (i + 1), a2,
                     'vgpu.a40-2q.custom', device=a2_vfs[i])

    # Already converted: VFs reported as PCI devices in Placement.
    a3 = e.add_host(Host('a40-03', gpu='1x A40, 8 VFs in Placement'))
    a3_pci = e.add_pci(a3, '0000:41:00.0', 8)
    e.add_server('vf-a40-1', a3, 'vf.a40-2q', device=a3_pci)
    e.trouble['converted_hosts'].append(
        {'host': a3.name, 'providers': [a3_pci.name]})

    # One PF with mixed VFs: 4 VFs in Placement, 4 still mdev parents.
    a4 = e.add_host(Host('a40-04', gpu='1x A40, mixed PF'))
    a4_pci = e.add_pci(a4, '0000:41:00.0', 4)
    a4_vfs = [e.add_pgpu(a4, vf, 1, pf='0000:41:00.0')
              for vf in vf_addresses('0000:41:00.0', 4, first=8)]
    e.add_server('vgpu-a40-mixed-1', a4, 'vgpu.a40-2q', device=a4_vfs[0])
    e.add_server('vf-a40-mixed-1', a4, 'vf.a40-2q', device=a4_pci)
    e.trouble['mixed_pfs'].append(
        {'host': a4.name, 'pf': '0000:41:00.0', 'pci_provider': a4_pci.name,
         'legacy_providers': [p.name for p in a4_vfs]})

    # A host whose compute service is gone; its providers stay.
    gone = e.add_host(Host('t4-03', in_nova=False,
                           gpu='1x T4, compute service deleted'))
    gone_gpu = e.add_pgpu(gone, '0000:3b:00.0', T4_TYPE['per_pf'])
    e.trouble['stale_pgpu_providers'].append(
        {'provider': gone_gpu.name, 'uuid': gone_gpu.uuid,
         'host': gone.name, 'reason': 'compute-service-gone'})

    # An allocation whose consumer is not a Nova server.
    e.add_orphan('orphan-1', t4, 'vgpu.t4-1q', device=t4_gpu)

    # A server whose host is a40-01 but whose allocation is on t4-01.
    mis = e.add_server('vgpu-misplaced-1', a1, 'vgpu.t4-1q',
                       alloc_host=t4, device=t4_gpu)
    e.trouble['misplaced_servers'].append(
        {'server': mis.uuid, 'host': a1.name,
         'allocated_on': t4.hypervisor_hostname})
    return e


def large(hosts=50):
    """``hosts`` compute nodes for benchmarks.

    Every host has one A40 PF whose first 4 VFs are legacy pGPU providers
    (VGPU total 1); even hosts have 2 of them allocated.  Every 4th host
    also has a second PF already converted (PCI provider, 4 VFs), with one
    allocation on it.
    """
    if hosts < 1:
        raise ValueError('hosts must be >= 1')
    e = Estate('large')
    for f in FLAVORS:
        e.add_flavor(f)
    for i in range(hosts):
        h = e.add_host(Host('lg-%04d' % (i + 1), gpu='A40'))
        vfs = [e.add_pgpu(h, vf, 1, pf='0000:41:00.0')
               for vf in vf_addresses('0000:41:00.0', 4)]
        if i % 2 == 0:
            for j in range(2):
                e.add_server('lg-%04d-vgpu-%d' % (i + 1, j + 1), h,
                             'vgpu.a40-2q', device=vfs[j])
        if i % 4 == 0:
            pci = e.add_pci(h, '0000:81:00.0', 4)
            e.add_server('lg-%04d-vf-1' % (i + 1), h, 'vf.a40-2q',
                         device=pci)
            e.trouble['converted_hosts'].append(
                {'host': h.name, 'providers': [pci.name]})
    return e


def legacy():
    """A healthy, purely legacy estate: nothing wrong, everything to move.

    A T4 host (mdev on the PF) and an A40 host (one provider per VF), their
    flavors and servers; no trouble at all.
    """
    e = Estate('legacy')
    for f in FLAVORS[:2]:
        e.add_flavor(f)
    t4 = e.add_host(Host('t4-01', gpu='1x T4, mdev nvidia-230'))
    t4_gpu = e.add_pgpu(t4, '0000:3b:00.0', T4_TYPE['per_pf'])
    for i in range(2):
        e.add_server('vgpu-t4-%d' % (i + 1), t4, 'vgpu.t4-1q',
                     device=t4_gpu)
    _a40_on_vfs(e)
    return e


def converted():
    """A healthy, fully converted estate: VFs in Placement, VF flavors."""
    e = Estate('converted')
    e.add_flavor(FLAVORS[3])
    for n in (1, 2):
        h = e.add_host(Host('a40-%02d' % n, gpu='1x A40, 8 VFs'))
        pci = e.add_pci(h, '0000:41:00.0', 8)
        for i in range(n):
            e.add_server('vf-a40-%d-%d' % (n, i + 1), h, 'vf.a40-2q',
                         device=pci)
        e.trouble['converted_hosts'].append(
            {'host': h.name, 'providers': [pci.name]})
    return e


def edge():
    """Trouble the ``small`` estate leaves out, for the audit's tests.

    * one A40 whose legacy VF providers carry two classes (VGPU and a
      custom mdev class): the GPU cannot be converted as it is;
    * a host with 8 identical legacy VF providers and a flavor asking for
      two of them (bug 2070257 risk);
    * a converted host whose resource class no flavor asks for;
    * a flavor asking for a custom class no provider has, and an old
      flavor whose class Placement would reject (made before Nova's API
      validated extra specs).
    """
    e = Estate('edge')
    e.add_flavor(FLAVORS[1])
    e.add_flavor(Flavor('vgpu.a40-2q.x2', 8, 32768, 40, {
        'resources1:VGPU': '1', 'resources2:VGPU': '1',
        'group_policy': 'isolate'}))
    e.add_flavor(Flavor('vgpu.gone', 4, 8192, 40, {
        'resources:CUSTOM_NVIDIA_999': '1'}))
    e.add_flavor(Flavor('vgpu.badname', 4, 8192, 40, {
        'resources:CUSTOM_a40-2q': '1'}))
    mixed = e.add_host(Host('a40-11', gpu='1x A40, two mdev classes'))
    vfs = vf_addresses('0000:41:00.0', 4)
    for i, vf in enumerate(vfs):
        e.add_pgpu(mixed, vf, 1, rc='VGPU' if i < 2 else A40_MDEV_CLASS,
                   pf='0000:41:00.0')
    wide = e.add_host(Host('a40-12', gpu='1x A40, 8 VF providers'))
    for vf in vf_addresses('0000:41:00.0', 8):
        e.add_pgpu(wide, vf, 1, pf='0000:41:00.0')
    spare = e.add_host(Host('a40-13', gpu='1x A40, VFs nobody asks for'))
    e.add_pci(spare, '0000:41:00.0', 4, rc='CUSTOM_NVIDIA_A40_4Q')
    e.trouble['mixed_pfs'].append(
        {'host': mixed.name, 'pf': '0000:41:00.0', 'pci_provider': None,
         'legacy_providers': [p.name for p in e.providers
                              if p.host == mixed.name and p.kind == 'pgpu']})
    return e


ESTATES = {'small': small, 'large': large, 'legacy': legacy,
           'converted': converted, 'edge': edge}


def get(name, hosts=None):
    """Build estate ``name``; ``hosts`` only applies to ``large``."""
    if name not in ESTATES:
        raise KeyError('unknown estate %r (known: %s)'
                       % (name, ', '.join(sorted(ESTATES))))
    if name == 'large':
        return large(hosts or 50)
    return ESTATES[name]()
