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

"""The plan document: what ``vfio plan`` decided, for the apply commands.

Written by ``openstack vfio plan -f json`` / ``--output FILE`` and read by
``vfio resource class create --from-plan``, ``vfio flavor create
--from-plan`` and ``vfio verify --from-plan``.  Plain, immutable data: the
decisions live in :mod:`vfioclient.rules.plan`.

Contract (``schema_version`` 2; keys are stable, new keys may be added)::

    {
      "schema_version": 2, "kind": "vfio-plan",
      "inputs": {"snapshot": {"collected_at": str, "sha256": str} | null,
                 "host_reports": [{"hostname", "sha256", "collected_at"}],
                 "options": {...}},
      "resource_classes": [str, ...],      # sorted, normalised, valid
      "aliases": [{"name", "resource_class", "device_type", "vendor_id",
                   "product_id", "line", "numa_policy"}],
      "flavors": [{"name", "source_flavor", "source_flavor_id", "vcpus",
                   "ram", "disk", "ephemeral", "swap", "is_public",
                   "description", "extra_specs", "alias", "count",
                   "resource_class", "servers_to_move", "vf_type",
                   "exists", "access_projects", "notes"}],
      "type_mappings": [...], "hosts": [...], "controllers": {...},
      "order": [host, ...], "servers": [...], "capacity": [...],
      "placement_settings": [...], "refusals": [{"subject", "reason"}],
      "waves": [{"number", "hosts", "group", "servers_to_move",
                 "capacity_before", "capacity_after", "note"}]
    }

``capacity`` rows: ``{"resource_class", "vf_type", "vfs_total",
"vfs_existing", "vfs_planned", "legacy_in_use", "vf_in_use", "shortfall",
"hosts": [...]}``.

``waves`` (missing in older plans: none) are the hosts converted together,
in order: ``order`` is their hosts one wave after the other, each host once;
``capacity_before`` / ``capacity_after`` map each resource class to
``{"vfs": free VFs on converted hosts, "legacy": free legacy vGPUs on hosts
not converted yet}``: where servers can be resized or migrated to.

``inputs.nova_confs`` (missing in older plans: none) lists each ``--nova-conf
PATTERN=FILE``: ``{"pattern", "file", "sha256", "hosts"}``, the compute
nodes it matched; each ``hosts[].gpus[]`` item says where its legacy type
came from, ``legacy_source`` (``host-report``, ``nova-conf``,
``class-or-trait`` or null) and ``legacy_source_file`` (the nova.conf).

``inputs.options`` records ``live_migratable`` (bool), ``nova_release``
(series), ``wave_size`` (null: the default for the estate) and
``group_by`` among the plan command's options; each
``hosts[].gpus[]`` item has ``provider_traits``, the traits that release
puts on ``provider_after`` (missing in older plans: empty).

``hosts[]`` items carry ``"mdev_definitions": [{"uuid", "parent",
"mdev_type", "active"}] | null`` (Nova's persisted mdevs on the host, from
its host report; null when no report lists them).

``hosts[]`` items carry the boot script's parameters, ``"boot_setup":
{"vf_type", "type_id", "gpus", "vfs_per_gpu", "vfs": [{"gpu", "vfs",
"vf_type", "type_id"}]}``, not its text: the nova.conf snippets, boot
script and systemd unit are rendered from the plan by
:mod:`vfioclient.render` (version 1 stored that text).  ``boot_setup.vfs``
names, per GPU, exactly the VFs of ``gpus[].vfs``, the list the host's
``device_spec`` lines are made from, so that the script and Nova name the
same VFs (plans made before it have none: their script sets the first
``vfs_per_gpu`` VFs).  Each ``vfs`` item also names its GPU's VF type and
id: Nova takes one resource class and trait set per PF
(``PciResourceProvider.add_child`` in
``nova/compute/pci_placement_translator.py``, stable/2025.1 and later), so
the GPUs of one host may have different types.  The setup's own
``vf_type`` / ``type_id`` / ``vfs_per_gpu`` are those of every GPU, or
null when the GPUs differ; plans made before types were per GPU have them
only (still read: every GPU then has that type).
"""

import dataclasses
import json
import types
import typing

from vfioclient.model import bootsetup
from vfioclient.model import jsontext
from vfioclient.model import schema

SCHEMA_VERSION = 2

# A host's boot setup (its own module); plan readers name it here.
GpuVfs = bootsetup.GpuVfs
BootSetup = bootsetup.BootSetup
boot_setup_problem = bootsetup.boot_setup_problem
KIND = 'vfio-plan'


class PlanError(ValueError):
    """A plan document is unreadable, truncated, of another version or
    hand-edited into something inconsistent."""


# -- records -----------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class SnapshotRef:
    collected_at: str
    sha256: str


