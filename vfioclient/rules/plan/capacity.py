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

import bisect
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
    # {server id: its legacy allocations, in snapshot order}: one pass,
    # not one per server (10,000 hosts have tens of thousands of each)
    legacy_of = collections.defaultdict(list)
    for a in snapshot.allocations:
        if a.provider_uuid in legacy_uuids:
            legacy_of[a.consumer_uuid].append(a)
    moves, stays = [], []
    for server in snapshot.servers:
        holding = legacy_of.get(server.id)
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


@dataclasses.dataclass(frozen=True)
class Wave:
    """Hosts drained and converted together (see :func:`simulate`)."""
    hosts: tuple                 # in plan order
    group: str                   # their group key; None: not grouped
    servers_to_move: int         # drains off the wave's hosts
    capacity_before: dict        # {rc: {vfs, legacy}}, see _Estate.free
    capacity_after: dict
    note: str                    # why it is smaller than the wave size


@dataclasses.dataclass(frozen=True)
class DrainOrder:
    """The outcome of :func:`simulate`."""
    order: tuple                 # hosts in conversion order
    drains: dict                 # {host: (Drain, ...)}
    blocked: dict                # {host: reason}
    shortfall: dict              # {resource class: VFs missing}
    waves: tuple = ()            # Wave, in order
    # why no further wave could be drained (waves of more than one host)
    blocked_wave: str = None


class _Estate:
    """The free capacity per class while hosts are converted, with running
    totals so that checking a host costs the same on 10 or 10,000 hosts.
    """

    def __init__(self, by_host, moves, existing):
        self.vf_free = collections.defaultdict(collections.Counter)
        # converted hosts, in the order their VFs are filled: the first
        # with room takes a server.  {host: place in that order}, and per
        # class the places of the hosts with free VFs, sorted, so finding
        # it does not walk every converted host for every server.
        self.vf_order = []
        self.vf_place = {}
        self.vf_open = collections.defaultdict(list)
        self.vf_total = collections.Counter()
        for host, by_rc in existing.items():
            for rc, (total, used) in by_rc.items():
                self.vf_free[host][rc] += max(total - used, 0)
                self.vf_total[rc] += max(total - used, 0)
        for host in sorted(existing):
            self._add_vf_host(host)
        self.legacy_free = collections.defaultdict(collections.Counter)
        self.legacy_total = collections.Counter()
        self.host_vfs = collections.defaultdict(collections.Counter)
        for host, items in by_host.items():
            for c in items:
                free = max(c.plan.legacy_total - c.plan.legacy_in_use, 0)
                self.legacy_free[host][c.plan.resource_class] += free
                self.legacy_total[c.plan.resource_class] += free
                self.host_vfs[host][c.plan.resource_class] += \
                    c.plan.vf_count
        self.classes = sorted(
            {rc for by_rc in self.host_vfs.values() for rc in by_rc}
            | {rc for by_rc in self.legacy_free.values() for rc in by_rc})
        self.on_host = collections.defaultdict(list)
        self.need = collections.defaultdict(collections.Counter)
        for m in moves:
            self.on_host[m.host].append(m)
            self.need[m.host][m.resource_class] += m.amount
        for items in self.on_host.values():
            items.sort(key=_by_server)
        self.remaining = set(by_host)

    def _add_vf_host(self, host):
        """``host``'s free VFs join the order (at its end when it is new
        to it)."""
        if host not in self.vf_place:
            self.vf_place[host] = len(self.vf_order)
            self.vf_order.append(host)
        place = self.vf_place[host]
        for rc, n in self.vf_free[host].items():
            places = self.vf_open[rc]
            i = bisect.bisect_left(places, place)
            if n > 0 and (i == len(places) or places[i] != place):
                places.insert(i, place)

    def _vf_target(self, rc, amount):
        """The first converted host with ``amount`` free VFs of ``rc``,
        or None."""
        for place in self.vf_open[rc]:
            host = self.vf_order[place]
            if self.vf_free[host][rc] >= amount:
                return host
        return None

    def _take_vfs(self, host, rc, amount):
        self.vf_free[host][rc] -= amount
        self.vf_total[rc] -= amount
        if self.vf_free[host][rc] <= 0:
            places = self.vf_open[rc]
            places.pop(bisect.bisect_left(places, self.vf_place[host]))

    def free(self):
        """``{rc: {'vfs': free VFs on converted hosts, 'legacy': free
        legacy vGPUs on hosts not converted yet}}`` per class the plan
        converts."""
        return {rc: {'vfs': self.vf_total[rc],
                     'legacy': self.legacy_total[rc]}
                for rc in self.classes}

    def deficit(self, wave_need, wave_legacy, host):
        """``{rc: missing}`` if ``host`` joined a wave needing
        ``wave_need`` whose hosts hold ``wave_legacy`` free legacy vGPUs:
        the wave's servers must fit on converted hosts and on legacy hosts
        outside the wave."""
        out = {}
        for rc in set(wave_need) | set(self.need[host]):
            want = wave_need[rc] + self.need[host][rc]
            have = (self.vf_total[rc] + self.legacy_total[rc]
                    - wave_legacy[rc] - self.legacy_free[host][rc])
            if want > have:
                out[rc] = want - have
        return out

    def drain(self, host, wave):
        """Where the servers on ``host`` go: free VFs of their class on
        converted hosts (resize), else the legacy host outside ``wave`` (a
        set) with the most free vGPUs of their type (cold migration)."""
        drains = []
        for m in self.on_host[host]:
            rc, flavor = m.resource_class, m.server.flavor_name
            target = self._vf_target(rc, m.amount)
            if target is not None:
                self._take_vfs(target, rc, m.amount)
                drains.append(Drain('resize', m.server, target, flavor))
                continue
            # the most free, then the first by name
            target = min((h for h in self.remaining
                          if h not in wave and
                          self.legacy_free[h][rc] >= m.amount),
                         key=lambda h: (-self.legacy_free[h][rc], h))
            self.legacy_free[target][rc] -= m.amount
            self.legacy_total[rc] -= m.amount
            drains.append(Drain('migrate', m.server, target, flavor))
            self.on_host[target].append(m)
            self.on_host[target].sort(key=_by_server)
            self.need[target][rc] += m.amount
        self.on_host[host] = []
        self.need[host] = collections.Counter()
        return drains

    def convert(self, wave):
        for host in wave:
            self.remaining.discard(host)
            for rc, n in self.legacy_free[host].items():
                self.legacy_total[rc] -= n
            self.legacy_free[host] = collections.Counter()
            for rc, n in self.host_vfs[host].items():
                self.vf_free[host][rc] += n
                self.vf_total[rc] += n
            self._add_vf_host(host)

    def queue_key(self, host):
        return (sum(self.need[host].values()), host)


