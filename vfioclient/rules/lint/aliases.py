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

"""``[pci] alias`` checks, alone and against the device specs."""


from vfioclient.nova import alias as alias_mod
from vfioclient.nova import devspec
from vfioclient.nova import names
from vfioclient.rules import findings as f

from vfioclient.rules.lint import common
from vfioclient.rules.lint import device_specs

def alias_error_finding(item):
    e = item.error
    text = item.entry.text
    try:
        devspec.load_json(text)
    except ValueError:
        repaired = common.repair_json(text)
        mistakes = common.json_mistakes(text)
        return f.make('VFIO-C110', item.subject,
                      '%s is not strict JSON%s; Nova refuses to start: %s'
                      % (common.quote(text), ' (%s)' % ', '.join(mistakes)
                         if mistakes else '', e),
                      'alias = %s' % repaired if repaired else None)
    value = devspec.load_json(text)
    if 'Unrecognized value' in e.reason:
        fixed = dict(value)
        fixed['live_migratable'] = 'yes'
        return f.make('VFIO-C112', item.subject,
                      '%s: Nova refuses to start: %s'
                      % (common.quote(text), e),
                      'alias = %s (choose "yes" or "no")' % common.dump(fixed))
    remedy = None
    message = '%s: Nova refuses to start: %s' % (common.quote(text), e)
    if isinstance(value, dict) and 'managed' in value:
        fixed = {k: v for k, v in value.items() if k != 'managed'}
        remedy = ('alias = %s and put "managed" in the matching '
                  'device_spec' % common.dump(fixed))
        message += ' (managed is a device_spec tag, not an alias key)'
    return f.make('VFIO-C111', item.subject, message, remedy)


def check_aliases(alias_items, spec_items, snapshot):
    out = []
    pip = snapshot.pci_in_placement
    good = [a for a in alias_items if a.spec is not None]
    firsts = {}
    for a in good:
        first = firsts.setdefault(a.spec.name, a)
        if first is not a:
            problem = alias_mod.merge_problem(first.spec, a.spec)
            if problem:
                out.append(f.make(
                    'VFIO-C113', a.subject,
                    'alias %s repeats name %s of %s but Nova refuses it: '
                    'Invalid PCI alias definition: %s'
                    % (common.quote(a.entry.text), common.quote(a.spec.name),
                       first.subject, problem)))
            elif pip:
                out.append(f.make(
                    'VFIO-C114', a.subject,
                    'alias name %s is also defined by %s; with '
                    '[filter_scheduler] pci_in_placement Nova refuses '
                    'aliases with several specs' % (common.quote(a.spec.name),
                                                    first.subject)))
    for a in good:
        if alias_mod.spec_lacks_ids(a.spec, pip):
            need = ('vendor_id and product_id, or resource_class' if pip
                    else 'vendor_id and product_id')
            out.append(f.make(
                'VFIO-C115', a.subject,
                'alias %s lacks %s; Nova refuses it (%s)' % (
                    common.quote(a.entry.text), need,
                    alias_mod.required_ids_problem(
                        {a.spec.name: alias_mod.Alias(
                            a.spec.name, a.spec.numa_policy, (a.spec,))},
                        pip))))
        raw = a.spec.raw
        if a.spec.resource_class or a.spec.traits:
            out += device_specs.check_placement_names(
                a.subject, raw, a.spec.resource_class, a.spec.traits, pip,
                'alias')
        out += device_specs.traits_spacing(a.subject, raw, a.spec.traits,
                                           'alias')
    valid_specs = [s for s in spec_items if s.spec]
    out += _alias_vs_specs(good, valid_specs, pip)
    out += live_migratable_pairs(good, valid_specs)
    return out


def spec_resource_class(spec):
    rc = spec.resource_class
    if rc and isinstance(rc, str):
        return names.normalize_resource_class(rc)
    return spec.placement_resource_class()


def _ids_compatible(spec, vendor, product):
    return (spec.vendor_id in (devspec.ANY, vendor.lower()) and
            spec.product_id in (devspec.ANY, product.lower()))


