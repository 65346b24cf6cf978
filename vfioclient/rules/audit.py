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

"""Audit rules: the vGPU/PCI estate as a snapshot shows it, and findings.

Pure functions of a :class:`vfioclient.model.cloud.Snapshot` (plus optional
host reports and per-host Nova aliases): no I/O, deterministic output.

:func:`recognise` maps every vGPU and PCI provider to the physical GPU (PF
address) it stands for, so that a legacy provider on a VF and a PCI
provider on its PF are known to be the same GPU.  :func:`audit` turns that
view into findings; :func:`summary` gives one row per host.
"""

import collections
import dataclasses

import os_resource_classes
import os_traits

from vfioclient.nova import extra_specs as nova_extra_specs
from vfioclient.nova import flavors as nova_flavors
from vfioclient.nova import names as nova_names
from vfioclient.nova import providers as nova_providers
from vfioclient.rules import findings as F

# Placement: Nova's scheduler asks for 1.36 (same_subtree) since 2023.1.
PLACEMENT_NEEDED = (1, 36)
# Nova: the ``managed`` device_spec tag came with 2025.1 (API max 2.100).
COMPUTE_NEEDED = (2, 100)
COMPUTE_NEEDED_RELEASE = '2025.1 (Epoxy)'
# Bug 2070257: allocation candidates explode with many identical children.
WIDE_TREE_CHILDREN = 8



@dataclasses.dataclass(frozen=True)
class Gpu:
    """One physical GPU on one compute node and its providers."""

    host: str            # compute node (root provider) name
    address: str         # PF address
    legacy: tuple        # legacy pGPU Providers (on the PF or its VFs)
    pci: tuple           # PCI-in-Placement Providers


@dataclasses.dataclass(frozen=True)
class Estate:
    snapshot: object
    roots: dict          # root uuid -> Provider
    gpus: tuple          # Gpu, sorted by (host, address)
    legacy_providers: tuple
    pci_providers: tuple
    mdev_classes: frozenset
    stale: dict          # provider uuid -> reason
    # provider uuid -> why its host is converted (no mdev type enabled):
    # Nova no longer manages these providers but they stay schedulable.
    converted: dict
    servers_by_id: dict


def _provider_address(provider, root_name, host_report):
    """(kind, device address, PF address) or None."""
    parsed = nova_providers.parse_provider_name(provider.name, root_name)
    traits = provider.traits or ()
    inventories = provider.inventories or {}
    if os_traits.COMPUTE_MANAGED_PCI_DEVICE in traits:
        kind = nova_providers.PCI
    elif parsed and parsed.kind == nova_providers.LEGACY:
        kind = nova_providers.LEGACY
    elif os_resource_classes.VGPU in inventories:
        kind = nova_providers.LEGACY
    else:
        return None
    address = parsed.address if parsed else None
    if address is None:
        return kind, None, None
    pf = address
    device = host_report.device(address) if host_report else None
    if device is not None:
        pf = device.physfn or address
    elif kind == nova_providers.LEGACY:
        total = max((i.total for i in inventories.values()), default=0)
        pf = nova_providers.guess_physical_function(address, total)
    return kind, address, pf


def _conf_types(mdev_types_by_host, root_name):
    """The mdev types a host's nova.conf enables, or None when no file was
    given for it.  ``--nova-conf`` names a host as the operator knows it:
    the compute node's name or its first label."""
    if not mdev_types_by_host:
        return None
    if root_name in mdev_types_by_host:
        return mdev_types_by_host[root_name]
    return mdev_types_by_host.get(root_name.split('.')[0])