def _deficit_text(deficit):
    return ', '.join('%d %s' % (a, rc) for rc, a in sorted(deficit.items()))


def _blocked(estate, shortfall):
    """``({host: reason}, (deficit, host))`` when no remaining host can
    be drained on its own; the shortfall takes the smallest deficit."""
    empty = collections.Counter()
    deficits = sorted((sum(d.values()), host, d) for host, d in (
        (host, estate.deficit(empty, empty, host))
        for host in sorted(estate.remaining)))
    _total, closest, deficit = deficits[0]
    for rc, amount in deficit.items():
        shortfall[rc] = max(shortfall[rc], amount)
    blocked = {}
    for _t, host, d in sorted(deficits, key=lambda x: x[1]):
        blocked[host] = (
            'cannot be drained: its servers need %s more than the '
            'free VFs on converted hosts and free legacy vGPUs '
            'elsewhere offer; add capacity, or free it (delete or '
            'shelve servers) first' % _deficit_text(d))
    return blocked, (deficit, closest)


def _listed(hosts, most=10):
    hosts = sorted(hosts)
    if len(hosts) <= most:
        return ', '.join(hosts)
    return '%s and %d more' % (', '.join(hosts[:most]), len(hosts) - most)


def _fill_wave(estate, queue, wave_size, group_of):
    """The hosts of the next wave, in order (empty: none can be drained),
    and why it closed early.

    Greedy, like converting host by host: the host whose servers are the
    fewest to place (then by name) starts the wave and may send servers to
    legacy hosts.  Hosts of its group join in the same order while the
    wave's servers, together, still fit outside the wave and those of the
    joining host fit on free VFs of converted hosts: a server sent to a
    legacy host moves twice, so waves grow with the converted capacity
    instead.  Joining only adds servers to place and removes capacity, so
    a host that does not fit now never fits later in the same wave: one
    pass over the queue is the greedy choice.
    """
    wave, wave_need, wave_legacy = [], collections.Counter(), \
        collections.Counter()
    skipped = None
    for _n, host in queue:
        if len(wave) == wave_size:
            break
        if wave and group_of and group_of[host] != group_of[wave[0]]:
            continue
        why = None
        deficit = estate.deficit(wave_need, wave_legacy, host)
        if deficit:
            why = '%s would have no place outside the wave' % (
                _deficit_text(deficit))
        elif wave:
            short = {rc: wave_need[rc] + n - estate.vf_total[rc]
                     for rc, n in estate.need[host].items()
                     if n and wave_need[rc] + n > estate.vf_total[rc]}
            if short:
                why = ('%s more free VFs would be needed on converted hosts '
                       '(its servers would otherwise move twice, through '
                       'a legacy host)' % _deficit_text(short))
        if why:
            if wave and skipped is None:
                skipped = (host, why)
            continue
        wave.append(host)
        wave_need.update(estate.need[host])
        wave_legacy.update(estate.legacy_free[host])
    note = None
    if wave and len(wave) < wave_size and skipped:
        note = '%d of at most %d hosts: with %s too, %s' % (
            len(wave), wave_size, skipped[0], skipped[1])
    return wave, note


