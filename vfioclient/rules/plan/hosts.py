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

"""Per host: its GPUs' VF types, its nova.conf values and boot setup.

Nova takes one resource class and trait set per PF, not per host
(``PciResourceProvider.add_child`` in
``nova/compute/pci_placement_translator.py``, stable/2025.1 and later,
refuses VFs of one PF with two), so each GPU keeps the VF type of its own
legacy type: a host whose GPUs ran two legacy types gets two VF types, its
boot script sets each GPU's, and its ``device_spec`` lines give each GPU's
VFs their type's resource class.
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
    """``{host: [Conversion, ...]}``: a host's GPUs may have different VF
    types and counts (one type per GPU, see the module's docstring)."""
    by_host = collections.defaultdict(list)
    for c in conversions:
        by_host[c.gpu.host].append(c)
    return dict(by_host)


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
    """The GPUs whose VF type id a host report confirms (addresses)."""
    return frozenset(c.plan.address for c in items if c.vf.verified)


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


def boot_setup(gpus, verified=frozenset()):
    """The boot script's parameters for a host's planned GPUs.

    Each GPU gets its own VF type (with its id embedded when ``verified``,
    the addresses of GPUs whose type id a host report confirms).  The
    script sets it on exactly the GPU's ``vfs``, the list its
    ``device_spec`` lines are made from
    (:func:`.nova_config.device_spec_lines`), so both name the same VFs.
    The setup's own ``vf_type``, ``type_id`` and ``vfs_per_gpu`` are those
    every GPU shares, else None.

    :raises ValueError: a VF type or PCI address the script cannot take.
    """
    per_gpu = []
    for g in gpus:
        spec = vgpu_types.validate_type_spec(g.vf_type_name)
        for address in (g.address,) + tuple(g.vfs):
            pci_address.normalize_address(address)
        per_gpu.append(model.GpuVfs(
            g.address, tuple(g.vfs), g.vf_type_name,
            _boot_type_id(spec, g.vf_type_id) if g.address in verified
            else None))
    types = {(v.vf_type, v.type_id) for v in per_gpu}
    shared_type, shared_id = types.pop() if len(types) == 1 else (None,
                                                                   None)
    counts = {g.vf_count for g in gpus}
    return model.BootSetup(
        vf_type=shared_type, type_id=shared_id,
        gpus=tuple(g.address for g in gpus),
        vfs_per_gpu=counts.pop() if len(counts) == 1 else None,
        vfs=tuple(per_gpu))


def host_kind(gpu_plans):
    """What hosts of one kind share: per (board, legacy type, VF type,
    class, VF count) its number of GPUs (they share a runbook diagram and
    a wave with ``--group-by kind``).

    A host whose GPUs differ joins the parts with `` + `` sorted by their
    text, whatever the GPUs' addresses: the same for every host with the
    same mix.  A host of one part reads as before, e.g. ``2 x A40
    nvidia-558 -> NVIDIA A40-2Q (CUSTOM_NVIDIA_A40_2Q, 8 VFs)``.
    """
    parts = collections.Counter(
        (g.board or '?', g.legacy_type or '?', g.vf_type_name,
         g.resource_class, g.vf_count) for g in gpu_plans)
    return ' + '.join(sorted(
        '%d x %s %s -> %s (%s, %d VFs)' % ((n,) + part)
        for part, n in parts.items()))


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
    verified = _verified(items)
    unconfirmed = sorted({g.vf_type_name for g in gpus
                          if g.address not in verified})
    if unconfirmed:
        notes.append('the VF type id is not confirmed by a host report; '
                     'the boot script resolves %s by name at boot'
                     % ', '.join(unconfirmed))
    legacy_types = sorted({g.legacy_type for g in gpus if g.legacy_type})
    return model.HostPlan(
        host=host, order=order, kind=host_kind(gpus),
        vf_types=tuple(sorted({g.vf_type_name for g in gpus})),
        gpus=gpus, device_spec=tuple(device_specs),
        alias=tuple(alias_lines),
        conf_set=nova_config.host_conf_set(device_specs, alias_lines),
        conf_remove=nova_config.host_conf_remove(legacy_types),
        boot_setup=boot_setup(gpus, verified),
        drain=_drain_moves(host, drains, flavor_of), notes=tuple(notes),
        mdev_definitions=persisted_mdevs(report))
