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

"""The host collector: one GPU host's report, with python3 alone.

This is the one implementation of the host report.  ``openstack vfio host
report`` runs it in-process (``collect/sysfs.py`` builds the
:class:`~vfioclient.model.host.HostReport` from its document, the model
checking it against the schema), and ``openstack vfio host collector``
prints it as a single runnable file for hosts without OSC:
:mod:`vfioclient.collect.hostscan_script` bundles this module with the
modules it imports.

Why standard library only: it must run on a compute node with nothing but
the host's ``python3`` (Python 3.8 or later; ``python3 -I -S`` runs it,
no site-packages).  So it imports the standard library and, of
vfioclient, only the owners of the NVIDIA and PCI knowledge it applies,
which are standard-library only themselves: ``nvidia/classify``,
``nvidia/pci_ids``, ``nvidia/profiles``, ``nvidia/vgpu_types`` and
``nova/pci_address`` (with ``nova/errors``).  They stay the
one place of their concept rather than being copied here: the printed
file carries their source verbatim, the bundler refuses any other import
or newer syntax, and the unit tests run the printed file with ``python3
-I -S`` against ``host report``.  What is only about reading a host (the
sysfs and mdevctl files, the report's layout) lives here, with
:mod:`.hostfiles` (reading a file under the root, a warning for what is
odd) and :mod:`.libvirt_cache` (the libvirt and QEMU versions).

Reads, under ``root`` (``/`` on a real host, a fake tree in tests):

- ``sys/bus/pci/devices/*``: ``vendor``, ``device``, ``class``,
  ``subsystem_vendor``, ``subsystem_device`` (optional), ``driver``,
  ``numa_node``, ``iommu_group``, ``physfn``, ``virtfn*``,
  ``sriov_totalvfs``, ``sriov_numvfs``, ``mdev_supported_types/*``, and on
  VFs ``nvidia/creatable_vgpu_types`` and ``nvidia/current_vgpu_type``;
- ``sys/bus/mdev/devices/*``: existing mdevs, their parent and type;
- ``etc/mdevctl.d/<parent>/<uuid>``: persisted mdevs (see
  :func:`read_mdev_definitions`);
- ``var/cache/libvirt/qemu/capabilities/*.xml``: the libvirt and QEMU
  versions (see :func:`.libvirt_cache.read_versions`).

Only functions of NVIDIA's vendor id with a display class (``0x03xxxx``)
are kept; the NVIDIA audio/USB functions of a board are not GPUs.  Each
function gets its classification (``classify.classify_device``) and each
PF with its VFs one GPU summary (types offered and in use, mode, board
name).

It never raises on odd input: missing or unreadable files, garbled values
and dangling links become warnings whose ``path`` is the file as seen on
the host (``/sys/...``, ``/etc/mdevctl.d/...``, even when ``root`` is a
fake tree).  :func:`collect` returns the document as plain data, keys in
the order of ``HostReport.to_json()``; :func:`main` is the command line
of the printed file.
"""

import argparse
import collections
import datetime
import json
import os
import re
import socket
import sys
import types

from vfioclient.collect import hostfiles
from vfioclient.collect import libvirt_cache
from vfioclient.nova import pci_address
from vfioclient.nvidia import classify
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles
from vfioclient.nvidia import vgpu_types

# The document this writes: vfioclient/model/schemas/host-report.schema.json.
SCHEMA_VERSION = 1
KIND = 'vfio-host-report'

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

# -- PCI functions ------------------------------------------------------------

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
    return [address for _, address in sorted(indexed)]


def _mdev_types(reader, dev_dir):
    types_dir = os.path.join(dev_dir, 'mdev_supported_types')
    found = []
    for type_id in reader.listdir(types_dir):
        type_dir = os.path.join(types_dir, type_id)
        if not os.path.isdir(type_dir):
            continue
        found.append({
            'id': type_id,
            'name': reader.stripped(os.path.join(type_dir, 'name')),
            'description': reader.stripped(
                os.path.join(type_dir, 'description')),
            'device_api': reader.stripped(
                os.path.join(type_dir, 'device_api')),
            'available_instances': reader.integer(
                os.path.join(type_dir, 'available_instances'),
                required=True),
        })
    return found


