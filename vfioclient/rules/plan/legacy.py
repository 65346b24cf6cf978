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

"""Legacy recognition: what mdev vGPU type a physical GPU runs today.

From the host report (mdevs on the PF or its VFs), else from the host's
nova.conf (``--nova-conf``, :mod:`.legacy_conf`), else from the snapshot
(an ``mdev_class`` such as ``CUSTOM_NVIDIA_558``, or a class or trait
naming a profile, e.g. ``CUSTOM_VGPU_A40_2Q``, on the providers or in the
flavors of the servers on them).  Sources that name different types refuse
the GPU: a nova.conf that disagrees with the host report or with the
classes and traits is not the file that host runs.  The result is a
:class:`Gpu`, or a :class:`~vfioclient.model.plan.Refusal` when the GPU
cannot move to VFs, or when its board cannot be told (product id 25b6 is
the A16 and the A2: the PCI subsystem id or the type names must say which,
see :func:`vfioclient.nvidia.pci_ids.board_of_shared_product`).
"""

import dataclasses
import functools
import re

from vfioclient.nvidia import vgpu_types
from vfioclient.model import host as host_model
from vfioclient.model import plan as model
from vfioclient.nova import flavors as nova_flavors
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles
from vfioclient.rules.plan import legacy_conf
from vfioclient.rules.plan import options as plan_options

# Gpu.legacy_source values (GpuPlan.legacy_source in the plan document)
FROM_REPORT = 'host-report'
FROM_CONF = legacy_conf.SOURCE
FROM_NAMES = 'class-or-trait'


@dataclasses.dataclass(frozen=True)
class Gpu:
    """The facts about one physical GPU (PF) with legacy providers."""
    host: str
    address: str
    legacy: tuple                # its live legacy providers
    report: object = None        # the host report of its host, if any
    legacy_type: str = None      # nvidia-558
    legacy_name: str = None      # NVIDIA A40-2Q
    legacy_classes: tuple = ()
    legacy_key: str = None       # what --map may name when type unknown
    product_id: str = None
    board: str = None
    max_instance: int = None
    legacy_source: str = None    # FROM_REPORT, FROM_CONF, FROM_NAMES
    legacy_source_file: str = None   # the nova.conf, for FROM_CONF

    @property
    def subject(self):
        """How refusals name this GPU."""
        return gpu_subject(self.address, self.host)


def gpu_subject(address, host):
    return 'gpu %s on %s' % (address, host)


_MDEV_CLASS_NUMBER_RE = re.compile(r'^CUSTOM_NVIDIA_(\d{1,9})$')


def _profile_keys():
    keys = {}
    for p in profiles.PROFILES:
        keys[plan_options.rc_part(vgpu_types.short_name(p.name))] = p
    return keys


_PROFILE_KEYS = _profile_keys()


@functools.lru_cache(maxsize=4096)
def _hint_from_name(name):
    """A profile or type id named by a class or trait, or None (a fleet
    has few distinct names and asks for each thousands of times)."""
    m = _MDEV_CLASS_NUMBER_RE.match(name)
    if m:
        return ('id', int(m.group(1)))
    body = name[len('CUSTOM_'):] if name.startswith('CUSTOM_') else name
    for key, p in _PROFILE_KEYS.items():
        if body == key or body.endswith('_' + key):
            return ('id', p.type_id)
    return None


def _legacy_from_report(report, address):
    device = report.gpu(address) if report else None
    if device is None:
        return None
    if device.mode == host_model.LEGACY_MDEV_PF:
        return 'pf-mdev'
    in_use = [t for t in device.types_in_use]
    if len(in_use) > 1:
        return ('mixed', ', '.join('nvidia-%d (%s) x%d' % (
            t.id, t.name or '?', t.count) for t in in_use))
    if len(in_use) == 1:
        return ('id', in_use[0].id, in_use[0].name)
    return None


