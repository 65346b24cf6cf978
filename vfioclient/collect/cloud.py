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

"""Read the estate from Placement and Nova into a :class:`Snapshot`.

Two strategies produce the same snapshot:

``bulk`` (default), designed for 10,000+ providers: one provider list, a few
server-side filtered lists (``required=`` per relevant trait, ``resources=``
to find providers with nothing allocated), then per-provider reads only for
the child providers and only what is not known yet.

``per-provider``: the straightforward way (every read for every provider).

Nova is read in a few paged lists, plus the access list of each private
flavor (``GET /flavors/{id}/os-flavor-access``: a plan copies it to the
new flavor).
It exists to prove, in tests and benchmarks, that ``bulk`` misses nothing.

Which providers "matter" and which traits are kept is decided once, in
:func:`provider_matters` and :func:`relevant_trait`, and applied to both.

``bulk`` can also reuse the inventories of an earlier snapshot (``reuse=``,
``vfio audit --reuse-snapshot``) for child providers whose Placement
generation is unchanged; see :func:`reuse_inventories`.  Allocations are
never reused.
"""

import concurrent.futures
import dataclasses
import datetime

import os_traits

from vfioclient.cloud import client
from vfioclient.cloud import compute as compute_api
from vfioclient.cloud import placement as placement_api
from vfioclient.model import cloud as model
from vfioclient.nova import providers as nova_providers

PCI_PROVIDER_TRAIT = os_traits.COMPUTE_MANAGED_PCI_DEVICE
# Standard traits that mean something for vGPU/PCI providers; custom traits
# (CUSTOM_*) are always kept.  Other standard traits are not collected.
RELEVANT_STANDARD_TRAITS = frozenset((
    PCI_PROVIDER_TRAIT, 'OWNER_NOVA', 'HW_PCI_LIVE_MIGRATABLE',
    'HW_PCI_ONE_TIME_USE',
))


def relevant_trait(trait):
    return trait.startswith('CUSTOM_') or trait in RELEVANT_STANDARD_TRAITS


def provider_matters(provider, root_name, inventories, traits):
    """Is this a vGPU or PCI provider whose details the audit needs?

    Children of compute roots that carry ``VGPU`` or custom inventory, that
    Nova marked as PCI providers, or that are named like Nova's legacy pGPU
    or PCI providers.
    """
    if provider.is_root:
        return False
    if PCI_PROVIDER_TRAIT in (traits or ()):
        return True
    if any(rc == 'VGPU' or rc.startswith('CUSTOM_')
           for rc in (inventories or {})):
        return True
    return nova_providers.parse_provider_name(provider.name,
                                              root_name) is not None


# What :func:`reuse_inventories` says about one child provider.
READ = 'read'          # read its inventories from Placement
REUSE = 'reuse'        # the earlier snapshot's inventories are current
IRRELEVANT = 'skip'    # it does not matter, so its inventories are not needed


def reuse_inventories(provider, earlier, root_name, traits,
                      resource_classes):
    """Can the earlier snapshot's entry stand in for an inventory read?

    ``provider`` is the bare child provider just listed by Placement,
    ``earlier`` its entry in the earlier snapshot (or None), ``root_name``
    the current name of its root, ``traits`` its current traits and
    ``resource_classes`` the resource class names Placement has now.
    Returns ``(READ, None)``, ``(REUSE, inventories)`` or
    ``(IRRELEVANT, None)``.

    Placement increments a provider's generation on every inventory and
    trait write, so with the same generation the inventories (and traits)
    are those of the earlier snapshot.  Renaming or re-parenting a provider
    does not increment it, hence the same name, parent and root are
    required too.  Renaming a custom resource class (microversions 1.2 to
    1.6) changes no generation either, hence reused inventories must name
    only classes that still exist.

    An entry kept bare (``inventories`` None) did not matter, so its
    inventories, unchanged since, hold neither ``VGPU`` nor a custom class
    (standard classes cannot be renamed).  Whether the provider matters now
    then depends only on its name, its root's name and its traits, which
    are current: :func:`provider_matters` with no inventories.  If that
    says it matters (a trait or a root's name changed) the inventories are
    read.
    """
    if (provider.is_root or earlier is None
            or earlier.generation != provider.generation
            or earlier.name != provider.name
            or earlier.parent_uuid != provider.parent_uuid
            or earlier.root_uuid != provider.root_uuid):
        return READ, None
    if earlier.inventories is not None:
        if set(earlier.inventories) - set(resource_classes):
            return READ, None
        return REUSE, dict(earlier.inventories)
    if provider_matters(provider, root_name, {}, traits):
        return READ, None
    return IRRELEVANT, None


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


