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

"""Exceptions carrying the reason Nova would give for refusing a value.

``str(error)`` is the text Nova would log (same prefix as Nova's exception
class), ``error.reason`` is the part after the prefix.
"""


class NovaConfigError(ValueError):
    """Nova would refuse this configuration value."""

    prefix = ''

    def __init__(self, reason):
        self.reason = reason
        super().__init__(self.prefix + reason)


class InvalidDeviceSpec(NovaConfigError):
    """``[pci] device_spec`` entry refused (``PciConfigInvalidSpec`` etc.)."""

    prefix = 'Invalid [pci]device_spec config: '


class InvalidJson(InvalidDeviceSpec):
    """The value is not strict JSON; ``detail`` is the JSON error."""

    def __init__(self, reason, detail=''):
        self.detail = detail
        super().__init__(reason)


class WrongJsonType(InvalidDeviceSpec):
    """Valid JSON but not an object or a list of objects."""


class InvalidTag(InvalidDeviceSpec):
    """A boolean tag (``managed``...) with a value Nova cannot parse."""

    def __init__(self, reason, tag=''):
        self.tag = tag
        super().__init__(reason)


class NeedsPlacement(InvalidDeviceSpec):
    """``one_time_use`` true without ``[pci] report_in_placement``."""


class WrongAddressFormat(InvalidDeviceSpec):
    """``PciDeviceWrongAddressFormat``: Nova's own wording, no prefix."""

    prefix = ''


class InvalidAlias(NovaConfigError):
    """``[pci] alias`` entry refused (``PciInvalidAlias``)."""

    prefix = 'Invalid PCI alias definition: '


class AliasValidationError(InvalidAlias):
    """``_validate_aliases`` refusal: Nova passes the text as the whole
    message, so there is no prefix."""

    prefix = ''


class InvalidMdevConfig(NovaConfigError):
    """``[devices]`` / ``[mdev_*]`` refused (``InvalidLibvirtMdevConfig``).

    ``address`` and ``mdev_type`` say which ``device_addresses`` item of
    which type, so that a caller can point at the file and line.
    """

    prefix = 'Invalid configuration for mdev-capable devices: '

    def __init__(self, reason, address=None, mdev_type=None):
        self.address = address
        self.mdev_type = mdev_type
        super().__init__(reason)


class InvalidExtraSpec(NovaConfigError):
    """Flavor extra spec refused by the compute API validator."""

    prefix = ''


class AliasNotDefined(NovaConfigError):
    """``PciRequestAliasNotDefined`` at server create."""

    prefix = ''
