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

"""``[pci] device_spec`` checks: each entry as Nova parses it, and
Placement's name rules once PCI in Placement is on."""

import re

from vfioclient.nova import devspec
from vfioclient.nova import errors
from vfioclient.nova import names
from vfioclient.nova import releases
from vfioclient.nvidia import pci_ids
from vfioclient.rules import findings as f

from vfioclient.rules.lint import common

def spec_error_finding(item, snapshot):
    e = item.error
    text = item.entry.text
    if isinstance(e, errors.InvalidJson):
        mistakes = common.json_mistakes(text)
        repaired = common.repair_json(text)
        message = ('%s is not strict JSON (%s%s); nova-compute refuses to '
                   'start: %s' % (common.quote(text), e.detail,
                                  '; ' + ', '.join(mistakes) if mistakes
                                  else '', e))
        remedy = ('device_spec = %s' % repaired if repaired else None)
        return f.make('VFIO-C101', item.subject, message, remedy)
    if isinstance(e, errors.WrongJsonType):
        return f.make('VFIO-C102', item.subject,
                      'nova-compute refuses to start: %s' % e)
    if isinstance(e, errors.InvalidTag):
        fixed = dict(item.raw)
        fixed[e.tag] = ('no' if e.tag == 'managed' else
                        'yes' if e.tag == 'live_migratable' else 'no')
        return f.make('VFIO-C104', item.subject,
                      '%s: nova-compute refuses to start: %s'
                      % (common.quote(common.dump(item.raw)), e),
                      'device_spec = %s (choose "yes" or "no")'
                      % common.dump(fixed))
    if isinstance(e, errors.NeedsPlacement):
        return f.make('VFIO-C105', item.subject,
                      '%s: nova-compute refuses to start: %s'
                      % (common.quote(common.dump(item.raw)), e))
    return f.make('VFIO-C103', item.subject,
                  '%s: nova-compute refuses to start: %s'
                  % (common.quote(common.dump(item.raw) if item.raw is not None
                            else text), e))


def check_placement_names(subject, raw, rc, traits, placement_on, where):
    """C107/C108 (or C161 when PCI in Placement is off)."""
    out = []
    for name, problem in common.rc_problems(rc):
        fixed = dict(raw) if isinstance(raw, dict) else None
        suggestion = (names.suggest_custom_name(rc)
                      if isinstance(rc, str) else None)
        remedy = None
        if fixed is not None and suggestion:
            fixed['resource_class'] = suggestion
            remedy = '%s = %s' % (where, common.dump(fixed))
        message = ('resource_class %s becomes %s, which %s; ' % (
            common.quote(rc), name, problem))
        if placement_on:
            out.append(f.make('VFIO-C107' if where == 'device_spec'
                              else 'VFIO-C116', subject,
                              message + 'Placement refuses it and Nova '
                              'fails to %s' % (
                                  'report the device' if where ==
                                  'device_spec' else 'schedule'), remedy))
        else:
            out.append(f.make('VFIO-C161', subject, message +
                              'this breaks once PCI in Placement is on',
                              remedy))
    for name, problem in common.trait_problems(traits):
        remedy = None
        if isinstance(traits, str) and isinstance(raw, dict):
            fixed = dict(raw)
            fixed['traits'] = ','.join(
                names.suggest_custom_name(t) if t.upper().startswith(
                    'CUSTOM_') else t
                for t in common.fixed_traits(traits).split(',') if t)
            remedy = '%s = %s' % (where, common.dump(fixed))
        message = 'traits %s give %s, which %s; ' % (
            common.quote(traits), name, problem)
        if placement_on:
            out.append(f.make('VFIO-C108' if where == 'device_spec'
                              else 'VFIO-C116', subject,
                              message + 'Placement refuses it', remedy))
        else:
            out.append(f.make('VFIO-C161', subject, message +
                              'this breaks once PCI in Placement is on',
                              remedy))
    return out


def traits_spacing(subject, raw, traits, where):
    if not isinstance(traits, str) or not traits:
        return []
    items = traits.split(',')
    if all(i == i.strip() for i in items):
        return []
    derived = ', '.join(sorted(names.get_traits(traits)))
    fixed = dict(raw)
    fixed['traits'] = common.fixed_traits(traits)
    return [f.make('VFIO-C153', subject,
                   'traits %s are not stripped by Nova and give %s'
                   % (common.quote(traits), derived),
                   '%s = %s' % (where, common.dump(fixed)))]


