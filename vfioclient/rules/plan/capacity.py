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

"""Capacity and the drain/convert order.

Which servers must move (:class:`Move`), where the drain of each host
sends them (:class:`Drain`), in which order hosts can be converted, and
the capacity per resource class before and after.
"""

import collections
import dataclasses

from vfioclient.model import plan as model


@dataclasses.dataclass(frozen=True)
class Move:
    """A server on a legacy vGPU of a GPU the plan converts."""
    server: object               # model.cloud Server
    host: str                    # the compute node it is on
    gpu_plan: model.GpuPlan      # the GPU it moves off
    amount: int                  # legacy vGPUs it holds

    @property
    def resource_class(self):
        return self.gpu_plan.resource_class


@dataclasses.dataclass(frozen=True)
class Stay:
    """A server whose vGPU is on a provider the plan does not convert."""
    server: object
    provider: object


@dataclasses.dataclass(frozen=True)
class Drain:
    """One server leaving a host before it is converted."""
    action: str                  # resize (to VFs) | migrate (stays legacy)
    server: object
    to_host: str
    from_flavor: str


@dataclasses.dataclass(frozen=True)
class DrainOrder:
    """The outcome of :func:`simulate`."""
    order: tuple                 # hosts in conversion order
    drains: dict                 # {host: (Drain, ...)}
    blocked: dict                # {host: reason}
    shortfall: dict              # {resource class: VFs missing}


def existing_vfs(estate):
    """``{host: {rc: (total, used)}}`` of PCI providers already in
    Placement."""
    out = collections.defaultdict(lambda: collections.defaultdict(
        lambda: (0, 0)))
    for p in estate.pci_providers:
        root = estate.roots.get(p.root_uuid)
        host = root.name if root else p.root_uuid
        for rc, inv in p.inventories.items():
            total, used = out[host][rc]
            out[host][rc] = (total + inv.total,
                             used + (p.usages or {}).get(rc, 0))
    return {host: dict(by_rc) for host, by_rc in out.items()}


def server_moves(snapshot, estate, by_host, legacy_uuids):
    """``(moves, stays)``: servers on GPUs the plan converts, and servers
    holding legacy vGPUs elsewhere (or on several GPUs)."""
    by_uuid = snapshot.provider_by_uuid()
    plan_of = {p.uuid: c.plan for items in by_host.values()
               for c in items for p in c.gpu.legacy}
    moves, stays = [], []
    for server in snapshot.servers:
        holding = [a for a in snapshot.allocations
                   if a.consumer_uuid == server.id
                   and a.provider_uuid in legacy_uuids]
        if not holding:
            continue
        targets = {plan_of.get(a.provider_uuid) for a in holding}
        if None in targets or len(targets) != 1:
            stays.append(Stay(server, by_uuid[holding[0].provider_uuid]))
            continue
        provider = by_uuid[holding[0].provider_uuid]
        moves.append(Move(
            server=server, host=estate.roots[provider.root_uuid].name,
            gpu_plan=targets.pop(),
            amount=sum(sum(a.resources.values()) for a in holding)))
    return moves, stays


def _by_server(move):
    return (move.server.name, move.server.id)


