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

"""``make_plan``: the plan as a short sequence of named phases.

Pure: no I/O, no clock; the same inputs give the same plan, byte for byte.
"""

import collections
import dataclasses
import hashlib

from vfioclient.model import jsontext
from vfioclient.model import plan as model
from vfioclient.rules import audit as audit_rules
from vfioclient.rules.plan import capacity
from vfioclient.rules.plan import flavors as plan_flavors
from vfioclient.rules.plan import gpus as plan_gpus
from vfioclient.rules.plan import hosts as plan_hosts
from vfioclient.rules.plan import legacy
from vfioclient.rules.plan import legacy_conf
from vfioclient.rules.plan import nova_config
from vfioclient.rules.plan import options as plan_options
from vfioclient.rules.plan import vftype
from vfioclient.rules.plan import waves as plan_waves

# Nova: more than this many PCI RPs with one class per compute needs the
# Placement tuning of bug 2070257 (pci-passthrough.rst).
WIDE_TREE = audit_rules.WIDE_TREE_CHILDREN

PLACEMENT_SETTINGS = (
    ('placement', 'max_allocation_candidates', '100000',
     'placement 13.0.0 (2025.1), or 10.0.1 / 11.0.1 / 12.0.1'),
    ('placement', 'allocation_candidates_generation_strategy',
     'breadth-first', 'placement 13.0.0 (2025.1), or 10.0.1 / 11.0.1 / '
     '12.0.1'),
    ('workarounds', 'optimize_for_wide_provider_trees', 'True',
     'placement 15.0.0 (2026.1), or 12.0.2 and stable/2025.x backports'),
)


@dataclasses.dataclass(frozen=True)
class _Inputs:
    """What every phase reads: the estate as the audit recognises it."""
    snapshot: object
    reports: dict                # {compute node: host report}
    estate: object
    options: plan_options.Options
    flavors: dict                # {name: flavor}
    legacy_uuids: frozenset
    servers_by_provider: dict    # {legacy provider uuid: [server, ...]}
    confs: dict                  # {compute node: legacy_conf.NovaConf}


def fingerprint_snapshot(snapshot):
    """The sha256 of the snapshot's file (what ``sha256sum`` prints); for
    a snapshot collected live, of the file ``--save-snapshot`` writes."""
    if snapshot.source_sha256:
        return snapshot.source_sha256
    digest = hashlib.sha256()
    for piece in snapshot.iter_json():
        digest.update(piece.encode('utf-8'))
    return digest.hexdigest()


def fingerprint_report(report):
    """The sha256 of the report's file; for a report not read from one, of
    the file ``openstack vfio host report -f json`` would write."""
    if report.source_sha256:
        return report.source_sha256
    return hashlib.sha256((jsontext.dumps(report.to_json()) + '\n')
                          .encode('utf-8')).hexdigest()


def _report_index(snapshot, reports):
    """Reports keyed by compute node (root provider) name; a report may be
    named after the service host or the hypervisor hostname."""
    names = {}
    for h in snapshot.hypervisors:
        names[h.host] = h.hypervisor_hostname
        names[h.hypervisor_hostname] = h.hypervisor_hostname
    out = {}
    for r in reports:
        node = names.get(r.hostname, r.hostname)
        out[node] = (r if r.hostname == node
                     else dataclasses.replace(r, hostname=node))
    return out


def _selected(host, options, snapshot):
    if not options.hosts:
        return True
    wanted = set(options.hosts)
    if host in wanted:
        return True
    return any(h.host in wanted for h in snapshot.hypervisors
               if h.hypervisor_hostname == host)


def _recognise(snapshot, host_reports, options, confs):
    reports = _report_index(snapshot, host_reports)
    estate = audit_rules.recognise(snapshot, list(reports.values()))
    legacy_uuids = frozenset(p.uuid for p in estate.legacy_providers)
    servers_by_provider = collections.defaultdict(list)
    for a in snapshot.allocations:
        server = estate.servers_by_id.get(a.consumer_uuid)
        if a.provider_uuid in legacy_uuids and server is not None:
            servers_by_provider[a.provider_uuid].append(server)
    return _Inputs(snapshot, reports, estate, options,
                   {f.name: f for f in snapshot.flavors}, legacy_uuids,
                   dict(servers_by_provider), confs)