def _alias_vs_specs(aliases, specs, pip):
    specs = [s for s in specs if s.spec.in_placement]
    if not specs:
        return []
    out = []
    produced = {spec_resource_class(s.spec) for s in specs}
    wildcard_default = any(spec_resource_class(s.spec) is None for s in specs)
    for a in aliases:
        spec = a.spec
        if spec.vendor_id and spec.product_id and not spec.resource_class:
            shadowing = [s for s in specs
                         if _ids_compatible(s.spec, spec.vendor_id,
                                            spec.product_id)
                         and s.spec.resource_class
                         and isinstance(s.spec.resource_class, str)]
            if shadowing:
                s = shadowing[0]
                rc = names.normalize_resource_class(s.spec.resource_class)
                fixed = dict(spec.raw)
                fixed['resource_class'] = rc
                out.append(f.make(
                    'VFIO-C156', a.subject,
                    'alias %s gives only vendor_id/product_id, so with '
                    'pci_in_placement it asks Placement for %s, but %s '
                    'reports these devices as %s%s'
                    % (common.quote(a.entry.text),
                       spec.placement_resource_class(),
                       s.subject, rc, '' if pip else
                       ' (pci_in_placement is off now)'),
                    'alias = %s' % common.dump(fixed)))
                continue
        if not (pip or spec.resource_class):
            continue
        if not (spec.resource_class or (spec.vendor_id and
                                        spec.product_id)):
            continue
        rc = spec.placement_resource_class()
        if rc in produced:
            continue
        if wildcard_default and rc.startswith('CUSTOM_PCI_'):
            continue
        out.append(f.make(
            'VFIO-C155', a.subject,
            'alias %s requests %s but no device_spec produces it (they '
            'produce %s)' % (common.quote(a.entry.text), rc,
                             ', '.join(sorted(p for p in produced if p))
                             or 'nothing known')))
    return out


def _specs_for_alias(spec, specs):
    """The device_spec items that give the devices ``spec`` (an alias
    entry) asks for: same resource class, else compatible IDs."""
    if spec.resource_class:
        rc = spec.placement_resource_class()
        return [s for s in specs if spec_resource_class(s.spec) == rc]
    if spec.vendor_id and spec.product_id:
        return [s for s in specs
                if _ids_compatible(s.spec, spec.vendor_id, spec.product_id)]
    return []


def _yes_no(value):
    return {'true': 'yes', 'false': 'no'}.get(value, 'nothing')


def live_migratable_pairs(aliases, specs):
    """C123: an alias asks ``live_migratable`` "yes" (or "no") but none of
    the device_specs for its devices says the same.

    Nova's PCI filter keeps only the pools whose devices carry the same
    value as every spec of the request; a device_spec without the tag
    matches neither "yes" nor "no" (``_filter_pools_for_live_migratable_
    devices`` in ``nova/pci/stats.py``, 2025.1 and later).  The alias then
    matches no device of this configuration: servers of its flavors get
    no valid host here.
    """
    out = []
    for a in aliases:
        wanted = a.spec.spec.get('live_migratable')
        if wanted is None:
            continue
        candidates = _specs_for_alias(a.spec, specs)
        if not candidates or any(
                s.spec.tags.get('live_migratable') == wanted
                for s in candidates):
            continue
        first = candidates[0]
        fixed = dict(first.raw)
        fixed['live_migratable'] = _yes_no(wanted)
        out.append(f.make(
            'VFIO-C123', a.subject,
            'alias %s asks live_migratable "%s" but the device_spec for '
            'its devices says otherwise (%s): Nova keeps only devices whose '
            'device_spec says the same, so the alias matches none of them '
            'and servers of its flavors get no valid host' % (
                common.quote(a.entry.text), _yes_no(wanted),
                '; '.join('%s: %s' % (s.subject, _yes_no(
                    s.spec.tags.get('live_migratable')))
                    for s in candidates)),
            'device_spec = %s (or drop live_migratable from the alias, '
            'deciding that its servers cannot be live-migrated)'
            % common.dump(fixed)))
    return out
