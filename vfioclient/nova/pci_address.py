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

"""PCI device addresses, read the ways Nova reads them.

Nova has two parsers for a full ``domain:bus:slot.function`` address, and
they do not accept the same strings (Nova 34.0.0, 2026.2):

* ``nova/pci/utils.py`` ``parse_address``: a regex, any case, and an
  unescaped ``.`` (any character separates slot and function).  The
  libvirt driver checks ``[mdev_*] device_addresses`` with it.
  Here: :func:`parse_address`.
* ``nova/pci/devspec.py`` ``PhysicalPciAddress``: each field through
  ``int(field, 16)`` with a maximum (``_set_pci_dev_info``), so ``0x41``
  or `` 41`` pass, and the fields are re-formatted (``%04x``, ``%02x``,
  ``%1x``).  ``[pci] device_spec`` matching uses it.
  Here: :func:`parse_physical_address` and :func:`hex_field`.

The canonical form (:data:`CANONICAL_RE`) is the lower-case
``dddd:bb:ss.f`` Linux names devices with under ``/sys/bus/pci/devices``
and Nova stores in ``PciDevice.address``; :func:`normalize_address` turns
what an operator types (``41:00.0``, ``0000:C1:00.0``) into it.
"""

import dataclasses
import json
import re

from vfioclient.nova import errors

ANY = '*'
MAX_DOMAIN = 0xFFFF
MAX_BUS = 0xFF
MAX_SLOT = 0x1F
MAX_FUNC = 0x7

# nova/pci/utils.py _PCI_ADDRESS_REGEX, unescaped '.' included.
NOVA_ADDRESS_RE = re.compile(
    r'^([\da-fA-F]{4}):([\da-fA-F]{2}):([\da-fA-F]{2}).([0-7]{1})$')
CANONICAL_RE = re.compile(r'^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$')
_SHORT_RE = re.compile(r'^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$')


def _wrong_format(text):
    return errors.WrongAddressFormat(
        'The PCI address %s has an incorrect format.' % (text,))


def parse_address(text):
    """``(domain, bus, slot, function)`` as Nova's ``parse_address``.

    The fields are returned as written (case kept).

    :raises errors.WrongAddressFormat: when the regex does not match.
    """
    match = NOVA_ADDRESS_RE.match(text) if isinstance(text, str) else None
    if not match:
        raise _wrong_format(text)
    return match.groups()


def hex_field(name, value, maximum, fmt):
    """Nova's ``PciAddressSpec._set_pci_dev_info``: ``*`` stays, else hex.

    Python's ``int(value, 16)`` is what Nova uses, so its quirks (``0x``
    prefix, surrounding blanks, ``_`` separators, a sign) are accepted too.
    A non-string makes Nova fail with a TypeError: still a refusal.

    :raises errors.InvalidDeviceSpec: with Nova's reason.
    """
    if value == ANY:
        return value
    if not isinstance(value, str):
        raise errors.InvalidDeviceSpec(
            "property %s (%s) is not a string; nova-compute fails with a "
            "TypeError" % (name, json.dumps(value)))
    try:
        number = int(value, 16)
    except ValueError:
        raise errors.InvalidDeviceSpec(
            "property %s ('%s') does not parse as a hex number."
            % (name, value))
    if number > maximum:
        raise errors.InvalidDeviceSpec(
            "property %s (%s) is greater than the maximum allowable value "
            "(%X)." % (name, value, maximum))
    return fmt % number


@dataclasses.dataclass(frozen=True)
class PciAddress:
    """A full device address, fields formatted as Nova stores them."""

    domain: str
    bus: str
    slot: str
    func: str

    def __str__(self):
        return '%s:%s:%s.%s' % (self.domain, self.bus, self.slot, self.func)


def parse_physical_address(text):
    """Parse ``dddd:bb:ss.f`` like Nova's ``PhysicalPciAddress``.

    :raises errors.WrongAddressFormat: when it is not a full address.
    """
    try:
        dbs, _sep, func = text.partition('.')
        domain, bus, slot = dbs.split(':')
        return PciAddress(
            domain=hex_field('domain', domain, MAX_DOMAIN, '%04x'),
            bus=hex_field('bus', bus, MAX_BUS, '%02x'),
            slot=hex_field('slot', slot, MAX_SLOT, '%02x'),
            func=hex_field('func', func, MAX_FUNC, '%1x'))
    except (ValueError, AttributeError):
        raise _wrong_format(text)


def is_canonical(text):
    """True for a lower-case ``dddd:bb:ss.f`` address (sysfs names)."""
    return isinstance(text, str) and bool(CANONICAL_RE.match(text))


def normalize_address(text):
    """``0000:41:00.0`` (any case) or ``41:00.0`` -> ``0000:41:00.0``.

    :raises ValueError: for anything else.
    """
    value = (text or '').strip()
    if _SHORT_RE.match(value):
        value = '0000:' + value
    value = value.lower()
    if not CANONICAL_RE.match(value):
        raise ValueError('%r is not a PCI address (expected '
                         'domain:bus:slot.function, e.g. 0000:41:00.0)'
                         % text)
    return value
