"""Config lint: nova.conf PCI / vGPU options judged with Nova's semantics.

:func:`lint` is pure: a :class:`vfioclient.model.conf.ConfSnapshot` (and
optionally a :class:`vfioclient.model.host.HostReport`) in, findings out.
Errors are exactly what makes Nova 34 refuse the configuration, or what
Placement refuses once ``[pci] report_in_placement`` /
``[filter_scheduler] pci_in_placement`` is on; warnings are accepted
configurations that do not do what they seem to.
"""

import dataclasses
import difflib
import json
import re

from vfioclient.nova import alias as alias_mod
from vfioclient.nova import devspec
from vfioclient.nova import errors
from vfioclient.nova import mdev as mdev_mod
from vfioclient.nova import names
from vfioclient.nova import pci_address
from vfioclient.nvidia import pci_ids
from vfioclient.rules import findings as f
from vfioclient.rules.findings import define

E, W, INFO = f.ERROR, f.WARNING, f.INFO

# -- catalogue -------------------------------------------------------------
define('VFIO-C101', E, 'device_spec is not strict JSON',
       'Nova reads each [pci] device_spec value with json.loads: unquoted '
       'keys, single quotes, trailing commas or Python literals make '
       'nova-compute refuse to start ("Invalid [pci]device_spec config: '
       'Invalid entry").',
       'Quote every key and string with double quotes; the finding shows '
       'the repaired line when a repair is possible.')
define('VFIO-C102', E, 'device_spec is not an object or list of objects',
       'A device_spec value must be a JSON object or a JSON list of '
       'objects; anything else is refused at start-up.',
       'Write one {...} object per device_spec line.')
define('VFIO-C103', E, 'device_spec field refused',
       'vendor_id/product_id must be hex up to FFFF, the address must be '
       'a valid glob ([[[[dom]:]bus]:][slot][.[func]]) or regex dict, '
       'devname and address cannot be combined; Nova refuses the '
       'configuration otherwise.',
       'Fix the field as the message says.')
define('VFIO-C104', E, 'device_spec boolean tag cannot be parsed',
       'managed, live_migratable and one_time_use are parsed with oslo '
       'strutils strict booleans; any other value is refused at start-up.',
       'Use "yes" or "no" (or true/false).')
define('VFIO-C105', E, 'one_time_use without report_in_placement',
       'one_time_use=true requires [pci] report_in_placement = True.',
       'Enable [pci] report_in_placement or drop one_time_use.')
define('VFIO-C106', E, 'devname with PCI in Placement',
       'With [pci] report_in_placement Nova refuses device_spec entries '
       'that use devname.',
       'Use the PCI address instead of devname.')
define('VFIO-C107', E, 'resource class refused by Placement',
       'Nova only upper-cases a resource_class that already starts with '
       'CUSTOM_ and does not check it; Placement refuses names outside '
       '^CUSTOM_[A-Z0-9_]+$ (max 255), so nova-compute fails to report '
       'the device. A non-string value makes nova-compute crash.',
       'Use a name made of A-Z, 0-9 and _ (the finding suggests one).')
define('VFIO-C108', E, 'trait refused by Placement',
       'Traits are split on "," without stripping and normalised like '
       'resource classes; a CUSTOM_ trait with other characters, an empty '
       'item (CUSTOM_) or a non-string value is refused.',
       'Use comma separated names without spaces, made of A-Z, 0-9, _.')
define('VFIO-C110', E, 'alias is not strict JSON',
       'Each [pci] alias value is read with json.loads; nova-api and '
       'nova-compute refuse to start on invalid JSON.',
       'Quote every key and string with double quotes.')
define('VFIO-C111', E, 'alias refused by the alias schema',
       'Aliases are checked against Nova\'s JSON schema: only name, '
       'vendor_id, product_id (4 hex digits), device_type (type-PCI, '
       'type-PF, type-VF), numa_policy, resource_class, traits, '
       'live_migratable and capability_type are allowed (managed is a '
       'device_spec tag).',
       'Remove or fix the key the message names.')
define('VFIO-C112', E, 'alias live_migratable cannot be parsed',
       'live_migratable in an alias is a strict boolean string.',
       'Use "yes" or "no".')
define('VFIO-C113', E, 'alias entries with one name disagree',
       'Entries sharing a name must have the same numa_policy and must all '
       'set the same device_type (a missing device_type on either entry '
       'fails with the bare message \'dev_type\').',
       'Give every entry of the name the same numa_policy and device_type.')
