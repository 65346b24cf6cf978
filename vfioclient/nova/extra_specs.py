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

"""Flavor extra spec ``pci_passthrough:alias``: API validation and the
request groups Nova builds from it with PCI in Placement.

Public API:

* :func:`validate_alias_extra_spec` - the compute API (>= 2.86) check
* :func:`parse_alias_extra_spec` - Nova's runtime split into (name, count)
* :func:`alias_request_groups` - one :class:`RequestGroup` per device
"""

import dataclasses
import re

from vfioclient.nova import errors

ALIAS_EXTRA_SPEC = 'pci_passthrough:alias'
ALIAS_VALUE_PATTERN = r'[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*'
_ALIAS_VALUE_RE = re.compile(ALIAS_VALUE_PATTERN)


def validate_alias_extra_spec(value):
    """Raise :class:`errors.InvalidExtraSpec` as the API would."""
    if not isinstance(value, str) or not _ALIAS_VALUE_RE.fullmatch(value):
        raise errors.InvalidExtraSpec(
            "Validation failed; '%s' is not of the format '%s'."
            % (value, ALIAS_VALUE_PATTERN))


def parse_alias_extra_spec(value):
    """``[(name, count), ...]`` as ``_translate_alias_to_requests`` splits
    it (names stripped, counts through ``int``)."""
    result = []
    for item in value.split(','):
        parts = item.split(':')
        if len(parts) != 2:
            raise errors.InvalidExtraSpec(
                "'%s' is not of the form <alias>:<count>" % item)
        try:
            count = int(parts[1])
        except ValueError:
            raise errors.InvalidExtraSpec(
                "count '%s' of '%s' is not an integer" % (parts[1], item))
        result.append((parts[0].strip(), count))
    return result


@dataclasses.dataclass(frozen=True)
class RequestGroup:
    """One Placement request group (``resources{suffix}:RC=1``)."""

    alias_name: str
    resource_class: str
    traits: frozenset
    amount: int = 1


def alias_request_groups(value, aliases):
    """Request groups for ``pci_passthrough:alias=value``.

    ``aliases`` is the ``{name: Alias}`` from
    :func:`vfioclient.nova.alias.parse_aliases`.  One group per requested
    device, as Nova does with ``[filter_scheduler] pci_in_placement``.

    :raises errors.AliasNotDefined: an alias name that is not configured.
    :raises errors.InvalidAlias: an alias with several specs.
    """
    groups = []
    for name, count in parse_alias_extra_spec(value):
        alias = aliases.get(name)
        if alias is None:
            raise errors.AliasNotDefined(
                'PCI alias %s is not defined' % name)
        if len(alias.specs) != 1:
            raise errors.InvalidAlias(
                'PCI tracking in placement does not support multiple '
                'specs per PCI request')
        spec = alias.specs[0]
        for _i in range(count):
            groups.append(RequestGroup(
                alias_name=name,
                resource_class=spec.placement_resource_class(),
                traits=spec.placement_traits()))
    return groups
