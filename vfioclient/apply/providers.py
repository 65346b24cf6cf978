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

"""Delete a compute host's legacy vGPU (mdev) providers from Placement.

Once a host's nova.conf enables no mdev type, Nova's libvirt driver stops
managing its pGPU providers (``_update_provider_tree_for_vgpu`` returns
early when ``_get_gpu_inventories()`` is empty, nova/virt/libvirt/driver.py,
stable/2025.1 to stable/2026.1) and never deletes them: their inventory
stays schedulable (audit VFIO-A118).  This module deletes them, and only
them: the children of the host's compute node provider that
:func:`vfioclient.rules.audit.recognise` calls legacy (named as the driver
names pGPU providers, or with ``VGPU`` inventory), never the compute node
itself and never a PCI provider (trait ``COMPUTE_MANAGED_PCI_DEVICE``, made
by Nova's PCI-in-Placement translator).

Order of work (:func:`cleanup`):

1. every host is read (:func:`read_host`): its compute node by name, the
   tree under it (``in_tree``), the inventories and traits of the children
   and the allocations of the legacy ones;
2. with a plan, each host must be one the plan converts and every legacy
   provider found must be one the plan was made from (``providers_before``,
   same inventory): otherwise :class:`.drift.DriftError`, before any write;
3. per host (:func:`decide`): when any of its legacy providers holds an
   allocation or has a child provider, none of them is deleted (no host is
   left half cleaned up), and the consumers are listed;
4. each remaining provider is deleted on its own (:func:`delete_one`): read
   again right before its ``DELETE`` (gone: ``absent``; generation, name or
   parent changed: refused; allocations: refused), and a 409 from the
   ``DELETE`` itself (Placement's delete refuses a provider with
   allocations or children: placement/objects/resource_provider.py,
   ``_delete``) is a refusal naming the provider.  The first provider of
   a host that is not deleted stops that host.

Resumable without a journal: each delete stands alone and a provider
already gone is ``absent`` (with a plan, each of its providers missing from
Placement is an ``absent`` row), so running again after an interrupted run
deletes the rest, and after a complete one changes nothing.
"""

import dataclasses

from vfioclient.apply import drift
from vfioclient.apply import report
from vfioclient.apply.report import ABSENT, DELETED, FAILED, REFUSED
from vfioclient.apply.report import WOULD_DELETE
from vfioclient.cloud import client
from vfioclient.cloud import compute as compute_api
from vfioclient.cloud import placement as placement_api
from vfioclient.model import cloud as model
from vfioclient.rules import audit as audit_rules

ACTIONS = (DELETED, ABSENT, WOULD_DELETE, REFUSED, FAILED)
OK_ACTIONS = (DELETED, ABSENT, WOULD_DELETE)

COLUMNS = ('host', 'provider', 'uuid', 'resource_class', 'total', 'action',
           'reason')


@dataclasses.dataclass(frozen=True)
class HostTree:
    """What Placement has under one host, read before any write."""

    host: str                 # the compute node's name, as given
    providers: tuple = ()     # model.Provider: the root and all under it
    allocations: tuple = ()   # model.Allocation on its legacy providers
    problem: str = None       # why the host cannot be cleaned up


@dataclasses.dataclass(frozen=True)
class Result:
    host: str
    provider: str
    uuid: str
    resource_class: str
    total: int
    action: str
    reason: str = ''

    def row(self):
        return tuple(getattr(self, c) for c in COLUMNS)

    @property
    def label(self):
        return self.provider or self.host

    @property
    def ok(self):
        return self.action in OK_ACTIONS


def _result(host, provider, action, reason=''):
    """A row for a provider; class and total as the plan's
    ``providers_before`` give them (classes joined with ``+``)."""
    inventories = provider.inventories or {}
    return Result(host, provider.name, provider.uuid,
                  '+'.join(sorted(inventories)),
                  sum(i.total for i in inventories.values()), action,
                  reason)


def _host_result(host, action, reason):
    return Result(host, None, None, None, None, action, reason)


# -- which providers ---------------------------------------------------------