def _converted_reason(provider, root_name, address, report, conf_types):
    """Why ``provider``'s host no longer offers mdevs, or None.

    Once no mdev type is enabled, the libvirt driver's
    ``_update_provider_tree_for_vgpu`` returns early (its GPU inventory is
    empty), so the pGPU providers are neither updated nor deleted and keep
    their VGPU inventory: a legacy flavor's server can be scheduled there and
    boots with no mdev (nova/virt/libvirt/driver.py, Nova 31.0.0-34.0.0).
    """
    if not any(i.total for i in (provider.inventories or {}).values()):
        return None
    if conf_types is not None and not conf_types:
        return ('the nova.conf of %s enables no mdev type'
                % root_name)
    if report is not None and address:
        device = report.device(address)
        if (device is not None and not device.mdev_supported_types
                and not device.mdevs):
            return ('the host report of %s shows no mdev support on their '
                    'devices' % root_name)
    return None


def recognise(snapshot, host_reports=(), mdev_types_by_host=None):
    """The estate: GPUs and their providers, stale and converted ones.

    ``mdev_types_by_host`` maps a host (as given with ``--nova-conf``) to
    the mdev types its nova.conf enables.
    """
    by_uuid = snapshot.provider_by_uuid()
    roots = {p.uuid: p for p in snapshot.providers if p.is_root}
    reports = {r.hostname: r for r in host_reports}
    known_nodes = {h.hypervisor_hostname for h in snapshot.hypervisors}
    known_hosts = {s.host for s in snapshot.services}
    gpus = collections.defaultdict(lambda: ([], []))
    legacy, pci = [], []
    mdev_classes = set()
    stale = {}
    converted = {}
    for p in snapshot.providers:
        if p.is_root or p.inventories is None:
            continue
        root = roots.get(p.root_uuid) or by_uuid.get(p.root_uuid)
        root_name = root.name if root else ''
        report = reports.get(root_name)
        found = _provider_address(p, root_name, report)
        if found is None:
            continue
        kind, address, pf = found
        if kind == nova_providers.LEGACY:
            legacy.append(p)
            mdev_classes.update(rc for rc in p.inventories
                                if rc.startswith('CUSTOM_'))
            reason = _stale_reason(p, root_name, known_nodes, known_hosts,
                                   report, address)
            if reason:
                stale[p.uuid] = reason
            else:
                reason = _converted_reason(
                    p, root_name, address, report,
                    _conf_types(mdev_types_by_host, root_name))
                if reason:
                    converted[p.uuid] = reason
        else:
            pci.append(p)
        if pf:
            gpus[(root_name, pf)][0 if kind == nova_providers.LEGACY
                                  else 1].append(p)
    gpu_list = tuple(
        Gpu(host, addr, tuple(sorted(lg, key=lambda p: p.name)),
            tuple(sorted(pc, key=lambda p: p.name)))
        for (host, addr), (lg, pc) in sorted(gpus.items()))
    return Estate(snapshot=snapshot, roots=roots, gpus=gpu_list,
                  legacy_providers=tuple(legacy), pci_providers=tuple(pci),
                  mdev_classes=frozenset(mdev_classes), stale=stale,
                  converted=converted,
                  servers_by_id={s.id: s for s in snapshot.servers})


def _stale_reason(provider, root_name, known_nodes, known_hosts, report,
                  address):
    """Why ``provider`` stands for nothing real, or None."""
    if not any(i.total for i in (provider.inventories or {}).values()):
        return None
    if root_name not in known_nodes and root_name not in known_hosts:
        return 'Nova has no compute node or service named %s' % root_name
    if report is not None and address and report.device(address) is None:
        return 'the host report of %s has no device %s' % (root_name,
                                                          address)
    return None


def _used(provider):
    return sum((provider.usages or {}).values())


def _subject_provider(p):
    return 'provider %s (%s)' % (p.name, p.uuid)


def _subject_server(s):
    return 'server %s (%s)' % (s.name, s.id)


