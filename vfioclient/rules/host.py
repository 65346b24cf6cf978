"""Pure decisions about a host report: classification, GPU summaries, types.

Nothing here reads files.  :mod:`vfioclient.collect.sysfs` reads sysfs into
:class:`~vfioclient.model.host.HostDevice` records and calls
:func:`build_report`; ``host script`` uses the type helpers to validate what
the operator asked for.  Facts come from the host sysfs reference sheet
(sections 3.6 decision table, 4 PCI ids, 5 type ids, 7 parsing rules).
"""

import collections
import dataclasses
import re

from vfioclient.model import host as model
from vfioclient.rules import nvidia_profiles

# Drivers that pass a whole GPU through (not vGPU).  nvgrace_gpu_vfio_pci is
# the upstream Grace Hopper/Blackwell passthrough variant (sheet 3.1).
PASSTHROUGH_DRIVERS = frozenset({'vfio-pci', 'vfio_pci',
                                 'nvgrace_gpu_vfio_pci',
                                 'nvgrace-gpu-vfio-pci'})

# PF product id -> board (sheet section 4, pci.ids).
GPU_MODELS = {
    '1eb8': 'T4',
    '1db4': 'V100', '1db6': 'V100', '1df6': 'V100S', '1db1': 'V100',
    '1db5': 'V100',
    '20f1': 'A100', '20b1': 'A100', '20b5': 'A100', '20b0': 'A100',
    '20b2': 'A100',
    '20b7': 'A30',
    '2235': 'A40',
    '2236': 'A10', '2237': 'A10G', '2238': 'A10M',
    '25b6': 'A16/A2',
    '27b8': 'L4',
    '26b5': 'L40',
    '26b9': 'L40S',
    '26b1': 'RTX 6000 Ada',
    '2331': 'H100', '2330': 'H100', '2321': 'H100L',
    '2335': 'H200', '233b': 'H200 NVL',
}

# Pre-Ampere boards: vGPU lives in mdevs on the PF even though the PF may
# advertise SR-IOV (a T4 reports 16 VFs).  The boot script must never
# enable VFs on these (sheet section 2).
PF_ONLY_VGPU_PRODUCTS = frozenset({'1eb8', '1db4', '1db6', '1df6', '1db1',
                                   '1db5'})


# A vGPU type as an operator may type it: a number, ``nvidia-NNN``, or a
# profile name such as ``NVIDIA A10-4Q`` / ``GRID A100D-1-10C`` /
# ``NVIDIA RTX6000-Ada-1Q``.  Deliberately narrow: the value ends up in a
# root shell script.
TYPE_SPEC_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$')
_TYPE_NUMBER_RE = re.compile(r'^(?:[A-Za-z][A-Za-z0-9_]*-)?(\d{1,9})$')
_SHORT_PCI_RE = re.compile(r'^[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$')
_CREATABLE_LINE_RE = re.compile(r'^\s*(\d+)\s*:\s*(\S.*?)\s*$')
_CREATABLE_HEADER_RE = re.compile(r'^\s*ID\s*:')


def normalize_pci_address(text):
    """``0000:41:00.0`` (any case) or ``41:00.0`` -> ``0000:41:00.0``.

    Raises ValueError for anything else.
    """
    value = (text or '').strip()
    if _SHORT_PCI_RE.match(value):
        value = '0000:' + value
    value = value.lower()
    if not model.PCI_ADDRESS_RE.match(value):
        raise ValueError('%r is not a PCI address (expected '
                         'domain:bus:slot.function, e.g. 0000:41:00.0)'
                         % text)
    return value