class Collector:
    """Collects a snapshot through a
    :class:`vfioclient.cloud.client.CloudClient`."""

    def __init__(self, cloud, strategy='bulk', progress=None,
                 aggregates=False, reuse=None):
        if strategy not in ('bulk', 'per-provider'):
            raise ValueError('unknown strategy %r' % strategy)
        if reuse is not None and strategy != 'bulk':
            raise ValueError('reusing a snapshot needs the bulk strategy')
        self.cloud = cloud
        self.strategy = strategy
        # Placement has no bulk aggregate read: one GET per provider, so
        # only on request, for the providers that matter and their roots.
        self.aggregates = aggregates
        self.progress = progress or (lambda message: None)
        # An earlier Snapshot whose inventories may be reused (bulk only).
        self.reuse = reuse
        # Child providers and how many of their inventories were not read
        # (reused, or not needed), set by the bulk collection.
        self.inventory_children = 0
        self.inventories_reused = 0

    # -- public --------------------------------------------------------------

    def collect(self):
        placement = self.cloud.placement
        compute = self.cloud.compute
        # The Placement microversion the snapshot records, checked before
        # any read: that of the read with the highest minimum
        # (``required=``).  Nova's is checked by :meth:`_nova`.
        pmv = client.negotiated(
            placement, placement_api.list_resource_providers_with_trait)
        if self.cloud.concurrency == 1:      # one request at a time
            placement_part = self._placement()
            nova_part = self._nova()
        else:
            # Nova and Placement are separate services: read both at once
            # (Nova's few large lists take as long as thousands of small
            # Placement reads).
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                nova_future = pool.submit(self._nova)
                try:
                    placement_part = self._placement()
                finally:
                    # never return or raise with a read still running
                    concurrent.futures.wait([nova_future])
                nova_part = nova_future.result()
        resource_classes, providers, allocations = placement_part
        services, hypervisors, flavors, servers = nova_part
        return model.build(
            collected_at=_now(),
            microversions={'placement': pmv, 'compute': self.cmv},
            placement_max_version='%d.%d' % placement.max_version(),
            compute_max_version='%d.%d' % compute.max_version(),
            providers=providers, allocations=allocations,
            resource_classes=resource_classes, services=services,
            hypervisors=hypervisors, flavors=flavors, servers=servers,
            strategy=self.strategy,
            request_counts=self.cloud.stats.as_dict())

    def _placement(self):
        placement = self.cloud.placement
        self.progress('Reading resource providers')
        raw = placement_api.list_resource_providers(placement)
        bare = [self._bare_provider(p) for p in raw]
        del raw                  # the largest document: free it early
        resource_classes = placement_api.list_resource_classes(placement)
        if self.strategy == 'bulk':
            providers, allocations = self._bulk(bare, resource_classes)
        else:
            providers, allocations = self._per_provider(bare)
        if self.aggregates:
            providers = self._with_aggregates(providers)
        return resource_classes, providers, allocations

    def _nova(self):
        self.progress('Reading Nova services, hypervisors, flavors, servers')
        # that of the read with the highest minimum (extra specs in
        # flavor lists)
        self.cmv = client.negotiated(self.cloud.compute,
                                     compute_api.list_flavors)
        # four independent lists (the paged ones follow their markers)
        return tuple(self.cloud.map(lambda read: read(), (
            self._services, self._hypervisors, self._flavors,
            self._servers)))

    # -- Placement ------------------------------------------------------------

    @staticmethod
    def _bare_provider(raw):
        return model.Provider(
            uuid=raw['uuid'], name=raw['name'],
            generation=raw['generation'],
            parent_uuid=raw.get('parent_provider_uuid'),
            root_uuid=raw.get('root_provider_uuid') or raw['uuid'])

    def _inventories(self, provider):
        found = placement_api.get_inventories(self.cloud.placement,
                                              provider.uuid)
        return {rc: model.Inventory(
            total=v['total'], reserved=v.get('reserved', 0),
            min_unit=v.get('min_unit', 1), max_unit=v.get('max_unit', 1),
            step_size=v.get('step_size', 1),
            allocation_ratio=float(v.get('allocation_ratio', 1.0)))
            for rc, v in found.items()}

    def _allocations(self, provider):
        found = placement_api.get_provider_allocations(self.cloud.placement,
                                                       provider.uuid)
        return [model.Allocation(consumer, provider.uuid,
                                 dict(value['resources']))
                for consumer, value in found.items()]

    def _with_aggregates(self, providers):
        """Fill ``aggregates`` of the providers that matter and of their
        compute roots."""
        wanted = set()
        for p in providers:
            if p.inventories is not None:
                wanted.update((p.uuid, p.root_uuid))
        targets = [p for p in providers if p.uuid in wanted]
        found = self.cloud.map(
            lambda p: placement_api.get_aggregates(self.cloud.placement,
                                                   p.uuid),
            targets, progress=self._progress_fn('Aggregates'))
        by_uuid = {p.uuid: tuple(sorted(a)) for p, a in zip(targets, found)}
        return [dataclasses.replace(p, aggregates=by_uuid[p.uuid])
                if p.uuid in by_uuid else p for p in providers]

    def _progress_fn(self, what):
        def report(done, total):
            self.progress('%s %d/%d' % (what, done, total))
        return report

    def _finish(self, bare, inventories, traits, allocations_by_rp):
        """Apply the one selection rule and fill usages from allocations."""
        names_by_uuid = {p.uuid: p.name for p in bare}
        providers = []
        allocations = []
        for p in bare:
            inv = inventories.get(p.uuid)
            tr = traits.get(p.uuid, ())
            if not provider_matters(p, names_by_uuid.get(p.root_uuid), inv,
                                    tr):
                providers.append(p)
                continue
            allocs = allocations_by_rp.get(p.uuid, [])
            usages = {rc: 0 for rc in (inv or {})}
            for a in allocs:
                for rc, amount in a.resources.items():
                    usages[rc] = usages.get(rc, 0) + amount
            allocations.extend(allocs)
            providers.append(model.Provider(
                uuid=p.uuid, name=p.name, generation=p.generation,
                parent_uuid=p.parent_uuid, root_uuid=p.root_uuid,
                inventories=inv or {}, usages=usages,
                traits=tuple(sorted(t for t in tr if relevant_trait(t))),
                aggregates=None))
        return providers, allocations

    def _bulk(self, bare, resource_classes):
        placement = self.cloud.placement
        children = [p for p in bare if not p.is_root]

        # Traits: one filtered list per relevant trait in use, not one read
        # per provider.
        self.progress('Reading traits')
        associated = placement_api.list_associated_traits(placement)
        wanted_traits = sorted(t for t in associated if relevant_trait(t))
        holders = self.cloud.map(
            lambda t: placement_api.list_resource_providers_with_trait(
                placement, t),
            wanted_traits)
        traits = {}
        for trait, found in zip(wanted_traits, holders):
            for rp in found:
                traits.setdefault(rp['uuid'], set()).add(trait)

        # Inventories of child providers only: roots are compute nodes.
        # Those an earlier snapshot still gives are not read again.
        names_by_uuid = {p.uuid: p.name for p in bare}
        inventories = {}
        to_read = children
        if self.reuse is not None:
            earlier = self.reuse.provider_by_uuid()
            to_read = []
            for p in children:
                verdict, inv = reuse_inventories(
                    p, earlier.get(p.uuid), names_by_uuid.get(p.root_uuid),
                    traits.get(p.uuid), resource_classes)
                if verdict == READ:
                    to_read.append(p)
                else:
                    inventories[p.uuid] = inv
        self.inventory_children = len(children)
        self.inventories_reused = len(children) - len(to_read)
        found = self.cloud.map(self._inventories, to_read,
                               progress=self._progress_fn('Inventories'))
        inventories.update(zip((p.uuid for p in to_read), found))
        relevant = [p for p in children
                    if provider_matters(p, names_by_uuid.get(p.root_uuid),
                                        inventories[p.uuid],
                                        traits.get(p.uuid))]

        # Providers with nothing allocated, found a group at a time with
        # ``resources=RC:<total>``: for them no allocation read is needed.
        groups = {}
        unknown = set()
        for p in relevant:
            for rc, inv in inventories[p.uuid].items():
                if (inv.reserved == 0 and inv.allocation_ratio == 1.0
                        and inv.max_unit == inv.total and inv.min_unit == 1
                        and inv.step_size == 1 and inv.total > 0):
                    groups.setdefault((rc, inv.total), set()).add(p.uuid)
                else:
                    unknown.add(p.uuid)
        keys = sorted(groups)
        free_lists = self.cloud.map(
            lambda key: placement_api.list_resource_providers(
                placement, resources='%s:%d' % key),
            keys)
        # Keyed by (class, total): a provider with total 16 and 1 used is in
        # the answer for "VGPU:1" (asked for the total-1 providers), so a
        # union per class would wrongly call it free.
        free_by_key = {}
        for key, found in zip(keys, free_lists):
            free_by_key[key] = {rp['uuid'] for rp in found}
        to_read = []
        for p in relevant:
            inv = inventories[p.uuid]
            all_free = p.uuid not in unknown and all(
                p.uuid in free_by_key.get((rc, i.total), ())
                for rc, i in inv.items())
            if not all_free:
                to_read.append(p)
        read = self.cloud.map(self._allocations, to_read,
                              progress=self._progress_fn('Allocations'))
        allocations = {p.uuid: a for p, a in zip(to_read, read)}
        return self._finish(bare, inventories, traits, allocations)

    def _per_provider(self, bare):
        placement = self.cloud.placement

        def read_all(p):
            inv = self._inventories(p)
            usages = placement_api.get_usages(placement, p.uuid)
            traits = placement_api.get_provider_traits(placement, p.uuid)
            allocs = self._allocations(p)
            return inv, set(traits), allocs, usages

        results = self.cloud.map(read_all, bare,
                                 progress=self._progress_fn('Providers'))
        inventories = {}
        traits = {}
        allocations = {}
        for p, (inv, tr, allocs, _usages) in zip(bare, results):
            if not p.is_root:
                inventories[p.uuid] = inv
            traits[p.uuid] = tr
            allocations[p.uuid] = allocs
        return self._finish(bare, inventories, traits, allocations)

    # -- Nova -----------------------------------------------------------------

    def _services(self):
        return [model.ComputeService(
            id=str(s['id']), host=s['host'], binary=s['binary'],
            status=s['status'], state=s['state'], zone=s.get('zone') or '')
            for s in compute_api.list_compute_services(self.cloud.compute)]

    # The lists are converted an item at a time as their pages come (only
    # one page of raw JSON is held at once).
    def _hypervisors(self):
        return [_hypervisor(h)
                for h in compute_api.list_hypervisors(self.cloud.compute)]

    def _flavors(self):
        flavors = [_flavor(f)
                   for f in compute_api.list_flavors(self.cloud.compute)]
        private = [f for f in flavors if not f.is_public]
        found = self.cloud.map(self._flavor_access, private)
        access = {f.id: a for f, a in zip(private, found)}
        return [dataclasses.replace(f, access_projects=access[f.id])
                if f.id in access else f for f in flavors]

    def _flavor_access(self, flavor):
        """The projects of a private flavor, sorted; None when the flavor
        went away meanwhile (404)."""
        try:
            projects = compute_api.list_flavor_access(self.cloud.compute,
                                                      flavor.id)
        except client.ApiError as e:
            if e.status != 404:
                raise
            return None
        return tuple(sorted(set(projects)))

    def _servers(self):
        return [_server(s)
                for s in compute_api.list_servers(self.cloud.compute)]