def _variant_state(reader, dev_dir):
    """``(creatable_vgpu_types, current_vgpu_type)`` of a VF.

    ``(None, None)`` when there is no ``nvidia/`` directory.  With the
    directory, an unreadable creatable list is an empty list so the VF is
    still recognised as a variant-driver VF (the warning says why).
    """
    nvidia_dir = os.path.join(dev_dir, 'nvidia')
    if not os.path.isdir(nvidia_dir):
        return None, None
    creatable_path = os.path.join(nvidia_dir, 'creatable_vgpu_types')
    text = reader.text(creatable_path)
    creatable = []
    if text is not None:
        entries, bad_lines = vgpu_types.parse_creatable_vgpu_types(text)
        creatable = [{'id': e.id, 'name': e.name} for e in entries]
        if bad_lines:
            reader.warn(creatable_path, 'ignored %d unparsable line(s), '
                        'first: %r' % (len(bad_lines), bad_lines[0][:60]))
    current = reader.integer(os.path.join(nvidia_dir, 'current_vgpu_type'),
                             required=True)
    return creatable, current


def _iommu_group(reader, dev_dir):
    path = os.path.join(dev_dir, 'iommu_group')
    group = reader.link_name(path)
    if group is None:
        return None
    try:
        return int(group)
    except ValueError:
        reader.warn(path, 'link target %r is not a group number' % group)
        return None


def _read_device(reader, dev_dir, address, mdevs):
    """A device of the report (unclassified), or None when it is not an
    NVIDIA GPU function."""
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
    iommu_group = _iommu_group(reader, dev_dir)
    # Read in this order: it is the order of the warnings.
    return {
        'address': address,
        'vendor_id': vendor,
        'product_id': product,
        'class': pci_class,
        'subsystem_vendor_id': reader.hex_id(
            os.path.join(dev_dir, 'subsystem_vendor'), 4, required=False),
        'subsystem_device_id': reader.hex_id(
            os.path.join(dev_dir, 'subsystem_device'), 4, required=False),
        'driver': reader.link_name(os.path.join(dev_dir, 'driver'),
                                   must_resolve=False),
        'numa_node': reader.integer(os.path.join(dev_dir, 'numa_node')),
        'iommu_group': iommu_group,
        'physfn': physfn,
        'virtfns': _virtfns(reader, dev_dir, names),
        'sriov_totalvfs': reader.integer(
            os.path.join(dev_dir, 'sriov_totalvfs')),
        'sriov_numvfs': reader.integer(
            os.path.join(dev_dir, 'sriov_numvfs')),
        'mdev_supported_types': _mdev_types(reader, dev_dir),
        'mdevs': sorted(mdevs.get(address, ()), key=lambda m: m['uuid']),
        'creatable_vgpu_types': creatable,
        'current_vgpu_type': current,
        'classification': classify.UNCONFIGURED,
    }


def _read_mdevs(reader):
    """``{parent address: [mdev, ...]}`` from ``/sys/bus/mdev/devices``."""
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
        found.setdefault(parent, []).append({'uuid': uuid,
                                             'type': mdev_type})
    return found


def read_devices(root='/'):
    """Every NVIDIA display function under ``root``, unclassified:
    ``(devices, warnings)``, sorted by address."""
    reader = hostfiles.Reader(root)
    mdevs = _read_mdevs(reader)
    pci_root = os.path.join(reader.root, PCI_DEVICES)
    if not os.path.isdir(pci_root):
        reader.warn(pci_root, 'missing: no PCI devices could be read')
        return [], reader.warnings
    devices = []
    for address in reader.listdir(pci_root):
        if not pci_address.is_canonical(address):
            continue
        device = _read_device(reader, os.path.join(pci_root, address),
                              address, mdevs)
        if device is not None:
            devices.append(device)
    return devices, reader.warnings


