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

"""The parsed view of nova.conf entries shared by the checks and by
``config show``, and the helpers the checks share."""

import dataclasses
import difflib
import json
import re

from vfioclient.nova import alias as alias_mod
from vfioclient.nova import devspec
from vfioclient.nova import errors
from vfioclient.nova import names
from vfioclient.nova import releases


DEPRECATED_NAMES = {
    ('pci', 'passthrough_whitelist'): '[pci] device_spec',
    ('DEFAULT', 'pci_passthrough_whitelist'): '[pci] device_spec',
    ('DEFAULT', 'pci_alias'): '[pci] alias',
    ('devices', 'enabled_vgpu_types'): '[devices] enabled_mdev_types',
}


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


def parse_spec_items(snapshot, release=releases.DEFAULT):
    """Every device_spec object of the snapshot, valid or not, as
    ``release`` (a :class:`~vfioclient.nova.releases.NovaRelease`) parses
    it."""
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
                spec = devspec.parse_device_spec(obj, rip,
                                                 release=release)
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
    name, are left out (they are reported by
    :func:`vfioclient.rules.lint.lint`), so callers can
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


def quote(text, limit=200):
    text = text if isinstance(text, str) else json.dumps(text)
    if len(text) > limit:
        text = text[:limit] + '...'
    return "'%s'" % text


def dump(obj):
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
    return dump(value)


def json_mistakes(text):
    found = []
    if _BARE_KEY.search(text):
        keys = sorted({m.group(2) for m in _BARE_KEY.finditer(text)})
        found.append('unquoted key(s) %s' % ', '.join(keys))
    if "'" in text:
        found.append('single quotes')
    if _TRAILING_COMMA.search(text):
        found.append('trailing comma')
    return found


def suggest_key(key):
    close = difflib.get_close_matches(key, devspec.KNOWN_KEYS, n=1)
    return close[0] if close else None


def _not_a_string(raw):
    # Nova calls .upper()/.split() on the value when the device is reported.
    if not raw:
        return []
    return [(json.dumps(raw), 'is not a string; nova-compute crashes with an '
             'AttributeError when it reports the device')]


def rc_problems(raw):
    if not raw or not isinstance(raw, str):
        return _not_a_string(raw)
    rc = names.normalize_resource_class(raw)
    problem = names.resource_class_problem(rc)
    return [(rc, problem)] if problem else []


def trait_problems(raw):
    if not raw or not isinstance(raw, str):
        return _not_a_string(raw)
    return [(t, names.trait_problem(t)) for t in sorted(names.get_traits(raw))
            if names.trait_problem(t)]


def fixed_traits(raw):
    items = [t.strip() for t in raw.split(',')]
    return ','.join(t for t in items if t)


