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

"""Immutable snapshot of what one GPU host has: the ``host report``.

This is the document that ``openstack vfio host report -f json`` prints and
that ``config check --host-report``, ``audit --host-report`` and ``plan``
read.  It is plain data: it decides nothing (see
:mod:`vfioclient.nvidia.classify` for classification and
:mod:`vfioclient.collect.hostscan` for reading a host).

JSON contract, ``schema_version`` 1, published as
``schemas/host-report.schema.json`` (keys are stable; a change that removes
or re-types a key bumps :data:`SCHEMA_VERSION`; new keys may be added)::

    {
      "schema_version": 1,
      "kind": "vfio-host-report",
      "hostname": "compute-1",             # str
      "collected_at": "2026-01-01T00:00:00Z",  # ISO 8601, UTC
      "sysfs_root": "/",                   # str, the root that was read
      "devices": [ <device>, ... ],        # sorted by address
      "gpus": [ <gpu>, ... ],              # one per physical GPU (PF)
      "mdev_definitions": [ <mdev definition>, ... ],  # may be absent
      "warnings": [ {"path": str, "message": str}, ... ],
      "libvirt_version": "10.0.0",         # optional: only when known
      "qemu_version": "8.2.2"              # optional: only when known
    }

    <device>  one PCI function of vendor 10de with a display class (0x03xxxx)
      address            "0000:41:00.4" (domain:bus:slot.function, lowercase)
      vendor_id          "10de"   4 lowercase hex digits, no 0x
      product_id         "2236"   4 lowercase hex digits, no 0x
      class              "030200" 6 lowercase hex digits, no 0x
      subsystem_vendor_id  "10de" | null   PCI subsystem ids, which tell
      subsystem_device_id  "14a9" | null   boards of one product id apart
                          (25b6: A16 or A2); null when unreadable, and
                          absent from reports of earlier versions
      driver             "nvidia" | "vfio-pci" | ... | null (unbound)
      numa_node          int | null (-1 is kept as the kernel reports it)
      iommu_group        int | null
      physfn             PF address (this is a VF) | null (this is a PF)
      virtfns            [VF address, ...] ordered by virtfn index
      sriov_totalvfs     int | null (no SR-IOV capability)
      sriov_numvfs       int | null
      mdev_supported_types  [{"id": "nvidia-558", "name": "NVIDIA A40-2Q",
                              "description": "num_heads=4, ...",
                              "device_api": "vfio-pci",
                              "available_instances": 1 | null}, ...]
                          ``id`` is the type directory name as libvirt and
                          Nova's ``enabled_mdev_types`` spell it; the vGPU
                          type number is its trailing integer.
      mdevs              [{"uuid": "...", "type": "nvidia-558" | null}, ...]
      creatable_vgpu_types  [{"id": 597, "name": "NVIDIA A10-24Q"}, ...]
                          | null when the device has no ``nvidia/``
                          directory (not a variant-driver VF)
      current_vgpu_type  int (0 = no vGPU configured) | null (not a
                          variant-driver VF, or unreadable: see warnings)
      classification     one of CLASSIFICATIONS (below)

    <gpu>  one physical GPU, i.e. a PF and its VFs
      address            PF address
      model              "A10", "L40S", ... or "10de:xxxx" when unknown
      vendor_id, product_id   as for devices
      vf_count           number of VFs that exist now (sriov_numvfs)
      types_offered      [{"id": 597, "name": "NVIDIA A10-24Q"}, ...]
      types_in_use       [{"id": 597, "name": "NVIDIA A10-24Q" | null,
                           "count": 4}, ...]
      mode               one of CLASSIFICATIONS or "mixed"

    <mdev definition>  one persisted mdev, mdevctl's file
                       ``/etc/mdevctl.d/<parent>/<uuid>``; sorted by
                       (parent, uuid).  Absent in reports written before
                       vfioclient read them (then unknown, not "none").
      uuid               "4b20d080-1b54-4048-85b3-a6a62d165c01"
      parent             "0000:41:00.4" (the directory name: the parent's
                          device name, a PCI address for GPUs)
      mdev_type          "nvidia-558"
      start              "auto" | "manual" (mdevctl starts "auto" ones when
                          the parent registers for mdev)
      active             bool: an mdev with this uuid exists on this parent
                          now (``/sys/bus/mdev/devices/<uuid>``)
      parent_offers_type bool: the parent is an mdev parent offering
                          mdev_type now (``/sys/class/mdev_bus/<parent>/
                          mdev_supported_types/<mdev_type>``), so starting
                          the definition can work

Nova's libvirt driver defines (persists) every mdev it creates since Nova
30.0.0 (``_create_mdev``: ``nodeDeviceDefineXML``, which libvirt implements
with ``mdevctl define``), and its ``init_host`` starts every defined,
inactive mdev (``_start_inactive_mediated_devices``), so these definitions
decide whether nova-compute starts after the switch to the variant driver.

Device classifications (per PCI function; :mod:`vfioclient.nvidia.classify`
cites the sources):

``legacy-mdev-pf``   PF that is itself an mdev parent (pre-Ampere: T4, V100)
``legacy-mdev-vf``   VF that is an mdev parent (Ampere+ legacy model)
``variant-vf``       VF with ``nvidia/current_vgpu_type`` (type set or not)
``vfio-passthrough`` bound to ``vfio-pci`` (or a passthrough variant such as
                     ``nvgrace_gpu_vfio_pci``): whole-GPU passthrough
``unconfigured``     none of the above.  A PF whose vGPUs live on its VFs is
                     ``unconfigured`` as a function; read the gpu ``mode``.

A GPU's ``mode`` is the one classification shared by its PF and VFs once
``unconfigured`` functions are ignored, ``unconfigured`` if nothing else is
there, and ``mixed`` when two models meet on one GPU.
"""

