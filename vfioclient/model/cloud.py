"""Immutable snapshot of a cloud's Placement and Nova state.

Written by ``vfio audit --save-snapshot`` and read by ``--from-snapshot``
and ``vfio plan``, so the JSON shape is versioned: bump
:data:`SCHEMA_VERSION` on incompatible changes and refuse other versions with
a clear message.  Everything is stored sorted so that the same cloud gives
byte-identical snapshots.
"""

import dataclasses
import json

SCHEMA_VERSION = 1
KIND = 'vfio-cloud-snapshot'


class SnapshotError(ValueError):
    """A snapshot document is unreadable, truncated or of another version."""


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

    # -- lookups -----------------------------------------------------------

    def provider_by_uuid(self):
        return {p.uuid: p for p in self.providers}

    # -- JSON --------------------------------------------------------------

    def to_dict(self, include_collection_details=True):
        def inv(inventories):
            if inventories is None:
                return None
            return {rc: dataclasses.asdict(i)
                    for rc, i in sorted(inventories.items())}

        doc = {
            'schema_version': SCHEMA_VERSION,
            'kind': KIND,
            'collected_at': self.collected_at,
            'microversions': dict(sorted(self.microversions.items())),
            'placement_max_version': self.placement_max_version,
            'compute_max_version': self.compute_max_version,
            'providers': [
                {'uuid': p.uuid, 'name': p.name, 'generation': p.generation,
                 'parent_uuid': p.parent_uuid, 'root_uuid': p.root_uuid,
                 'inventories': inv(p.inventories),
                 'usages': (None if p.usages is None
                            else dict(sorted(p.usages.items()))),
                 'traits': None if p.traits is None else list(p.traits),
                 'aggregates': (None if p.aggregates is None
                                else list(p.aggregates))}
                for p in self.providers],
            'allocations': [
                {'consumer_uuid': a.consumer_uuid,
                 'provider_uuid': a.provider_uuid,
                 'resources': dict(sorted(a.resources.items()))}
                for a in self.allocations],
            'resource_classes': list(self.resource_classes),
            'services': [dataclasses.asdict(s) for s in self.services],
            'hypervisors': [dataclasses.asdict(h) for h in self.hypervisors],
            'flavors': [
                dict(dataclasses.asdict(f),
                     extra_specs=dict(sorted(f.extra_specs.items())))
                for f in self.flavors],
            'servers': [
                dict(dataclasses.asdict(s),
                     flavor_extra_specs=dict(sorted(
                         s.flavor_extra_specs.items())))
                for s in self.servers],
        }
        if include_collection_details:
            doc['strategy'] = self.strategy
            doc['request_counts'] = dict(sorted(
                self.request_counts.items()))
        return doc

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + '\n'

    @classmethod
    def from_dict(cls, doc, source='snapshot'):
        if not isinstance(doc, dict):
            raise SnapshotError('%s is not a vfio cloud snapshot (expected a '
                                'JSON object)' % source)
        if doc.get('kind') != KIND:
            raise SnapshotError('%s is not a vfio cloud snapshot (kind %r)'
                                % (source, doc.get('kind')))
        version = doc.get('schema_version')
        # ``true`` and ``1.0`` equal 1 in Python but are not version 1.
        if type(version) is not int or version != SCHEMA_VERSION:
            raise SnapshotError(
                '%s has schema_version %r; this vfioclient reads version %d '
                '(re-collect it with "openstack vfio audit --save-snapshot")'
                % (source, version, SCHEMA_VERSION))
        problem = document_problem(doc)
        if problem:
            raise SnapshotError('%s is damaged or hand-edited: %s'
                                % (source, problem))
        try:
            return cls._from_valid_dict(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise SnapshotError('%s is damaged or hand-edited: %s: %s'
                                % (source, type(e).__name__, e))

    @classmethod
    def _from_valid_dict(cls, doc):
        def inv(raw):
            if raw is None:
                return None
            return {rc: Inventory(**values) for rc, values in raw.items()}

        providers = tuple(
            Provider(uuid=p['uuid'], name=p['name'],
                     generation=int(p['generation']),
                     parent_uuid=p['parent_uuid'],
                     root_uuid=p['root_uuid'],
                     inventories=inv(p['inventories']),
                     usages=(None if p['usages'] is None
                             else {k: int(v) for k, v in p['usages'].items()}),
                     traits=(None if p['traits'] is None
                             else tuple(p['traits'])),
                     aggregates=(None if p['aggregates'] is None
                                 else tuple(p['aggregates'])))
            for p in doc['providers'])
        return cls(
            collected_at=doc['collected_at'],
            microversions=dict(doc['microversions']),
            placement_max_version=doc['placement_max_version'],
            compute_max_version=doc['compute_max_version'],
            providers=providers,
            allocations=tuple(
                Allocation(a['consumer_uuid'], a['provider_uuid'],
                           {k: int(v) for k, v in a['resources'].items()})
                for a in doc['allocations']),
            resource_classes=tuple(doc['resource_classes']),
            services=tuple(ComputeService(**s) for s in doc['services']),
            hypervisors=tuple(Hypervisor(**h) for h in doc['hypervisors']),
            flavors=tuple(Flavor(**f) for f in doc['flavors']),
            servers=tuple(Server(**s) for s in doc['servers']),
            strategy=doc.get('strategy', 'bulk'),
            request_counts=dict(doc.get('request_counts', {})),
        )

    @classmethod
    def from_json(cls, text, source='snapshot'):
        try:
            doc = json.loads(text)
        except ValueError as e:
            raise SnapshotError('%s is not valid JSON (truncated?): %s'
                                % (source, e))
        return cls.from_dict(doc, source=source)


# -- document shape (checked before anything is built) -----------------------
# Field -> (type(s), nullable).  A hand-edited snapshot that loads is one the
# rules can use: a wrong type is refused here, naming the field, rather than
# failing later inside the audit.
_STR = (str, False)
_OPT_STR = (str, True)
_INT = (int, False)
_COUNTS = ('counts', True)        # {str: int} or null
_SPECS = ('specs', False)         # {str: str}
_NAMES = ('names', True)          # [str] or null
_SHAPES = {
    'provider': {'uuid': _STR, 'name': _STR, 'generation': _INT,
                 'parent_uuid': _OPT_STR, 'root_uuid': _STR,
                 'inventories': ('inventories', True), 'usages': _COUNTS,
                 'traits': _NAMES, 'aggregates': _NAMES},
    'allocation': {'consumer_uuid': _STR, 'provider_uuid': _STR,
                   'resources': ('counts', False)},
    'service': {'id': _STR, 'host': _STR, 'binary': _STR, 'status': _STR,
                'state': _STR, 'zone': _STR},
    'hypervisor': {'id': _STR, 'hypervisor_hostname': _STR, 'host': _STR,
                   'state': _STR, 'status': _STR},
    'flavor': {'id': _STR, 'name': _STR, 'vcpus': _INT, 'ram': _INT,
               'disk': _INT, 'ephemeral': _INT, 'swap': _INT,
               'is_public': (bool, False), 'description': _OPT_STR,
               'extra_specs': _SPECS},
    'server': {'id': _STR, 'name': _STR, 'project_id': _STR,
               'status': _STR, 'host': _OPT_STR,
               'hypervisor_hostname': _OPT_STR, 'flavor_name': _STR,
               'flavor_extra_specs': _SPECS, 'flavor_vcpus': _INT,
               'flavor_ram': _INT, 'flavor_disk': _INT},
}
_TOP = {'collected_at': _STR, 'microversions': ('versions', False),
        'placement_max_version': _STR, 'compute_max_version': _STR,
        'resource_classes': ('names', False)}
_LISTS = (('providers', 'provider'), ('allocations', 'allocation'),
          ('services', 'service'), ('hypervisors', 'hypervisor'),
          ('flavors', 'flavor'), ('servers', 'server'))
_INVENTORY_INTS = ('total', 'reserved', 'min_unit', 'max_unit', 'step_size')


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _value_problem(value, kind):
    """Why ``value`` is not of ``kind`` (see :data:`_SHAPES`), or None."""
    if kind in (str, bool):
        ok = isinstance(value, kind)
    elif kind is int:
        ok = _is_int(value)
    elif kind == 'counts':
        ok = isinstance(value, dict) and all(
            isinstance(k, str) and _is_int(v) for k, v in value.items())
    elif kind in ('specs', 'versions'):
        ok = isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str)
            for k, v in value.items())
    elif kind == 'names':
        ok = isinstance(value, list) and all(isinstance(v, str)
                                             for v in value)
    elif kind == 'inventories':
        if not isinstance(value, dict):
            return 'expected an object of inventories, got %r' % (value,)
        for rc, inv in value.items():
            if not isinstance(inv, dict) or not isinstance(rc, str):
                return '%s: expected an object, got %r' % (rc, inv)
            unknown = set(inv) - set(_INVENTORY_INTS) - {'allocation_ratio'}
            if unknown or 'total' not in inv:
                return '%s: expected total, reserved, min_unit, max_unit, ' \
                       'step_size, allocation_ratio, got %s' % (
                           rc, ', '.join(sorted(map(str, inv))))
            for key in _INVENTORY_INTS:
                if key in inv and not _is_int(inv[key]):
                    return '%s.%s: expected an integer, got %r' % (
                        rc, key, inv[key])
            ratio = inv.get('allocation_ratio', 1.0)
            if isinstance(ratio, bool) or not isinstance(ratio,
                                                         (int, float)):
                return '%s.allocation_ratio: expected a number, got %r' % (
                    rc, ratio)
        return None
    else:  # pragma: no cover - a typo in _SHAPES
        raise AssertionError(kind)
    if ok:
        return None
    name = getattr(kind, '__name__', kind)
    return 'expected %s, got %r' % ({'str': 'a string', 'int': 'an integer',
                                     'bool': 'true or false',
                                     'counts': 'an object of integers',
                                     'specs': 'an object of strings',
                                     'versions': 'an object of strings',
                                     'names': 'a list of strings'}[name],
                                    value)


def _fields_problem(record, shape, where):
    if not isinstance(record, dict):
        return '%s: expected an object, got %r' % (where, record)
    for key, (kind, nullable) in shape.items():
        if key not in record:
            continue   # missing keys are reported by the builder (KeyError)
        value = record[key]
        if value is None and nullable:
            continue
        problem = _value_problem(value, kind)
        if problem:
            return '%s.%s: %s' % (where, key, problem)
    return None


def document_problem(doc):
    """The first wrongly typed field of a snapshot document, or None."""
    problem = _fields_problem(doc, _TOP, 'snapshot')
    if problem:
        return problem
    for key, kind in _LISTS:
        records = doc.get(key)
        if not isinstance(records, list):
            return 'snapshot.%s: expected a list, got %r' % (key, records)
        for i, record in enumerate(records):
            problem = _fields_problem(record, _SHAPES[kind],
                                      '%s[%d]' % (key, i))
            if problem:
                return problem
    return None


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
