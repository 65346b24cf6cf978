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

"""What differs between the Nova releases vfioclient targets, in one place.

Every fact below was read in Nova's source on the branch of each series
(``stable/2025.1``, ``stable/2025.2``, ``stable/2026.1``) and, for 2026.2,
in the nova 34.0.0 release (which is ``master`` of August 2026 plus its
release commits).  Releases are named by series; :data:`RELEASES` maps
them to their first version (git tags ``31.0.0`` ... ``34.0.0``).

* device_spec tags (:data:`TAGS_SINCE`): ``live_migratable`` arrived in
  31.0.0 (2025.1, ``nova/pci/devspec.py`` and ``nova/pci/request.py``),
  ``one_time_use`` in 32.0.0 (2025.2, commit "Support one-time-use PCI
  devices").  A release that does not know a tag keeps it as a plain tag
  with no effect.
* traits the PCI-in-Placement translator puts on the providers it
  creates (:data:`TRAITS_SINCE`, ``nova/compute/pci_placement_translator.py``):
  ``COMPUTE_MANAGED_PCI_DEVICE`` always; ``HW_PCI_ONE_TIME_USE`` on
  one-time-use providers since 2025.2; ``HW_PCI_LIVE_MIGRATABLE`` when the
  device_spec says ``live_migratable`` and ``OWNER_NOVA`` on every PCI
  provider since 2026.2 (neither is on ``stable/2026.1``).
* the libvirt / QEMU minimum for ``live_migratable``
  (``MIN_VFIO_PCI_VARIANT_LIBVIRT_VERSION`` / ``..._QEMU_VERSION`` in
  ``nova/virt/libvirt/driver.py``, ``_check_pci_whitelist``): the same,
  10.0.0 / 8.2.2, in every release of the table.

:data:`DEFAULT_SERIES` is the oldest release: checks and plans made for
it never rely on something a newer release added, so what a wrong guess
costs on a newer cloud is a warning too many, never a silent gap (see the
upgrade guide, "Target Nova release").
"""

import dataclasses

COMPUTE_MANAGED_PCI_DEVICE = 'COMPUTE_MANAGED_PCI_DEVICE'
HW_PCI_LIVE_MIGRATABLE = 'HW_PCI_LIVE_MIGRATABLE'
HW_PCI_ONE_TIME_USE = 'HW_PCI_ONE_TIME_USE'
OWNER_NOVA = 'OWNER_NOVA'


@dataclasses.dataclass(frozen=True)
class NovaRelease:
    """One Nova release series."""

    series: str      # '2025.1'
    name: str        # 'Epoxy'
    version: str     # its first release, '31.0.0'

    def __str__(self):
        return 'Nova %s (%s, %s)' % (self.series, self.name, self.version)

    def at_least(self, series):
        return _order(self.series) >= _order(series)

    def knows_tag(self, tag):
        """Does this release read device_spec tag ``tag`` itself?

        Tags that are not release-dependent (``managed``,
        ``resource_class``, ...) are known to every release of the table.
        """
        since = TAGS_SINCE.get(tag)
        return since is None or self.at_least(since)

    def pci_provider_traits(self, tags):
        """The traits this release puts itself on the PCI provider of
        devices whose device_spec has ``tags`` (normalised as Nova holds
        them: booleans are ``"true"``/``"false"``).

        ``_get_traits_for_dev`` and ``PciResourceProvider.add_parent`` /
        ``update_provider_tree`` in ``pci_placement_translator.py``.
        """
        wanted = {COMPUTE_MANAGED_PCI_DEVICE, OWNER_NOVA}
        if tags.get('live_migratable') == 'true':
            wanted.add(HW_PCI_LIVE_MIGRATABLE)
        if tags.get('one_time_use') == 'true':
            wanted.add(HW_PCI_ONE_TIME_USE)
        return frozenset(t for t in wanted if self.at_least(
            TRAITS_SINCE[t]))


def _order(series):
    year, number = series.split('.')
    return int(year), int(number)


RELEASES = (
    NovaRelease('2025.1', 'Epoxy', '31.0.0'),
    NovaRelease('2025.2', 'Flamingo', '32.0.0'),
    NovaRelease('2026.1', 'Gazpacho', '33.0.0'),
    NovaRelease('2026.2', 'Hibiscus', '34.0.0'),
)
SERIES = tuple(r.series for r in RELEASES)
OLDEST = RELEASES[0]
DEFAULT = OLDEST
DEFAULT_SERIES = DEFAULT.series

# device_spec tags that arrived after the oldest release of the table, or
# with it (listed so that the table says where each tag comes from).
TAGS_SINCE = {
    'live_migratable': '2025.1',
    'one_time_use': '2025.2',
}

TRAITS_SINCE = {
    COMPUTE_MANAGED_PCI_DEVICE: OLDEST.series,
    HW_PCI_ONE_TIME_USE: '2025.2',
    HW_PCI_LIVE_MIGRATABLE: '2026.2',
    OWNER_NOVA: '2026.2',
}

# nova/virt/libvirt/driver.py, every release above: nova-compute refuses
# to start when a device_spec carries live_migratable ("yes" or "no":
# the check tests the normalised string, and "false" is truthy).
MIN_LIVE_MIGRATABLE_LIBVIRT = (10, 0, 0)
MIN_LIVE_MIGRATABLE_QEMU = (8, 2, 2)
LIVE_MIGRATABLE_TOO_OLD = ("PCI device spec is configured for "
                           "live_migratable but it's not supported by "
                           "libvirt.")


def get(series):
    """The :class:`NovaRelease` of ``series``.

    :raises ValueError: for a series not in :data:`RELEASES`.
    """
    for release in RELEASES:
        if release.series == series:
            return release
    raise ValueError('unknown Nova release %r; known releases: %s'
                     % (series, ', '.join(SERIES)))


def for_version(version):
    """The release whose series a Nova version (``34.0.0``) belongs to.

    :raises ValueError: for a major version not in :data:`RELEASES`.
    """
    major = str(version).split('.')[0]
    for release in RELEASES:
        if release.version.split('.')[0] == major:
            return release
    raise ValueError('Nova %s is not a release of %s'
                     % (version, ', '.join(SERIES)))


def version_tuple(text):
    """``'10.0.0'`` -> ``(10, 0, 0)``.

    :raises ValueError: anything but dot-separated decimal numbers.
    """
    parts = str(text).strip().split('.')
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError('%r is not a version like 10.0.0' % (text,))
    numbers = tuple(int(p) for p in parts)
    return numbers + (0,) * (3 - len(numbers))


def format_version(numbers):
    return '.'.join(str(n) for n in numbers)


def live_migratable_version_problems(libvirt_version, qemu_version):
    """Why nova-compute refuses a device_spec with ``live_migratable`` on
    a host with these versions (strings; None when unknown): a list of
    ``'libvirt 9.0.0 < 10.0.0'`` items, empty when both are new enough
    or unknown."""
    problems = []
    for what, version, minimum in (
            ('libvirt', libvirt_version, MIN_LIVE_MIGRATABLE_LIBVIRT),
            ('QEMU', qemu_version, MIN_LIVE_MIGRATABLE_QEMU)):
        if version is not None and version_tuple(version) < minimum:
            problems.append('%s %s < %s' % (what, version,
                                            format_version(minimum)))
    return problems