def simulate(by_host, moves, existing, wave_size=1, group_of=None):
    """Greedy drain/convert order in waves, as a :class:`DrainOrder`.

    Hosts are converted in waves of at most ``wave_size`` hosts, all of
    one group when ``group_of`` (``{host: key}``) is given (see
    :func:`_fill_wave`).  A wave can be converted once every server on its
    hosts has somewhere to go outside the wave: free VFs of its class on
    hosts already converted (resize to the new flavor), else free legacy
    vGPUs of the same type on hosts not converted yet and not in the wave
    (cold migration, the server moves again later).  When no host can
    start a wave, the hosts left are blocked, with the shortfall per
    class.  With ``wave_size`` 1 this is host by host.
    """
    estate = _Estate(by_host, moves, existing)
    queue = sorted(estate.queue_key(h) for h in estate.remaining)
    order, drains, blocked, waves = [], {}, {}, []
    shortfall = collections.Counter()
    blocked_wave = None
    while estate.remaining:
        wave, note = _fill_wave(estate, queue, wave_size, group_of)
        if not wave:
            blocked, (deficit, closest) = _blocked(estate, shortfall)
            if wave_size > 1:
                blocked_wave = (
                    'cannot be drained, so %d host(s) stay legacy (%s): '
                    'even alone, %s needs %s more than the free VFs on '
                    'converted hosts and free legacy vGPUs elsewhere '
                    'offer; add capacity, or free some (delete or shelve '
                    'servers) first' % (len(estate.remaining),
                                        _listed(estate.remaining), closest,
                                        _deficit_text(deficit)))
            break
        before = estate.free()
        moved = 0
        touched = set()
        members = set(wave)
        for host in wave:
            drains[host] = tuple(estate.drain(host, members))
            moved += len(drains[host])
            touched.update(d.to_host for d in drains[host]
                           if d.action == 'migrate')
        estate.convert(wave)
        order.extend(wave)
        queue = [entry for entry in queue
                 if entry[1] not in touched and entry[1] not in members]
        for host in sorted(touched):
            bisect.insort(queue, estate.queue_key(host))
        waves.append(Wave(
            hosts=tuple(wave),
            group=group_of.get(wave[0]) if group_of else None,
            servers_to_move=moved, capacity_before=before,
            capacity_after=estate.free(), note=note))
    return DrainOrder(order=tuple(order),
                      drains={h: d for h, d in drains.items() if d},
                      blocked=blocked, shortfall=dict(shortfall),
                      waves=tuple(waves), blocked_wave=blocked_wave)


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