def legacy_providers(providers):
    """The legacy vGPU providers among ``providers`` (a compute node and
    everything under it), exactly as the audit recognises them, by name."""
    snapshot = model.build(
        collected_at='', microversions={}, placement_max_version='',
        compute_max_version='', providers=providers, allocations=(),
        resource_classes=(), services=(), hypervisors=(), flavors=(),
        servers=())
    return sorted(audit_rules.recognise(snapshot).legacy_providers,
                  key=lambda p: (p.name, p.uuid))


def planned_providers(host_plan):
    """``{name: ProviderRef}``: the legacy providers a plan's host was
    made from."""
    return {ref.name: ref for gpu in host_plan.gpus
            for ref in gpu.providers_before}


def _blocker(provider, tree, describe):
    """Why ``provider`` cannot be deleted now ('' when it can)."""
    children = sorted(p.name for p in tree.providers
                      if p.parent_uuid == provider.uuid)
    consumers = sorted({a.consumer_uuid for a in tree.allocations
                        if a.provider_uuid == provider.uuid})
    reasons = []
    if consumers:
        reasons.append(
            'holds allocations of %d consumer(s): %s; move those servers '
            'off %s first' % (len(consumers),
                              ', '.join(describe(c) for c in consumers),
                              tree.host))
    if children:
        reasons.append('has child provider(s) %s: Placement deletes no '
                       'provider that has children' % ', '.join(children))
    return '; '.join(reasons)


def _default_describe(consumer):
    return 'consumer %s' % consumer


def decide(tree, describe=_default_describe, planned=()):
    """The rows of one host before any write (pure).

    ``would-delete`` for each legacy provider when none of them holds an
    allocation or has a child provider; otherwise every one is
    ``refused``, those in use naming their consumers (``describe(uuid)``
    gives the text for one).  ``planned`` are the plan's
    :class:`~vfioclient.model.plan.ProviderRef` of the host: those not in
    Placement are ``absent`` (already deleted).
    """
    if tree.problem:
        return [_host_result(tree.host, REFUSED, tree.problem)]
    legacy = legacy_providers(tree.providers)
    found = {p.name for p in legacy}
    gone = [Result(tree.host, ref.name, None, ref.resource_class, ref.total,
                   ABSENT, 'already gone')
            for ref in sorted(planned, key=lambda r: r.name)
            if ref.name not in found]
    if not legacy:
        return gone or [_host_result(
            tree.host, ABSENT, 'no legacy vGPU provider under %s'
            % tree.host)]
    blockers = {p.uuid: _blocker(p, tree, describe) for p in legacy}
    in_use = [p.name for p in legacy if blockers[p.uuid]]
    if not in_use:
        return gone + [_result(tree.host, p, WOULD_DELETE) for p in legacy]
    kept = ('kept with the rest of %s: %s cannot be deleted yet (a host '
            'is cleaned up as a whole)' % (tree.host, ', '.join(in_use)))
    return gone + [_result(tree.host, p, REFUSED, blockers[p.uuid] or kept)
                   for p in legacy]


def plan_problems(plan, trees):
    """Why a plan does not match the hosts read (texts; empty when it
    does): a host the plan does not convert, a legacy provider the plan was
    not made from, or one whose inventory changed since."""
    converted = sorted(h.host for h in plan.hosts if h.order is not None)
    problems = []
    for tree in trees:
        host_plan = plan.host(tree.host)
        if host_plan is None:
            problems.append('the plan does not convert %s (it converts %s)'
                            % (tree.host, ', '.join(converted) or 'no host'))
            continue
        if host_plan.order is None:
            problems.append('the plan leaves %s blocked (see its refusals '
                            'for host %s)' % (tree.host, tree.host))
            continue
        refs = planned_providers(host_plan)
        for p in legacy_providers(tree.providers):
            ref = refs.get(p.name)
            now = _result(tree.host, p, '')
            if ref is None:
                problems.append(
                    '%s: legacy provider %s (%s) is not one the plan was '
                    'made from' % (tree.host, p.name, p.uuid))
            elif (ref.resource_class, ref.total) != (now.resource_class,
                                                     now.total):
                problems.append(
                    '%s: provider %s has %s total %d, the plan %s total %d'
                    % (tree.host, p.name, now.resource_class, now.total,
                       ref.resource_class, ref.total))
    return problems


