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

"""Immutable snapshot of a cloud's Placement and Nova state.

Written by ``vfio audit --save-snapshot`` and read by ``--from-snapshot``
and ``vfio plan``, so the JSON shape is versioned and published as
``schemas/snapshot.schema.json``: bump :data:`SCHEMA_VERSION` (and the
schema's ``const``) on incompatible changes; new keys may be added.
Everything is stored sorted so that the same cloud gives byte-identical
snapshots.
"""

import dataclasses
import json

from vfioclient.model import jsontext
from vfioclient.model import schema

SCHEMA_VERSION = 1
KIND = 'vfio-cloud-snapshot'


class SnapshotError(ValueError):
    """A snapshot document is unreadable, truncated or of another version."""


_FIELD_NAMES = {}


def _fields_of(record):
    """``dataclasses.asdict`` of a record whose fields are plain values
    (or replaced by the caller), without its deep copy: a 10,000-host
    snapshot has 50,000 inventories."""
    names = _FIELD_NAMES.get(type(record))
    if names is None:
        names = _FIELD_NAMES[type(record)] = tuple(
            f.name for f in dataclasses.fields(record))
    return {name: getattr(record, name) for name in names}


@dataclasses.dataclass(frozen=True)
class Inventory:
    total: int
    reserved: int = 0
    min_unit: int = 1
    max_unit: int = 1
    step_size: int = 1
    allocation_ratio: float = 1.0


@dataclasses.dataclass(frozen=True)
class Provider:
    uuid: str
    name: str
    generation: int
    parent_uuid: str
    root_uuid: str
    # None where the collector did not read them (providers that do not
    # matter to vGPU: compute roots without GPU children, other services).
    inventories: dict = None   # rc -> Inventory
    usages: dict = None        # rc -> int
    traits: tuple = None       # sorted trait names
    aggregates: tuple = None   # sorted aggregate uuids

    @property
    def is_root(self):
        return not self.parent_uuid


@dataclasses.dataclass(frozen=True)
class Allocation:
    """What one consumer holds on one provider."""

    consumer_uuid: str
    provider_uuid: str
    resources: dict            # rc -> amount


@dataclasses.dataclass(frozen=True)
class ComputeService:
    id: str
    host: str
    binary: str
    status: str                # enabled | disabled
    state: str                 # up | down
    zone: str = ''


@dataclasses.dataclass(frozen=True)
class Hypervisor:
    id: str
    hypervisor_hostname: str
    host: str
    state: str
    status: str


@dataclasses.dataclass(frozen=True)
class Flavor:
    id: str
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    is_public: bool = True
    description: str = None
    extra_specs: dict = dataclasses.field(default_factory=dict)
    # Projects with access to a private flavor, sorted (Nova's
    # os-flavor-access list); None for public flavors and in snapshots of
    # earlier versions, which did not read it.
    access_projects: tuple = None


@dataclasses.dataclass(frozen=True)
class Server:
    id: str
    name: str
    project_id: str
    status: str
    host: str                  # compute service host (may be None)
    hypervisor_hostname: str   # compute node name (the Placement root)
    flavor_name: str           # original_name of the embedded flavor
    flavor_extra_specs: dict = dataclasses.field(default_factory=dict)
    flavor_vcpus: int = 0
    flavor_ram: int = 0
    flavor_disk: int = 0


