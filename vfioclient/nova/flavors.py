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

"""What a flavor asks Placement for, read from its extra specs as Nova does.

Covers the legacy vGPU requests (``resources[N]:VGPU=1``,
``resources[N]:CUSTOM_<MDEV_CLASS>=1``, ``trait[N]:CUSTOM_X=required``) and
PCI aliases (``pci_passthrough:alias``), and whether the flavor gives its
servers a guest NUMA topology (then a PCI device must come from their NUMA
node under the alias's default ``numa_policy``).

:data:`RESOURCES_KEY_RE` / :data:`TRAIT_KEY_RE` are Nova's extra-spec key
patterns (``ResourceRequest.XS_KEYPAT`` in ``nova/scheduler/utils.py``,
Nova 34.0.0): a prefix, an optional group suffix
``([a-zA-Z0-9_-]{1,64})?``, ``:`` and the resource class or trait.
"""

import collections
import re

import os_resource_classes

RESOURCES_KEY_RE = re.compile(
    r'^resources([a-zA-Z0-9_-]{1,64})?:(?P<rc>.+)$')
TRAIT_KEY_RE = re.compile(r'^trait([a-zA-Z0-9_-]{1,64})?:(?P<trait>.+)$')

ResourceRequest = collections.namedtuple('ResourceRequest',
                                         'group resource_class amount')


def resource_requests(extra_specs):
    """``[ResourceRequest]`` for every ``resources*:`` extra spec."""
    found = []
    for key, value in sorted((extra_specs or {}).items()):
        m = RESOURCES_KEY_RE.match(key)
        if not m:
            continue
        try:
            amount = int(str(value).strip())
        except ValueError:
            continue
        found.append(ResourceRequest(m.group(1) or '', m.group('rc'),
                                     amount))
    return found


def required_traits(extra_specs):
    """Traits a flavor requires, by group (``''`` for the unnumbered)."""
    found = {}
    for key, value in sorted((extra_specs or {}).items()):
        m = TRAIT_KEY_RE.match(key)
        if m and str(value).strip() == 'required':
            found.setdefault(m.group(1) or '', []).append(m.group('trait'))
    return found


def is_legacy_vgpu_class(resource_class, mdev_classes=()):
    """``VGPU`` or one of the custom classes an mdev config reports."""
    return (resource_class == os_resource_classes.VGPU
            or resource_class in mdev_classes)


def legacy_vgpu_count(extra_specs, mdev_classes=()):
    """Total legacy vGPUs the flavor asks for (0 when none)."""
    return sum(r.amount for r in resource_requests(extra_specs)
               if is_legacy_vgpu_class(r.resource_class, mdev_classes))


# Extra specs that give a server a guest NUMA topology, as
# ``numa_get_constraints`` in ``nova/virt/hardware.py`` (stable/2026.1)
# reads them: an explicit ``hw:numa_nodes``, CPU pinning (``hw:cpu_policy``
# ``dedicated`` or ``mixed``, or a ``resources[N]:PCPU`` request, which
# ``_get_vcpu_pcpu_resources`` turns into ``dedicated``), hugepages
# (``hw:mem_page_size``, any value) or vPMEM (``hw:pmem``).  The image
# properties ``hw_numa_nodes``, ``hw_cpu_policy`` and ``hw_mem_page_size``
# do the same; a flavor cannot show them.
NUMA_KEYS = ('hw:numa_nodes', 'hw:mem_page_size', 'hw:pmem')
PINNED_CPU_POLICIES = ('dedicated', 'mixed')
PCI_NUMA_POLICY_KEY = 'hw:pci_numa_affinity_policy'


def numa_topology_reasons(extra_specs):
    """``['hw:numa_nodes=2', ...]``: the extra specs that give the
    flavor's servers a guest NUMA topology, so that Nova applies a PCI
    request's NUMA policy to them (empty: no topology)."""
    specs = extra_specs or {}
    found = ['%s=%s' % (k, specs[k]) for k in NUMA_KEYS if specs.get(k)]
    if specs.get('hw:cpu_policy') in PINNED_CPU_POLICIES:
        found.append('hw:cpu_policy=%s' % specs['hw:cpu_policy'])
    found += ['resources%s:PCPU=%d' % (r.group, r.amount)
              for r in resource_requests(specs)
              if r.resource_class == os_resource_classes.PCPU
              and r.amount > 0]
    return found


def pci_numa_policy(extra_specs):
    """The flavor's ``hw:pci_numa_affinity_policy``, which overrides the
    alias's ``numa_policy`` (``get_pci_numa_policy_constraint`` in
    ``nova/virt/hardware.py`` and ``_translate_alias_to_requests`` in
    ``nova/pci/request.py``, stable/2026.1); None when not set."""
    return (extra_specs or {}).get(PCI_NUMA_POLICY_KEY) or None
