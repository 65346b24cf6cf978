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

"""``vfio verify`` rules: can the new VF flavors be scheduled, and where?

Pure: a flavor is translated the way Nova's scheduler would
(:func:`vfioclient.nova.flavor_request.flavor_request`), the caller asks
Placement ``GET /allocation_candidates`` with :meth:`Target.query`, and
:func:`analyse` turns the answer into one :class:`Row` per flavor and
findings:

* hosts - compute nodes (root providers) with at least one candidate now;
* capacity - how many servers of the flavor fit on those hosts by their
  free device inventory (``capacity - used`` of the providers that serve
  the device groups, divided by what one server takes);
* expected - the servers the plan moves to this flavor.
"""

import dataclasses
import math

from vfioclient.nova import errors as nova_errors
from vfioclient.nova import flavor_request
from vfioclient.rules import findings

# Nova's ``[scheduler] max_placement_results`` default: the ``limit`` the
# scheduler sends with ``GET /allocation_candidates``.
DEFAULT_LIMIT = 1000
BASE_RESOURCES = frozenset(('VCPU', 'PCPU', 'MEMORY_MB', 'DISK_GB'))

COLUMNS = ('flavor', 'resource_class', 'per_server', 'hosts', 'capacity',
           'expected', 'candidates', 'status')

NO_CANDIDATES = findings.CATALOG['VFIO-V101']
BELOW_DEMAND = findings.CATALOG['VFIO-V102']
CANDIDATE_LIMIT = findings.CATALOG['VFIO-V103']
UNTRANSLATABLE = findings.CATALOG['VFIO-V104']
NO_DEVICE = findings.CATALOG['VFIO-V105']


@dataclasses.dataclass(frozen=True)
class Target:
    """One flavor to verify (from a plan or from Nova)."""

    name: str
    vcpus: int
    ram: int
    disk: int
    extra_specs: dict
    ephemeral: int = 0
    swap: int = 0
    expected: int = None

    def request(self, aliases, include_flavor_resources=True):
        return flavor_request.flavor_request(
            self.vcpus, self.ram, self.disk, self.extra_specs, aliases,
            ephemeral=self.ephemeral, swap=self.swap,
            include_flavor_resources=include_flavor_resources)


@dataclasses.dataclass(frozen=True)
class Row:
    flavor: str
    resource_class: str
    per_server: int
    hosts: int
    capacity: int
    expected: int
    candidates: int
    status: str

    def row(self):
        return tuple(getattr(self, c) for c in COLUMNS)


def device_amounts(request):
    """``{rc: amount per server}`` of the device part of a request."""
    amounts = request.pci_amounts()
    if amounts:
        return amounts
    for group in [request.unnumbered] + list(request.groups.values()):
        for rc, n in group.resources.items():
            if rc not in BASE_RESOURCES:
                amounts[rc] = amounts.get(rc, 0) + n
    return amounts


def host_amounts(request):
    """``{rc: amount per server}`` the compute node itself must supply."""
    return {rc: n for rc, n in request.unnumbered.resources.items()
            if rc in BASE_RESOURCES}


def estimate_candidates(providers_per_host, devices, isolate=False):
    """Allocation requests Placement builds for one host whose
    ``providers_per_host`` providers each can serve a device, for a flavor
    asking ``devices`` single-device groups.

    Each group picks a provider independently and the group -> provider
    mappings make the results distinct (>= 1.34), so ``k ** c``; with
    ``group_policy=isolate`` every group needs its own provider,
    ``k! / (k - c)!``.
    """
    k, c = providers_per_host, devices
    if c <= 0 or k <= 0:
        return 0
    if isolate:
        return math.perm(k, c)
    return k ** c


def translate(target, aliases, include_flavor_resources=True):
    """``(request, finding or None)``."""
    try:
        return target.request(aliases, include_flavor_resources), None
    except (nova_errors.NovaConfigError, ValueError) as e:
        return None, findings.make(
            UNTRANSLATABLE.code, target.name,
            'flavor %s: %s' % (target.name, e))