define('VFIO-C114', E, 'repeated alias name with pci_in_placement',
       'With [filter_scheduler] pci_in_placement an alias name may have '
       'only one entry.',
       'Use one entry and give the devices one resource_class in '
       'device_spec.')
define('VFIO-C115', E, 'alias without device IDs',
       'Without pci_in_placement every alias needs vendor_id and '
       'product_id; with it, both IDs or a resource_class.',
       'Add vendor_id and product_id (or resource_class with '
       'pci_in_placement).')
define('VFIO-C116', E, 'alias asks Placement for a refused name',
       'With pci_in_placement the alias resource class and traits are '
       'normalised like device_spec ones and sent to Placement.',
       'Use names made of A-Z, 0-9 and _.')
define('VFIO-C117', E, 'option value refused by oslo.config',
       'An option has a value of the wrong type or outside its pattern '
       '(for example mdev_class must match ^(VGPU|CUSTOM_[A-Z0-9_]+)$); '
       'Nova fails when it reads it.',
       'Fix the value as the message says.')
define('VFIO-C118', E, 'one GPU address under two mdev types',
       'The libvirt driver refuses the same device_addresses entry under '
       'two enabled mdev types.',
       'List each address under one [mdev_<type>] only.')
define('VFIO-C119', E, 'mdev device address is not a PCI address',
       'device_addresses items must be dddd:bb:ss.f (or a virtual mdev '
       'parent that exists on the host, e.g. mtty).',
       'Write full PCI addresses such as 0000:41:00.4.')
define('VFIO-C120', E, 'one_time_use on a VF',
       'With PCI in Placement only type-PCI and type-PF devices may carry '
       'one_time_use (any value).',
       'Remove one_time_use from the spec that matches VFs.')
define('VFIO-C121', E, 'PF and its VFs both matched',
       'With [pci] report_in_placement Nova refuses to report a PF and its '
       'VFs together (one Placement provider per PF).',
       'Match either the PF or its VFs.')
define('VFIO-C122', E, 'VFs of one PF differ in resource class or traits',
       'With [pci] report_in_placement all VFs of one PF land on one '
       'resource provider and must share one resource class and one trait '
       'set; Nova refuses otherwise.',
       'Give all VFs of a PF the same resource_class and traits.')

define('VFIO-C150', W, 'option name Nova does not have',
       'oslo.config silently ignores unknown options such as dev_spec (a '
       'name used in the upstream live-migration docs).',
       'Rename it to device_spec.')
define('VFIO-C151', W, 'overlapping device_spec entries',
       'Nova uses the first device_spec that matches a device; tags of '
       'later overlapping entries never apply to those devices.',
       'Make the entries disjoint or order them from specific to general.')
define('VFIO-C152', W, 'device_spec names a PF address',
       'An exact address of a PF with SR-IOV enabled (sriov_totalvfs > 0) '
       'also matches every VF of that PF.',
       'Name VF addresses (or a glob of them) instead of the PF.')
define('VFIO-C153', W, 'traits with spaces',
       'Trait items are not stripped: "blue, big" gives CUSTOM_BLUE and '
       'CUSTOM__BIG; aliases must then spell them the same way.',
       'Remove the spaces after the commas.')
define('VFIO-C154', W, 'NVIDIA VF spec without managed "no"',
       'VFs of NVIDIA vGPU (vendor-specific VFIO) stay bound to the nvidia '
       'driver; without "managed": "no" libvirt detaches that driver and '
       'the guest fails or the host crashes.',
       'Add "managed": "no" to the entry.')
define('VFIO-C155', W, 'alias resource class nobody provides',
       'No device_spec produces the resource class this alias requests, '
       'so scheduling with pci_in_placement finds no host.',
       'Use the resource class of a device_spec entry.')
define('VFIO-C156', W, 'vendor/product alias for a device with a '
       'resource_class',
       'An alias with only vendor_id/product_id asks Placement for '
       'CUSTOM_PCI_<V>_<P>, but the matching device_spec reports another '
       'class.',
       'Put the device_spec resource_class in the alias.')
define('VFIO-C157', W, 'legacy mdev and SR-IOV specs on one GPU',
       'The same GPU is configured both for legacy mdev vGPU '
       '(enabled_mdev_types) and as PCI devices in device_spec.',
       'Use one model per GPU.')
define('VFIO-C158', W, '[mdev_*] section for a type not enabled',
       'Nova only reads [mdev_<type>] groups of types listed in [devices] '
       'enabled_mdev_types; others are ignored.',
       'Add the type to enabled_mdev_types or remove the section.')