def parse_creatable_vgpu_types(text):
    """Parse ``nvidia/creatable_vgpu_types`` (sheet 3.2 and 7).

    Returns ``(types, bad_lines)``: a tuple of
    :class:`~vfioclient.model.host.VgpuType` in file order, and the lines
    that were neither blank, the ``ID : vGPU Name`` header, nor an entry.
    An empty or header-only file (a full GPU) is a valid empty list.
    """
    types = []
    bad = []
    seen = set()
    for line in (text or '').splitlines():
        if not line.strip() or _CREATABLE_HEADER_RE.match(line):
            continue
        match = _CREATABLE_LINE_RE.match(line)
        if not match:
            bad.append(line)
            continue
        type_id = int(match.group(1))
        if type_id not in seen:
            seen.add(type_id)
            types.append(model.VgpuType(id=type_id, name=match.group(2)))
    return tuple(types), tuple(bad)


def validate_type_spec(spec):
    """Check a ``--vgpu-type`` value; return it stripped.

    Raises ValueError for anything that is not a number or a profile name
    made of letters, digits, space, ``.``, ``_``, ``+`` and ``-``.
    """
    value = (spec or '').strip()
    if not TYPE_SPEC_RE.match(value):
        raise ValueError(
            'vGPU type %r is not a type id (e.g. 597) or a profile name '
            '(e.g. "NVIDIA A10-4Q"): only letters, digits, space, ".", '
            '"_", "+" and "-" are allowed' % spec)
    return value


def type_spec_number(spec):
    """The type number a spec names directly (``597``, ``nvidia-597``).

    None when the spec is a profile name.
    """
    match = _TYPE_NUMBER_RE.match((spec or '').strip())
    return int(match.group(1)) if match else None


def _short_name(name):
    """``NVIDIA A10-4Q`` -> ``a10-4q``: NVIDIA renamed ``GRID`` prefixes."""
    return name.strip().split()[-1].lower() if name and name.strip() else ''


def type_name_matches(spec, name):
    """True if a profile name given by the operator names ``name``.

    Exact (case-insensitive) or on the part after the last space, since
    prefixes changed between driver branches (sheet section 5).
    """
    if not name:
        return False
    if ' '.join(spec.split()).lower() == ' '.join(name.split()).lower():
        return True
    return _short_name(spec) == _short_name(name)


def match_vgpu_type(spec, types):
    """Find the :class:`VgpuType` in ``types`` that ``spec`` names.

    ``spec`` is a number, ``nvidia-NNN`` or a profile name.  Returns None
    when nothing matches; raises ValueError when a name is ambiguous.
    """
    number = type_spec_number(spec)
    if number is not None:
        for vgpu_type in types:
            if vgpu_type.id == number:
                return vgpu_type
        return None
    found = {t.id: t for t in types if type_name_matches(spec, t.name)}
    if len(found) > 1:
        raise ValueError('vGPU type %r matches several types: %s' % (
            spec, ', '.join('%d (%s)' % (t.id, t.name)
                            for t in found.values())))
    return next(iter(found.values()), None)


def known_type_name(type_id):
    """Profile name of a type id from the static table, or None."""
    profile = nvidia_profiles.by_id(type_id)
    return profile.name if profile else None


def classify_device(device):
    """Classification of one NVIDIA PCI function (sheet 3.6).

    Order matters: the ``nvidia/`` interface and mdev types describe what
    the function hosts whatever its driver is called (one capture showed an
    mdev parent bound to vfio-pci), so they win over the driver name.
    """
    if device.is_vf and device.has_variant_interface:
        return model.VARIANT_VF
    if device.mdev_supported_types or device.mdevs:
        return (model.LEGACY_MDEV_VF if device.is_vf
                else model.LEGACY_MDEV_PF)
    if device.driver in PASSTHROUGH_DRIVERS:
        return model.VFIO_PASSTHROUGH
    return model.UNCONFIGURED


def gpu_model(product_id, type_names=()):
    """Board name from the PF product id, else from a profile name."""
    if product_id in GPU_MODELS:
        return GPU_MODELS[product_id]
    for name in type_names:
        short = _short_name(name)
        if '-' in short:
            return short.rsplit('-', 1)[0].upper()
    return '%s:%s' % (model.NVIDIA_VENDOR_ID, product_id)


