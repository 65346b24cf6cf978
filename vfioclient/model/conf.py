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

"""Immutable snapshot of the Nova options ``config check/show`` look at.

Built by :mod:`vfioclient.collect.conf` from one or more nova.conf files
(combined as oslo.config combines ``--config-file`` arguments); consumed by
:mod:`vfioclient.rules.lint`.  Values are the raw option strings: Nova's
interpretation lives in :mod:`vfioclient.nova`.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a value was written: file, 1-based line, section and key."""

    path: str | None = None
    line: int | None = None
    section: str = ''
    option: str = ''

    def label(self):
        where = self.path or '?'
        if self.line is not None:
            where = '%s:%d' % (where, self.line)
        if self.section:
            where = '%s [%s]' % (where, self.section)
        if self.option:
            where = '%s %s' % (where, self.option)
        return where


@dataclasses.dataclass(frozen=True)
class ConfEntry:
    """One value of a multi-valued option (``device_spec``/``alias``).

    ``number`` is the 1-based position among all values of the option after
    combining the files, which is the order Nova sees them in.
    """

    text: str
    number: int
    source: Source

    @property
    def subject(self):
        """e.g. ``nova.conf:12 [pci] device_spec #2``."""
        return '%s #%d' % (self.source.label(), self.number)


@dataclasses.dataclass(frozen=True)
class MdevGroup:
    """``[mdev_<type>]`` options of one enabled mdev type."""

    mdev_type: str
    device_addresses: tuple = ()
    mdev_class: str = 'VGPU'
    max_instances: int | None = None
    source: Source = Source()
    # Source of device_addresses, to point at the line when it is wrong.
    addresses_source: Source | None = None


@dataclasses.dataclass(frozen=True)
class OptionError:
    """An option value oslo.config refuses (Nova would not start)."""

    source: Source
    value: str
    message: str


@dataclasses.dataclass(frozen=True)
class ConfSnapshot:
    """Everything the config rules need, from one or more files."""

    files: tuple = ()
    sha256: tuple = ()              # of each file's bytes, as files
    device_specs: tuple = ()        # ConfEntry, in Nova's order
    aliases: tuple = ()             # ConfEntry
    report_in_placement: bool = False
    report_in_placement_source: Source | None = None
    pci_in_placement: bool = False
    pci_in_placement_source: Source | None = None
    enabled_mdev_types: tuple = ()  # str
    enabled_mdev_types_source: Source | None = None
    mdev_groups: tuple = ()         # MdevGroup, one per enabled type
    stray_mdev_sections: tuple = ()  # Source of [mdev_x] not enabled
    unknown_pci_options: tuple = ()  # ConfEntry for e.g. ``dev_spec =``
    option_errors: tuple = ()        # OptionError


class ConfReadError(ValueError):
    """A nova.conf file is missing, unreadable or not an INI file."""