define('VFIO-C159', W, 'unknown device_spec key',
       'Nova keeps unknown device_spec keys silently as tags (they even '
       'split PCI pools); a typo therefore has no effect.',
       'Fix the key name or remove it.')
define('VFIO-C160', W, 'mdev type dropped',
       'Only the first enabled mdev type without device_addresses becomes '
       'the default; later ones are dropped.',
       'Give the type device_addresses or remove it.')
define('VFIO-C161', W, 'Placement would refuse once enabled',
       'resource_class/traits that Placement refuses are harmless while '
       'PCI in Placement is off, but break nova-compute when it is '
       'switched on.',
       'Fix the name now.')
define('VFIO-C162', W, 'deprecated option name',
       'The option still works under its deprecated name.',
       'Use the current option name.')
define('VFIO-C170', W, 'device_spec matches no device',
       'No device in the host report matches this entry.',
       'Check vendor_id, product_id and address against the host.')
define('VFIO-C171', INFO, 'devices matched by device_spec',
       'Which host devices this entry gives to Nova (first match wins).',
       'None needed.')
define('VFIO-C172', W, 'PF and its VFs both matched',
       'A PF and its VFs are both assignable; using one makes the others '
       'unavailable (with PCI in Placement this is refused).',
       'Match either the PF or its VFs.')
define('VFIO-C173', W, 'nvidia-bound VFs not managed "no"',
       'The entry matches VFs bound to the nvidia driver without '
       '"managed": "no"; libvirt would detach the driver.',
       'Add "managed": "no".')
define('VFIO-C174', W, 'enabled mdev type not offered',
       'The GPU does not list the enabled type in mdev_supported_types, '
       'so Nova reports no vGPU inventory for it.',
       'Enable a type the GPU offers.')
define('VFIO-C175', W, 'mdev device address not on the host',
       'device_addresses names a device the host report does not have.',
       'Fix the address.')

NVIDIA = pci_ids.VENDOR_ID
DEPRECATED_NAMES = {
    ('pci', 'passthrough_whitelist'): '[pci] device_spec',
    ('DEFAULT', 'pci_passthrough_whitelist'): '[pci] device_spec',
    ('DEFAULT', 'pci_alias'): '[pci] alias',
    ('devices', 'enabled_vgpu_types'): '[devices] enabled_mdev_types',
}


# -- parsed view shared by check and show ----------------------------------
@dataclasses.dataclass(frozen=True)
class SpecItem:
    """One device_spec object (a line may hold a list of them)."""

    entry: object            # ConfEntry
    item: int | None         # 1-based position in a list value, else None
    raw: object              # the JSON value of the object, if parsed
    spec: devspec.DeviceSpec | None
    error: errors.NovaConfigError | None

    @property
    def subject(self):
        if self.item is None:
            return self.entry.subject
        return '%s item %d' % (self.entry.subject, self.item)


@dataclasses.dataclass(frozen=True)
class AliasItem:
    entry: object
    spec: alias_mod.AliasSpec | None
    error: errors.NovaConfigError | None

    @property
    def subject(self):
        return self.entry.subject


def parse_spec_items(snapshot):
    """Every device_spec object of the snapshot, valid or not."""
    result = []
    rip = snapshot.report_in_placement
    for entry in snapshot.device_specs:
        try:
            objects = devspec.split_device_spec_line(entry.text)
        except errors.InvalidDeviceSpec as e:
            result.append(SpecItem(entry, None, None, None, e))
            continue
        many = len(objects) > 1
        for number, obj in enumerate(objects, 1):
            item = number if many else None
            try:
                spec = devspec.parse_device_spec(obj, rip)
                result.append(SpecItem(entry, item, obj, spec, None))
            except errors.InvalidDeviceSpec as e:
                result.append(SpecItem(entry, item, obj, None, e))
    return result


def parse_alias_items(snapshot):
    result = []
    for entry in snapshot.aliases:
        try:
            result.append(AliasItem(
                entry, alias_mod.parse_alias_entry(entry.text), None))
        except errors.InvalidAlias as e:
            result.append(AliasItem(entry, None, e))
    return result


def valid_aliases(snapshot):
    """``{name: Alias}`` of the alias entries Nova accepts one by one.

    Entries that are refused, or that cannot join the first entry of their
    name, are left out (they are reported by :func:`lint`), so callers can
    still translate flavors for the names that work.
    """
    firsts = {}
    kept = []
    for item in parse_alias_items(snapshot):
        if item.spec is None:
            continue
        first = firsts.setdefault(item.spec.name, item.spec)
        if first is item.spec or not alias_mod.merge_problem(first,
                                                             item.spec):
            kept.append(item.spec)
    return alias_mod.group_entries(kept)