# -- reading -----------------------------------------------------------------

def _provider(raw):
    return model.Provider(
        uuid=raw['uuid'], name=raw['name'], generation=raw['generation'],
        parent_uuid=raw.get('parent_provider_uuid'),
        root_uuid=raw.get('root_provider_uuid') or raw['uuid'])


def _inventories(raw):
    return {rc: model.Inventory(
        total=v['total'], reserved=v.get('reserved', 0),
        min_unit=v.get('min_unit', 1), max_unit=v.get('max_unit', 1),
        step_size=v.get('step_size', 1),
        allocation_ratio=float(v.get('allocation_ratio', 1.0)))
        for rc, v in raw.items()}


def read_host(cloud, host):
    """The :class:`HostTree` of the compute node named ``host``."""
    placement = cloud.placement
    raw = placement_api.find_resource_provider(placement, host)
    if raw is None:
        return HostTree(host, problem=(
            'Placement has no resource provider named %s: give the compute '
            "node's name, as the audit and the plan name the host" % host))
    root = _provider(raw)
    if not root.is_root:
        return HostTree(host, problem=(
            '%s is not a compute node: it is a child of provider %s'
            % (host, root.parent_uuid)))
    tree = [_provider(p) for p in
            placement_api.list_provider_tree(placement, root.uuid)]
    children = [p for p in tree if not p.is_root]
    details = cloud.map(
        lambda p: (placement_api.get_inventories(placement, p.uuid),
                   placement_api.get_provider_traits(placement, p.uuid)),
        children)
    filled = {p.uuid: dataclasses.replace(
        p, inventories=_inventories(inventories),
        traits=tuple(sorted(traits)))
        for p, (inventories, traits) in zip(children, details)}
    providers = tuple(filled.get(p.uuid, p) for p in tree)
    legacy = legacy_providers(providers)
    held = cloud.map(
        lambda p: placement_api.get_provider_allocations(placement, p.uuid),
        legacy)
    allocations = tuple(
        model.Allocation(consumer, p.uuid, dict(value['resources']))
        for p, found in zip(legacy, held)
        for consumer, value in sorted(found.items()))
    return HostTree(host, providers, allocations)


class ServerNames:
    """Names of the servers behind allocation consumers, asked of Nova once
    each.  When Nova cannot answer (unreachable, too old, not in the
    catalogue) the consumers stay unnamed and :attr:`problem` says why."""

    def __init__(self, compute):
        self.compute = compute
        self.names = {}       # consumer -> server name; None: no server
        self.problem = None

    def look_up(self, consumers):
        for consumer in sorted(set(consumers)):
            if self.problem is not None:
                return
            if consumer in self.names:
                continue
            try:
                server = compute_api.get_server(self.compute, consumer)
            except (client.ApiError, client.MicroversionError) as e:
                self.problem = 'server names not shown: %s' % e
                return
            self.names[consumer] = server.get('name') if server else None

    def describe(self, consumer):
        if consumer not in self.names:
            return 'consumer %s' % consumer
        name = self.names[consumer]
        if name is None:
            return ('consumer %s (Nova has no server of that id: a '
                    'migration, or an orphaned allocation)' % consumer)
        return 'consumer %s (server %s)' % (consumer, name)


# -- writing -----------------------------------------------------------------

def _changes(provider, current):
    """How ``provider`` (as first read) differs from ``current`` (its
    Placement dict now): texts, empty when it is the same."""
    changes = []
    if current.get('generation') != provider.generation:
        changes.append('its generation changed (%s -> %s: an allocation, '
                       'inventory or trait was written)'
                       % (provider.generation, current.get('generation')))
    if current.get('name') != provider.name:
        changes.append('it was renamed to %s' % current.get('name'))
    if current.get('parent_provider_uuid') != provider.parent_uuid:
        changes.append('it was moved under %s'
                       % current.get('parent_provider_uuid'))
    return changes