def _legacy_findings(estate):
    out = []
    per_host = collections.defaultdict(lambda: collections.defaultdict(
        lambda: [0, 0, 0]))
    for p in estate.legacy_providers:
        host = estate.roots[p.root_uuid].name if p.root_uuid in \
            estate.roots else p.root_uuid
        for rc, inv in sorted(p.inventories.items()):
            if rc == os_resource_classes.VGPU or rc in estate.mdev_classes:
                entry = per_host[host][rc]
                entry[0] += inv.total
                entry[1] += (p.usages or {}).get(rc, 0)
                entry[2] += 1
    for host in sorted(per_host):
        for rc, (total, used, count) in sorted(per_host[host].items()):
            out.append(F.make(
                'VFIO-A101', 'host %s' % host,
                '%d of %d %s in use on %d legacy provider(s)'
                % (used, total, rc, count)))
    idle_converted = collections.defaultdict(list)
    for p in estate.legacy_providers:
        reason = estate.stale.get(p.uuid) or estate.converted.get(p.uuid)
        if not reason:
            continue
        if p.uuid in estate.converted and not _used(p):
            idle_converted[(_host_of(estate, p), reason)].append(p)
            continue
        if _used(p):
            out.append(F.make(
                'VFIO-A105', _subject_provider(p),
                'stale (%s) but %d resource(s) are allocated'
                % (reason, _used(p))))
        else:
            out.append(F.make('VFIO-A104', _subject_provider(p),
                              'stale: %s' % reason))
    for (host, reason), providers in sorted(idle_converted.items()):
        out.append(F.make(
            'VFIO-A118', 'host %s' % host,
            '%s, but %d legacy vGPU provider(s) still offer their '
            'inventory there: %s. Servers of legacy vGPU flavors can be '
            'scheduled on this host and boot without a GPU'
            % (reason, len(providers),
               ', '.join('%s (%s)' % (p.name, p.uuid) for p in providers))))
    return out


def _host_of(estate, provider):
    root = estate.roots.get(provider.root_uuid)
    return root.name if root else provider.root_uuid


def _flavor_findings(estate, aliases):
    snap = estate.snapshot
    out = []
    servers_by_flavor = collections.defaultdict(list)
    for s in snap.servers:
        servers_by_flavor[s.flavor_name].append(s)
    offered = collections.Counter()
    for p in snap.providers:
        for rc, inv in (p.inventories or {}).items():
            offered[rc] += inv.total
    for flavor in snap.flavors:
        legacy = [r for r in nova_flavors.resource_requests(
            flavor.extra_specs) if nova_flavors.is_legacy_vgpu_class(
            r.resource_class, estate.mdev_classes)]
        if legacy:
            users = servers_by_flavor.get(flavor.name, [])
            out.append(F.make(
                'VFIO-A102', 'flavor %s (%s)' % (flavor.name, flavor.id),
                'requests %s; %d server(s) use it' % (
                    ', '.join('%s=%d' % (r.resource_class, r.amount)
                              for r in legacy), len(users))))
        for r in nova_flavors.resource_requests(flavor.extra_specs):
            rc = r.resource_class
            if (rc != os_resource_classes.VGPU
                    and not rc.upper().startswith('CUSTOM_')):
                continue
            problem = nova_names.resource_class_problem(rc)
            if problem:
                out.append(F.make(
                    'VFIO-A113', 'flavor %s (%s)' % (flavor.name, flavor.id),
                    'resources%s:%s: %s' % (r.group, rc, problem),
                    remedy='use %s' % nova_names.suggest_custom_name(rc)))
            elif not offered.get(rc):
                out.append(F.make(
                    'VFIO-A112', 'flavor %s (%s)' % (flavor.name, flavor.id),
                    'requests %s but no resource provider has %s inventory'
                    % (rc, rc)))
        out.extend(_alias_findings(estate, flavor, aliases, offered))
    return out


def _alias_groups(flavor, aliases):
    value = flavor.extra_specs.get(nova_extra_specs.ALIAS_EXTRA_SPEC)
    if not value or aliases is None:
        return None
    try:
        return nova_extra_specs.alias_request_groups(value, aliases)
    except ValueError as e:
        return e