# -- helpers ---------------------------------------------------------------
def _quote(text, limit=200):
    text = text if isinstance(text, str) else json.dumps(text)
    if len(text) > limit:
        text = text[:limit] + '...'
    return "'%s'" % text


def _dump(obj):
    return json.dumps(obj, separators=(', ', ': '))


_SINGLE_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_BARE_KEY = re.compile(r'([{,]\s*)([A-Za-z_][A-Za-z0-9_\-]*)(\s*):')
_TRAILING_COMMA = re.compile(r',(\s*[}\]])')
_PY_LITERALS = {'True': 'true', 'False': 'false', 'None': 'null'}


def repair_json(text):
    """Best-effort strict JSON for a value with the usual mistakes
    (unquoted keys, single quotes, trailing commas, Python literals).
    Returns the repaired text, or None when that does not give JSON."""
    candidate = _SINGLE_QUOTED.sub(lambda m: json.dumps(m.group(1)), text)
    candidate = _BARE_KEY.sub(r'\1"\2"\3:', candidate)
    candidate = _TRAILING_COMMA.sub(r'\1', candidate)
    candidate = re.sub(r'\b(True|False|None)\b',
                       lambda m: _PY_LITERALS[m.group(1)], candidate)
    try:
        value = devspec.load_json(candidate)
    except ValueError:
        return None
    return _dump(value)


def _json_mistakes(text):
    found = []
    if _BARE_KEY.search(text):
        keys = sorted({m.group(2) for m in _BARE_KEY.finditer(text)})
        found.append('unquoted key(s) %s' % ', '.join(keys))
    if "'" in text:
        found.append('single quotes')
    if _TRAILING_COMMA.search(text):
        found.append('trailing comma')
    return found


def _suggest_key(key):
    close = difflib.get_close_matches(key, devspec.KNOWN_KEYS, n=1)
    return close[0] if close else None


def _rc_problems(raw):
    if not raw:
        return []
    if not isinstance(raw, str):
        return [(json.dumps(raw), 'is not a string; nova-compute crashes '
                 'with an AttributeError when it reports the device')]
    rc = names.normalize_resource_class(raw)
    problem = names.resource_class_problem(rc)
    return [(rc, problem)] if problem else []


def _trait_problems(raw):
    if not raw:
        return []
    if not isinstance(raw, str):
        return [(json.dumps(raw), 'is not a string; nova-compute crashes '
                 'with an AttributeError when it reports the device')]
    return [(t, names.trait_problem(t)) for t in sorted(names.get_traits(raw))
            if names.trait_problem(t)]


def _fixed_traits(raw):
    items = [t.strip() for t in raw.split(',')]
    return ','.join(t for t in items if t)


