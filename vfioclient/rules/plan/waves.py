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

"""Waves: how many hosts are converted together, and which.

:func:`wave_size` is ``--wave-size`` or the default for the estate;
:func:`group_keys` gives each host its ``--group-by`` key (a wave holds
hosts of one group only).  The drain simulation that forms the waves is
:func:`vfioclient.rules.plan.capacity.simulate`.
"""

from vfioclient.model import plan as model
from vfioclient.rules.plan import hosts as plan_hosts
from vfioclient.rules.plan import options as plan_options
# Default wave: 1 host in DEFAULT_WAVE_SHARE (5 %) of the hosts the plan
# converts, at least 1 and at most DEFAULT_WAVE_MAX.
DEFAULT_WAVE_SHARE = 20
DEFAULT_WAVE_MAX = 50
NO_AGGREGATE = '(no aggregate)'

MISSING = {
    'az': ('--group-by az: no availability zone is known for it (no '
           'nova-compute service of that host in the snapshot); it is '
           'not put in a wave of another zone: fix its service, or plan '
           'with another --group-by'),
    'aggregate': ('--group-by aggregate: the snapshot has no aggregates '
                  'for its compute node provider; it is not put in a wave '
                  'of another aggregate: collect the snapshot again with '
                  '--aggregates, or plan with another --group-by'),
}
NOTHING = {
    'az': ('--group-by az: the snapshot names no availability zone for '
           'any compute service (a snapshot from an older vfioclient?); '
           'collect it again'),
    'aggregate': ('--group-by aggregate: the snapshot has no aggregates '
                  '(it was collected without --aggregates); collect it '
                  'again with --aggregates'),
}


def default_wave_size(hosts):
    """The wave size when ``--wave-size`` is not given, for a plan that
    converts ``hosts`` hosts: 5 % of them, at least 1, at most 50.

    A wave's servers must fit outside it.  With 5 % of the hosts in a
    wave and the load spread evenly, the other 95 % take the wave's
    servers as long as the cloud is less than 95 % full, and the
    simulation shrinks a wave that does not fit.  50 bounds what one bad
    wave (a driver, a boot script) takes out of service and the resizes
    and migrations the scheduler sees at once.  Estates of fewer than 40
    hosts are converted host by host.
    """
    return max(1, min(DEFAULT_WAVE_MAX, hosts // DEFAULT_WAVE_SHARE))


def wave_size(options, hosts):
    """``options.wave_size``, or the default for ``hosts`` hosts.

    :raises ValueError: a wave size below 1.
    """
    if options.wave_size is None:
        return default_wave_size(hosts)
    if options.wave_size < 1:
        raise ValueError('--wave-size must be at least 1, got %d'
                         % options.wave_size)
    return options.wave_size


def _zones(snapshot):
    """``{compute node: availability zone}`` from the nova-compute
    services (a node is named after its hypervisor hostname, a service
    after its host)."""
    zone_of = {s.host: s.zone for s in snapshot.services
               if s.binary == 'nova-compute' and s.zone}
    out = dict(zone_of)
    for h in snapshot.hypervisors:
        if h.host in zone_of:
            out[h.hypervisor_hostname] = zone_of[h.host]
    return out


def _aggregates(snapshot):
    """``{compute node: aggregates key}`` where the snapshot has the root
    provider's aggregates (``--aggregates``)."""
    out = {}
    for p in snapshot.providers:
        if p.is_root and p.aggregates is not None:
            out[p.name] = ','.join(p.aggregates) or NO_AGGREGATE
    return out


def group_keys(by_host, group_by, snapshot):
    """``({host: group key} or None, {host: [Conversion]}, [Refusal])``.

    ``kind`` is the host kind of the plan; ``aggregate`` the compute
    node's Placement aggregates, which Nova keeps equal to its host
    aggregates (``nova/compute/api.py`` ``AggregateAPI.add_host_to_
    aggregate`` calls the report client's ``aggregate_add_host``);
    ``az`` the availability zone of its nova-compute service.  A host
    without a key is refused, not guessed into a group; ``none`` gives
    None (waves mix hosts freely).

    :raises ValueError: an unknown ``group_by``, or a snapshot without any
        key of that kind.
    """
    if group_by not in plan_options.GROUP_BY:
        raise ValueError('--group-by must be one of %s, got %r'
                         % (', '.join(plan_options.GROUP_BY), group_by))
    if group_by == 'none':
        return None, by_host, []
    if group_by == 'kind':
        return ({host: plan_hosts.host_kind([c.plan for c in items])
                 for host, items in by_host.items()}, by_host, [])
    known = _zones(snapshot) if group_by == 'az' else _aggregates(snapshot)
    if by_host and not any(host in known for host in by_host):
        raise ValueError(NOTHING[group_by])
    keys, kept, refusals = {}, {}, []
    for host, items in sorted(by_host.items()):
        if host in known:
            keys[host] = known[host]
            kept[host] = items
        else:
            refusals.append(model.Refusal('host %s' % host,
                                          MISSING[group_by]))
    return keys, kept, refusals
