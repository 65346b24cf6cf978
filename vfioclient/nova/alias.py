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

"""``[pci] alias`` parsing and validation, as ``nova.pci.request`` does it.

Each value is strict JSON checked against Nova's JSON schema (so ``managed``
is refused: ``additionalProperties`` is false).  Entries with the same name
are ORed into one alias and must agree on ``numa_policy`` and
``device_type``; then ``_validate_multispec`` / ``_validate_required_ids``
run with ``[filter_scheduler] pci_in_placement``.

Public API:

* :data:`ALIAS_SCHEMA` - Nova's schema
* :func:`parse_alias_entry` - one config value -> :class:`AliasSpec`
* :func:`merge_problem` - why an entry cannot join an alias of its name
* :func:`validation_problems` - the two whole-config checks
* :func:`parse_aliases` - all values, Nova's all-or-nothing -> ``{name:
  Alias}``
"""

import dataclasses
import json

import jsonschema
from jsonschema import exceptions as js_exceptions
from oslo_utils import strutils

from vfioclient.nova import devspec
from vfioclient.nova import errors
from vfioclient.nova import names

PCI_ID_PATTERN = r'^([\da-fA-F]{4})$'
DEVICE_TYPES = ('type-PCI', 'type-PF', 'type-VF')
NUMA_POLICIES = ('required', 'legacy', 'preferred', 'socket')
DEFAULT_NUMA_POLICY = 'legacy'

ALIAS_SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'properties': {
        'name': {'type': 'string', 'minLength': 1, 'maxLength': 256},
        'capability_type': {'type': 'string', 'enum': ['pci']},
        'product_id': {'type': 'string', 'pattern': PCI_ID_PATTERN},
        'vendor_id': {'type': 'string', 'pattern': PCI_ID_PATTERN},
        'device_type': {'type': 'string', 'enum': list(DEVICE_TYPES)},
        'numa_policy': {'type': 'string', 'enum': list(NUMA_POLICIES)},
        'resource_class': {'type': 'string'},
        'traits': {'type': 'string'},
        'live_migratable': {'type': 'string'},
    },
    'required': ['name'],
}

_VALIDATOR = jsonschema.validators.validator_for(ALIAS_SCHEMA)(ALIAS_SCHEMA)


@dataclasses.dataclass(frozen=True, eq=False)
class AliasSpec:
    """One alias entry as Nova holds it.

    ``spec`` is the dict Nova keeps (``device_type`` renamed ``dev_type``,
    ``live_migratable`` normalised, ``name``/``numa_policy`` removed).
    """

    name: str
    numa_policy: str
    spec: dict
    raw: dict

    @property
    def vendor_id(self):
        return self.spec.get('vendor_id')

    @property
    def product_id(self):
        return self.spec.get('product_id')

    @property
    def device_type(self):
        return self.spec.get('dev_type')

    @property
    def resource_class(self):
        """The raw ``resource_class`` value."""
        return self.spec.get('resource_class')

    @property
    def traits(self):
        return self.spec.get('traits')

    @property
    def has_ids(self):
        return 'vendor_id' in self.spec and 'product_id' in self.spec

    def placement_resource_class(self):
        """The RC Nova requests from Placement for this alias."""
        return names.get_resource_class(self.resource_class, self.vendor_id,
                                        self.product_id)

    def placement_traits(self):
        """The required traits Nova puts in each request group."""
        return names.get_traits(self.traits or '')


@dataclasses.dataclass(frozen=True)
class Alias:
    """All entries of one name: ``(numa_policy, [spec, ...])`` in Nova."""

    name: str
    numa_policy: str
    specs: tuple