# -- device_spec -----------------------------------------------------------
def _spec_error_finding(item, snapshot):
    e = item.error
    text = item.entry.text
    if isinstance(e, errors.InvalidJson):
        mistakes = _json_mistakes(text)
        repaired = repair_json(text)
        message = ('%s is not strict JSON (%s%s); nova-compute refuses to '
                   'start: %s' % (_quote(text), e.detail,
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
                      % (_quote(_dump(item.raw)), e),
                      'device_spec = %s (choose "yes" or "no")'
                      % _dump(fixed))
    if isinstance(e, errors.NeedsPlacement):
        return f.make('VFIO-C105', item.subject,
                      '%s: nova-compute refuses to start: %s'
                      % (_quote(_dump(item.raw)), e))
    return f.make('VFIO-C103', item.subject,
                  '%s: nova-compute refuses to start: %s'
                  % (_quote(_dump(item.raw) if item.raw is not None
                            else text), e))


def _check_placement_names(subject, raw, rc, traits, placement_on, where):
    """C107/C108 (or C161 when PCI in Placement is off)."""
    out = []
    for name, problem in _rc_problems(rc):
        fixed = dict(raw) if isinstance(raw, dict) else None
        suggestion = (names.suggest_custom_name(rc)
                      if isinstance(rc, str) else None)
        remedy = None
        if fixed is not None and suggestion:
            fixed['resource_class'] = suggestion
            remedy = '%s = %s' % (where, _dump(fixed))
        message = ('resource_class %s becomes %s, which %s; ' % (
            _quote(rc), name, problem))
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
    for name, problem in _trait_problems(traits):
        remedy = None
        if isinstance(traits, str) and isinstance(raw, dict):
            fixed = dict(raw)
            fixed['traits'] = ','.join(
                names.suggest_custom_name(t) if t.upper().startswith(
                    'CUSTOM_') else t
                for t in _fixed_traits(traits).split(',') if t)
            remedy = '%s = %s' % (where, _dump(fixed))
        message = 'traits %s give %s, which %s; ' % (_quote(traits), name,
                                                     problem)
        if placement_on:
            out.append(f.make('VFIO-C108' if where == 'device_spec'
                              else 'VFIO-C116', subject,
                              message + 'Placement refuses it', remedy))
        else:
            out.append(f.make('VFIO-C161', subject, message +
                              'this breaks once PCI in Placement is on',
                              remedy))
    return out


def _traits_spacing(subject, raw, traits, where):
    if not isinstance(traits, str) or not traits:
        return []
    items = traits.split(',')
    if all(i == i.strip() for i in items):
        return []
    derived = ', '.join(sorted(names.get_traits(traits)))
    fixed = dict(raw)
    fixed['traits'] = _fixed_traits(traits)
    return [f.make('VFIO-C153', subject,
                   'traits %s are not stripped by Nova and give %s'
                   % (_quote(traits), derived),
                   '%s = %s' % (where, _dump(fixed)))]


def _nvidia_vf_like(spec):
    """Static guess: an NVIDIA spec pinned to VF functions (not .0)."""
    if spec.vendor_id != NVIDIA or spec.address is None:
        return False
    func = spec.address.func
    if spec.address.kind == 'glob':
        return func not in (devspec.ANY, '0')
    return func not in ('.*', '0') and not re.match(func, '0')


def _check_spec(item, snapshot):
    spec, raw, subject = item.spec, item.raw, item.subject
    out = []
    rip = snapshot.report_in_placement
    for key in spec.unknown_keys:
        guess = _suggest_key(key)
        remedy = None
        if guess:
            fixed = {(guess if k == key else k): v for k, v in raw.items()}
            remedy = 'device_spec = %s' % _dump(fixed)
        out.append(f.make(
            'VFIO-C159', subject,
            'key %s is not a key Nova knows; Nova keeps it as a tag and it '
            'has no effect%s' % (_quote(key), ' (did you mean %s?)' % _quote(
                guess) if guess else ''), remedy))
    if spec.devname and rip:
        out.append(f.make('VFIO-C106', subject,
                          '%s uses devname %s; with [pci] '
                          'report_in_placement Nova refuses it'
                          % (_quote(_dump(raw)), _quote(spec.devname))))
    if spec.in_placement:
        out += _check_placement_names(subject, raw, spec.resource_class,
                                      spec.traits, rip, 'device_spec')
    out += _traits_spacing(subject, raw, spec.traits, 'device_spec')
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
            % (_quote(_dump(raw)), spec.address.func,
               'not set' if spec.managed is None else '"yes"'),
            'device_spec = %s' % _dump(fixed)))
    return out


def _field_key(spec):
    addr = spec.address
    if addr is None or addr.kind != 'glob':
        return None
    return (spec.vendor_id, spec.product_id) + addr.fields()


def _overlaps(items):
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
            % (b.subject, _quote(_dump(b.raw)), a.subject,
               _quote(_dump(a.raw)), what)))
    return out


# -- alias -----------------------------------------------------------------
def _alias_error_finding(item):
    e = item.error
    text = item.entry.text
    try:
        devspec.load_json(text)
    except ValueError:
        repaired = repair_json(text)
        mistakes = _json_mistakes(text)
        return f.make('VFIO-C110', item.subject,
                      '%s is not strict JSON%s; Nova refuses to start: %s'
                      % (_quote(text), ' (%s)' % ', '.join(mistakes)
                         if mistakes else '', e),
                      'alias = %s' % repaired if repaired else None)
    value = devspec.load_json(text)
    if 'Unrecognized value' in e.reason:
        fixed = dict(value)
        fixed['live_migratable'] = 'yes'
        return f.make('VFIO-C112', item.subject,
                      '%s: Nova refuses to start: %s' % (_quote(text), e),
                      'alias = %s (choose "yes" or "no")' % _dump(fixed))
    remedy = None
    message = '%s: Nova refuses to start: %s' % (_quote(text), e)
    if isinstance(value, dict) and 'managed' in value:
        fixed = {k: v for k, v in value.items() if k != 'managed'}
        remedy = ('alias = %s and put "managed" in the matching '
                  'device_spec' % _dump(fixed))
        message += ' (managed is a device_spec tag, not an alias key)'
    return f.make('VFIO-C111', item.subject, message, remedy)


