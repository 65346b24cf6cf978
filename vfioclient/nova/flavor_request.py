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

"""What a new VF flavor asks Placement for, and how its names are made.

Nova semantics the apply/verify commands need that the other ``nova``
modules do not cover (pure functions, no I/O):

* :func:`vgpu_type_resource_class` / :func:`default_alias_name` - names
  for a vGPU type / class (``NVIDIA A40-2Q`` -> ``CUSTOM_NVIDIA_A40_2Q``,
  ``CUSTOM_NVIDIA_A40_2Q`` -> ``nvidia-a40-2q``); the plan's default
  templates (``vfioclient.rules.plan``) agree, and win where they exist;
* :func:`alias_entry` / :func:`alias_line` - the ``[pci] alias`` value for a
  resource class (strict JSON, sorted keys, parsed back with Nova's schema);
* :func:`device_spec_hint` - the matching ``[pci] device_spec`` shape;
* :func:`flavor_request` - a flavor -> the Placement request Nova's
  scheduler sends (``resources_from_flavor``, granular groups, one group per
  PCI device with ``pci_in_placement``, ``group_policy`` defaulting to
  ``none``, ``root_required=!COMPUTE_STATUS_DISABLED``), and
  :meth:`PlacementRequest.query` for ``GET /allocation_candidates``.
"""

import dataclasses
import json
import math
import re

import os_traits

from vfioclient.nova import alias as nova_alias
from vfioclient.nova import errors
from vfioclient.nova import extra_specs as nova_extra_specs
from vfioclient.nova import flavors as nova_flavors
from vfioclient.nova import names

VF_DEVICE_TYPE = 'type-VF'
DISABLED_TRAIT = os_traits.COMPUTE_STATUS_DISABLED
PCI_GROUP_PREFIX = 'pci'
# Placement microversions: string group suffixes / root_required.
STRING_SUFFIX_VERSION = (1, 33)
ROOT_REQUIRED_VERSION = (1, 35)



# -- names -------------------------------------------------------------------

def vgpu_type_resource_class(type_name):
    """``NVIDIA A40-2Q`` -> ``CUSTOM_NVIDIA_A40_2Q`` (Nova's normalisation
    of the type name).  The plan's default template
    (``vfioclient.rules.plan``) gives the same; the apply commands use that
    one, this is its Nova-level equivalent."""
    if not type_name or not type_name.strip():
        raise ValueError('empty vGPU type name')
    return names.normalize_resource_class(
        re.sub('[^0-9A-Za-z]+', '_', type_name).strip('_'))


def default_alias_name(resource_class):
    """``CUSTOM_NVIDIA_A40_2Q`` -> ``nvidia-a40-2q``."""
    body = resource_class
    if body.upper().startswith(names.CUSTOM_PREFIX):
        body = body[len(names.CUSTOM_PREFIX):]
    text = re.sub('[^0-9a-z]+', '-', body.lower()).strip('-')
    return text or resource_class.lower()


def alias_entry(name, resource_class, device_type=VF_DEVICE_TYPE,
                vendor_id=None, product_id=None, traits=None):
    """The alias dict (only keys Nova's schema allows; never ``managed``)."""
    entry = {'name': name, 'resource_class': resource_class}
    if device_type:
        entry['device_type'] = device_type
    if vendor_id:
        entry['vendor_id'] = vendor_id
    if product_id:
        entry['product_id'] = product_id
    if traits:
        entry['traits'] = traits
    return entry


def alias_line(name, resource_class, **kwargs):
    """The ``[pci] alias`` value: strict JSON with sorted keys.

    :raises errors.InvalidAlias: when Nova would refuse it.
    """
    text = json.dumps(alias_entry(name, resource_class, **kwargs),
                      sort_keys=True)
    nova_alias.parse_alias_entry(text)  # Nova's schema, or raise
    return text


def device_spec_hint(resource_class, vendor_id, product_id=None,
                     address='<VF address glob>'):
    """The ``[pci] device_spec`` shape that reports ``resource_class``.

    VFs bound to a vendor's variant driver are passed through with
    ``managed: no`` (Nova must not rebind them to ``vfio-pci``).
    """
    spec = {'address': address, 'vendor_id': vendor_id}
    if product_id:
        spec['product_id'] = product_id
    spec['resource_class'] = resource_class
    spec['managed'] = 'no'
    return json.dumps(spec)


# -- flavor -> Placement request ---------------------------------------------

@dataclasses.dataclass
class Group:
    """One request group: resources and traits (required / forbidden)."""

    resources: dict = dataclasses.field(default_factory=dict)
    required: set = dataclasses.field(default_factory=set)
    forbidden: set = dataclasses.field(default_factory=set)
    pci_alias: str = None