@dataclasses.dataclass(frozen=True)
class HostReportRef:
    hostname: str
    sha256: str
    collected_at: str


@dataclasses.dataclass(frozen=True)
class NovaConfRef:
    """A ``--nova-conf PATTERN=FILE``: the file and the compute nodes
    whose legacy vGPU types it may give."""
    pattern: str                 # hostname glob (fnmatch)
    file: str
    sha256: str                  # of the file's bytes
    hosts: tuple[str, ...]       # compute nodes it matched (sorted)


@dataclasses.dataclass(frozen=True)
class Inputs:
    snapshot: SnapshotRef | None
    host_reports: tuple[HostReportRef, ...]
    options: dict
    nova_confs: tuple[NovaConfRef, ...] = ()   # missing in older plans


@dataclasses.dataclass(frozen=True)
class AliasPlan:
    name: str
    resource_class: str
    device_type: str
    vendor_id: str | None
    product_id: str | None
    line: str
    numa_policy: str | None = None   # set on the line; None: Nova's legacy


@dataclasses.dataclass(frozen=True)
class FlavorPlan:
    name: str
    source_flavor: str | None
    source_flavor_id: str | None
    vcpus: int
    ram: int
    disk: int
    ephemeral: int
    swap: int
    is_public: bool
    description: str | None
    extra_specs: dict
    alias: str
    count: int
    resource_class: str
    servers_to_move: int
    vf_type: str
    exists: bool
    # Projects the new flavor gives access to: the source flavor's, when it
    # is private (sorted project ids).
    access_projects: tuple[str, ...] = ()
    # What the operator must know: a NUMA topology the VF must follow, an
    # access list the snapshot did not carry (the runbook shows them).
    notes: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class TypeMapping:
    legacy_type: str | None      # mdev type, e.g. nvidia-558
    legacy_name: str | None      # profile, e.g. NVIDIA A40-2Q
    legacy_classes: tuple[str, ...]  # VGPU / CUSTOM_<mdev_class>
    vf_type_id: int | None
    vf_type_name: str
    resource_class: str
    alias: str
    source: str                  # how the VF type was chosen
    verified: bool               # VF type id seen on a host (not assumed)
    gpus: int


@dataclasses.dataclass(frozen=True)
class ProviderRef:
    name: str
    resource_class: str
    total: int
    used: int


@dataclasses.dataclass(frozen=True)
class GpuPlan:
    address: str                 # PF
    board: str | None
    product_id: str | None
    legacy_type: str | None
    legacy_name: str | None
    vf_type_id: int | None
    vf_type_name: str
    resource_class: str
    vf_count: int
    vfs: tuple[str, ...]
    vfs_source: str              # host-report | legacy-providers
    legacy_total: int
    legacy_in_use: int
    providers_before: tuple[ProviderRef, ...]
    provider_after: ProviderRef
    # the traits the target Nova release puts on provider_after
    provider_traits: tuple[str, ...] = ()
    # where legacy_type came from: host-report (mdevs in use), nova-conf
    # (--nova-conf), class-or-trait (a resource class or trait on its
    # providers or their flavors names it); None: not known (a --map of
    # the legacy class chose the VF type)
    legacy_source: str | None = None
    legacy_source_file: str | None = None    # the nova.conf, for nova-conf


@dataclasses.dataclass(frozen=True)
class ConfOption:
    section: str
    option: str
    value: str | None


@dataclasses.dataclass(frozen=True)
class Move:
    server_id: str
    server_name: str
    action: str                  # resize | migrate
    from_host: str
    to_host: str | None
    from_flavor: str
    to_flavor: str | None


@dataclasses.dataclass(frozen=True)
class PersistedMdev:
    """One of Nova's persisted mdevs on a host, from its host report: it
    must be undefined before the driver switch (VFIO-A119)."""
    uuid: str
    parent: str                  # the parent's device name (PCI address)
    mdev_type: str
    active: bool                 # existed when the host report was taken


