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

"""Fake sysfs trees of the sandbox's GPU hosts, consistent with the estate.

The sandbox has no real GPUs; for ``openstack vfio host report`` (and so
for ``vfio plan --host-report``) the demo writes, for each compute host of
an estate, the sysfs tree its providers imply: same PF and VF addresses,
mdevs where Placement shows vGPUs in use, variant-driver VFs with their
``current_vgpu_type`` where the host is converted.  Trees are built with
the fake sysfs generator (:mod:`vfioclient.sandbox.fakesysfs`).
"""

import os

from vfioclient.sandbox import estates
from vfioclient.sandbox import fakesysfs

A40_PRODUCT = '2235'
T4_PRODUCT = '1eb8'
A40_2Q = (558, 'NVIDIA A40-2Q')


def _t4_gpu(provider, used):
    return {
        'address': provider.address, 'product_id': T4_PRODUCT,
        'numa_node': 0, 'sriov_totalvfs': 16, 'vfs': 0,
        'pf_mdev_types': fakesysfs.T4_HOST['gpus'][0]['pf_mdev_types'],
        'pf_mdevs': [(fakesysfs.mdev_uuid(provider.address, i), 230)
                     for i in range(used)],
    }


def _a40_legacy_gpu(pf, vf_providers, usage):
    vfs = len(vf_providers)
    mdevs = {}
    for index, provider in enumerate(vf_providers):
        if sum(usage.get(provider.uuid, {}).values()):
            mdevs[index] = (fakesysfs.mdev_uuid(pf, index), A40_2Q[0])
    return {
        'address': pf, 'product_id': A40_PRODUCT, 'numa_node': 0,
        'sriov_totalvfs': 32, 'vfs': vfs, 'vf_mode': 'legacy',
        'vf_mdev_types': fakesysfs.A40_HOST['gpus'][0]['vf_mdev_types'],
        'vf_mdevs': mdevs, 'audio': False,
    }


def _a40_variant_gpu(pf, provider):
    (inventory,) = provider.inventories.values()
    vfs = inventory['total']
    return {
        'address': pf, 'product_id': A40_PRODUCT, 'numa_node': 0,
        'sriov_totalvfs': 32, 'vfs': vfs, 'vf_mode': 'variant',
        'creatable': [A40_2Q], 'current': {i: A40_2Q[0]
                                           for i in range(vfs)},
        'audio': False,
    }


def host_specs(estate):
    """``{hypervisor_hostname: fixture host spec}`` for the GPU hosts.

    Hosts Nova no longer knows, and GPUs with both legacy and PCI
    providers (a half-converted PF cannot exist on a real host in one
    consistent state), are left out.
    """
    usage = estate.usage()
    gpu_providers = {}     # {host name: [provider]}, one pass (10,000 hosts)
    for p in estate.providers:
        if p.kind in ('pgpu', 'pci'):
            gpu_providers.setdefault(p.host, []).append(p)
    specs = {}
    for host in estate.hosts:
        if not host.in_nova:
            continue
        by_pf = {}
        for p in gpu_providers.get(host.name, ()):
            by_pf.setdefault(p.pf, []).append(p)
        gpus = []
        for pf, providers in sorted(by_pf.items()):
            kinds = {p.kind for p in providers}
            if kinds == {'pgpu', 'pci'}:
                continue
            if kinds == {'pci'}:
                gpus.append(_a40_variant_gpu(pf, providers[0]))
            elif len(providers) == 1 and providers[0].address == pf:
                used = sum(usage.get(providers[0].uuid, {}).values())
                gpus.append(_t4_gpu(providers[0], used))
            else:
                vfs = sorted(providers, key=lambda p: p.address)
                gpus.append(_a40_legacy_gpu(pf, vfs, usage))
        if gpus:
            specs[host.hypervisor_hostname] = {
                'hostname': host.hypervisor_hostname, 'gpus': gpus,
                'other_devices': [fakesysfs.MATROX_VGA]}
    return specs


def write_trees(estate_name, directory, hosts=None):
    """Write one tree per GPU host under ``directory``; return their paths.

    ``{hypervisor_hostname: tree path}``.
    """
    estate = estates.get(estate_name, hosts)
    written = {}
    for hostname, spec in sorted(host_specs(estate).items()):
        root = os.path.join(directory, hostname)
        os.makedirs(root, exist_ok=True)
        fakesysfs.build_host(root, spec)
        written[hostname] = root
    return written
