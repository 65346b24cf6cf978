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

"""Legacy vGPU configuration: ``[devices] enabled_mdev_types`` and the
dynamic ``[mdev_<type>]`` groups, as the libvirt driver reads them.

The first enabled type without ``device_addresses`` becomes the default
for every other GPU; further types without addresses are dropped with a
warning; one address under two types is refused.  ``mdev_class`` only
takes effect for listed addresses (a default type reports ``VGPU``).

Public API:

* :data:`MDEV_CLASS_PATTERN` / :func:`mdev_class_problem`
* :func:`pci_address_problem` - ``device_addresses`` item check
* :func:`reported_class` - the class a group's GPUs report (the quirk)
* :class:`MdevType` - one enabled type's group options
* :func:`resolve_mdev_types` -> :class:`MdevLayout`
"""

import dataclasses
import re

import os_resource_classes

from vfioclient.nova import errors
from vfioclient.nova import pci_address

MDEV_CLASS_PATTERN = r'^(VGPU|CUSTOM_[A-Z0-9_]+)$'
MDEV_CLASS_MAX_LENGTH = 255
DEFAULT_MDEV_CLASS = os_resource_classes.VGPU


def mdev_class_problem(value):
    """Why oslo.config refuses ``mdev_class = value``, or None."""
    if len(value) > MDEV_CLASS_MAX_LENGTH:
        return 'longer than %d characters' % MDEV_CLASS_MAX_LENGTH
    if not re.search(MDEV_CLASS_PATTERN, value):
        return 'does not match %s' % MDEV_CLASS_PATTERN
    return None


def pci_address_problem(address):
    """Why the driver refuses a ``device_addresses`` item, or None.

    Virtual parents (``mtty``) are allowed by Nova when
    ``/sys/devices/virtual/<name>`` exists; that is only known on the host.
    """
    try:
        pci_address.parse_address(address)
    except errors.WrongAddressFormat:
        return 'incorrect device address: %s' % address
    return None


def reported_class(mdev_class, device_addresses):
    """The resource class GPUs of one ``[mdev_<type>]`` group report.

    Quirk of the libvirt driver (``_get_supported_vgpu_types`` in
    ``nova/virt/libvirt/driver.py``, Nova 34.0.0): ``mdev_class`` is only
    recorded per listed address, so the default type (no
    ``device_addresses``) reports ``VGPU`` whatever its ``mdev_class``.
    """
    return mdev_class if device_addresses else DEFAULT_MDEV_CLASS


@dataclasses.dataclass(frozen=True)
class MdevType:
    """Options of one enabled type (group ``[mdev_<type>]``)."""

    name: str
    device_addresses: tuple = ()
    mdev_class: str = DEFAULT_MDEV_CLASS
    max_instances: int | None = None


@dataclasses.dataclass(frozen=True)
class MdevLayout:
    """What the driver derives from the enabled types."""

    enabled: tuple           # types kept, in order
    default_type: str | None
    by_address: dict         # address -> type name
    class_by_address: dict   # address -> mdev_class
    dropped: tuple           # types without addresses after the default

    def type_for(self, address):
        """The type the driver uses for a GPU at ``address``."""
        return self.by_address.get(address, self.default_type)

    def class_for(self, address):
        """Inventory class for a GPU (quirk: default type gives VGPU)."""
        return self.class_by_address.get(address, DEFAULT_MDEV_CLASS)


def resolve_mdev_types(types):
    """``_get_supported_vgpu_types`` over :class:`MdevType` items.

    :raises errors.InvalidMdevConfig: duplicate or bad address.
    """
    enabled = []
    dropped = []
    default = None
    by_address = {}
    class_by_address = {}
    for mdev_type in types:
        if not mdev_type.device_addresses:
            if default is None:
                default = mdev_type.name
                enabled.append(mdev_type.name)
            else:
                dropped.append(mdev_type.name)
            continue
        enabled.append(mdev_type.name)
        for address in mdev_type.device_addresses:
            if address in by_address:
                raise errors.InvalidMdevConfig(
                    'duplicate types for PCI ID %s' % address,
                    address=address, mdev_type=mdev_type.name)
            problem = pci_address_problem(address)
            if problem:
                raise errors.InvalidMdevConfig(
                    problem, address=address, mdev_type=mdev_type.name)
            by_address[address] = mdev_type.name
            class_by_address[address] = mdev_type.mdev_class
    return MdevLayout(enabled=tuple(enabled), default_type=default,
                      by_address=by_address,
                      class_by_address=class_by_address,
                      dropped=tuple(dropped))