def simulate(by_host, moves, existing):
    """Greedy drain/convert order, as a :class:`DrainOrder`.

    A host can be converted once every server on it has somewhere to go:
    free VFs of its class on hosts already converted (resize to the new
    flavor), else free legacy vGPUs of the same type on hosts not converted
    yet (cold migration, the server moves again later).  Hosts whose
    servers have nowhere to go are blocked, with the shortfall per class.
    """
    vf_free = collections.defaultdict(collections.Counter)
    vf_hosts = sorted(existing)     # converted hosts, in the order to fill
    for host, by_rc in existing.items():
        for rc, (total, used) in by_rc.items():
            vf_free[host][rc] += max(total - used, 0)
    legacy_free = collections.defaultdict(collections.Counter)
    host_vfs = collections.defaultdict(collections.Counter)
    for host, items in by_host.items():
        for c in items:
            legacy_free[host][c.plan.resource_class] += max(
                c.plan.legacy_total - c.plan.legacy_in_use, 0)
            host_vfs[host][c.plan.resource_class] += c.plan.vf_count
    on_host = collections.defaultdict(list)
    for m in moves:
        on_host[m.host].append(m)
    for items in on_host.values():
        items.sort(key=_by_server)
    remaining = set(by_host)
    order, drains, blocked = [], collections.defaultdict(list), {}
    shortfall = collections.Counter()

    def need(host):
        n = collections.Counter()
        for m in on_host[host]:
            n[m.resource_class] += m.amount
        return n

    def available(host, rc):
        return (sum(vf_free[h][rc] for h in vf_free)
                + sum(legacy_free[h][rc] for h in remaining if h != host))

    while remaining:
        feasible = []
        deficits = []
        for host in sorted(remaining):
            n = need(host)
            deficit = {rc: amount - available(host, rc)
                       for rc, amount in n.items()
                       if amount > available(host, rc)}
            if deficit:
                deficits.append((sum(deficit.values()), host, deficit))
            else:
                feasible.append((sum(n.values()), host))
        if not feasible:
            _total, _host, deficit = min(deficits)
            for rc, amount in deficit.items():
                shortfall[rc] = max(shortfall[rc], amount)
            for _t, host, d in sorted(deficits, key=lambda x: x[1]):
                blocked[host] = (
                    'cannot be drained: its servers need %s more than the '
                    'free VFs on converted hosts and free legacy vGPUs '
                    'elsewhere offer; add capacity, or free it (delete or '
                    'shelve servers) first' % ', '.join(
                        '%d %s' % (a, rc) for rc, a in sorted(d.items())))
            break
        _n, host = min(feasible)
        for m in on_host[host]:
            rc, flavor = m.resource_class, m.server.flavor_name
            target = next((h for h in vf_hosts
                           if vf_free[h][rc] >= m.amount), None)
            if target is not None:
                vf_free[target][rc] -= m.amount
                drains[host].append(Drain('resize', m.server, target,
                                          flavor))
                continue
            target = max((h for h in sorted(remaining) if h != host and
                          legacy_free[h][rc] >= m.amount),
                         key=lambda h: legacy_free[h][rc])
            legacy_free[target][rc] -= m.amount
            drains[host].append(Drain('migrate', m.server, target, flavor))
            on_host[target].append(m)
            on_host[target].sort(key=_by_server)
        on_host[host] = []
        remaining.discard(host)
        order.append(host)
        vf_hosts.append(host)
        for rc, n in host_vfs[host].items():
            vf_free[host][rc] += n
    return DrainOrder(order=tuple(order),
                      drains={h: tuple(d) for h, d in drains.items()},
                      blocked=blocked, shortfall=dict(shortfall))


def capacity(by_host, moves, existing, shortfall, rc_of):
    """One :class:`~vfioclient.model.plan.Capacity` row per VF class."""
    vf_name_of = {rc: name for name, rc in rc_of.items()}
    per_host = collections.defaultdict(lambda: [0, 0, 0, 0])
    for host, items in by_host.items():
        for c in items:
            entry = per_host[(c.plan.resource_class, host)]
            entry[0] += c.plan.vf_count
            entry[1] += c.plan.legacy_total
            entry[2] += c.plan.legacy_in_use
    existing_total = collections.Counter()
    existing_used = collections.Counter()
    for host, by_rc in existing.items():
        for rc, (total, used) in by_rc.items():
            if rc in vf_name_of:
                entry = per_host[(rc, host)]
                entry[0] += total
                entry[3] += used
                existing_total[rc] += total
                existing_used[rc] += used
    demand = collections.Counter()
    for m in moves:
        demand[m.resource_class] += m.amount
    rows = []
    for rc in sorted(vf_name_of):
        hosts = tuple(model.HostCapacity(host, *v)
                      for (r, host), v in sorted(per_host.items())
                      if r == rc)
        total = sum(h.vfs_total for h in hosts)
        final = max(demand[rc] + existing_used[rc] - total, 0)
        rows.append(model.Capacity(
            resource_class=rc, vf_type=vf_name_of[rc], vfs_total=total,
            vfs_existing=existing_total[rc],
            vfs_planned=total - existing_total[rc],
            legacy_in_use=demand[rc], vf_in_use=existing_used[rc],
            shortfall=max(final, shortfall.get(rc, 0)), hosts=hosts))
    return tuple(rows)


def server_plans(moves, stays, flavor_of, blocked):
    """One :class:`~vfioclient.model.plan.ServerPlan` per server holding a
    legacy vGPU, sorted by name."""
    out = []
    for m in moves:
        reason = blocked.get(m.host)
        out.append(model.ServerPlan(
            id=m.server.id, name=m.server.name, host=m.server.host,
            from_flavor=m.server.flavor_name,
            to_flavor=flavor_of[m.server.id].name,
            resource_class=m.resource_class,
            status='blocked' if reason else 'move',
            reason=reason and 'host %s %s' % (m.host, reason)))
    for s in stays:
        out.append(model.ServerPlan(
            id=s.server.id, name=s.server.name, host=s.server.host,
            from_flavor=s.server.flavor_name, to_flavor=None,
            resource_class=None, status='stays',
            reason='its vGPU is on %s, which the plan does not convert '
                   '(see refusals)' % s.provider.name))
    return tuple(sorted(out, key=lambda s: (s.name, s.id)))