def _check_aliases(alias_items, spec_items, snapshot):
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
                    % (_quote(a.entry.text), _quote(a.spec.name),
                       first.subject, problem)))
            elif pip:
                out.append(f.make(
                    'VFIO-C114', a.subject,
                    'alias name %s is also defined by %s; with '
                    '[filter_scheduler] pci_in_placement Nova refuses '
                    'aliases with several specs' % (_quote(a.spec.name),
                                                    first.subject)))
    for a in good:
        if alias_mod.spec_lacks_ids(a.spec, pip):
            need = ('vendor_id and product_id, or resource_class' if pip
                    else 'vendor_id and product_id')
            out.append(f.make(
                'VFIO-C115', a.subject,
                'alias %s lacks %s; Nova refuses it (%s)' % (
                    _quote(a.entry.text), need,
                    alias_mod.required_ids_problem(
                        {a.spec.name: alias_mod.Alias(
                            a.spec.name, a.spec.numa_policy, (a.spec,))},
                        pip))))
        raw = a.spec.raw
        if a.spec.resource_class or a.spec.traits:
            out += _check_placement_names(
                a.subject, raw, a.spec.resource_class, a.spec.traits, pip,
                'alias')
        out += _traits_spacing(a.subject, raw, a.spec.traits, 'alias')
    out += _alias_vs_specs(good, [s for s in spec_items if s.spec], pip)
    return out


def _spec_rc(spec):
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
    produced = {_spec_rc(s.spec) for s in specs}
    wildcard_default = any(_spec_rc(s.spec) is None for s in specs)
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
                    % (_quote(a.entry.text), spec.placement_resource_class(),
                       s.subject, rc, '' if pip else
                       ' (pci_in_placement is off now)'),
                    'alias = %s' % _dump(fixed)))
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
            'produce %s)' % (_quote(a.entry.text), rc,
                             ', '.join(sorted(p for p in produced if p))
                             or 'nothing known')))
    return out


# -- mdev ------------------------------------------------------------------
def _check_mdev(snapshot, spec_items):
    out = []
    seen = {}
    default = None
    for group in snapshot.mdev_groups:
        subject = (group.addresses_source or group.source).label()
        if not group.device_addresses:
            if default is None:
                default = group.mdev_type
            else:
                out.append(f.make(
                    'VFIO-C160', group.source.label(),
                    'mdev type %s has no device_addresses but %s is '
                    'already the default type: Nova drops %s with a warning'
                    % (group.mdev_type, default, group.mdev_type)))
            continue
        for address in group.device_addresses:
            if address in seen:
                out.append(f.make(
                    'VFIO-C118', subject,
                    'address %s is listed for mdev types %s and %s; '
                    'nova-compute refuses to start: duplicate types for PCI '
                    'ID %s' % (address, seen[address], group.mdev_type,
                               address)))
                continue
            problem = mdev_mod.pci_address_problem(address)
            if problem:
                out.append(f.make(
                    'VFIO-C119', subject,
                    'device_addresses item %s: nova-compute refuses to '
                    'start (%s) unless /sys/devices/virtual/%s exists'
                    % (_quote(address), problem, address.replace('_', '/'))))
            seen[address] = group.mdev_type
    for source in snapshot.stray_mdev_sections:
        out.append(f.make(
            'VFIO-C158', source.label(),
            'section [%s] is ignored: %s is not in [devices] '
            'enabled_mdev_types (%s)' % (
                source.section, source.section.split('_', 1)[1],
                ', '.join(snapshot.enabled_mdev_types) or 'empty')))
    if snapshot.enabled_mdev_types:
        out += _mdev_vs_specs(snapshot, spec_items, default, seen)
    return out