def analyse(target, request, body, limit=DEFAULT_LIMIT,
            max_allocation_candidates=None):
    """Placement's answer for one flavor -> ``(Row, [Finding])``.

    ``body`` is the JSON of ``GET /allocation_candidates`` (>= 1.29).
    """
    found = []
    amounts = device_amounts(request)
    requests = list((body or {}).get('allocation_requests') or ())
    summaries = (body or {}).get('provider_summaries') or {}
    rc_text = ','.join(sorted(amounts)) or '-'
    per_server = sum(amounts.values())
    if not amounts:
        found.append(findings.make(
            NO_DEVICE.code, target.name,
            'flavor %s asks Placement for no device' % target.name))

    def root_of(rp):
        summary = summaries.get(rp) or {}
        return summary.get('root_provider_uuid') or rp

    hosts = set()
    device_providers = {}      # root -> rc -> {rp}
    for req in requests:
        for rp, alloc in (req.get('allocations') or {}).items():
            root = root_of(rp)
            hosts.add(root)
            for rc in (alloc.get('resources') or {}):
                if rc in amounts:
                    device_providers.setdefault(root, {}).setdefault(
                        rc, set()).add(rp)
    capacity = 0
    worst_estimate = 0
    isolate = request.group_policy == 'isolate'
    for root in hosts:
        per_rc = device_providers.get(root, {})
        fits = []
        for rc, amount in amounts.items():
            free = 0
            for rp in per_rc.get(rc, ()):
                res = ((summaries.get(rp) or {}).get('resources') or {}).get(
                    rc) or {}
                free += max(0, int(res.get('capacity', 0))
                            - int(res.get('used', 0)))
            fits.append(free // amount if amount else 0)
        # The compute node's own resources (VCPU, MEMORY_MB, DISK_GB of the
        # unnumbered group) bound how many servers fit as much as devices.
        root_resources = ((summaries.get(root) or {}).get('resources')
                          or {})
        for rc, amount in host_amounts(request).items():
            res = root_resources.get(rc)
            if res is not None and amount:
                free = max(0, int(res.get('capacity', 0))
                           - int(res.get('used', 0)))
                fits.append(free // amount)
        capacity += min(fits) if fits else 0
        for rc, amount in amounts.items():
            worst_estimate += estimate_candidates(
                len(per_rc.get(rc, ())), amount, isolate)
    truncated = bool(limit) and len(requests) >= limit
    if not requests:
        found.append(findings.make(
            NO_CANDIDATES.code, target.name,
            'flavor %s (%s x %s) has no allocation candidate: it cannot be '
            'scheduled anywhere' % (target.name, per_server, rc_text)))
    bounds = [b for b in (limit, max_allocation_candidates) if b and b > 0]
    if truncated or (bounds and worst_estimate > min(bounds)):
        why = ('Placement returned %d candidates, the limit asked for'
               % len(requests)) if truncated else (
            'about %d candidates exist for the hosts seen, more than %d'
            % (worst_estimate, min(bounds)))
        found.append(findings.make(
            CANDIDATE_LIMIT.code, target.name,
            'flavor %s: %s; the scheduler may miss hosts and the counts '
            'here are lower bounds' % (target.name, why)))
    expected = target.expected
    if expected and requests and capacity < expected:
        found.append(findings.make(
            BELOW_DEMAND.code, target.name,
            'flavor %s: room for %d server(s) on %d host(s) now, %d to '
            'move%s' % (target.name, capacity, len(hosts), expected,
                        ' (at least; candidates were truncated)'
                        if truncated else '')))
    status = 'ok'
    severities = {f.severity for f in found}
    if findings.ERROR in severities:
        status = 'error'
    elif findings.WARNING in severities:
        status = 'warning'
    row = Row(flavor=target.name, resource_class=rc_text,
              per_server=per_server, hosts=len(hosts), capacity=capacity,
              expected=expected, candidates=len(requests), status=status)
    return row, found


def failed_row(target, finding):
    """Row for a flavor that could not be translated or read."""
    return Row(flavor=target.name, resource_class='-', per_server=0,
               hosts=0, capacity=0, expected=target.expected, candidates=0,
               status=finding.severity)


def targets_from_plan(plan):
    """One :class:`Target` per flavor of a plan (``model.plan.Plan``)."""
    return [Target(name=f.name, vcpus=f.vcpus, ram=f.ram, disk=f.disk,
                   extra_specs=dict(f.extra_specs), ephemeral=f.ephemeral,
                   swap=f.swap, expected=f.servers_to_move)
            for f in plan.flavors]


def aliases_from_plan(plan):
    """``{name: Alias}`` from the plan's alias lines (Nova's parser)."""
    return flavor_request.aliases_from_lines([a.line for a in plan.aliases])


def target_from_nova(flavor, expected=None):
    """A Nova flavor body (microversion >= 2.61) -> :class:`Target`."""
    swap = flavor.get('swap') or 0
    return Target(name=flavor['name'], vcpus=int(flavor.get('vcpus') or 0),
                  ram=int(flavor.get('ram') or 0),
                  disk=int(flavor.get('disk') or 0),
                  extra_specs=dict(flavor.get('extra_specs') or {}),
                  ephemeral=int(flavor.get('OS-FLV-EXT-DATA:ephemeral')
                                or 0),
                  swap=int(swap) if swap != '' else 0, expected=expected)


def targets_from_nova_flavors(names, flavors):
    """``(targets, rows, findings)`` for the flavors ``names`` asks for.

    ``flavors`` maps Nova flavor names to their bodies (microversion >=
    2.61); a name that is not there gets a failed row and an
    :data:`UNTRANSLATABLE` finding instead of a target.
    """
    targets, rows, found = [], [], []
    for name in names:
        flavor = flavors.get(name)
        if flavor is None:
            finding = findings.make(UNTRANSLATABLE.code, name,
                                    'flavor %s does not exist in Nova' % name)
            found.append(finding)
            rows.append(failed_row(Target(name, 0, 0, 0, {}), finding))
            continue
        targets.append(target_from_nova(flavor))
    return targets, rows, found


def translate_all(targets, aliases, include_flavor_resources=True):
    """``[(target, request or None, finding or None)]`` in target order:
    the Placement request of each target, or why it has none."""
    return [(target, *translate(target, aliases, include_flavor_resources))
            for target in targets]


def verdicts(translated, answers, limit=DEFAULT_LIMIT,
             max_allocation_candidates=None):
    """``(rows, findings)`` in target order.

    ``translated`` is :func:`translate_all`'s list and ``answers`` holds,
    at the same positions, Placement's ``GET /allocation_candidates`` body
    for each target that has a request (None for the others).
    """
    rows, found = [], []
    for (target, request, problem), body in zip(translated, answers):
        if problem is not None:
            found.append(problem)
            rows.append(failed_row(target, problem))
            continue
        row, more = analyse(target, request, body, limit=limit,
                            max_allocation_candidates=max_allocation_candidates)
        rows.append(row)
        found.extend(more)
    return rows, found