@dataclasses.dataclass(frozen=True)
class HostPlan:
    host: str
    order: int | None            # conversion step (1-based); None: blocked
    kind: str                    # hosts of one kind share a runbook diagram
    vf_types: tuple[str, ...]
    gpus: tuple[GpuPlan, ...]
    device_spec: tuple[str, ...]
    alias: tuple[str, ...]
    conf_set: tuple[ConfOption, ...]
    conf_remove: tuple[ConfOption, ...]
    boot_setup: BootSetup
    drain: tuple[Move, ...]
    notes: tuple[str, ...]
    # None: no host report lists them (none given, or one written before
    # vfioclient read mdev definitions); () : the report shows none.
    mdev_definitions: tuple[PersistedMdev, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Controllers:
    alias: tuple[str, ...]
    conf_set: tuple[ConfOption, ...]
    # When [filter_scheduler] pci_in_placement goes on: "prepare" (with the
    # aliases, before any VF flavor exists) or "final" (after the hosts);
    # see vfioclient.rules.plan.scheduling.
    pci_in_placement_phase: str = 'final'
    pci_in_placement_reason: str = ''
    ambiguous_products: tuple[str, ...] = ()
    pci_hosts_to_report: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class ServerPlan:
    id: str
    name: str
    host: str | None
    from_flavor: str
    to_flavor: str | None
    resource_class: str | None
    status: str                  # move | blocked | stays
    reason: str | None


@dataclasses.dataclass(frozen=True)
class HostCapacity:
    host: str
    vfs_total: int
    legacy_total: int
    legacy_in_use: int
    vf_in_use: int


@dataclasses.dataclass(frozen=True)
class Capacity:
    resource_class: str
    vf_type: str
    vfs_total: int
    vfs_existing: int
    vfs_planned: int
    legacy_in_use: int
    vf_in_use: int
    shortfall: int
    hosts: tuple[HostCapacity, ...]


@dataclasses.dataclass(frozen=True)
class PlacementSetting:
    file: str
    section: str
    option: str
    value: str
    min_version: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Refusal:
    subject: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Wave:
    """Hosts drained and converted together; their servers go to capacity
    outside the wave."""
    number: int                  # 1-based
    hosts: tuple[str, ...]       # in plan order (hosts[].order)
    group: str | None            # --group-by key; None: not grouped
    servers_to_move: int
    # {resource class: {"vfs": free VFs on converted hosts, "legacy": free
    # legacy vGPUs of that class on hosts not converted yet}}
    capacity_before: dict
    capacity_after: dict
    note: str | None             # why it has fewer hosts than allowed


@dataclasses.dataclass(frozen=True)
class Plan:
    inputs: Inputs
    resource_classes: tuple[str, ...]
    aliases: tuple[AliasPlan, ...]
    flavors: tuple[FlavorPlan, ...]
    type_mappings: tuple[TypeMapping, ...]
    hosts: tuple[HostPlan, ...]
    controllers: Controllers
    order: tuple[str, ...]
    servers: tuple[ServerPlan, ...]
    capacity: tuple[Capacity, ...]
    placement_settings: tuple[PlacementSetting, ...]
    refusals: tuple[Refusal, ...]
    waves: tuple[Wave, ...] = ()     # missing in older plans
    schema_version: int = SCHEMA_VERSION
    kind: str = KIND

    # -- lookups -----------------------------------------------------------
    def host(self, name):
        return next((h for h in self.hosts if h.host == name), None)

    def flavor(self, name):
        return next((f for f in self.flavors if f.name == name), None)

    def alias(self, name):
        return next((a for a in self.aliases if a.name == name), None)

    # -- JSON --------------------------------------------------------------
    def _items(self):
        """``(key, value)`` of the document's top level, in its order."""
        yield 'schema_version', self.schema_version
        yield 'kind', self.kind
        for field in dataclasses.fields(self):
            if field.name not in ('schema_version', 'kind'):
                yield field.name, getattr(self, field.name)

    def to_dict(self):
        return {key: _dump(value) for key, value in self._items()}

    def to_json(self):
        """The document as text: stable key order, ends with a newline."""
        return jsontext.dumps(self.to_dict()) + '\n'

    def write_json(self, sink):
        """:meth:`to_json`'s text handed to ``sink(str)`` in pieces, one
        host (flavor, server...) at a time: a 10,000-host plan's document
        as dicts and then as one string took some 150 MB at once."""
        start = '{'
        for key, value in self._items():
            sink('%s\n  %s: ' % (start, jsontext.dumps(key)))
            start = ','
            if type(value) is not tuple or not value:
                jsontext.write(_dump(value), sink, pad='\n  ')
                continue
            separator = '['
            for item in value:
                sink(separator + '\n    ')
                separator = ','
                jsontext.write(_dump(item), sink, pad='\n    ')
            sink('\n  ]')
        sink('\n}\n')

    @classmethod
    def from_dict(cls, doc, source='plan'):
        """The plan in ``doc``, checked against ``schemas/plan.schema.json``
        and then for the cross-references the schema cannot express."""
        DOCUMENT.check(doc, source)
        plan = _build(cls, doc)
        problem = consistency_problem(plan)
        if problem:
            # the problem quotes values of the file: a hand-edited one may
            # hold line breaks or control characters, and the message stays
            # one line
            raise PlanError('%s is inconsistent (hand-edited?): %s'
                            % (source, ''.join(
                                c if c.isprintable()
                                else c.encode('unicode_escape').decode()
                                for c in problem)))
        return plan

    @classmethod
    def from_json(cls, text, source='plan'):
        return cls.from_dict(DOCUMENT.parse(text, source), source=source)


DOCUMENT = schema.Document(
    'plan.schema.json', 'plan', 'vfio plan', PlanError,
    'make the plan again with "openstack vfio plan"')


def from_json(text, source='plan'):
    return Plan.from_json(text, source=source)


def consistency_problem(plan):
    """Cross-references the apply commands rely on, or None when fine."""
    classes = set(plan.resource_classes)
    if list(plan.resource_classes) != sorted(classes):
        return 'resource_classes is not sorted and unique'
    aliases = {a.name: a for a in plan.aliases}
    if len(aliases) != len(plan.aliases):
        return 'an alias name appears twice'
    for a in plan.aliases:
        if a.resource_class not in classes:
            return ('alias %s uses %s, which is not in resource_classes'
                    % (a.name, a.resource_class))
        try:
            line = json.loads(a.line)
        except ValueError:
            return 'alias %s: line is not JSON' % a.name
        if (not isinstance(line, dict) or line.get('name') != a.name
                or line.get('resource_class') != a.resource_class):
            return 'alias %s: line does not match name/resource_class' % (
                a.name,)
    names = set()
    for f in plan.flavors:
        if f.name in names:
            return 'flavor %s appears twice' % f.name
        names.add(f.name)
        if f.alias not in aliases:
            return 'flavor %s uses unknown alias %s' % (f.name, f.alias)
        if aliases[f.alias].resource_class != f.resource_class:
            return ('flavor %s: resource_class %s is not the class of alias '
                    '%s' % (f.name, f.resource_class, f.alias))
        if f.access_projects and f.is_public:
            return ('flavor %s is public but lists access_projects'
                    % f.name)
    for h in plan.hosts:
        problem = boot_setup_problem(h.boot_setup)
        if problem:
            return 'host %s: boot_setup: %s' % (h.host, problem)
    for c in plan.capacity:
        if c.resource_class not in classes:
            return 'capacity names unknown resource class %s' % (
                c.resource_class,)
    for h in plan.hosts:
        listed = {g.gpu: tuple(g.vfs) for g in h.boot_setup.vfs}
        if listed and listed != {g.address: tuple(g.vfs) for g in h.gpus}:
            return ('host %s: boot_setup.vfs does not name the VFs of its '
                    'gpus (those its device_spec lines match)' % h.host)
        planned = {g.address: g.vf_type_name for g in h.gpus}
        for gpu, vf_type, _id in h.boot_setup.gpu_types():
            if gpu in planned and vf_type != planned[gpu]:
                return ('host %s: the boot script would set %s on GPU %s, '
                        'whose planned type (and device_spec resource '
                        'class) is %s' % (h.host, vf_type, gpu,
                                          planned[gpu]))
    return _waves_problem(plan)


def _waves_problem(plan):
    """Waves numbered from 1 whose hosts are the plan's ordered hosts, each
    once and in plan order; or None (also for older plans without
    waves)."""
    if not plan.waves:
        return None
    ordered = {h.host for h in plan.hosts if h.order is not None}
    seen = set()
    for number, wave in enumerate(plan.waves, 1):
        if wave.number != number:
            return 'wave %d is numbered %d' % (number, wave.number)
        if not wave.hosts:
            return 'wave %d has no host' % number
        for host in wave.hosts:
            if host not in ordered:
                return ('wave %d names %s, which is not a converted host of '
                        'the plan' % (number, host))
            if host in seen:
                return 'host %s is in two waves' % host
            seen.add(host)
    if tuple(h for w in plan.waves for h in w.hosts) != tuple(plan.order):
        return 'the hosts of the waves are not the plan\'s order'
    return None


# -- generic (de)serialisation of the records above --------------------------
_FIELD_NAMES = {}     # record class -> its field names, looked up once
_SCALARS = frozenset((str, int, float, bool, type(None)))


def _dump(value):
    kind = type(value)
    if kind in _SCALARS:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None:
        if isinstance(value, (tuple, list)):
            return [_dump(v) for v in value]
        if isinstance(value, dict):
            return {k: _dump(v) for k, v in value.items()}
        if not dataclasses.is_dataclass(value):
            return value
        names = _FIELD_NAMES[kind] = tuple(
            f.name for f in dataclasses.fields(value))
    return {name: _dump(getattr(value, name)) for name in names}


_HINTS = {}


def _hints(cls):
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _build(kind, value):
    """``value`` (valid against the schema) as the record type ``kind``.

    Records are built from the keys their dataclass names (newer keys are
    skipped), lists become tuples, nested records are built alike.
    """
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _build(inner[0], value)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(_build(item, v) for v in value)
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{f.name: _build(hints[f.name], value[f.name])
                       for f in dataclasses.fields(kind) if f.name in value})
    if kind is dict:
        return dict(value)
    return value
