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

"""Classify a host's NVIDIA functions and summarise its GPUs.

:mod:`vfioclient.collect.sysfs` reads the raw
:class:`~vfioclient.model.host.HostDevice` records; this module turns them
into the :class:`~vfioclient.model.host.HostReport`: each device gets its
classification (:func:`vfioclient.nvidia.classify.classify_device`) and
each PF with its VFs one :class:`~vfioclient.model.host.Gpu` (types
offered and in use, mode, board name).  No I/O.
"""

import collections
import dataclasses

from vfioclient.model import host as model
from vfioclient.nvidia import classify
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles


def summarize_gpu(pf, vfs):
    """Build the :class:`~vfioclient.model.host.Gpu` of a PF and its VFs."""
    functions = [pf] + list(vfs)
    offered = {}
    for dev in functions:
        for mtype in dev.mdev_supported_types:
            number = mtype.type_number
            if number is not None:
                offered.setdefault(number, mtype.name)
        for vtype in dev.creatable_vgpu_types or ():
            offered.setdefault(vtype.id, vtype.name)
    names = {k: v for k, v in offered.items() if v}

    in_use = collections.Counter()
    for dev in functions:
        for mdev in dev.mdevs:
            number = (model.MdevType(id=mdev.type).type_number
                      if mdev.type else None)
            if number is not None:
                in_use[number] += 1
        if dev.current_vgpu_type:
            in_use[dev.current_vgpu_type] += 1

    def name_of(type_id):
        return names.get(type_id) or profiles.known_type_name(type_id)

    return model.Gpu(
        address=pf.address,
        model=pci_ids.gpu_model(pf.product_id,
                                [n for n in names.values() if n],
                                subsystem=pf.subsystem),
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
        mode=classify.gpu_mode(d.classification for d in functions),
    )


def classify_devices(devices):
    """Return the devices with ``classification`` set, sorted by address."""
    return tuple(sorted(
        (dataclasses.replace(d, classification=classify.classify_device(d))
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