def _live_legacy(g, estate):
    """The GPU's live legacy providers, or a Refusal."""
    subject = legacy.gpu_subject(g.address, g.host)
    gone = {**estate.stale, **estate.converted}
    live = [p for p in g.legacy if p.uuid not in gone]
    if not live:
        return model.Refusal(subject, (
            'only stale legacy providers (%s): delete them once nothing'
            ' is allocated (audit VFIO-A104/A105/A118)' % '; '.join(
                sorted({gone[p.uuid] for p in g.legacy}))))
    if g.pci:
        return model.Refusal(subject, (
            'already half converted: PCI provider %s and legacy '
            'provider(s) %s stand for this GPU (audit VFIO-A108); move '
            'the legacy servers off it and remove its mdev config by '
            'hand' % (', '.join(p.name for p in g.pci),
                      ', '.join(p.name for p in live))))
    return live


def _choose(inputs):
    """Phase 1: facts and the VF type per GPU with legacy providers."""
    choices, refusals = [], []
    reports = list(inputs.reports.values())
    offers = vftype.BoardOffers(reports)
    for g in inputs.estate.gpus:
        if not g.legacy or not _selected(g.host, inputs.options,
                                         inputs.snapshot):
            continue
        result = _live_legacy(g, inputs.estate)
        if not isinstance(result, model.Refusal):
            result = legacy.recognise_legacy(
                g.host, g.address, result, inputs.reports.get(g.host),
                inputs.servers_by_provider, inputs.flavors,
                inputs.confs.get(g.host))
        if not isinstance(result, model.Refusal):
            result = vftype.choose_vf_type(result, reports,
                                           inputs.options.maps, offers)
        if isinstance(result, model.Refusal):
            refusals.append(result)
        else:
            choices.append(result)
    return choices, refusals


def _convert(choices, rc_of):
    """Phase 3: the VFs and plan record of each chosen GPU."""
    conversions, refusals = [], []
    for choice in choices:
        result = plan_gpus.gpu_plan(choice, rc_of[choice.vf.name])
        if isinstance(result, model.Refusal):
            refusals.append(result)
        else:
            conversions.append(plan_gpus.Conversion(choice.gpu, choice.vf,
                                                    result))
    return conversions, refusals


def _type_mappings(by_host, alias_of, rc_of):
    groups = collections.defaultdict(list)
    for items in by_host.values():
        for c in items:
            groups[(c.plan.legacy_type, c.plan.legacy_name,
                    c.vf.name)].append(c)
    out = []
    for (legacy_type, legacy_name, vf_name), members in sorted(
            groups.items(), key=lambda kv: tuple(x or '' for x in kv[0])):
        vf = members[0].vf
        out.append(model.TypeMapping(
            legacy_type=legacy_type, legacy_name=legacy_name,
            legacy_classes=tuple(sorted({rc for c in members
                                         for rc in c.gpu.legacy_classes})),
            vf_type_id=vf.type_id, vf_type_name=vf_name,
            resource_class=rc_of[vf_name], alias=alias_of[vf_name],
            source=vf.source,
            verified=all(c.vf.verified for c in members),
            gpus=len(members)))
    return tuple(out)


def _placement_settings(inputs, by_host, flavor_plans):
    reasons = []
    # the audit's VFIO-A114 rule alone, on the estate already recognised
    # from the same snapshot and reports (the whole audit took seconds at
    # 10,000 hosts)
    found = audit_rules.wide_tree_findings(inputs.estate)
    if found:
        reasons.append('audit VFIO-A114 (bug 2070257) for %s' % ', '.join(
            sorted(f.subject for f in found)))
    many = max((f.count for f in flavor_plans), default=0)
    for host, items in sorted(by_host.items()):
        per_rc = collections.Counter(c.plan.resource_class for c in items)
        wide = [rc for rc, n in per_rc.items() if n >= WIDE_TREE]
        if wide and many > 1:
            reasons.append('after conversion %s has >= %d PCI providers of '
                           '%s and a flavor asks for %d'
                           % (host, WIDE_TREE, ', '.join(sorted(wide)),
                              many))
    if not reasons:
        return ()
    reason = '; '.join(reasons)
    return tuple(model.PlacementSetting(
        file='placement.conf', section=section, option=option, value=value,
        min_version=version, reason=reason)
        for section, option, value, version in PLACEMENT_SETTINGS)