def _mdev_type_info(report, address, type_id):
    """(name, max_instance) from the report's mdev types, if listed."""
    if report is None:
        return None, None
    functions = [report.device(address)] + report.vfs_of(address)
    for dev in functions:
        for t in (dev.mdev_supported_types if dev else ()):
            if t.type_number == type_id:
                return t.name, t.max_instance
    return None, None


def _hints_from_snapshot(legacy, servers_by_provider, flavors):
    hints = set()
    for p in legacy:
        for name in tuple(p.inventories) + tuple(p.traits or ()):
            hint = _hint_from_name(name)
            if hint:
                hints.add(hint[1])
        for server in servers_by_provider.get(p.uuid, ()):
            flavor = flavors.get(server.flavor_name)
            specs = (flavor.extra_specs if flavor
                     else server.flavor_extra_specs)
            for traits in nova_flavors.required_traits(specs).values():
                for name in traits:
                    hint = _hint_from_name(name)
                    if hint:
                        hints.add(hint[1])
    return hints


def _pf_mdev_without_report(gpu, hints):
    """A refusal reason when the only provider, on function 0, holds
    several vGPUs of a board without SR-IOV vGPU (a PF-mdev GPU)."""
    only = gpu.legacy[0] if len(gpu.legacy) == 1 else None
    total = sum(i.total for i in (only.inventories.values()
                                  if only else ()))
    if not (only and gpu.address.endswith('.0') and total > 1):
        return None
    profile = profiles.by_id(next(iter(hints))) if hints else None
    b = profiles.board(profile.board) if profile else None
    if b is None or b.pf_only:
        return ('vGPU runs as mdevs on the PF (%d vGPUs on %s, as on '
                'pre-Ampere GPUs such as T4/V100): no SR-IOV vGPU, so '
                'there is no VF type to move to; it stays on legacy '
                'mdev' % (total, gpu.address))
    return None


def _type_names_seen(report, address, gpu):
    """vGPU type names the host report shows for one GPU, and its legacy
    profile."""
    names = [gpu.legacy_name] if gpu.legacy_name else []
    summary = report.gpu(address)
    names += [t.name for t in summary.types_offered if t.name]
    names += [t.name for t in summary.types_in_use if t.name]
    for dev in [report.device(address)] + report.vfs_of(address):
        names += [t.name for t in (dev.mdev_supported_types if dev else ())
                  if t.name]
    return names


def _shared_product_board(gpu, report, summary):
    """The board of a GPU whose product id several boards share (25b6: A16
    or A2), from its PCI subsystem id and the type names the report shows;
    a Refusal naming what to check when they do not tell it."""
    pf = report.device(gpu.address)
    found = pci_ids.board_of_shared_product(
        summary.product_id, pf.subsystem if pf else None,
        _type_names_seen(report, gpu.address, gpu))
    if found.board:
        return found.board
    boards = pci_ids.SHARED_PRODUCTS[summary.product_id]
    return model.Refusal(gpu.subject, (
        'product id %s is shared by the %s and the host report does not '
        'tell which this GPU is (%s): check "cat /sys/bus/pci/devices/%s/'
        'subsystem_vendor /sys/bus/pci/devices/%s/subsystem_device" (%s) '
        'and collect the host report again with this vfioclient' % (
            summary.product_id, ' and '.join(sorted(set(boards.values()))),
            found.evidence, gpu.address, gpu.address, ', '.join(
                '%s: 0x%s 0x%s' % (b, v, d)
                for (v, d), b in sorted(boards.items(),
                                        key=lambda kv: kv[1])))))


def _type_names(ids):
    return ', '.join('nvidia-%d' % h for h in sorted(ids))