def _mdev_vs_specs(snapshot, spec_items, default, by_address):
    out = []
    nvidia_specs = [s for s in spec_items if s.spec and
                    s.spec.vendor_id in (NVIDIA, devspec.ANY)]
    for address, mdev_type in by_address.items():
        try:
            addr = pci_address.parse_physical_address(address)
        except errors.NovaConfigError:
            continue
        for s in nvidia_specs:
            if s.spec.address is not None and s.spec.address.match(addr):
                out.append(f.make(
                    'VFIO-C157', s.subject,
                    '%s matches %s, which [mdev_%s] device_addresses also '
                    'uses for legacy mdev vGPU' % (
                        _quote(_dump(s.raw)), address, mdev_type)))
                break
    if default:
        for s in nvidia_specs:
            if s.spec.vendor_id == NVIDIA:
                out.append(f.make(
                    'VFIO-C157', s.subject,
                    'NVIDIA device_spec %s while mdev type %s is the '
                    'default for every GPU with mdev support: a GPU may '
                    'be configured for both models' % (
                        _quote(_dump(s.raw)), default)))
    return out


# -- host report -----------------------------------------------------------
def _host_devices(host_report):
    """(device records, pf address set) from a HostReport or a dict."""
    devices = getattr(host_report, 'devices', None)
    if devices is None and isinstance(host_report, dict):
        devices = host_report.get('devices') or []
    result = []
    for d in devices:
        get = (d.get if isinstance(d, dict)
               else lambda k, default=None, d=d: getattr(d, k, default))
        result.append(dict(
            address=get('address'), vendor_id=get('vendor_id'),
            product_id=get('product_id'), driver=get('driver'),
            physfn=get('physfn'), virtfns=tuple(get('virtfns') or ()),
            sriov_totalvfs=get('sriov_totalvfs'),
            mdev_types=tuple(
                (t.get('id') if isinstance(t, dict) else t.id)
                for t in (get('mdev_supported_types') or ()))))
    pfs = frozenset(d['address'] for d in result
                    if (d['sriov_totalvfs'] or 0) > 0)
    return result, pfs


def _check_host(snapshot, spec_items, host_report):
    out = []
    devices, pfs = _host_devices(host_report)
    specs = [s for s in spec_items if s.spec]
    matched = {}  # spec index -> [device]
    owner = {}    # address -> (index, spec item)
    for dev in devices:
        pci = devspec.PciDevice(dev['address'], dev['vendor_id'],
                                dev['product_id'], dev['physfn'])
        hit = devspec.first_match([s.spec for s in specs], pci, pfs)
        if hit:
            matched.setdefault(hit[0], []).append(dev)
            owner[dev['address']] = (hit[0], specs[hit[0]])
    rip = snapshot.report_in_placement
    for index, item in enumerate(specs):
        devs = matched.get(index, [])
        if not devs:
            out.append(f.make('VFIO-C170', item.subject,
                              '%s matches no device of the host report'
                              % _quote(_dump(item.raw))))
            continue
        out.append(f.make('VFIO-C171', item.subject, '%s matches %s' % (
            _quote(_dump(item.raw)),
            ', '.join(d['address'] for d in devs))))
        if item.spec.is_pf_spec(pfs):
            out.append(f.make(
                'VFIO-C152', item.subject,
                '%s is a PF with SR-IOV (sriov_totalvfs > 0): Nova matches '
                'it and all its VFs' % item.spec.single_address))
        bad = [d['address'] for d in devs if d['physfn'] and
               d['driver'] == 'nvidia' and item.spec.managed is not False]
        if bad:
            fixed = dict(item.raw)
            fixed['managed'] = 'no'
            out.append(f.make(
                'VFIO-C173', item.subject,
                'VFs %s are bound to the nvidia driver but managed is not '
                '"no": libvirt would detach the driver' % ', '.join(bad),
                'device_spec = %s' % _dump(fixed)))
        vfs = [d['address'] for d in devs if d['physfn']]
        if rip and vfs and 'one_time_use' in item.spec.tags:
            out.append(f.make(
                'VFIO-C120', item.subject,
                'one_time_use is set but the entry matches VFs %s; Nova '
                'refuses it with PCI in Placement' % ', '.join(vfs)))
    # PF and VFs both matched; VFs of one PF with different RC / traits.
    by_pf = {}
    for dev in devices:
        if dev['physfn'] and dev['address'] in owner:
            by_pf.setdefault(dev['physfn'], []).append(dev)
    for pf, vfs in sorted(by_pf.items()):
        if pf in owner:
            code = 'VFIO-C121' if rip else 'VFIO-C172'
            out.append(f.make(
                code, owner[pf][1].subject,
                'PF %s (matched by %s) and its VFs %s (matched by %s) are '
                'both configured%s' % (
                    pf, owner[pf][1].subject,
                    ', '.join(v['address'] for v in vfs),
                    ', '.join(sorted({owner[v['address']][1].subject
                                      for v in vfs})),
                    '; Nova refuses to report them to Placement' if rip
                    else '')))
        if not rip:
            continue
        kinds = {}
        for v in vfs:
            spec = owner[v['address']][1].spec
            key = (spec.placement_resource_class(v['vendor_id'],
                                                 v['product_id']),
                   spec.placement_traits())
            kinds.setdefault(key, []).append(v['address'])
        if len(kinds) > 1:
            detail = '; '.join('%s %s for %s' % (
                rc, sorted(traits or ()), ', '.join(addrs))
                for (rc, traits), addrs in kinds.items())
            out.append(f.make(
                'VFIO-C122', 'PF %s' % pf,
                'VFs of PF %s get different resource classes or traits (%s);'
                ' Nova refuses to report them to Placement' % (pf, detail)))
    out += _host_mdev(snapshot, devices)
    return out