import dataclasses
import functools
import sys

from vfioclient.nova import pci_address
from vfioclient.nvidia import classify
from vfioclient.nvidia import vgpu_types
from vfioclient.model import schema

SCHEMA_VERSION = 1
KIND = 'vfio-host-report'

# The document's vocabulary; :mod:`vfioclient.nvidia.classify` decides.
LEGACY_MDEV_PF = classify.LEGACY_MDEV_PF
LEGACY_MDEV_VF = classify.LEGACY_MDEV_VF
VARIANT_VF = classify.VARIANT_VF
VFIO_PASSTHROUGH = classify.VFIO_PASSTHROUGH
UNCONFIGURED = classify.UNCONFIGURED
CLASSIFICATIONS = classify.CLASSIFICATIONS
MIXED = classify.MIXED
GPU_MODES = classify.GPU_MODES

# Device addresses in the canonical form sysfs names devices with.
PCI_ADDRESS_RE = pci_address.CANONICAL_RE


class HostReportError(ValueError):
    """A host report document is not one this version can read."""


@dataclasses.dataclass(frozen=True)
class VgpuType:
    """A vGPU type by number (as written to ``current_vgpu_type``)."""

    id: int
    name: str | None = None

    def to_json(self):
        return {'id': self.id, 'name': self.name}


@dataclasses.dataclass(frozen=True)
class VgpuTypeUsage:
    """How many functions of one GPU use a vGPU type."""

    id: int
    name: str | None
    count: int

    def to_json(self):
        return {'id': self.id, 'name': self.name, 'count': self.count}


