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

"""Per host: one VF type and count, its nova.conf values and boot setup.

Each converted host gets one boot script (it sets one type and VF count
on all its GPUs), so a host whose GPUs would need two is refused.
"""

import collections
import dataclasses

from vfioclient.nvidia import vgpu_types
from vfioclient.nova import pci_address
from vfioclient.nova import releases
from vfioclient.model import plan as model
from vfioclient.nvidia import profiles
from vfioclient.rules.plan import nova_config


def group_by_host(conversions):
    """``({host: [Conversion, ...]}, [Refusal, ...])``: hosts whose GPUs
    need more than one (VF type, VF count) are refused."""
    by_host = collections.defaultdict(list)
    for c in conversions:
        by_host[c.gpu.host].append(c)
    refusals = []
    for host in sorted(by_host):
        combos = {(c.plan.vf_type_name, c.plan.vf_count)
                  for c in by_host[host]}
        if len(combos) > 1:
            refusals.append(model.Refusal('host %s' % host, (
                'its GPUs would need %s; one boot script per host sets one '
                'type and VF count: convert this host by hand with "vfio '
                'host script" per GPU' % ', '.join(
                    '%s x%d' % c for c in sorted(combos)))))
            del by_host[host]
    return dict(by_host), refusals


def refuse_old_hypervisors(by_host, reports, options):
    """``({host: [Conversion, ...]}, [Refusal, ...])``: with
    ``--live-migratable``, hosts whose report shows libvirt or QEMU below
    Nova's minimum are refused (nova-compute would not start with the
    plan's device_spec lines)."""
    if not options.live_migratable:
        return by_host, []
    kept, refusals = {}, []
    for host, items in sorted(by_host.items()):
        report = reports.get(host)
        problems = releases.live_migratable_version_problems(
            getattr(report, 'libvirt_version', None),
            getattr(report, 'qemu_version', None))
        if problems:
            refusals.append(model.Refusal('host %s' % host, (
                'its host report shows %s: with live_migratable in its '
                'device_spec nova-compute refuses to start ("%s"); upgrade '
                'libvirt and QEMU first, or plan without --live-migratable'
                % (', '.join(problems), releases.LIVE_MIGRATABLE_TOO_OLD))))
        else:
            kept[host] = items
    return kept, refusals


def _hypervisor_note(report):
    """What to check by hand when the host report does not show both
    versions (``--live-migratable`` only)."""
    if report is not None and report.libvirt_version and \
            report.qemu_version:
        return None
    return ('check libvirt >= %s and QEMU >= %s on this host before '
            'restarting nova-compute (its host report does not show them; '
            'nova-compute refuses live_migratable below)' % (
                releases.format_version(
                    releases.MIN_LIVE_MIGRATABLE_LIBVIRT),
                releases.format_version(releases.MIN_LIVE_MIGRATABLE_QEMU)))


def _verified(items):
    return all(c.vf.verified for c in items)


def _boot_type_id(spec, type_id):
    """``type_id`` when the boot script can embed it for ``spec`` (a
    positive sysfs type number that does not contradict a numeric spec),
    else None: the script then resolves the type by name at boot."""
    if type_id is None or type_id <= 0 or vgpu_types.type_spec_number(
            'nvidia-%d' % type_id) != type_id:
        return None
    number = vgpu_types.type_spec_number(spec)
    if number is not None and number != type_id:
        return None
    return type_id


def boot_setup(gpus, verified):
    """The boot script's parameters for a host's planned GPUs.

    The script sets the type on exactly each GPU's ``vfs``, the list its
    ``device_spec`` lines are made from
    (:func:`.nova_config.device_spec_lines`), so both name the same VFs.

    :raises ValueError: a VF type or PCI address the script cannot take.
    """
    first = gpus[0]
    spec = vgpu_types.validate_type_spec(first.vf_type_name)
    for g in gpus:
        for address in (g.address,) + tuple(g.vfs):
            pci_address.normalize_address(address)
    return model.BootSetup(
        vf_type=first.vf_type_name,
        type_id=_boot_type_id(spec, first.vf_type_id) if verified else None,
        gpus=tuple(g.address for g in gpus), vfs_per_gpu=first.vf_count,
        vfs=tuple(model.GpuVfs(g.address, tuple(g.vfs)) for g in gpus))