@dataclasses.dataclass(frozen=True)
class Snapshot:
    collected_at: str
    microversions: dict        # {'placement': '1.39', 'compute': '2.96'}
    placement_max_version: str
    compute_max_version: str
    providers: tuple           # Provider, sorted by (name, uuid)
    allocations: tuple         # Allocation, sorted
    resource_classes: tuple    # sorted names
    services: tuple            # ComputeService, sorted
    hypervisors: tuple         # Hypervisor, sorted
    flavors: tuple             # Flavor, sorted by (name, id)
    servers: tuple             # Server, sorted by (name, id)
    strategy: str = 'bulk'
    request_counts: dict = dataclasses.field(default_factory=dict)
    # The sha256 of the file the snapshot was read from, None when it was
    # collected live; the plan records it.  Not part of the document.
    source_sha256: str | None = dataclasses.field(
        default=None, compare=False, repr=False)

    # -- lookups -----------------------------------------------------------

    def provider_by_uuid(self):
        return {p.uuid: p for p in self.providers}

    # -- JSON --------------------------------------------------------------

    def to_dict(self, include_collection_details=True):
        return {key: list(value) if is_list else value
                for key, value, is_list in self._sections(
                    include_collection_details)}

    def _sections(self, include_collection_details=True):
        """``(key, value, is_list)`` in document order; the values of the
        lists are generators of their items' dicts, so that
        :meth:`iter_json` holds one item at a time."""
        def inv(inventories):
            if inventories is None:
                return None
            return {rc: _fields_of(i)
                    for rc, i in sorted(inventories.items())}

        def provider(p):
            return {'uuid': p.uuid, 'name': p.name,
                    'generation': p.generation,
                    'parent_uuid': p.parent_uuid, 'root_uuid': p.root_uuid,
                    'inventories': inv(p.inventories),
                    'usages': (None if p.usages is None
                               else dict(sorted(p.usages.items()))),
                    'traits': None if p.traits is None else list(p.traits),
                    'aggregates': (None if p.aggregates is None
                                   else list(p.aggregates))}

        sections = [
            ('schema_version', SCHEMA_VERSION, False),
            ('kind', KIND, False),
            ('collected_at', self.collected_at, False),
            ('microversions', dict(sorted(self.microversions.items())),
             False),
            ('placement_max_version', self.placement_max_version, False),
            ('compute_max_version', self.compute_max_version, False),
            ('providers', (provider(p) for p in self.providers), True),
            ('allocations', (
                {'consumer_uuid': a.consumer_uuid,
                 'provider_uuid': a.provider_uuid,
                 'resources': dict(sorted(a.resources.items()))}
                for a in self.allocations), True),
            ('resource_classes', list(self.resource_classes), False),
            ('services', (_fields_of(s) for s in self.services),
             True),
            ('hypervisors', (_fields_of(h)
                             for h in self.hypervisors), True),
            ('flavors', (
                dict(_fields_of(f),
                     extra_specs=dict(sorted(f.extra_specs.items())),
                     access_projects=(None if f.access_projects is None
                                      else list(f.access_projects)))
                for f in self.flavors), True),
            ('servers', (
                dict(_fields_of(s),
                     flavor_extra_specs=dict(sorted(
                         s.flavor_extra_specs.items())))
                for s in self.servers), True),
        ]
        if include_collection_details:
            sections += [
                ('strategy', self.strategy, False),
                ('request_counts', dict(sorted(
                    self.request_counts.items())), False)]
        return sections

    def to_json(self):
        return jsontext.dumps(self.to_dict()) + '\n'

    def iter_json(self):
        """:meth:`to_json`'s text in pieces, one provider (allocation,
        server...) at a time, for writing a large snapshot without holding
        all of it as one document and one string: at 50,000 providers
        those were most of the audit's memory."""
        yield '{'
        for n, (key, value, is_list) in enumerate(self._sections()):
            yield '%s\n  %s: ' % (',' if n else '', json.dumps(key))
            if not is_list:
                yield json.dumps(value, indent=2).replace('\n', '\n  ')
                continue
            empty = True
            for item in value:
                yield '%s\n    %s' % ('[' if empty else ',', json.dumps(
                    item, indent=2).replace('\n', '\n    '))
                empty = False
            yield '[]' if empty else '\n  ]'
        yield '\n}\n'

    @classmethod
    def from_dict(cls, doc, source='snapshot', source_sha256=None):
        """The snapshot in ``doc``; :class:`SnapshotError` names the field.

        Checked against ``schemas/snapshot.schema.json`` first, so a
        hand-edited snapshot that loads is one the rules can use.
        """
        DOCUMENT.check(doc, source)
        _check_trees(doc['providers'], source)

        # Equal inventories, trait and aggregate lists are shared (they
        # are immutable), and a uuid is one string however often it is
        # named: a 10,000-host snapshot held some 50,000 copies of each.
        uuid = {p['uuid']: p['uuid'] for p in doc['providers']}
        inventories, lists = {}, {}

        def inventory(values):
            # typed: 1 and 1.0 are equal, but not the same JSON
            key = tuple((k, v, type(v)) for k, v in values.items())
            found = inventories.get(key)
            if found is None:
                found = inventories[key] = Inventory(**values)
            return found

        def inv(raw):
            if raw is None:
                return None
            return {rc: inventory(values) for rc, values in raw.items()}

        def names(raw):
            if raw is None:
                return None
            value = tuple(raw)
            return lists.setdefault(value, value)

        providers = tuple(
            Provider(uuid=p['uuid'], name=p['name'],
                     generation=p['generation'],
                     parent_uuid=uuid.get(p['parent_uuid']),
                     root_uuid=uuid[p['root_uuid']],
                     inventories=inv(p['inventories']),
                     usages=(None if p['usages'] is None
                             else dict(p['usages'])),
                     traits=names(p['traits']),
                     aggregates=names(p['aggregates']))
            for p in doc['providers'])
        return cls(
            collected_at=doc['collected_at'],
            microversions=dict(doc['microversions']),
            placement_max_version=doc['placement_max_version'],
            compute_max_version=doc['compute_max_version'],
            providers=providers,
            allocations=tuple(
                Allocation(a['consumer_uuid'],
                           uuid.get(a['provider_uuid'], a['provider_uuid']),
                           dict(a['resources']))
                for a in doc['allocations']),
            resource_classes=tuple(doc['resource_classes']),
            services=tuple(_record(ComputeService, s)
                           for s in doc['services']),
            hypervisors=tuple(_record(Hypervisor, h)
                              for h in doc['hypervisors']),
            flavors=tuple(_flavor(f) for f in doc['flavors']),
            servers=tuple(_record(Server, s) for s in doc['servers']),
            strategy=doc.get('strategy', 'bulk'),
            request_counts=dict(doc.get('request_counts', {})),
            source_sha256=source_sha256,
        )

    @classmethod
    def from_json(cls, text, source='snapshot'):
        return cls.from_dict(DOCUMENT.parse(text, source), source=source)