def _alias_findings(estate, flavor, aliases, offered):
    groups = _alias_groups(flavor, aliases)
    if groups is None or isinstance(groups, Exception):
        return []
    out = []
    for rc in sorted({g.resource_class for g in groups}):
        problem = nova_names.resource_class_problem(rc)
        subject = 'flavor %s (%s)' % (flavor.name, flavor.id)
        if problem:
            out.append(F.make('VFIO-A113', subject,
                              'alias resource class %s: %s' % (rc, problem)))
        elif not offered.get(rc):
            out.append(F.make(
                'VFIO-A112', subject,
                'its [pci] alias asks for %s but no resource provider has '
                '%s inventory' % (rc, rc)))
    return out


def _server_findings(estate):
    snap = estate.snapshot
    out = []
    by_uuid = snap.provider_by_uuid()
    legacy_uuids = {p.uuid for p in estate.legacy_providers}
    watched = legacy_uuids | {p.uuid for p in estate.pci_providers}
    seen_consumers = set()
    for a in snap.allocations:
        if a.provider_uuid not in watched:
            continue
        provider = by_uuid[a.provider_uuid]
        root = estate.roots.get(provider.root_uuid)
        server = estate.servers_by_id.get(a.consumer_uuid)
        if server is None:
            out.append(F.make(
                'VFIO-A106', 'consumer %s' % a.consumer_uuid,
                'holds %s on %s but Nova has no such server' % (
                    ', '.join('%s=%d' % kv for kv in sorted(
                        a.resources.items())), provider.name)))
            continue
        node = server.hypervisor_hostname or server.host
        if root is not None and node and node != root.name:
            out.append(F.make(
                'VFIO-A107', _subject_server(server),
                'allocation on %s (compute node %s) but the server is on %s'
                % (provider.name, root.name, node)))
        if (a.provider_uuid in legacy_uuids
                and a.consumer_uuid not in seen_consumers):
            seen_consumers.add(a.consumer_uuid)
            out.append(F.make(
                'VFIO-A103', _subject_server(server),
                'on %s with flavor %s (%s on %s)' % (
                    node or '-', server.flavor_name,
                    ', '.join('%s=%d' % kv for kv in sorted(
                        a.resources.items())), provider.name)))
    return out


def _gpu_findings(estate):
    out = []
    for gpu in estate.gpus:
        subject = 'gpu %s on %s' % (gpu.address, gpu.host)
        if gpu.legacy and gpu.pci:
            out.append(F.make(
                'VFIO-A108', subject,
                'legacy provider(s) %s and PCI provider(s) %s stand for the '
                'same GPU' % (', '.join(p.name for p in gpu.legacy),
                              ', '.join(p.name for p in gpu.pci))))
        if len(gpu.legacy) > 1:
            shapes = {(tuple(sorted(p.inventories)), p.traits or ())
                      for p in gpu.legacy}
            if len(shapes) > 1:
                out.append(F.make(
                    'VFIO-A109', subject,
                    'legacy providers of its VFs differ: %s' % '; '.join(
                        '%s: %s%s' % (p.name, '+'.join(sorted(
                            p.inventories)), (' traits ' + ','.join(
                                p.traits)) if p.traits else '')
                        for p in gpu.legacy)))
        for p in gpu.pci:
            if len(p.inventories) > 1:
                out.append(F.make(
                    'VFIO-A110', _subject_provider(p),
                    'inventory has %s' % ', '.join(sorted(p.inventories))))
    return out


