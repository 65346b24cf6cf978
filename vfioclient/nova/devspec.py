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

"""``[pci] device_spec`` parsing, validation and matching, as Nova does it.

Nova (``nova.pci.whitelist`` / ``nova.pci.devspec``) reads each config line
with a strict ``json.loads``; a line holds one object or a list of objects,
and every object becomes one spec.  Specs are kept in config order and the
**first** spec matching a device decides its tags.  Nothing here touches
sysfs: where Nova looks at the host (PF detection, ``devname``) the caller
passes what it knows.

Public API:

* :func:`parse_device_spec_line` - one config value -> list of specs
* :func:`parse_device_spec` - one JSON object -> :class:`DeviceSpec`
* :func:`parse_device_specs` - all config values, Nova's all-or-nothing
* :func:`first_match` - which spec a device gets (first match wins)
* :class:`PciDevice` - the device facts matching needs
"""

import copy
import dataclasses
import json
import re
import string

from oslo_utils import strutils

from vfioclient.nova import errors
from vfioclient.nova import names
from vfioclient.nova import pci_address
from vfioclient.nova import releases

ANY = pci_address.ANY
REGEX_ANY = '.*'
MAX_VENDOR_ID = 0xFFFF
MAX_PRODUCT_ID = 0xFFFF

# Keys Nova consumes itself; everything else stays in the spec as a tag.
ADDRESS_KEYS = ('vendor_id', 'product_id', 'address', 'devname')
# Tags some Nova release knows (used by code or by Neutron); others are
# kept silently.  Which release knows which: releases.TAGS_SINCE.
KNOWN_TAGS = ('physical_network', 'trusted', 'remote_managed', 'managed',
              'live_migratable', 'one_time_use', 'resource_class', 'traits')
KNOWN_KEYS = ADDRESS_KEYS + KNOWN_TAGS
# Boolean tags Nova normalises to "true"/"false" with strict parsing (a
# release that does not know one of them keeps it as written).
BOOLEAN_TAGS = ('managed', 'live_migratable', 'one_time_use')


def _is_hex(text):
    return all(c in string.hexdigits for c in text)


@dataclasses.dataclass(frozen=True)
class AddressGlob:
    """``"address": "[[[[<domain>]:]<bus>]:][<slot>][.[<function>]]"``."""

    domain: str = ANY
    bus: str = ANY
    slot: str = ANY
    func: str = ANY

    kind = 'glob'

    @classmethod
    def parse(cls, text):
        fields = {}
        dbs, _sep, func = text.partition('.')
        if func:
            fields['func'] = pci_address.hex_field(
                'func', func.strip(), pci_address.MAX_FUNC, '%01x')
        if dbs:
            parts = dbs.split(':')
            if len(parts) > 3:
                raise errors.WrongAddressFormat(
                    'The PCI address %s has an incorrect format.' % text)
            parts = [ANY] * (3 - len(parts)) + parts
            domain, bus, slot = [p.strip() or ANY for p in parts]
            fields['domain'] = pci_address.hex_field(
                'domain', domain, pci_address.MAX_DOMAIN, '%04x')
            fields['bus'] = pci_address.hex_field(
                'bus', bus, pci_address.MAX_BUS, '%02x')
            fields['slot'] = pci_address.hex_field(
                'slot', slot, pci_address.MAX_SLOT, '%02x')
        return cls(**fields)

    def fields(self):
        return (self.domain, self.bus, self.slot, self.func)

    def match(self, address):
        return all(mine in (ANY, theirs) for mine, theirs in
                   zip(self.fields(), (address.domain, address.bus,
                                       address.slot, address.func)))

    def __str__(self):
        return '%s:%s:%s.%s' % self.fields()


@dataclasses.dataclass(frozen=True)
class AddressRegex:
    """``"address": {"domain": RE, "bus": RE, "slot": RE, "function": RE}``.

    Nova uses ``re.match``: anchored at the start only, so ``"4"`` matches
    bus ``41``.
    """

    domain: str = REGEX_ANY
    bus: str = REGEX_ANY
    slot: str = REGEX_ANY
    func: str = REGEX_ANY

    kind = 'regex'

    @classmethod
    def parse(cls, value):
        fields = dict(domain=value.get('domain', REGEX_ANY),
                      bus=value.get('bus', REGEX_ANY),
                      slot=value.get('slot', REGEX_ANY),
                      func=value.get('function', REGEX_ANY))
        for key, pattern in fields.items():
            if not isinstance(pattern, str):
                # re.compile raises TypeError, which Nova does not catch.
                raise errors.InvalidDeviceSpec(
                    'address %s (%s) is not a string; nova-compute fails '
                    'with a TypeError' % (key, json.dumps(pattern)))
            try:
                _compile(pattern)
            except (re.error, RecursionError, OverflowError):
                raise errors.WrongAddressFormat(
                    'The PCI address %s has an incorrect format.' % (value,))
        return cls(**fields)

    def fields(self):
        return (self.domain, self.bus, self.slot, self.func)

    def match(self, address):
        return all(_compile(pattern).match(theirs) for pattern, theirs in
                   zip(self.fields(), (address.domain, address.bus,
                                       address.slot, address.func)))

    def __str__(self):
        return json.dumps(dict(zip(('domain', 'bus', 'slot', 'function'),
                                   self.fields())))


