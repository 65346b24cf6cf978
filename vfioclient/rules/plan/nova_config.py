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

"""The nova.conf values the plan decides (data Nova parses, not text).

``[pci] device_spec`` values that match exactly the planned VFs, ``[pci]
alias`` values, and which options a converted host and the controllers
set or remove; with ``plan --live-migratable`` both carry
``"live_migratable": "yes"``.  The ini snippets themselves are rendered by
:mod:`vfioclient.render.novaconf`.
"""

import collections
import functools
import json

from vfioclient.model import plan as model
from vfioclient.nova import devspec
from vfioclient.nova import pci_address
from vfioclient.nvidia import pci_ids
from vfioclient.rules.plan import scheduling

NVIDIA = pci_ids.VENDOR_ID
DEVICE_TYPE = 'type-VF'


def vf_address_specs(pf, vfs):
    """``address`` values that match exactly ``vfs`` and never ``pf``.

    A whole slot of VFs becomes a glob (``0000:41:01.*``), a single VF not
    on function 0 its address, anything else a regex on the function
    (``{"domain": "0000", "bus": "41", "slot": "00", "function":
    "[4567]"}``).  A bare ``....0`` address is avoided because Nova treats
    an exact function-0 address that is a PF as "the PF and all its VFs".
    """
    return [dict(s) if isinstance(s, dict) else s
            for s in _address_specs(pf, tuple(vfs))]


# Hosts of one kind have the same PF and VF addresses: a fleet's hosts
# share a few answers, each worked out (and checked) once.
@functools.lru_cache(maxsize=1024)
def _address_specs(pf, vfs):
    by_slot = collections.OrderedDict()
    for vf in sorted(vfs):
        d, b, s, f = pci_address.parse_address(vf)
        by_slot.setdefault((d, b, s), []).append(f)
    pf_slot = pci_address.parse_address(pf)[:3]
    out = []
    for (d, b, s), funcs in by_slot.items():
        if len(funcs) == 8 and (d, b, s) != pf_slot:
            out.append('%s:%s:%s.*' % (d, b, s))
        elif len(funcs) == 1 and funcs[0] != '0':
            out.append('%s:%s:%s.%s' % (d, b, s, funcs[0]))
        else:
            out.append({'domain': d, 'bus': b, 'slot': s,
                        'function': '[%s]' % ''.join(funcs)})
    _check_address_specs(pf, vfs, out)
    return tuple(out)


def _check_address_specs(pf, vfs, specs):
    wanted = set(vfs)
    slots = {pci_address.parse_address(a)[:3] for a in list(vfs) + [pf]}
    candidates = {'%s:%s:%s.%d' % (d, b, s, f) for d, b, s in slots
                  for f in range(8)}
    for spec in specs:
        parsed = devspec.parse_device_spec({'address': spec})
        for address in candidates:
            hit = parsed.address.match(
                pci_address.parse_physical_address(address))
            if hit and address not in wanted:
                raise AssertionError('address spec %r would match %s'
                                     % (spec, address))
            wanted.discard(address) if hit else None
    if wanted:
        raise AssertionError('address specs %r miss %s'
                             % (specs, sorted(wanted)))


LIVE_MIGRATABLE = 'yes'


def device_spec_lines(gpu, live_migratable=False):
    """``[pci] device_spec`` values (JSON) for one planned GPU."""
    lines = []
    for address in vf_address_specs(gpu.address, gpu.vfs):
        spec = {'vendor_id': NVIDIA}
        if gpu.product_id:
            spec['product_id'] = gpu.product_id
        spec['address'] = address
        spec['managed'] = 'no'
        spec['resource_class'] = gpu.resource_class
        if live_migratable:
            spec['live_migratable'] = LIVE_MIGRATABLE
        lines.append(json.dumps(spec, sort_keys=False))
    return lines


@functools.lru_cache(maxsize=1024)      # the same few lines, fleet-wide
def provider_traits(device_spec_line, release):
    """The traits ``release`` (a
    :class:`~vfioclient.nova.releases.NovaRelease`) puts on the PCI
    provider of the VFs a planned device_spec line matches, sorted."""
    spec = devspec.parse_device_spec(json.loads(device_spec_line),
                                     report_in_placement=True,
                                     release=release)
    return tuple(sorted(spec.placement_traits(release)))


def alias_line(name, resource_class, vendor_id, product_id,
               live_migratable=False, numa_policy=None):
    """A ``[pci] alias`` value (JSON); ``numa_policy`` only when chosen
    (Nova's default is ``legacy``: ``get_alias_from_config`` in
    ``nova/pci/request.py``, stable/2026.1, whose schema allows
    ``required``, ``legacy``, ``preferred`` and ``socket``)."""
    value = {'device_type': DEVICE_TYPE, 'name': name,
             'resource_class': resource_class}
    if vendor_id and product_id:
        value['product_id'] = product_id
        value['vendor_id'] = vendor_id
    if live_migratable:
        value['live_migratable'] = LIVE_MIGRATABLE
    if numa_policy:
        value['numa_policy'] = numa_policy
    return json.dumps(value, sort_keys=True)


def host_conf_set(device_specs, alias_lines):
    """What a converted compute sets in nova.conf."""
    return tuple(
        [model.ConfOption('pci', 'report_in_placement', 'True')]
        + [model.ConfOption('pci', 'device_spec', s) for s in device_specs]
        + [model.ConfOption('pci', 'alias', a) for a in alias_lines]
        + [model.ConfOption('libvirt', 'live_migration_permit_post_copy',
                            'False')])


def host_conf_remove(legacy_types):
    """What a converted compute removes: its mdev vGPU options."""
    remove = [model.ConfOption('devices', 'enabled_mdev_types',
                               ', '.join(legacy_types) or None)]
    if legacy_types:
        remove += [model.ConfOption('mdev_%s' % t, '*', None)
                   for t in legacy_types]
    else:
        remove.append(model.ConfOption('mdev_*', '*', None))
    return tuple(remove)


def alias_plans(conversions, alias_of, rc_of, live_migratable=False,
                numa_policy=None):
    """One :class:`~vfioclient.model.plan.AliasPlan` per VF type; the
    product id only when every GPU of the type has the same one."""
    products = collections.defaultdict(set)
    for c in conversions:
        products[c.vf.name].add(c.plan.product_id)
    out = []
    for vf_name in sorted(products):
        ids = products[vf_name]
        product = next(iter(ids)) if len(ids) == 1 else None
        name, rc = alias_of[vf_name], rc_of[vf_name]
        out.append(model.AliasPlan(
            name=name, resource_class=rc, device_type=DEVICE_TYPE,
            vendor_id=NVIDIA if product else None, product_id=product,
            line=alias_line(name, rc, NVIDIA, product, live_migratable,
                            numa_policy),
            numa_policy=numa_policy))
    return tuple(sorted(out, key=lambda a: a.name))


def controllers(aliases, snapshot=None):
    """What nova-api, -scheduler and -conductor set, and when
    ``pci_in_placement`` goes on (:mod:`.scheduling`)."""
    return scheduling.controllers(
        [a.line for a in aliases],
        [model.ConfOption('pci', 'alias', a.line) for a in aliases]
        + [model.ConfOption('filter_scheduler', 'pci_in_placement',
                            'True')],
        aliases, snapshot)