def _pci_class_findings(estate, aliases):
    if not estate.pci_providers:
        return []
    flavors = estate.snapshot.flavors
    uses_aliases = [f for f in flavors
                    if nova_extra_specs.ALIAS_EXTRA_SPEC in f.extra_specs]
    if aliases is None:
        if uses_aliases:
            return [F.make(
                'VFIO-A117', 'flavors',
                '%d flavor(s) use pci_passthrough:alias; aliases unknown'
                % len(uses_aliases))]
        asked = set()
    else:
        asked = set()
        for f in uses_aliases:
            groups = _alias_groups(f, aliases)
            if groups and not isinstance(groups, Exception):
                asked.update(g.resource_class for g in groups)
    out = []
    by_class = collections.defaultdict(list)
    for p in estate.pci_providers:
        for rc in p.inventories:
            by_class[rc].append(p)
    for rc in sorted(by_class):
        if rc not in asked:
            providers = by_class[rc]
            out.append(F.make(
                'VFIO-A111', 'resource class %s' % rc,
                '%d PCI provider(s) offer %d %s; no flavor asks for it'
                % (len(providers), sum(p.inventories[rc].total
                                       for p in providers), rc)))
    return out


def wide_tree_findings(estate):
    """VFIO-A114 (bug 2070257): flavors asking for several of a resource
    class that some compute node has in many child providers."""
    snap = estate.snapshot
    children = collections.defaultdict(collections.Counter)
    for p in snap.providers:
        if p.is_root or not p.inventories:
            continue
        for rc in p.inventories:
            children[p.root_uuid][rc] += 1
    wide = collections.defaultdict(list)
    for root_uuid, counts in children.items():
        for rc, n in counts.items():
            if n >= WIDE_TREE_CHILDREN:
                wide[rc].append((estate.roots[root_uuid].name
                                 if root_uuid in estate.roots
                                 else root_uuid, n))
    if not wide:
        return []
    out = []
    for flavor in snap.flavors:
        groups = collections.Counter()
        for r in nova_flavors.resource_requests(flavor.extra_specs):
            groups[r.resource_class] += r.amount
        for rc, amount in sorted(groups.items()):
            if rc in wide and amount > 1:
                hosts = sorted(wide[rc])
                out.append(F.make(
                    'VFIO-A114', 'flavor %s (%s)' % (flavor.name, flavor.id),
                    'asks for %d x %s; %d compute node(s) have >= %d child '
                    'providers of %s (e.g. %s with %d)' % (
                        amount, rc, len(hosts), WIDE_TREE_CHILDREN, rc,
                        hosts[0][0], hosts[0][1])))
    return out


def _mdev_list(definitions):
    return ', '.join('%s on %s (%s, %s)' % (
        d.uuid, d.parent, d.mdev_type, 'active' if d.active else 'inactive')
        for d in definitions)


def _mdev_definition_findings(host_reports):
    """VFIO-A119: Nova's persisted mdevs, per host report.

    Nova's libvirt driver defines every mdev it creates (``_create_mdev``,
    Nova 30.0.0 and later), and ``init_host`` starts every defined,
    inactive mdev, raising at the first that fails
    (``_start_inactive_mediated_devices``, nova/virt/libvirt/driver.py,
    stable/2025.1 to master): nova-compute then does not start.  A
    definition that is inactive and whose parent no longer offers its type
    cannot start (an error); the others are a warning, for the switch to
    come.  Reports written before vfioclient read definitions
    (``mdev_definitions`` None) say nothing either way.
    """
    out = []
    for report in host_reports:
        definitions = report.mdev_definitions or ()
        failing = [d for d in definitions
                   if not d.active and not d.parent_offers_type]
        pending = [d for d in definitions if d not in failing]
        subject = 'host %s' % report.hostname
        if failing:
            out.append(F.make(
                'VFIO-A119', subject,
                '%d persisted mdev(s) whose parent no longer offers their '
                'type: nova-compute\'s start-up starts every defined, '
                'inactive mdev, fails on these and the service does not '
                'start: %s' % (len(failing), _mdev_list(failing))))
        if pending:
            out.append(F.make(
                'VFIO-A119', subject,
                '%d persisted mdev(s), startable today; after the switch to '
                'the variant driver their parents offer no mdev type and '
                'nova-compute would not start: undefine them before the '
                'switch: %s' % (len(pending), _mdev_list(pending)),
                severity=F.WARNING))
    return out