_REGEX_CACHE = {}


def _compile(pattern):
    compiled = _REGEX_CACHE.get(pattern)
    if compiled is None:
        compiled = _REGEX_CACHE[pattern] = re.compile(pattern)
    return compiled


@dataclasses.dataclass(frozen=True)
class PciDevice:
    """What spec matching needs to know about one host device.

    ``parent_addr`` is the PF address of a VF (libvirt's ``parent_addr``).
    """

    address: str
    vendor_id: str
    product_id: str
    parent_addr: str | None = None


@dataclasses.dataclass(frozen=True, eq=False)
class DeviceSpec:
    """One ``device_spec`` object as Nova holds it.

    ``vendor_id``/``product_id`` are ``*`` or 4 lowercase hex digits;
    ``tags`` are all other keys (boolean tags normalised to ``"true"`` /
    ``"false"``, JSON null kept as ``None``), exactly what Nova copies into
    PCI pools and Placement.
    """

    raw: dict
    vendor_id: str
    product_id: str
    address: AddressGlob | AddressRegex | None
    devname: object
    tags: dict

    # -- derived facts ---------------------------------------------------
    @property
    def single_address(self):
        """``dddd:bb:ss.f`` when the address names exactly one function.

        Nova then checks sysfs ``sriov_totalvfs`` under that path: > 0 makes
        the spec a PF spec that also matches the PF's VFs.
        """
        if self.address is None or not all(
                _is_hex(f) for f in self.address.fields()):
            return None
        return '%s:%s:%s.%s' % self.address.fields()

    @property
    def unknown_keys(self):
        return tuple(k for k in self.raw if k not in KNOWN_KEYS)

    @property
    def managed(self):
        """True/False from the normalised tag, None when not set."""
        value = self.tags.get('managed')
        return None if value is None else value == 'true'

    @property
    def resource_class(self):
        """Raw ``resource_class`` tag (may be missing or not a string)."""
        return self.tags.get('resource_class')

    @property
    def traits(self):
        """Raw ``traits`` tag."""
        return self.tags.get('traits')

    @property
    def physical_network(self):
        return self.tags.get('physical_network')

    @property
    def in_placement(self):
        """Nova skips devices with a truthy ``physical_network``."""
        return not self.physical_network

    def placement_resource_class(self, vendor_id=None, product_id=None):
        """The RC Nova reports for a matched device (IDs from the device,
        else from the spec).  None when the IDs are not known or the tag is
        not a string (Nova crashes then; see :func:`placement_problems`).
        """
        rc = self.resource_class
        if rc and not isinstance(rc, str):
            return None
        vendor_id = vendor_id or self.vendor_id
        product_id = product_id or self.product_id
        if not rc and ANY in (vendor_id, product_id):
            return None
        return names.get_resource_class(rc, vendor_id, product_id)

    def placement_traits(self, release=releases.DEFAULT):
        """Normalised traits from the ``traits`` tag plus the ones
        ``release`` (a :class:`~vfioclient.nova.releases.NovaRelease`)
        adds itself to the PCI resource provider of the matched devices."""
        traits = self.traits
        if traits and not isinstance(traits, str):
            return None
        return frozenset(names.get_traits(traits or '')
                         | release.pci_provider_traits(self.tags))

    # -- matching --------------------------------------------------------
    def is_pf_spec(self, pf_addresses):
        """Nova's PF rule: single address whose device has VFs."""
        single = self.single_address
        return single is not None and single in pf_addresses

    def match(self, device, pf_addresses=frozenset(), ifnames=None):
        """Does this spec match ``device`` (a :class:`PciDevice`)?

        ``pf_addresses``: addresses whose ``sriov_totalvfs`` is > 0.
        ``ifnames``: ``{ifname: (address, is_pf)}`` for ``devname`` specs;
        without it a devname spec matches nothing (as on a host where the
        interface does not exist).
        """
        if self.vendor_id not in (ANY, device.vendor_id):
            return False
        if self.product_id not in (ANY, device.product_id):
            return False
        address_spec = self.address
        is_pf = self.is_pf_spec(pf_addresses)
        if self.devname:
            found = (ifnames or {}).get(self.devname)
            if not found:
                return False
            address_spec = AddressGlob.parse(found[0])
            is_pf = found[1]
        if is_pf and device.parent_addr:
            try:
                if address_spec.match(pci_address.parse_physical_address(
                        device.parent_addr)):
                    return True
            except errors.NovaConfigError:
                return False
        try:
            return address_spec.match(
                pci_address.parse_physical_address(device.address))
        except errors.NovaConfigError:
            return False