def delete_one(placement, host, provider, names):
    """Read ``provider`` again and delete it if it is unchanged and holds
    nothing; never raises for API errors (a ``failed`` row)."""
    try:
        current = placement_api.get_resource_provider(placement,
                                                      provider.uuid)
        if current is None:
            return _result(host, provider, ABSENT, 'already gone')
        changes = _changes(provider, current)
        if changes:
            return _result(host, provider, REFUSED, (
                '%s since it was read; is nova-compute on %s still '
                'running? Stop it, then run the command again'
                % ('; '.join(changes), host)))
        try:
            held = placement_api.get_provider_allocations(placement,
                                                          provider.uuid)
        except client.ApiError as e:
            if e.status != 404:
                raise
            return _result(host, provider, ABSENT, 'already gone')
        if held:
            names.look_up(held)
            return _result(host, provider, REFUSED, (
                'allocations appeared since it was read: %s; nothing was '
                'deleted' % ', '.join(names.describe(c)
                                      for c in sorted(held))))
        try:
            deleted = placement_api.delete_resource_provider(placement,
                                                             provider.uuid)
        except client.ApiError as e:
            if e.status != 409:
                raise
            return _result(host, provider, REFUSED, (
                'Placement refused to delete it (HTTP 409: %s): an '
                'allocation or a child provider was made on it after it '
                'was read; it was not deleted, run the command again to '
                'see what holds it' % e.detail))
        if not deleted:
            return _result(host, provider, ABSENT, 'already gone')
        return _result(host, provider, DELETED)
    except client.ApiError as e:
        return _result(host, provider, FAILED,
                       '%s; run the command again' % e)


def _delete_host(placement, tree, decided, names):
    """Carry out the ``would-delete`` rows of one host, in order; the
    first provider not deleted stops the host."""
    by_uuid = {p.uuid: p for p in tree.providers}
    out = []
    stopped = None
    for row in decided:
        if row.action != WOULD_DELETE:
            out.append(row)
        elif stopped is not None:
            out.append(dataclasses.replace(row, action=REFUSED, reason=(
                'not attempted: the cleanup of %s stopped at %s (%s); run '
                'the command again once that is resolved'
                % (tree.host, stopped.provider, stopped.action))))
        else:
            done = delete_one(placement, tree.host, by_uuid[row.uuid],
                              names)
            out.append(done)
            if not done.ok:
                stopped = done
    return out


def cleanup(cloud, hosts, plan=None, dry_run=False, names=None):
    """Delete the legacy vGPU providers of ``hosts`` (compute node names).

    ``plan`` is a :class:`vfioclient.model.plan.Plan` to check against
    (raises :class:`.drift.DriftError` before any write); ``names`` a
    :class:`ServerNames` (one asking ``cloud.compute`` by default).
    Returns a list of :class:`Result`, host by host in the given order.
    """
    names = names if names is not None else ServerNames(cloud.compute)
    trees = [read_host(cloud, host) for host in dict.fromkeys(hosts)]
    if plan is not None:
        problems = plan_problems(plan, trees)
        if problems:
            raise drift.DriftError(
                'the plan no longer matches Placement: %s; nothing was '
                'deleted: make the plan again ("openstack vfio plan"), or '
                'leave out --from-plan to delete every legacy provider of '
                'the host' % '; '.join(problems))
    names.look_up(a.consumer_uuid for tree in trees
                  for a in tree.allocations)
    results = []
    for tree in trees:
        host_plan = plan.host(tree.host) if plan is not None else None
        planned = (planned_providers(host_plan).values()
                   if host_plan is not None else ())
        decided = decide(tree, names.describe, planned)
        if dry_run:
            results += decided
        else:
            results += _delete_host(cloud.placement, tree, decided, names)
    return results


def summary(results):
    """One line: counts by action, and the providers that were not done."""
    return report.summary(results, ACTIONS)