def parse_alias_entry(text):
    """One ``alias =`` value -> :class:`AliasSpec`.

    :raises errors.InvalidAlias: with Nova's reason text.
    """
    try:
        value = devspec.load_json(text)
    except ValueError as e:
        raise errors.InvalidAlias(str(e))
    error = js_exceptions.best_match(_VALIDATOR.iter_errors(value))
    if error is not None:
        raise errors.InvalidAlias(error.message)
    spec = dict(value)
    name = spec.pop('name').strip()
    numa_policy = spec.pop('numa_policy', None) or DEFAULT_NUMA_POLICY
    device_type = spec.pop('device_type', None)
    if device_type:
        spec['dev_type'] = device_type
    live_migratable = spec.pop('live_migratable', None)
    if live_migratable is not None:
        try:
            flag = strutils.bool_from_string(live_migratable, strict=True)
        except ValueError as e:
            raise errors.InvalidAlias(str(e))
        spec['live_migratable'] = 'true' if flag else 'false'
    return AliasSpec(name=name, numa_policy=numa_policy, spec=spec,
                     raw=value)


def merge_problem(first, entry):
    """Why ``entry`` cannot join the alias whose first entry is ``first``.

    Mirrors Nova's order: NUMA policy, then device type, where a missing
    ``device_type`` on either side is a ``KeyError`` Nova reports as just
    ``'dev_type'``.
    """
    if first.numa_policy != entry.numa_policy:
        return "NUMA policy mismatch for alias '%s'" % entry.name
    if 'dev_type' not in first.spec or 'dev_type' not in entry.spec:
        return "'dev_type'"
    if first.spec['dev_type'] != entry.spec['dev_type']:
        return "Device type mismatch for alias '%s'" % entry.name
    return None


def multispec_problem(aliases, pci_in_placement):
    """``_validate_multispec``: one spec per alias with PCI in Placement."""
    if not pci_in_placement:
        return None
    multi = [name for name, alias in aliases.items()
             if len(alias.specs) > 1]
    if not multi:
        return None
    return ('The PCI alias(es) %s have multiple specs but '
            '[filter_scheduler]pci_in_placement is True. The PCI in '
            'Placement feature only supports one spec per alias. You can '
            'assign the same resource_class to multiple [pci]device_spec '
            'matchers to allow using different devices for the same alias.'
            % ','.join(multi))


def spec_lacks_ids(entry, pci_in_placement):
    """Would ``_validate_required_ids`` refuse this entry?"""
    if pci_in_placement:
        return not entry.has_ids and 'resource_class' not in entry.spec
    return not entry.has_ids


def required_ids_problem(aliases, pci_in_placement):
    """``_validate_required_ids`` for both settings of pci_in_placement."""
    bad = sorted({name for name, alias in aliases.items()
                  for entry in alias.specs
                  if spec_lacks_ids(entry, pci_in_placement)})
    if not bad:
        return None
    if pci_in_placement:
        return ('The PCI alias(es) %s does not have vendor_id and '
                'product_id fields set or resource_class field set.'
                % ','.join(bad))
    return ('The PCI alias(es) %s does not have vendor_id and product_id '
            'fields set.' % ','.join(bad))


def validation_problems(aliases, pci_in_placement):
    """Nova's ``_validate_aliases`` reasons, in Nova's order."""
    return [p for p in (multispec_problem(aliases, pci_in_placement),
                        required_ids_problem(aliases, pci_in_placement))
            if p]


def group_entries(entries):
    """Entries -> ``{name: Alias}`` without any checking (for reports)."""
    grouped = {}
    for entry in entries:
        if entry.name in grouped:
            alias = grouped[entry.name]
            grouped[entry.name] = dataclasses.replace(
                alias, specs=alias.specs + (entry,))
        else:
            grouped[entry.name] = Alias(entry.name, entry.numa_policy,
                                        (entry,))
    return grouped


def parse_aliases(lines, pci_in_placement=False):
    """All ``alias`` values like ``get_alias_from_config``.

    :returns: ``{name: Alias}``.
    :raises errors.InvalidAlias: the first reason Nova would give.
    """
    entries = []
    firsts = {}
    for text in lines or ():
        entry = parse_alias_entry(text)
        first = firsts.setdefault(entry.name, entry)
        if first is not entry:
            problem = merge_problem(first, entry)
            if problem:
                raise errors.InvalidAlias(problem)
        entries.append(entry)
    aliases = group_entries(entries)
    for problem in validation_problems(aliases, pci_in_placement):
        raise errors.AliasValidationError(problem)
    return aliases


def dump(value):
    """Compact JSON for messages."""
    return json.dumps(value, sort_keys=False)