def _legacy_type(gpu, found, conf, servers_by_provider, flavors):
    """``(type ids, source)`` or a Refusal: the host report's mdevs in use,
    else the nova.conf, else classes and traits naming a type; a nova.conf
    must agree with the other two."""
    conf_type = None
    if conf is not None:
        conf_type = legacy_conf.gpu_type(conf, gpu.host, gpu.legacy)
        if isinstance(conf_type, str):
            return model.Refusal(gpu.subject, conf_type)
    if found:
        if conf_type is not None and conf_type != found[1]:
            return model.Refusal(gpu.subject, (
                'its host report shows nvidia-%d mdevs in use but %s gives '
                'it nvidia-%d: the file is not what nova-compute on %s runs'
                ' (or it changed without a restart); fix the file or leave '
                'this host out of the pattern' % (
                    found[1], conf.label(), conf_type, gpu.host)))
        return {found[1]}, FROM_REPORT
    named = _hints_from_snapshot(gpu.legacy, servers_by_provider, flavors)
    if conf_type is None:
        return named, FROM_NAMES if named else None
    if named and named != {conf_type}:
        return model.Refusal(gpu.subject, (
            '%s gives it nvidia-%d, but its providers, traits and flavors '
            'name %s: pass --host-report for %s to tell which is true' % (
                conf.label(), conf_type, _type_names(named), gpu.host)))
    return {conf_type}, FROM_CONF


def recognise_legacy(host, address, legacy, report, servers_by_provider,
                     flavors, conf=None):
    """The :class:`Gpu` with its legacy type, board and product, or a
    :class:`~vfioclient.model.plan.Refusal` (``conf``: the
    :class:`.legacy_conf.NovaConf` of the host, if any)."""
    classes = tuple(sorted({rc for p in legacy for rc in p.inventories}))
    gpu = Gpu(host=host, address=address, legacy=tuple(legacy),
              report=report, legacy_classes=classes,
              legacy_key=classes[0] if len(classes) == 1 else None)
    found = _legacy_from_report(report, address)
    if found == 'pf-mdev':
        return model.Refusal(gpu.subject, (
            'vGPU runs as mdevs on the PF (pre-Ampere GPU such as T4/V100):'
            ' it has no SR-IOV vGPU, so there is no VF type to move to; it '
            'stays on legacy mdev'))
    if found and found[0] == 'mixed':
        return model.Refusal(gpu.subject, (
            'one PF would need two VF types: its VFs use %s, but Nova '
            'reports one resource class per PF; move the servers of all '
            'but one type first' % found[1]))
    chosen = _legacy_type(gpu, found, conf, servers_by_provider, flavors)
    if isinstance(chosen, model.Refusal):
        return chosen
    hints, source = chosen
    if len(hints) > 1:
        return model.Refusal(gpu.subject, (
            'one PF would need two VF types: its providers, traits and '
            'flavors name types %s' % _type_names(hints)))
    if not found and report is None:
        reason = _pf_mdev_without_report(gpu, hints)
        if reason:
            return model.Refusal(gpu.subject, reason)
    if hints:
        type_id = next(iter(hints))
        name, max_instance = _mdev_type_info(report, address, type_id)
        if found and found[2]:
            name = name or found[2]
        profile = profiles.by_id(type_id)
        gpu = dataclasses.replace(
            gpu, legacy_type='nvidia-%d' % type_id,
            legacy_name=name or (profile.name if profile else None),
            max_instance=max_instance, legacy_source=source,
            legacy_source_file=conf.file if source == FROM_CONF else None)
        if profile is not None and report is None:
            gpu = dataclasses.replace(
                gpu, board=profile.board,
                product_id=profiles.vf_product_id(profile.board))
    device = report.gpu(address) if report else None
    if device is None:
        return gpu
    if device.product_id in pci_ids.SHARED_PRODUCTS:
        found = _shared_product_board(gpu, report, device)
        if isinstance(found, model.Refusal):
            return found
        b = profiles.board(found)
    else:
        b = profiles.board_of_product(device.product_id)
    gpu = dataclasses.replace(gpu, product_id=device.product_id,
                              board=b.name if b else device.model)
    if b is not None and b.pf_only:
        return model.Refusal(gpu.subject, (
            '%s (%s) keeps vGPU as mdevs on the PF: no SR-IOV vGPU to move '
            'to' % (gpu.board, device.product_id)))
    return gpu