# -- classification and GPU summaries -----------------------------------------

def _classification(device):
    """:func:`classify.classify_device` of a device of the report."""
    view = types.SimpleNamespace(
        is_vf=device['physfn'] is not None,
        has_variant_interface=(device['creatable_vgpu_types'] is not None
                               or device['current_vgpu_type'] is not None),
        mdev_supported_types=device['mdev_supported_types'],
        mdevs=device['mdevs'], driver=device['driver'])
    return classify.classify_device(view)


def _subsystem(device):
    """``(subsystem vendor id, subsystem device id)``, or None when
    either is unknown."""
    vendor = device.get('subsystem_vendor_id')
    product = device.get('subsystem_device_id')
    return (vendor, product) if vendor and product else None


def summarize_gpu(pf, vfs):
    """The GPU summary of a classified PF and its VFs."""
    functions = [pf] + list(vfs)
    offered = {}
    for dev in functions:
        for mtype in dev['mdev_supported_types']:
            number = vgpu_types.mdev_type_number(mtype['id'])
            if number is not None:
                offered.setdefault(number, mtype['name'])
        for vtype in dev['creatable_vgpu_types'] or ():
            offered.setdefault(vtype['id'], vtype['name'])
    names = {k: v for k, v in offered.items() if v}

    in_use = collections.Counter()
    for dev in functions:
        for mdev in dev['mdevs']:
            number = (vgpu_types.mdev_type_number(mdev['type'])
                      if mdev['type'] else None)
            if number is not None:
                in_use[number] += 1
        if dev['current_vgpu_type']:
            in_use[dev['current_vgpu_type']] += 1

    def name_of(type_id):
        return names.get(type_id) or profiles.known_type_name(type_id)

    return {
        'address': pf['address'],
        'model': pci_ids.gpu_model(pf['product_id'],
                                   [n for n in names.values() if n],
                                   subsystem=_subsystem(pf)),
        'vendor_id': pf['vendor_id'],
        'product_id': pf['product_id'],
        # sriov_numvfs is the kernel's count; VF records are the fallback
        # when it could not be read.
        'vf_count': (pf['sriov_numvfs'] if pf['sriov_numvfs'] is not None
                     else len(vfs)),
        'types_offered': [{'id': i, 'name': offered[i]}
                          for i in sorted(offered)],
        'types_in_use': [{'id': i, 'name': name_of(i), 'count': in_use[i]}
                         for i in sorted(in_use)],
        'mode': classify.gpu_mode(d['classification'] for d in functions),
    }


def _orphan_pf(address, first_vf):
    """What the VFs of an unreadable PF tell of it."""
    return {'address': address, 'vendor_id': first_vf['vendor_id'],
            'product_id': first_vf['product_id'],
            'class': first_vf['class'], 'sriov_numvfs': None,
            'mdev_supported_types': [], 'mdevs': [],
            'creatable_vgpu_types': None, 'current_vgpu_type': None,
            'classification': classify.UNCONFIGURED}


def summarize_gpus(devices):
    """One GPU summary per PF among classified ``devices``.

    A VF whose PF is not in the list (unreadable, or not a display
    function) is summarised under its physfn address on its own.
    """
    by_pf = collections.defaultdict(list)
    pfs = {}
    for dev in devices:
        if dev['physfn'] is not None:
            by_pf[dev['physfn']].append(dev)
        else:
            pfs[dev['address']] = dev
    gpus = []
    for address in sorted(set(pfs) | set(by_pf)):
        pf = pfs.get(address)
        vfs = by_pf.get(address, [])
        if pf is None:
            pf = _orphan_pf(address, vfs[0])
        else:
            order = {a: i for i, a in enumerate(pf['virtfns'])}
            vfs.sort(key=lambda d: (order.get(d['address'], 1 << 30),
                                    d['address']))
        gpus.append(summarize_gpu(pf, vfs))
    return gpus