# -- Nova's JSON to the model (one item at a time) ----------------------------
def _hypervisor(h):
    return model.Hypervisor(
        id=str(h['id']), hypervisor_hostname=h['hypervisor_hostname'],
        host=(h.get('service') or {}).get('host') or '',
        state=h.get('state') or '', status=h.get('status') or '')


def _flavor(f):
    return model.Flavor(
        id=f['id'], name=f['name'], vcpus=f['vcpus'], ram=f['ram'],
        disk=f['disk'], ephemeral=f.get('OS-FLV-EXT-DATA:ephemeral', 0),
        swap=f.get('swap') or 0,
        is_public=f.get('os-flavor-access:is_public', True),
        description=f.get('description'),
        extra_specs=dict(f.get('extra_specs') or {}))


def _server(s):
    flavor = s.get('flavor') or {}
    return model.Server(
        id=s['id'], name=s.get('name') or '',
        project_id=s.get('tenant_id') or '',
        status=s.get('status') or '',
        host=s.get('OS-EXT-SRV-ATTR:host'),
        hypervisor_hostname=s.get('OS-EXT-SRV-ATTR:hypervisor_hostname'),
        flavor_name=flavor.get('original_name') or '',
        flavor_extra_specs=dict(flavor.get('extra_specs') or {}),
        flavor_vcpus=flavor.get('vcpus') or 0,
        flavor_ram=flavor.get('ram') or 0,
        flavor_disk=flavor.get('disk') or 0)
