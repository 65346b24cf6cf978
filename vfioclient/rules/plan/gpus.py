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

"""The VFs Nova gets on one GPU, and the GPU's record in the plan.

The host report's VFs (at most the profile's ``max_instance``), else the
VFs the legacy providers are named after.
"""

import dataclasses

from vfioclient.nvidia import vgpu_types
from vfioclient.model import plan as model
from vfioclient.nova import providers as nova_providers
from vfioclient.nvidia import profiles


@dataclasses.dataclass(frozen=True)
class Conversion:
    """One GPU the plan converts: its facts, VF type and plan record."""
    gpu: object                  # legacy.Gpu
    vf: object                   # vftype.VfType
    plan: model.GpuPlan


def used(provider):
    return sum((provider.usages or {}).values())


def _vfs_from_report(gpu):
    vfs = [d.address for d in gpu.report.vfs_of(gpu.address)]
    product = gpu.product_id
    if vfs:
        product = gpu.report.vfs_of(gpu.address)[0].product_id
    return vfs, product


def _vfs_from_providers(gpu, vf):
    vfs = []
    for p in gpu.legacy:
        parsed = nova_providers.parse_provider_name(p.name, gpu.host)
        if parsed and parsed.address != gpu.address:
            vfs.append(parsed.address)
    board = gpu.board or profiles.board_of_profile(vf.name)
    return sorted(vfs), gpu.product_id or profiles.vf_product_id(board)


def _max_instance(gpu, vf):
    if gpu.max_instance is not None:
        return gpu.max_instance
    profile = profiles.by_id(vf.type_id) if vf.type_id else None
    if profile is None or vgpu_types.short_name(profile.name).lower() != \
            vgpu_types.short_name(vf.name).lower():
        profile = profiles.by_name(vf.name)
    return profiles.max_instance(profile)[0]


def gpu_plan(choice, rc):
    """The :class:`~vfioclient.model.plan.GpuPlan` of a chosen GPU with
    resource class ``rc``, or a Refusal when its VFs are not known."""
    gpu, vf = choice.gpu, choice.vf
    if gpu.report is not None and gpu.report.device(gpu.address):
        vfs, product = _vfs_from_report(gpu)
        source = 'host-report'
        if not vfs:
            return model.Refusal(gpu.subject, (
                'the host report of %s shows no VFs on %s: enable SR-IOV '
                '(sriov-manage -e) and report again' % (gpu.host,
                                                        gpu.address)))
    else:
        vfs, product = _vfs_from_providers(gpu, vf)
        source = 'legacy-providers'
        if not vfs:
            return model.Refusal(gpu.subject, (
                'no VF addresses known for %s (legacy provider is on the '
                'PF): pass --host-report for %s' % (gpu.address, gpu.host)))
    if not product:
        return model.Refusal(gpu.subject, (
            'product id of %s unknown (board %s): pass --host-report for %s'
            % (gpu.address, gpu.board or '?', gpu.host)))
    max_instance = _max_instance(gpu, vf)
    if max_instance:
        vfs = vfs[:max_instance]
    before = tuple(model.ProviderRef(
        p.name, '+'.join(sorted(p.inventories)),
        sum(i.total for i in p.inventories.values()), used(p))
        for p in gpu.legacy)
    after = model.ProviderRef(
        nova_providers.pci_provider_name(gpu.host, gpu.address), rc,
        len(vfs), 0)
    return model.GpuPlan(
        address=gpu.address, board=gpu.board, product_id=product,
        legacy_type=gpu.legacy_type, legacy_name=gpu.legacy_name,
        vf_type_id=vf.type_id, vf_type_name=vf.name, resource_class=rc,
        vf_count=len(vfs), vfs=tuple(vfs), vfs_source=source,
        legacy_total=sum(i.total for p in gpu.legacy
                         for i in p.inventories.values()),
        legacy_in_use=sum(used(p) for p in gpu.legacy),
        providers_before=before, provider_after=after,
        legacy_source=gpu.legacy_source,
        legacy_source_file=gpu.legacy_source_file)