@dataclasses.dataclass(frozen=True)
class MdevType:
    """One ``mdev_supported_types/<id>`` directory of a legacy parent."""

    id: str
    name: str | None = None
    description: str | None = None
    device_api: str | None = None
    available_instances: int | None = None

    @property
    def type_number(self):
        """The vGPU type number (``nvidia-558`` -> 558), or None
        (:func:`vfioclient.nvidia.vgpu_types.mdev_type_number`)."""
        return vgpu_types.mdev_type_number(self.id)

    @property
    def max_instance(self):
        """``max_instance`` from the description (per physical GPU)."""
        for part in (self.description or '').split(','):
            key, sep, value = part.partition('=')
            if sep and key.strip() == 'max_instance':
                try:
                    return int(value.strip())
                except ValueError:
                    return None
        return None

    def to_json(self):
        return {'id': self.id, 'name': self.name,
                'description': self.description,
                'device_api': self.device_api,
                'available_instances': self.available_instances}


@dataclasses.dataclass(frozen=True)
class Mdev:
    """An existing mediated device and its type directory name."""

    uuid: str
    type: str | None = None

    def to_json(self):
        return {'uuid': self.uuid, 'type': self.type}


@dataclasses.dataclass(frozen=True)
class MdevDefinition:
    """A persisted mdev: one mdevctl definition file (see the contract)."""

    uuid: str
    parent: str
    mdev_type: str
    start: str
    active: bool
    parent_offers_type: bool

    def to_json(self):
        return {'uuid': self.uuid, 'parent': self.parent,
                'mdev_type': self.mdev_type, 'start': self.start,
                'active': self.active,
                'parent_offers_type': self.parent_offers_type}


@dataclasses.dataclass(frozen=True)
class HostDevice:
    """One NVIDIA PCI function as read from sysfs."""

    address: str
    vendor_id: str
    product_id: str
    pci_class: str
    driver: str | None = None
    numa_node: int | None = None
    iommu_group: int | None = None
    subsystem_vendor_id: str | None = None
    subsystem_device_id: str | None = None
    physfn: str | None = None
    virtfns: tuple = ()
    sriov_totalvfs: int | None = None
    sriov_numvfs: int | None = None
    mdev_supported_types: tuple = ()
    mdevs: tuple = ()
    creatable_vgpu_types: tuple | None = None
    current_vgpu_type: int | None = None
    classification: str = UNCONFIGURED

    @property
    def is_vf(self):
        return self.physfn is not None

    @property
    def subsystem(self):
        """``(subsystem vendor id, subsystem device id)``, or None when
        either is unknown."""
        if self.subsystem_vendor_id and self.subsystem_device_id:
            return (self.subsystem_vendor_id, self.subsystem_device_id)
        return None

    @property
    def has_variant_interface(self):
        """True when the VF has NVIDIA's ``nvidia/`` sysfs directory."""
        return (self.creatable_vgpu_types is not None
                or self.current_vgpu_type is not None)

    def to_json(self):
        return {
            'address': self.address,
            'vendor_id': self.vendor_id,
            'product_id': self.product_id,
            'class': self.pci_class,
            'subsystem_vendor_id': self.subsystem_vendor_id,
            'subsystem_device_id': self.subsystem_device_id,
            'driver': self.driver,
            'numa_node': self.numa_node,
            'iommu_group': self.iommu_group,
            'physfn': self.physfn,
            'virtfns': list(self.virtfns),
            'sriov_totalvfs': self.sriov_totalvfs,
            'sriov_numvfs': self.sriov_numvfs,
            'mdev_supported_types': [
                t.to_json() for t in self.mdev_supported_types],
            'mdevs': [m.to_json() for m in self.mdevs],
            'creatable_vgpu_types': (
                None if self.creatable_vgpu_types is None
                else [t.to_json() for t in self.creatable_vgpu_types]),
            'current_vgpu_type': self.current_vgpu_type,
            'classification': self.classification,
        }


# The contract names it PciDevice too; both names mean the same record.
PciDevice = HostDevice