def _host_mdev(snapshot, devices):
    out = []
    by_address = {d['address']: d for d in devices}
    layout_default = None
    listed = set()
    for group in snapshot.mdev_groups:
        if not group.device_addresses and layout_default is None:
            layout_default = group.mdev_type
        for address in group.device_addresses:
            listed.add(address)
            dev = by_address.get(address)
            subject = (group.addresses_source or group.source).label()
            if dev is None:
                out.append(f.make(
                    'VFIO-C175', subject,
                    '[mdev_%s] device_addresses names %s, which the host '
                    'report does not have' % (group.mdev_type, address)))
            elif group.mdev_type not in dev['mdev_types']:
                out.append(f.make(
                    'VFIO-C174', subject,
                    '%s does not offer mdev type %s (it offers %s)' % (
                        address, group.mdev_type,
                        ', '.join(dev['mdev_types']) or 'none')))
    if layout_default:
        parents = [d for d in devices if d['mdev_types']
                   and d['address'] not in listed]
        if parents and not any(layout_default in d['mdev_types']
                               for d in parents):
            source = snapshot.enabled_mdev_types_source
            out.append(f.make(
                'VFIO-C174',
                source.label() if source else 'enabled_mdev_types',
                'default mdev type %s is offered by none of the GPUs %s'
                % (layout_default, ', '.join(d['address'] for d in parents))))
    return out


# -- entry point -----------------------------------------------------------
def _check_options(snapshot):
    out = []
    for err in snapshot.option_errors:
        out.append(f.make('VFIO-C117', err.source.label(),
                          'value %s is refused: %s' % (_quote(err.value),
                                                       err.message)))
    for entry in snapshot.unknown_pci_options:
        out.append(f.make(
            'VFIO-C150', entry.source.label(),
            '[pci] %s is not a Nova option; oslo.config ignores %s, so '
            'these devices are not configured' % (
                entry.source.option, _quote(entry.text)),
            'device_spec = %s' % (repair_json(entry.text) or entry.text)))
    for entry in snapshot.device_specs + snapshot.aliases:
        key = (entry.source.section, entry.source.option)
        if key in DEPRECATED_NAMES:
            out.append(f.make('VFIO-C162', entry.subject,
                              '[%s] %s is deprecated; Nova still reads it'
                              % key, 'use %s' % DEPRECATED_NAMES[key]))
    return out


def lint(snapshot, host_report=None):
    """All config findings for a :class:`ConfSnapshot`.

    ``host_report`` is a :class:`vfioclient.model.host.HostReport` (or its
    JSON dict); with it, entries are also checked against real devices.
    """
    out = _check_options(snapshot)
    spec_items = parse_spec_items(snapshot)
    for item in spec_items:
        if item.error is not None:
            out.append(_spec_error_finding(item, snapshot))
        else:
            out += _check_spec(item, snapshot)
    out += _overlaps([s for s in spec_items if s.spec is not None])
    alias_items = parse_alias_items(snapshot)
    for item in alias_items:
        if item.error is not None:
            out.append(_alias_error_finding(item))
    out += _check_aliases(alias_items, spec_items, snapshot)
    out += _check_mdev(snapshot, spec_items)
    if host_report is not None:
        out += _check_host(snapshot, spec_items, host_report)
    return f.sort_findings(_clip(x) for x in out)


MAX_MESSAGE = 1000


def _clip(finding):
    """Keep huge quoted values (fuzzed or pasted files) readable."""
    message = finding.message
    if len(message) <= MAX_MESSAGE:
        return finding
    return dataclasses.replace(finding, message='%s... (%d more characters)'
                               % (message[:MAX_MESSAGE],
                                  len(message) - MAX_MESSAGE))