def classify_devices(devices):
    """Set every device's ``classification``; sorted by address."""
    for device in devices:
        device['classification'] = _classification(device)
    return sorted(devices, key=lambda d: d['address'])


# -- persisted mdevs ----------------------------------------------------------

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
    """A persisted mdev, or None with a warning saying why."""
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
    return {'uuid': uuid, 'parent': parent, 'mdev_type': mdev_type,
            'start': start, 'active': active, 'parent_offers_type': offers}


def read_mdev_definitions(root='/'):
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
    reader = hostfiles.Reader(root)
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
    return definitions, reader.warnings


# -- the document -------------------------------------------------------------

def utc_now():
    """Timestamp in the report's ``collected_at`` format."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%SZ')


def collect(root='/', hostname=None, collected_at=None,
            libvirt_version=None, qemu_version=None, arch=None):
    """The host report document of the host under ``root``, as plain data.

    ``libvirt_version`` / ``qemu_version`` (``X.Y.Z``) win over what
    libvirt's cache says; ``arch`` is the architecture whose QEMU counts
    (default this machine's).
    """
    devices, warnings = read_devices(root)
    devices = classify_devices(devices)
    definitions, definition_warnings = read_mdev_definitions(root)
    found = libvirt_cache.Versions()
    if libvirt_version is None or qemu_version is None:
        found = libvirt_cache.read_versions(root, arch)
    doc = {
        'schema_version': SCHEMA_VERSION,
        'kind': KIND,
        'hostname': hostname or socket.gethostname(),
        'collected_at': collected_at or utc_now(),
        'sysfs_root': root or '/',
        'devices': devices,
        'gpus': summarize_gpus(devices),
        'warnings': warnings + definition_warnings + [
            hostfiles.warning(path, message)
            for path, message in found.warnings],
    }
    for key, value in (('libvirt_version', libvirt_version or found.libvirt),
                       ('qemu_version', qemu_version or found.qemu)):
        if value is not None:
            doc[key] = value
    doc['mdev_definitions'] = definitions
    return doc


def build_parser(prog=None):
    parser = argparse.ArgumentParser(
        prog=prog, description='Write the vfio host report of this GPU host '
        '(JSON) to stdout: its NVIDIA GPUs as sysfs shows them, the mdevs '
        'mdevctl persisted and the libvirt and QEMU versions.  Reading '
        'libvirt\'s capabilities cache needs root.')
    parser.add_argument(
        '--sysfs-root', metavar='DIR', default='/',
        help='read sys/, etc/mdevctl.d and var/cache/libvirt below DIR '
             'instead of / (a copy or a fake tree of a host)')
    parser.add_argument(
        '--hostname', metavar='NAME',
        help='host name recorded in the report (default: this machine\'s '
             'name); use the name nova-compute reports')
    for what in ('libvirt', 'QEMU'):
        parser.add_argument(
            '--%s-version' % what.lower(), metavar='X.Y.Z',
            type=libvirt_cache.version_argument,
            help='%s version of the host (default: read from libvirt\'s '
                 'capabilities cache)' % what)
    return parser


def main(argv=None, prog=None):
    """The command line of the printed collector."""
    args = build_parser(prog).parse_args(argv)
    if not os.path.isdir(args.sysfs_root):
        sys.stderr.write('%s: --sysfs-root %s is not a directory\n'
                         % (prog or os.path.basename(sys.argv[0]),
                            args.sysfs_root))
        return 1
    doc = collect(args.sysfs_root, hostname=args.hostname,
                  libvirt_version=args.libvirt_version,
                  qemu_version=args.qemu_version)
    sys.stdout.write(json.dumps(doc, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