@dataclasses.dataclass(frozen=True)
class Gpu:
    """Summary of one physical GPU (a PF and its VFs)."""

    address: str
    model: str
    vendor_id: str
    product_id: str
    vf_count: int = 0
    types_offered: tuple = ()
    types_in_use: tuple = ()
    mode: str = UNCONFIGURED

    def to_json(self):
        return {
            'address': self.address,
            'model': self.model,
            'vendor_id': self.vendor_id,
            'product_id': self.product_id,
            'vf_count': self.vf_count,
            'types_offered': [t.to_json() for t in self.types_offered],
            'types_in_use': [t.to_json() for t in self.types_in_use],
            'mode': self.mode,
        }


@dataclasses.dataclass(frozen=True)
class ReportWarning:
    """Something the collector could not read; ``path`` names the file."""

    path: str
    message: str

    def to_json(self):
        return {'path': self.path, 'message': self.message}


@dataclasses.dataclass(frozen=True)
class HostReport:
    """The whole host report document."""

    hostname: str
    collected_at: str
    sysfs_root: str
    devices: tuple = ()
    gpus: tuple = ()
    warnings: tuple = ()
    schema_version: int = SCHEMA_VERSION
    libvirt_version: str | None = None   # 'X.Y.Z', None when unknown
    qemu_version: str | None = None
    # None: the report predates this key (unknown); () : none found.
    mdev_definitions: tuple | None = None
    # The sha256 of the file the report was read from (what ``sha256sum``
    # prints), None when it was not read from a file; the plan records it.
    # Not part of the document.
    source_sha256: str | None = dataclasses.field(
        default=None, compare=False, repr=False)

    # Indexes built on first use: the plan asks a fleet's reports for
    # devices and VFs tens of thousands of times.  (cached_property writes
    # the instance's __dict__, which a frozen dataclass allows.)
    @functools.cached_property
    def _device_index(self):
        index = {}
        for dev in self.devices:
            index.setdefault(dev.address, dev)     # the first one wins
        return index

    @functools.cached_property
    def _vf_index(self):
        by_pf = {}
        for dev in self.devices:
            if dev.physfn is not None:
                by_pf.setdefault(dev.physfn, []).append(dev)
        return by_pf

    def device(self, address):
        """The device at ``address``, or None."""
        return self._device_index.get(address)

    def gpu(self, address):
        """The GPU whose PF is at ``address``, or None."""
        for gpu in self.gpus:
            if gpu.address == address:
                return gpu
        return None

    def vfs_of(self, pf_address):
        """The VF devices of a PF, in virtfn order."""
        vfs = self._vf_index.get(pf_address)
        if not vfs:
            return []
        pf = self.device(pf_address)
        order = {a: i for i, a in enumerate(pf.virtfns)} if pf else {}
        return sorted(vfs, key=lambda d: (order.get(d.address, 1 << 30),
                                          d.address))

    def to_json(self):
        """The document as plain JSON-able data (key order is stable)."""
        doc = {
            'schema_version': self.schema_version,
            'kind': KIND,
            'hostname': self.hostname,
            'collected_at': self.collected_at,
            'sysfs_root': self.sysfs_root,
            'devices': [d.to_json() for d in self.devices],
            'gpus': [g.to_json() for g in self.gpus],
            'warnings': [w.to_json() for w in self.warnings],
            **{key: value for key, value in (
                ('libvirt_version', self.libvirt_version),
                ('qemu_version', self.qemu_version)) if value is not None},
        }
        if self.mdev_definitions is not None:
            doc['mdev_definitions'] = [d.to_json()
                                       for d in self.mdev_definitions]
        doc['warnings'] = [w.to_json() for w in self.warnings]
        return doc

    @classmethod
    def from_json(cls, data, source='host report', source_sha256=None):
        """The report in a parsed document.

        Checked against ``schemas/host-report.schema.json`` first:
        :class:`HostReportError` names the first bad field, so a truncated
        or hand-edited file gets a clear message, not a KeyError.
        """
        DOCUMENT.check(data, source)
        return cls(
            hostname=data['hostname'],
            collected_at=data['collected_at'],
            sysfs_root=data['sysfs_root'],
            devices=tuple(_device_from_json(d) for d in data['devices']),
            gpus=tuple(_gpu_from_json(g) for g in data['gpus']),
            warnings=tuple(ReportWarning(path=w['path'],
                                         message=w['message'])
                           for w in data['warnings']),
            schema_version=data['schema_version'],
            libvirt_version=data.get('libvirt_version'),
            qemu_version=data.get('qemu_version'),
            mdev_definitions=(
                None if 'mdev_definitions' not in data
                else tuple(_mdev_definition_from_json(d)
                           for d in data['mdev_definitions'])),
            source_sha256=source_sha256,
        )