def _version_findings(snapshot):
    out = []
    try:
        placement = tuple(int(x) for x in
                          snapshot.placement_max_version.split('.'))
        compute = tuple(int(x) for x in
                        snapshot.compute_max_version.split('.'))
    except (AttributeError, ValueError):
        return out
    if placement < PLACEMENT_NEEDED:
        out.append(F.make(
            'VFIO-A115', 'placement',
            'Placement supports up to %s; Nova\'s scheduler needs %d.%d'
            % ((snapshot.placement_max_version,) + PLACEMENT_NEEDED)))
    if compute < COMPUTE_NEEDED:
        out.append(F.make(
            'VFIO-A116', 'compute',
            'Nova API supports up to %s; %s starts at %d.%d'
            % ((snapshot.compute_max_version, COMPUTE_NEEDED_RELEASE)
               + COMPUTE_NEEDED)))
    return out


def audit(snapshot, host_reports=(), aliases=None, extra_findings=(),
          mdev_types_by_host=None):
    """All findings for a snapshot, in deterministic order.

    ``aliases`` is ``{name: Alias}`` from the controllers' ``[pci] alias``
    (None when unknown); ``extra_findings`` are findings computed elsewhere
    (``config check`` rules on ``--nova-conf`` files);
    ``mdev_types_by_host`` maps a host to the mdev types its ``--nova-conf``
    file enables.
    """
    estate = recognise(snapshot, host_reports, mdev_types_by_host)
    found = []
    found += _version_findings(snapshot)
    found += _legacy_findings(estate)
    found += _flavor_findings(estate, aliases)
    found += _server_findings(estate)
    found += _gpu_findings(estate)
    found += _pci_class_findings(estate, aliases)
    found += wide_tree_findings(estate)
    found += _mdev_definition_findings(host_reports)
    found += list(extra_findings)
    return F.sort_findings(set(found))


SUMMARY_COLUMNS = ('host', 'gpus', 'legacy_vgpu_total', 'legacy_vgpu_used',
                   'vf_total', 'vf_used', 'servers_to_move')


def summary(snapshot, host_reports=()):
    """One row per compute node with GPUs: dicts keyed by SUMMARY_COLUMNS.

    ``vf_total``/``vf_used`` are dicts by resource class.
    """
    estate = recognise(snapshot, host_reports)
    rows = {}
    for gpu in estate.gpus:
        row = rows.setdefault(gpu.host, {
            'host': gpu.host, 'gpus': 0, 'legacy_vgpu_total': 0,
            'legacy_vgpu_used': 0, 'vf_total': {}, 'vf_used': {},
            'servers_to_move': 0})
        row['gpus'] += 1
        for p in gpu.legacy:
            row['legacy_vgpu_total'] += sum(i.total for i in
                                            p.inventories.values())
            row['legacy_vgpu_used'] += _used(p)
        for p in gpu.pci:
            for rc, inv in p.inventories.items():
                row['vf_total'][rc] = row['vf_total'].get(rc, 0) + inv.total
                row['vf_used'][rc] = (row['vf_used'].get(rc, 0)
                                      + (p.usages or {}).get(rc, 0))
    legacy_uuids = {p.uuid: p for p in estate.legacy_providers}
    movers = collections.defaultdict(set)
    for a in snapshot.allocations:
        p = legacy_uuids.get(a.provider_uuid)
        if p is not None and a.consumer_uuid in estate.servers_by_id:
            host = estate.roots[p.root_uuid].name
            movers[host].add(a.consumer_uuid)
    for host, consumers in movers.items():
        if host in rows:
            rows[host]['servers_to_move'] = len(consumers)
    return [rows[h] for h in sorted(rows)]