def gpu_mode(classifications):
    """A GPU's mode from the classifications of its PF and VFs."""
    found = set(classifications) - {model.UNCONFIGURED}
    if not found:
        return model.UNCONFIGURED
    if len(found) == 1:
        return found.pop()
    return model.MIXED


def _type_number_of_mdev_type(type_dir_name):
    return model.MdevType(id=type_dir_name).type_number


def summarize_gpu(pf, vfs):
    """Build the :class:`~vfioclient.model.host.Gpu` of a PF and its VFs."""
    functions = [pf] + list(vfs)
    names = {}
    offered = {}
    for dev in functions:
        for mtype in dev.mdev_supported_types:
            number = mtype.type_number
            if number is not None:
                offered.setdefault(number, mtype.name)
        for vtype in dev.creatable_vgpu_types or ():
            offered.setdefault(vtype.id, vtype.name)
    names.update({k: v for k, v in offered.items() if v})

    in_use = collections.Counter()
    for dev in functions:
        for mdev in dev.mdevs:
            number = (_type_number_of_mdev_type(mdev.type)
                      if mdev.type else None)
            if number is not None:
                in_use[number] += 1
        if dev.current_vgpu_type:
            in_use[dev.current_vgpu_type] += 1

    def name_of(type_id):
        return names.get(type_id) or known_type_name(type_id)

    return model.Gpu(
        address=pf.address,
        model=gpu_model(pf.product_id, [n for n in names.values() if n]),
        vendor_id=pf.vendor_id,
        product_id=pf.product_id,
        # sriov_numvfs is the kernel's count; VF records are the fallback
        # when it could not be read.
        vf_count=(pf.sriov_numvfs if pf.sriov_numvfs is not None
                  else len(vfs)),
        types_offered=tuple(model.VgpuType(id=i, name=offered[i])
                            for i in sorted(offered)),
        types_in_use=tuple(model.VgpuTypeUsage(id=i, name=name_of(i),
                                               count=in_use[i])
                           for i in sorted(in_use)),
        mode=gpu_mode(d.classification for d in functions),
    )


def classify_devices(devices):
    """Return the devices with ``classification`` set, sorted by address."""
    return tuple(sorted(
        (dataclasses.replace(d, classification=classify_device(d))
         for d in devices),
        key=lambda d: d.address))


def summarize_gpus(devices):
    """One :class:`Gpu` per PF among classified ``devices``.

    A VF whose PF is not in the list (unreadable, or not a display
    function) is summarised under its physfn address on its own.
    """
    by_pf = collections.defaultdict(list)
    pfs = {}
    for dev in devices:
        if dev.is_vf:
            by_pf[dev.physfn].append(dev)
        else:
            pfs[dev.address] = dev
    gpus = []
    for address in sorted(set(pfs) | set(by_pf)):
        pf = pfs.get(address)
        vfs = by_pf.get(address, [])
        if pf is None:
            # Orphan VFs: describe the GPU from what its VFs say.
            first = vfs[0]
            pf = model.HostDevice(address=address,
                                  vendor_id=first.vendor_id,
                                  product_id=first.product_id,
                                  pci_class=first.pci_class)
        else:
            order = {a: i for i, a in enumerate(pf.virtfns)}
            vfs.sort(key=lambda d: (order.get(d.address, 1 << 30),
                                    d.address))
        gpus.append(summarize_gpu(pf, vfs))
    return tuple(gpus)


def build_report(devices, warnings, hostname, collected_at, sysfs_root):
    """Classify raw devices and summarise GPUs into a :class:`HostReport`."""
    classified = classify_devices(devices)
    return model.HostReport(
        hostname=hostname,
        collected_at=collected_at,
        sysfs_root=sysfs_root,
        devices=classified,
        gpus=summarize_gpus(classified),
        warnings=tuple(warnings),
    )