DOCUMENT = schema.Document(
    'host-report.schema.json', 'host report', 'host report',
    HostReportError, 'collect it again with this version of '
    '"openstack vfio host report"')


# A fleet's reports repeat the same values: a GPU model's types and mdev
# type directories, PCI ids, the VF addresses of a host kind.  Records and
# strings read from them are shared (the records are immutable), so 10,000
# reports hold each once, not 10,000 copies (about 100 MB of them).
# typed: 1, 1.0 and True are equal keys, but not the same JSON
_shared_record = functools.lru_cache(maxsize=4096, typed=True)


@_shared_record
def _vgpu_type(type_id, name):
    return VgpuType(id=type_id, name=name)


@_shared_record
def _vgpu_type_usage(type_id, name, count):
    return VgpuTypeUsage(id=type_id, name=name, count=count)


@_shared_record
def _mdev_type(type_id, name, description, device_api, available):
    return MdevType(id=type_id, name=name, description=description,
                    device_api=device_api, available_instances=available)


def _text(value):
    """A string of a report, shared with its equals (None stays None)."""
    return value if value is None else sys.intern(value)


def _vgpu_types_from_json(types):
    return tuple(_vgpu_type(t['id'], t['name']) for t in types)


def _device_from_json(d):
    creatable = d['creatable_vgpu_types']
    return HostDevice(
        address=_text(d['address']),
        vendor_id=_text(d['vendor_id']),
        product_id=_text(d['product_id']),
        pci_class=_text(d['class']),
        subsystem_vendor_id=_text(d.get('subsystem_vendor_id')),
        subsystem_device_id=_text(d.get('subsystem_device_id')),
        driver=_text(d['driver']),
        numa_node=d['numa_node'],
        iommu_group=d['iommu_group'],
        physfn=_text(d['physfn']),
        virtfns=tuple(map(sys.intern, d['virtfns'])),
        sriov_totalvfs=d['sriov_totalvfs'],
        sriov_numvfs=d['sriov_numvfs'],
        mdev_supported_types=tuple(
            _mdev_type(t['id'], t['name'], t['description'],
                       t['device_api'], t['available_instances'])
            for t in d['mdev_supported_types']),
        mdevs=tuple(Mdev(uuid=m['uuid'], type=_text(m['type']))
                    for m in d['mdevs']),
        creatable_vgpu_types=(None if creatable is None
                              else _vgpu_types_from_json(creatable)),
        current_vgpu_type=d['current_vgpu_type'],
        classification=_text(d['classification']),
    )


def _mdev_definition_from_json(d):
    return MdevDefinition(
        uuid=d['uuid'], parent=d['parent'], mdev_type=d['mdev_type'],
        start=d['start'], active=d['active'],
        parent_offers_type=d['parent_offers_type'])


def _gpu_from_json(g):
    return Gpu(
        address=g['address'],
        model=g['model'],
        vendor_id=g['vendor_id'],
        product_id=g['product_id'],
        vf_count=g['vf_count'],
        types_offered=_vgpu_types_from_json(g['types_offered']),
        types_in_use=tuple(_vgpu_type_usage(u['id'], u['name'], u['count'])
                           for u in g['types_in_use']),
        mode=g['mode'],
    )


def from_json(data, source='host report'):
    """Module-level alias of :meth:`HostReport.from_json`."""
    return HostReport.from_json(data, source=source)