def parse_device_spec(spec, report_in_placement=False, ifname_exists=None,
                      release=releases.DEFAULT):
    """Validate one device_spec object like ``PciDeviceSpec(dict)``.

    ``ifname_exists(devname) -> bool``: how to resolve ``devname`` on the
    host (Nova refuses ``remote_managed`` with a missing interface); None
    means unknown, assumed present.  ``release``: the
    :class:`~vfioclient.nova.releases.NovaRelease` whose parser to follow
    (a tag it does not know stays a plain tag).

    :raises errors.InvalidDeviceSpec: with the reason Nova gives.
    """
    raw = copy.deepcopy(spec)
    tags = dict(spec)
    vendor_id = tags.pop('vendor_id', ANY)
    product_id = tags.pop('product_id', ANY)
    devname = tags.pop('devname', None)
    address = tags.pop('address', None)

    if not isinstance(vendor_id, str):
        # Nova calls vendor_id.strip() and crashes with AttributeError.
        raise errors.InvalidDeviceSpec(
            'property vendor_id (%s) is not a string; nova-compute fails '
            'with an AttributeError' % json.dumps(vendor_id))
    vendor_id = pci_address.hex_field('vendor_id', vendor_id.strip(),
                                      MAX_VENDOR_ID, '%04x')
    product_id = pci_address.hex_field('product_id', product_id,
                                       MAX_PRODUCT_ID, '%04x')

    if address and devname:
        raise errors.InvalidDeviceSpec(
            'The PCI whitelist can specify devname or address, but not '
            'both')

    address_spec = None
    if not devname:
        address = address or '*:*:*.*'
        if isinstance(address, str):
            address_spec = AddressGlob.parse(address)
        elif isinstance(address, dict):
            address_spec = AddressRegex.parse(address)
        else:
            raise errors.WrongAddressFormat(
                'The PCI address %s has an incorrect format.'
                % json.dumps(address))

    if strutils.bool_from_string(tags.get('remote_managed')):
        if devname and ifname_exists is not None and not ifname_exists(
                devname):
            raise errors.InvalidDeviceSpec(
                'remote_managed is set but interface %s is not present on '
                'the host' % (devname,))

    for tag in BOOLEAN_TAGS:
        if tags.get(tag) is not None and release.knows_tag(tag):
            try:
                value = strutils.bool_from_string(tags[tag], strict=True)
            except ValueError as e:
                raise errors.InvalidTag(
                    "Cannot parse tag '%s': %s" % (tag, e), tag=tag)
            tags[tag] = 'true' if value else 'false'

    if (release.knows_tag('one_time_use')
            and tags.get('one_time_use') == 'true'
            and not report_in_placement):
        raise errors.NeedsPlacement(
            'one_time_use=true requires pci.report_in_placement to be '
            'enabled')

    return DeviceSpec(raw=raw, vendor_id=vendor_id, product_id=product_id,
                      address=address_spec, devname=devname, tags=tags)


def load_json(text):
    """``json.loads`` as Nova's jsonutils does, never raising anything but
    ValueError (deep nesting included)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError('JSON nested too deeply')


def split_device_spec_line(text):
    """One config value -> list of objects (not yet validated).

    :raises errors.InvalidDeviceSpec: invalid JSON or wrong JSON type.
    """
    try:
        value = load_json(text)
    except ValueError as e:
        raise errors.InvalidJson("Invalid entry: '%s'" % text, detail=str(e))
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise errors.WrongJsonType(
            "Invalid entry: '%s'; Expecting list or dict" % text)
    for item in value:
        if not isinstance(item, dict):
            raise errors.WrongJsonType(
                "Invalid entry: '%s'; Expecting dict" % (item,))
    return value


def parse_device_spec_line(text, report_in_placement=False,
                           ifname_exists=None, release=releases.DEFAULT):
    """One ``device_spec =`` value -> list of :class:`DeviceSpec`."""
    return [parse_device_spec(item, report_in_placement, ifname_exists,
                              release)
            for item in split_device_spec_line(text)]


def parse_device_specs(lines, report_in_placement=False,
                       ifname_exists=None, release=releases.DEFAULT):
    """All ``device_spec`` values, in order, like ``Whitelist``: the first
    bad entry refuses the whole configuration."""
    specs = []
    for text in lines or ():
        specs.extend(parse_device_spec_line(text, report_in_placement,
                                            ifname_exists, release))
    return specs


def first_match(specs, device, pf_addresses=frozenset(), ifnames=None):
    """(index, spec) of the first spec matching ``device``, or None."""
    for index, spec in enumerate(specs):
        if spec.match(device, pf_addresses, ifnames):
            return index, spec
    return None