def _check_trees(providers, source):
    """Every provider's root and parent are providers of the snapshot, as
    Placement's ``GET /resource_providers`` always returns them: a
    hand-edited uuid would otherwise break the rules far from the edit."""
    uuids = {p['uuid'] for p in providers}
    roots = {p['uuid'] for p in providers if p['parent_uuid'] is None}

    def refuse(index, key, problem):
        raise SnapshotError('%s is damaged or hand-edited: %s: %s (%s)' % (
            source, schema.field_path(('providers', index, key)), problem,
            DOCUMENT.remedy))

    for index, p in enumerate(providers):
        parent, root = p['parent_uuid'], p['root_uuid']
        if parent is not None and parent not in uuids:
            refuse(index, 'parent_uuid',
                   '%s names no provider of the snapshot' % parent)
        if parent is None and root != p['uuid']:
            refuse(index, 'root_uuid', '%s is not the uuid of this '
                   'provider, which has no parent' % root)
        if root not in roots:
            refuse(index, 'root_uuid',
                   '%s names no root provider of the snapshot' % root)


def _record(cls, raw):
    """``cls`` from the keys of ``raw`` it knows (newer keys are skipped)."""
    return cls(**{f.name: raw[f.name] for f in dataclasses.fields(cls)
                  if f.name in raw})


def _flavor(raw):
    flavor = _record(Flavor, raw)
    if flavor.access_projects is None:
        return flavor
    return dataclasses.replace(flavor,
                               access_projects=tuple(flavor.access_projects))


DOCUMENT = schema.Document(
    'snapshot.schema.json', 'snapshot', 'vfio cloud snapshot', SnapshotError,
    're-collect it with "openstack vfio audit --save-snapshot"')


def build(collected_at, microversions, placement_max_version,
          compute_max_version, providers, allocations, resource_classes,
          services, hypervisors, flavors, servers, strategy='bulk',
          request_counts=None):
    """Build a :class:`Snapshot` with everything in canonical order."""
    return Snapshot(
        collected_at=collected_at,
        microversions=dict(microversions),
        placement_max_version=placement_max_version,
        compute_max_version=compute_max_version,
        providers=tuple(sorted(providers, key=lambda p: (p.name, p.uuid))),
        allocations=tuple(sorted(
            allocations, key=lambda a: (a.provider_uuid, a.consumer_uuid))),
        resource_classes=tuple(sorted(resource_classes)),
        services=tuple(sorted(services, key=lambda s: (s.host, s.binary,
                                                       s.id))),
        hypervisors=tuple(sorted(hypervisors,
                                 key=lambda h: (h.hypervisor_hostname, h.id))),
        flavors=tuple(sorted(flavors, key=lambda f: (f.name, f.id))),
        servers=tuple(sorted(servers, key=lambda s: (s.name, s.id))),
        strategy=strategy,
        request_counts=dict(request_counts or {}),
    )