def host_kind(gpu_plans):
    """What hosts of one kind share: GPU count, board, legacy type and the
    VF type, class and count (they share a runbook diagram and a wave
    with ``--group-by kind``)."""
    gpus = sorted(gpu_plans, key=lambda g: g.address)
    first = gpus[0]
    return '%d x %s %s -> %s (%s, %d VFs)' % (
        len(gpus), first.board or '?', first.legacy_type or '?',
        first.vf_type_name, first.resource_class, first.vf_count)


def _drain_moves(host, drains, flavor_of):
    return tuple(model.Move(
        server_id=d.server.id, server_name=d.server.name, action=d.action,
        from_host=host, to_host=d.to_host, from_flavor=d.from_flavor,
        to_flavor=(flavor_of[d.server.id].name if d.action == 'resize'
                   else None))
        for d in drains)


def persisted_mdevs(report):
    """Nova's persisted mdevs on a host, from its host report.

    None when no report says (none given, or one written before
    vfioclient read mdev definitions).  Every definition counts, not only
    those on the planned GPUs: nova-compute starts them all at start-up
    (``_start_inactive_mediated_devices``, Nova 30.0.0 and later).
    """
    if report is None or report.mdev_definitions is None:
        return None
    return tuple(model.PersistedMdev(uuid=d.uuid, parent=d.parent,
                                     mdev_type=d.mdev_type, active=d.active)
                 for d in report.mdev_definitions)


def host_plan(host, items, order, drains, alias_of, flavor_of, options,
              report=None):
    """The :class:`~vfioclient.model.plan.HostPlan` of one host
    (``report``: its host report, if any)."""
    gpus = []
    device_specs = []
    for gp in sorted((c.plan for c in items), key=lambda g: g.address):
        lines = nova_config.device_spec_lines(gp, options.live_migratable)
        device_specs.extend(lines)
        gpus.append(dataclasses.replace(
            gp, provider_traits=nova_config.provider_traits(
                lines[0], options.nova_release)))
    gpus = tuple(gpus)
    alias_lines = []
    for gp in gpus:
        line = nova_config.alias_line(alias_of[gp.vf_type_name],
                                      gp.resource_class, nova_config.NVIDIA,
                                      gp.product_id, options.live_migratable,
                                      options.alias_numa_policy)
        if line not in alias_lines:
            alias_lines.append(line)
    first = gpus[0]
    notes = []
    hypervisor_note = (_hypervisor_note(report) if options.live_migratable
                       else None)
    if hypervisor_note:
        notes.append(hypervisor_note)
    if any(g.vfs_source == 'legacy-providers' for g in gpus):
        notes.append('VF addresses come from the legacy provider names '
                     '(no host report): check them with "openstack vfio '
                     'host report" before applying')
    for g in gpus:
        if g.legacy_name and profiles.is_mig_backed(g.legacy_name):
            notes.append(
                'GPU %s runs the MIG-backed type %s, so it is in MIG mode: '
                'destroy its GPU instances and disable MIG mode '
                '(nvidia-smi -i %s -mig 0) before the boot script sets the '
                'time-sliced type %s' % (g.address, g.legacy_name,
                                          g.address, g.vf_type_name))
    if not _verified(items):
        notes.append('the VF type id is not confirmed by a host report; '
                     'the boot script resolves %s by name at boot'
                     % first.vf_type_name)
    legacy_types = sorted({g.legacy_type for g in gpus if g.legacy_type})
    return model.HostPlan(
        host=host, order=order, kind=host_kind(gpus),
        vf_types=tuple(sorted({g.vf_type_name for g in gpus})),
        gpus=gpus, device_spec=tuple(device_specs),
        alias=tuple(alias_lines),
        conf_set=nova_config.host_conf_set(device_specs, alias_lines),
        conf_remove=nova_config.host_conf_remove(legacy_types),
        boot_setup=boot_setup(gpus, _verified(items)),
        drain=_drain_moves(host, drains, flavor_of), notes=tuple(notes),
        mdev_definitions=persisted_mdevs(report))
