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

"""Read a host's NVIDIA GPUs from sysfs into a host report.

Entry point: :func:`collect_host_report`.  Reads, under ``root`` (``/`` on a
real host, a fake tree in tests):

- ``sys/bus/pci/devices/*``: ``vendor``, ``device``, ``class``,
  ``subsystem_vendor``, ``subsystem_device`` (optional), ``driver``,
  ``numa_node``, ``iommu_group``, ``physfn``, ``virtfn*``,
  ``sriov_totalvfs``, ``sriov_numvfs``, ``mdev_supported_types/*``, and on
  VFs ``nvidia/creatable_vgpu_types`` and ``nvidia/current_vgpu_type``;
- ``sys/bus/mdev/devices/*``: existing mdevs, their parent and type;
- ``etc/mdevctl.d/<parent>/<uuid>``: persisted mdevs (see
  :func:`collect_mdev_definitions`).

Only functions of NVIDIA's vendor id with a display class (``0x03xxxx``)
are kept; the NVIDIA audio/USB functions of a board are not GPUs.

It never raises on odd input: missing or unreadable files, garbled values
and dangling links become :class:`~vfioclient.model.host.ReportWarning`
entries whose ``path`` is the file as seen on the host (``/sys/...``,
``/etc/mdevctl.d/...``, even when ``root`` is a fake tree).
Classification and GPU summaries are done by
:mod:`vfioclient.collect.host_summary`.
"""

import dataclasses
import datetime
import json
import os
import re
import socket

from vfioclient.collect import host_summary
from vfioclient.model import host as model
from vfioclient.nova import pci_address
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import vgpu_types

PCI_DEVICES = 'sys/bus/pci/devices'
MDEV_DEVICES = 'sys/bus/mdev/devices'
# mdevctl's directories (mdevctl src/environment.rs: config_base and
# parent_base, relative to the root; the paths are compiled into mdevctl,
# so they are the same on every distribution).  Its config directory also
# held the callout and notifier scripts before mdevctl 1.2 (scripts.d):
# they are not definitions.
MDEVCTL_DEFINITIONS = 'etc/mdevctl.d'
MDEVCTL_SCRIPTS = 'scripts.d'
MDEV_PARENTS = 'sys/class/mdev_bus'

# The names mdevctl writes (uuid.hyphenated()) and the values the host
# report allows: a parent is a device name (a PCI address for GPUs, a CCW
# or AP name on s390), a type a vendor type directory name.
_UUID_RE = re.compile(r'^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$')
_PARENT_RE = re.compile(r'^[A-Za-z0-9._:-]+$')
_MDEV_TYPE_RE = re.compile(r'^[A-Za-z0-9._:+-]+$')