@dataclasses.dataclass
class PlacementRequest:
    """What Nova's scheduler asks ``GET /allocation_candidates`` for."""

    unnumbered: Group
    groups: dict
    group_policy: str = None
    root_forbidden: frozenset = frozenset((DISABLED_TRAIT,))

    def pci_groups(self):
        return {s: g for s, g in self.groups.items() if g.pci_alias}

    def pci_amounts(self):
        """``{resource_class: amount}`` over the PCI groups."""
        amounts = {}
        for group in self.pci_groups().values():
            for rc, amount in group.resources.items():
                amounts[rc] = amounts.get(rc, 0) + amount
        return amounts

    def query(self, version=ROOT_REQUIRED_VERSION, limit=None):
        """Query parameters (list of pairs) for a Placement microversion
        ``version`` (a ``(major, minor)`` tuple)."""
        if self.groups and version < STRING_SUFFIX_VERSION:
            raise ValueError('string request group suffixes need Placement '
                             '>= 1.33')
        params = []

        def add(suffix, group):
            if group.resources:
                params.append(('resources' + suffix, ','.join(
                    '%s:%d' % (rc, n)
                    for rc, n in sorted(group.resources.items()))))
            traits = sorted(group.required) + sorted(
                '!' + t for t in group.forbidden)
            if traits and group.resources:
                params.append(('required' + suffix, ','.join(traits)))

        add('', self.unnumbered)
        for suffix in sorted(self.groups):
            add(suffix, self.groups[suffix])
        if self.group_policy:
            params.append(('group_policy', self.group_policy))
        if self.root_forbidden and version >= ROOT_REQUIRED_VERSION:
            params.append(('root_required', ','.join(
                '!' + t for t in sorted(self.root_forbidden))))
        if limit:
            params.append(('limit', str(int(limit))))
        return params


def flavor_request(vcpus, ram, disk, extra_specs, aliases, ephemeral=0,
                   swap=0, include_flavor_resources=True):
    """A flavor -> :class:`PlacementRequest` as Nova builds it.

    ``aliases`` is ``{name: Alias}`` (see
    :func:`vfioclient.nova.alias.parse_aliases`).  With
    ``include_flavor_resources`` false only the device groups are asked for
    (GPU capacity regardless of CPU/RAM).

    :raises errors.NovaConfigError: an invalid ``pci_passthrough:alias`` or
        an alias that is not defined.
    """
    extra_specs = dict(extra_specs or {})
    unnumbered = Group()
    if include_flavor_resources:
        cpu_rc = 'VCPU'
        if str(extra_specs.get('hw:cpu_policy', '')).lower() == 'dedicated':
            cpu_rc = 'PCPU'
        swap_gb = int(math.ceil((swap or 0) / 1024.0))
        base = {cpu_rc: vcpus, 'MEMORY_MB': ram,
                'DISK_GB': (disk or 0) + (ephemeral or 0) + swap_gb}
        unnumbered.resources = {rc: int(n) for rc, n in base.items() if n}
    groups = {}
    for key, value in sorted(extra_specs.items()):
        m = nova_flavors.RESOURCES_KEY_RE.match(key)
        if m:
            try:
                amount = int(str(value).strip())
            except ValueError:
                raise errors.InvalidExtraSpec(
                    'extra spec %s=%s is not an integer' % (key, value))
            suffix = m.group(1) or ''
            group = unnumbered if not suffix else groups.setdefault(
                suffix, Group())
            if amount:
                group.resources[m.group('rc')] = amount
            else:
                group.resources.pop(m.group('rc'), None)
            continue
        m = nova_flavors.TRAIT_KEY_RE.match(key)
        if m:
            suffix = m.group(1) or ''
            group = unnumbered if not suffix else groups.setdefault(
                suffix, Group())
            value = str(value).strip()
            if value == 'required':
                group.required.add(m.group('trait'))
            elif value == 'forbidden':
                group.forbidden.add(m.group('trait'))
    alias_value = extra_specs.get(nova_extra_specs.ALIAS_EXTRA_SPEC)
    if alias_value:
        nova_extra_specs.validate_alias_extra_spec(alias_value)
        request_groups = nova_extra_specs.alias_request_groups(
            alias_value, aliases or {})
        for i, rg in enumerate(request_groups):
            groups['%s%d' % (PCI_GROUP_PREFIX, i)] = Group(
                resources={rg.resource_class: rg.amount},
                required=set(rg.traits), pci_alias=rg.alias_name)
    groups = {s: g for s, g in groups.items() if g.resources}
    policy = extra_specs.get('group_policy') or None
    if policy is None and len(groups) > 1:
        policy = 'none'
    return PlacementRequest(unnumbered=unnumbered, groups=groups,
                            group_policy=policy)


def aliases_from_lines(lines):
    """``{name: Alias}`` from ``[pci] alias`` values (PCI in Placement)."""
    return nova_alias.parse_aliases(lines, pci_in_placement=True)