def _inputs_ref(snapshot, host_reports, options, nova_confs, matched):
    return model.Inputs(
        snapshot=model.SnapshotRef(snapshot.collected_at,
                                   fingerprint_snapshot(snapshot)),
        host_reports=tuple(sorted(
            (model.HostReportRef(r.hostname, fingerprint_report(r),
                                 r.collected_at) for r in host_reports),
            key=lambda r: (r.hostname, r.sha256))),
        options=options.to_json(),
        nova_confs=tuple(model.NovaConfRef(c.pattern, c.file, c.sha256,
                                           hosts)
                         for c, hosts in zip(nova_confs, matched)))


def _host_plans(by_host, drain, alias_of, flavor_of, inputs):
    index = {h: i + 1 for i, h in enumerate(drain.order)}
    return tuple(plan_hosts.host_plan(
        host, by_host[host], index.get(host), drain.drains.get(host, ()),
        alias_of, flavor_of, inputs.options, inputs.reports.get(host))
        for host in sorted(by_host))


def _waves(drain):
    return tuple(model.Wave(
        number=number, hosts=w.hosts, group=w.group,
        servers_to_move=w.servers_to_move,
        capacity_before=w.capacity_before, capacity_after=w.capacity_after,
        note=w.note) for number, w in enumerate(drain.waves, 1))


def make_plan(snapshot, host_reports=(), options=plan_options.Options(),
              nova_confs=()):
    """Decide everything; return a :class:`vfioclient.model.plan.Plan`.

    ``nova_confs``: :class:`.legacy_conf.NovaConf` of each ``--nova-conf``,
    in the order given.

    :raises TemplateError: a template is unusable.
    :raises ValueError: a --map value is malformed, a wave size below 1,
        a --group-by the snapshot has no keys for, or two --nova-conf
        patterns give one host different files.
    """
    plan_options.check_templates(options)
    confs, matched = legacy_conf.by_host(tuple(nova_confs), snapshot)
    inputs = _recognise(snapshot, host_reports, options, confs)
    choices, refused = _choose(inputs)
    rc_of, alias_of = plan_options.names_per_type(
        [c.vf for c in choices], options)
    conversions, refused_gpus = _convert(choices, rc_of)
    by_host = plan_hosts.group_by_host(conversions)
    by_host, refused_old = plan_hosts.refuse_old_hypervisors(
        by_host, inputs.reports, options)
    group_of, by_host, refused_ungrouped = plan_waves.group_keys(
        by_host, options.group_by, snapshot)
    wave_size = plan_waves.wave_size(options, len(by_host))
    moves, stays = capacity.server_moves(snapshot, inputs.estate, by_host,
                                         inputs.legacy_uuids)
    flavor_plans, flavor_of = plan_flavors.flavor_plans(
        moves, inputs.flavors, options, alias_of, rc_of, inputs.estate)
    existing = capacity.existing_vfs(inputs.estate)
    drain = capacity.simulate(by_host, moves, existing, wave_size,
                              group_of)
    aliases = nova_config.alias_plans(
        [c for items in by_host.values() for c in items], alias_of, rc_of,
        options.live_migratable, options.alias_numa_policy)
    mappings = _type_mappings(by_host, alias_of, rc_of)
    refusals = (refused + refused_gpus + refused_old
                + refused_ungrouped + [model.Refusal('host %s' % h, r)
                                       for h, r in drain.blocked.items()])
    if drain.blocked_wave:
        refusals.append(model.Refusal('wave %d' % (len(drain.waves) + 1),
                                      drain.blocked_wave))
    return model.Plan(
        inputs=_inputs_ref(snapshot, host_reports, options, nova_confs,
                           matched),
        resource_classes=tuple(sorted({m.resource_class for m in mappings})),
        aliases=aliases, flavors=flavor_plans, type_mappings=mappings,
        hosts=_host_plans(by_host, drain, alias_of, flavor_of, inputs),
        controllers=nova_config.controllers(aliases, snapshot),
        order=drain.order,
        servers=capacity.server_plans(moves, stays, flavor_of,
                                      drain.blocked),
        capacity=capacity.capacity(by_host, moves, existing,
                                   drain.shortfall, rc_of),
        placement_settings=_placement_settings(inputs, by_host,
                                               flavor_plans),
        refusals=tuple(sorted(set(refusals),
                              key=lambda r: (r.subject, r.reason))),
        waves=_waves(drain))