class _Reader:
    """Reads sysfs files under a root and records what went wrong."""

    def __init__(self, root):
        self.root = os.path.abspath(root or '/')
        self.warnings = []

    def host_path(self, path):
        """The path as the host sees it, for warnings."""
        rel = os.path.relpath(path, self.root)
        return '/' + rel.replace(os.sep, '/')

    def warn(self, path, message):
        self.warnings.append(model.ReportWarning(path=self.host_path(path),
                                                 message=message))

    def text(self, path, required=True):
        """File content, or None (with a warning if ``required``)."""
        try:
            with open(path, 'rb') as f:
                data = f.read(65536)
        except FileNotFoundError:
            if os.path.islink(path):
                self.warn(path, 'dangling symlink')
            elif required:
                self.warn(path, 'missing')
            return None
        except PermissionError:
            self.warn(path, 'permission denied')
            return None
        except OSError as e:
            self.warn(path, 'cannot read: %s' % (e.strerror or e))
            return None
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError:
            self.warn(path, 'not valid UTF-8 text')
            return None

    def integer(self, path, required=False):
        """Decimal integer file (``sriov_*``, ``numa_node``), or None."""
        text = self.text(path, required=required)
        if text is None:
            return None
        try:
            return int(text.strip())
        except ValueError:
            self.warn(path, 'not a decimal number: %r' % text.strip()[:40])
            return None

    def hex_id(self, path, digits, required=True):
        """``0x10de`` -> ``10de``; None (with a warning) when garbled."""
        text = self.text(path, required=required)
        if text is None:
            return None
        value = text.strip().lower()
        if value.startswith('0x'):
            value = value[2:]
        if len(value) != digits or any(
                c not in '0123456789abcdef' for c in value):
            self.warn(path, 'not a %d-digit hex id: %r'
                      % (digits, text.strip()[:40]))
            return None
        return value

    def link_name(self, path, must_resolve=True):
        """Basename of a symlink's target, or None if there is no link."""
        try:
            target = os.readlink(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            self.warn(path, 'cannot read link: %s' % (e.strerror or e))
            return None
        if must_resolve and not os.path.exists(path):
            self.warn(path, 'dangling symlink to %s' % target)
        return os.path.basename(target.rstrip('/'))

    def listdir(self, path):
        """Sorted names in a directory; [] if it does not exist."""
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as e:
            self.warn(path, 'cannot list: %s' % (e.strerror or e))
            return []


def _virtfns(reader, dev_dir, names):
    """VF addresses from ``virtfnN`` links, in N order."""
    indexed = []
    for name in names:
        if not name.startswith('virtfn'):
            continue
        try:
            index = int(name[len('virtfn'):])
        except ValueError:
            continue
        target = reader.link_name(os.path.join(dev_dir, name))
        if target and pci_address.is_canonical(target):
            indexed.append((index, target))
    return tuple(address for _, address in sorted(indexed))


def _mdev_types(reader, dev_dir):
    types_dir = os.path.join(dev_dir, 'mdev_supported_types')
    types = []
    for type_id in reader.listdir(types_dir):
        type_dir = os.path.join(types_dir, type_id)
        if not os.path.isdir(type_dir):
            continue
        name = reader.text(os.path.join(type_dir, 'name'), required=False)
        description = reader.text(os.path.join(type_dir, 'description'),
                                  required=False)
        device_api = reader.text(os.path.join(type_dir, 'device_api'),
                                 required=False)
        types.append(model.MdevType(
            id=type_id,
            name=name.strip() if name is not None else None,
            description=(description.strip()
                         if description is not None else None),
            device_api=device_api.strip() if device_api is not None else None,
            available_instances=reader.integer(
                os.path.join(type_dir, 'available_instances'),
                required=True),
        ))
    return tuple(types)


def _variant_state(reader, dev_dir):
    """``(creatable_vgpu_types, current_vgpu_type)`` of a VF.

    ``(None, None)`` when there is no ``nvidia/`` directory.  With the
    directory, an unreadable creatable list is an empty tuple so the VF is
    still recognised as a variant-driver VF (the warning says why).
    """
    nvidia_dir = os.path.join(dev_dir, 'nvidia')
    if not os.path.isdir(nvidia_dir):
        return None, None
    creatable_path = os.path.join(nvidia_dir, 'creatable_vgpu_types')
    text = reader.text(creatable_path)
    creatable = ()
    if text is not None:
        entries, bad_lines = vgpu_types.parse_creatable_vgpu_types(text)
        creatable = tuple(model.VgpuType(id=e.id, name=e.name)
                          for e in entries)
        if bad_lines:
            reader.warn(creatable_path, 'ignored %d unparsable line(s), '
                        'first: %r' % (len(bad_lines), bad_lines[0][:60]))
    current = reader.integer(os.path.join(nvidia_dir, 'current_vgpu_type'),
                             required=True)
    return creatable, current


def _read_device(reader, dev_dir, address, mdevs):
    """A :class:`HostDevice`, or None when it is not an NVIDIA GPU."""
    if not os.path.exists(dev_dir):
        if os.path.islink(dev_dir):
            reader.warn(dev_dir, 'dangling symlink')
        return None
    vendor = reader.hex_id(os.path.join(dev_dir, 'vendor'), 4)
    if vendor != pci_ids.VENDOR_ID:
        return None
    pci_class = reader.hex_id(os.path.join(dev_dir, 'class'), 6)
    if pci_class is None or not pci_class.startswith('03'):
        return None
    product = reader.hex_id(os.path.join(dev_dir, 'device'), 4)
    if product is None:
        reader.warn(dev_dir, 'NVIDIA display function skipped: its '
                    'device id could not be read')
        return None
    names = reader.listdir(dev_dir)
    creatable, current = (None, None)
    physfn = reader.link_name(os.path.join(dev_dir, 'physfn'))
    if physfn is not None and not pci_address.is_canonical(physfn):
        reader.warn(os.path.join(dev_dir, 'physfn'),
                    'link target %r is not a PCI address' % physfn)
        physfn = None
    if physfn is not None:
        creatable, current = _variant_state(reader, dev_dir)
    iommu_group = reader.link_name(os.path.join(dev_dir, 'iommu_group'))
    try:
        iommu_group = int(iommu_group) if iommu_group is not None else None
    except ValueError:
        reader.warn(os.path.join(dev_dir, 'iommu_group'),
                    'link target %r is not a group number' % iommu_group)
        iommu_group = None
    return model.HostDevice(
        address=address,
        vendor_id=vendor,
        product_id=product,
        pci_class=pci_class,
        subsystem_vendor_id=reader.hex_id(
            os.path.join(dev_dir, 'subsystem_vendor'), 4, required=False),
        subsystem_device_id=reader.hex_id(
            os.path.join(dev_dir, 'subsystem_device'), 4, required=False),
        driver=reader.link_name(os.path.join(dev_dir, 'driver'),
                                must_resolve=False),
        numa_node=reader.integer(os.path.join(dev_dir, 'numa_node')),
        iommu_group=iommu_group,
        physfn=physfn,
        virtfns=_virtfns(reader, dev_dir, names),
        sriov_totalvfs=reader.integer(
            os.path.join(dev_dir, 'sriov_totalvfs')),
        sriov_numvfs=reader.integer(os.path.join(dev_dir, 'sriov_numvfs')),
        mdev_supported_types=_mdev_types(reader, dev_dir),
        mdevs=tuple(sorted(mdevs.get(address, ()), key=lambda m: m.uuid)),
        creatable_vgpu_types=creatable,
        current_vgpu_type=current,
    )


def _read_mdevs(reader):
    """``{parent address: [Mdev, ...]}`` from ``/sys/bus/mdev/devices``."""
    mdev_root = os.path.join(reader.root, MDEV_DEVICES)
    found = {}
    for uuid in reader.listdir(mdev_root):
        link = os.path.join(mdev_root, uuid)
        if not os.path.exists(link):
            reader.warn(link, 'dangling symlink')
            continue
        real = os.path.realpath(link)
        parent = os.path.basename(os.path.dirname(real))
        if not pci_address.is_canonical(parent):
            reader.warn(link, 'parent %r of the mdev is not a PCI device'
                        % parent)
            continue
        mdev_type = reader.link_name(os.path.join(link, 'mdev_type'))
        if mdev_type is None:
            reader.warn(os.path.join(link, 'mdev_type'), 'missing')
        found.setdefault(parent, []).append(
            model.Mdev(uuid=uuid, type=mdev_type))
    return found


def _definition_problem(data):
    """Why mdevctl cannot load a parsed definition, or None.

    mdevctl's ``MDev::load_from_json`` (src/mdev.rs) needs ``mdev_type``
    (a string) and ``start``, and ``attrs``, when present, must be a list.
    One file it cannot load makes ``mdevctl list --defined`` fail as a
    whole (``get_defined_devices``), and libvirt lists defined mdevs with
    that command.
    """
    if not isinstance(data, dict):
        return 'not a JSON object'
    if not isinstance(data.get('mdev_type'), str):
        return '"mdev_type" is missing or not a string'
    if not _MDEV_TYPE_RE.match(data['mdev_type']):
        return '"mdev_type" %r is not a type name' % data['mdev_type'][:40]
    if data.get('start') is None:
        return '"start" is missing'
    if data.get('attrs') is not None and not isinstance(data['attrs'],
                                                         list):
        return '"attrs" is not a list'
    return None


def _read_definition(reader, path, parent, uuid):
    """A :class:`MdevDefinition`, or None with a warning saying why."""
    text = reader.text(path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError as e:
        problem = 'not valid JSON (%s)' % e
    else:
        problem = _definition_problem(data)
    if problem:
        reader.warn(path, 'malformed mdev definition: %s. mdevctl cannot '
                    'load it, and "mdevctl list --defined" fails while it '
                    'is there: check it and remove it by hand' % problem)
        return None
    mdev_type = data['mdev_type']
    # mdevctl starts a definition on parent registration only when start
    # is "auto"; any other value means manual (MDev::load_from_json).
    start = 'auto' if data['start'] == 'auto' else 'manual'
    link = os.path.join(reader.root, MDEV_DEVICES, uuid)
    # Active as mdevctl decides it (MDev::load_from_sysfs): the mdev
    # exists and sits under this parent.
    active = (os.path.exists(link) and os.path.basename(
        os.path.dirname(os.path.realpath(link))) == parent)
    offers = os.path.isdir(os.path.join(
        reader.root, MDEV_PARENTS, parent, 'mdev_supported_types',
        mdev_type))
    return model.MdevDefinition(uuid=uuid, parent=parent,
                                mdev_type=mdev_type, start=start,
                                active=active, parent_offers_type=offers)


def _read_mdev_definitions(reader):
    definitions = []
    config = os.path.join(reader.root, MDEVCTL_DEFINITIONS)
    for parent in reader.listdir(config):
        parent_dir = os.path.join(config, parent)
        if parent == MDEVCTL_SCRIPTS or not os.path.isdir(parent_dir):
            continue
        if not _PARENT_RE.match(parent):
            reader.warn(parent_dir, 'skipped: %r is not a device name'
                        % parent[:60])
            continue
        for name in reader.listdir(parent_dir):
            path = os.path.join(parent_dir, name)
            # mdevctl skips what is not a file, and warns about (and
            # skips) files not named by a UUID.
            if not os.path.isfile(path):
                continue
            if not _UUID_RE.match(name):
                reader.warn(path, 'not an mdev definition: mdevctl '
                            'ignores files not named by a UUID')
                continue
            definition = _read_definition(reader, path, parent, name)
            if definition is not None:
                definitions.append(definition)
    return tuple(definitions)


def collect_mdev_definitions(root='/'):
    """Persisted mdevs under ``root``: ``(definitions, warnings)``.

    mdevctl keeps one JSON file per persisted mdev,
    ``/etc/mdevctl.d/<parent>/<uuid>`` with ``mdev_type``, ``start``
    (``auto``/``manual``) and ``attrs`` (mdevctl README,
    https://github.com/mdevctl/mdevctl); libvirt's node-device driver
    defines mdevs through it (``mdevctl define``,
    src/node_device/node_device_driver.c), and so does Nova since 30.0.0.
    A file mdevctl could not load is a warning naming it; the others are
    still read.  Sorted by (parent, uuid).
    """
    reader = _Reader(root)
    return _read_mdev_definitions(reader), tuple(reader.warnings)


def collect_devices(root='/'):
    """Read every NVIDIA display function: ``(devices, warnings)``.

    Devices are unclassified; :func:`collect_host_report` is the usual
    entry point.
    """
    reader = _Reader(root)
    mdevs = _read_mdevs(reader)
    pci_root = os.path.join(reader.root, PCI_DEVICES)
    if not os.path.isdir(pci_root):
        reader.warn(pci_root, 'missing: no PCI devices could be read')
        return (), tuple(reader.warnings)
    devices = []
    for address in reader.listdir(pci_root):
        if not pci_address.is_canonical(address):
            continue
        device = _read_device(reader, os.path.join(pci_root, address),
                              address, mdevs)
        if device is not None:
            devices.append(device)
    return tuple(devices), tuple(reader.warnings)


def utc_now():
    """Timestamp in the report's ``collected_at`` format."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%SZ')


def collect_host_report(root='/', hostname=None, collected_at=None):
    """Read sysfs and mdevctl's definitions under ``root`` into a
    classified :class:`HostReport`."""
    devices, warnings = collect_devices(root)
    definitions, definition_warnings = collect_mdev_definitions(root)
    report = host_summary.build_report(
        devices, warnings + definition_warnings,
        hostname=hostname or socket.gethostname(),
        collected_at=collected_at or utc_now(),
        sysfs_root=root or '/')
    return dataclasses.replace(report, mdev_definitions=definitions)