def _nvidia_vf_like(spec):
    """Static guess: an NVIDIA spec pinned to VF functions (not .0)."""
    if spec.vendor_id != pci_ids.VENDOR_ID or spec.address is None:
        return False
    func = spec.address.func
    if spec.address.kind == 'glob':
        return func not in (devspec.ANY, '0')
    return func not in ('.*', '0') and not re.match(func, '0')


def unknown_to_release(item, release):
    """C163 for each tag Nova knows from a later release than
    ``release``: that release keeps it as a plain tag."""
    out = []
    for tag in item.spec.tags:
        if tag in devspec.KNOWN_TAGS and not release.knows_tag(tag):
            since = releases.get(releases.TAGS_SINCE[tag])
            fixed = {k: v for k, v in item.raw.items() if k != tag}
            out.append(f.make(
                'VFIO-C163', item.subject,
                '%s does not know %s, which arrived in %s: it keeps it as '
                'a plain tag with no effect' % (
                    release, common.quote(tag), since),
                'device_spec = %s (or, if the cloud runs a newer Nova, '
                'check again with --nova-release %s or later)'
                % (common.dump(fixed), since.series)))
    return out


def check_spec(item, snapshot, release=releases.DEFAULT):
    spec, raw, subject = item.spec, item.raw, item.subject
    out = unknown_to_release(item, release)
    rip = snapshot.report_in_placement
    for key in spec.unknown_keys:
        guess = common.suggest_key(key)
        remedy = None
        if guess:
            fixed = {(guess if k == key else k): v for k, v in raw.items()}
            remedy = 'device_spec = %s' % common.dump(fixed)
        out.append(f.make(
            'VFIO-C159', subject,
            'key %s is not a key Nova knows; Nova keeps it as a tag and it '
            'has no effect%s' % (
                common.quote(key),
                ' (did you mean %s?)' % common.quote(guess) if guess else ''),
            remedy))
    if spec.devname and rip:
        out.append(f.make('VFIO-C106', subject,
                          '%s uses devname %s; with [pci] '
                          'report_in_placement Nova refuses it'
                          % (common.quote(common.dump(raw)),
                             common.quote(spec.devname))))
    if spec.in_placement:
        out += check_placement_names(subject, raw, spec.resource_class,
                                      spec.traits, rip, 'device_spec')
    out += traits_spacing(subject, raw, spec.traits, 'device_spec')
    single = spec.single_address
    if single and single.endswith('.0'):
        out.append(f.make(
            'VFIO-C152', subject,
            'address %s names one function; if it is an SR-IOV PF with VFs '
            'enabled, Nova matches the PF and every one of its VFs'
            % single))
    if _nvidia_vf_like(spec) and spec.managed is not False:
        fixed = dict(raw)
        fixed['managed'] = 'no'
        out.append(f.make(
            'VFIO-C154', subject,
            '%s matches NVIDIA VFs (vendor 10de, function %s) but managed '
            'is %s: libvirt would detach the nvidia driver from the VFs'
            % (common.quote(common.dump(raw)), spec.address.func,
               'not set' if spec.managed is None else '"yes"'),
            'device_spec = %s' % common.dump(fixed)))
    return out


def _field_key(spec):
    addr = spec.address
    if addr is None or addr.kind != 'glob':
        return None
    return (spec.vendor_id, spec.product_id) + addr.fields()


def overlaps(items):
    """C151 for pairs of glob specs whose match sets intersect."""
    keyed = [(i, _field_key(item.spec)) for i, item in enumerate(items)]
    keyed = [(i, k) for i, k in keyed if k is not None]
    exact = {}
    wild = []
    for i, key in keyed:
        if devspec.ANY in key:
            wild.append((i, key))
        else:
            exact.setdefault(key, []).append(i)
    pairs = set()
    for group in exact.values():
        for later in group[1:]:
            pairs.add((group[0], later))
    for i, key in wild:
        for j, other in keyed:
            if i != j and all(a == devspec.ANY or b == devspec.ANY or a == b
                              for a, b in zip(key, other)):
                pairs.add((min(i, j), max(i, j)))
    out = []
    for first, later in sorted(pairs):
        a, b = items[first], items[later]
        covers = all(x == devspec.ANY or x == y for x, y in
                     zip(_field_key(a.spec), _field_key(b.spec)))
        what = ('it covers every device %s matches, so %s is never used'
                % (b.subject, b.subject) if covers else
                'devices matching both get the tags of the first one only')
        out.append(f.make(
            'VFIO-C151', b.subject,
            '%s %s overlaps the earlier entry %s %s: first match wins, %s'
            % (b.subject, common.quote(common.dump(b.raw)), a.subject,
               common.quote(common.dump(a.raw)), what)))
    return out


