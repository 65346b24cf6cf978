"""Plan decisions: legacy mdev vGPU -> variant-driver VFs, host by host.

Pure functions of a :class:`vfioclient.model.cloud.Snapshot`, host reports
and :class:`Options`; :func:`make_plan` returns a
:class:`vfioclient.model.plan.Plan`.  No I/O, no clock: the same inputs give
the same plan, byte for byte.

What is decided, per physical GPU (PF) that still has legacy providers:

1. its legacy mdev type: from the host report (mdevs on the PF or its VFs),
   else from the snapshot (an ``mdev_class`` such as ``CUSTOM_NVIDIA_558``
   or a trait/class naming a profile, e.g. ``CUSTOM_VGPU_A40_2Q``), else
   from ``--map VGPU=<type>``;
2. the VF vGPU type with the same profile: ``--map`` first, then the
   ``creatable_vgpu_types`` a host report shows for that board, then the
   built-in table (:mod:`vfioclient.nvidia.profiles`).  Refused with
   a reason when no VF type matches, the GPU cannot offer it, or one PF
   would need two types (Nova reports one resource class per PF);
3. the VFs Nova gets: the host report's VFs (at most the profile's
   ``max_instance``), else the VFs the legacy providers are named after.

Then per host the ``nova.conf`` lines, the boot script, and globally the
resource classes, aliases, flavors, capacity, the drain/convert order and
the Placement settings for bug 2070257.
"""

import collections
import dataclasses
import hashlib
import json
import re
import string

from vfioclient.model import host as host_model
from vfioclient.model import plan as model
from vfioclient.nova import devspec
from vfioclient.nova import pci_address
from vfioclient.nova import extra_specs as nova_extra_specs
from vfioclient.nova import flavors as nova_flavors
from vfioclient.nova import names as nova_names
from vfioclient.nova import providers as nova_providers
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles
from vfioclient.nvidia import vgpu_types
from vfioclient.render import bootscript
from vfioclient.rules import audit as audit_rules

NVIDIA = pci_ids.VENDOR_ID
DEFAULT_RESOURCE_CLASS_TEMPLATE = 'CUSTOM_{profile}'
DEFAULT_ALIAS_TEMPLATE = '{profile}'
DEFAULT_FLAVOR_NAME_TEMPLATE = '{flavor}.vf'
TYPE_PLACEHOLDERS = ('profile', 'short', 'board', 'type_id')
FLAVOR_PLACEHOLDERS = TYPE_PLACEHOLDERS + ('flavor', 'alias', 'count')
ALIAS_NAME_MAX = 256
FLAVOR_NAME_MAX = 255
DEVICE_TYPE = 'type-VF'
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


class TemplateError(ValueError):
    """A name template is unusable (unknown placeholder, bad result)."""


@dataclasses.dataclass(frozen=True)
class Options:
    maps: tuple = ()             # ((old, new), ...)
    resource_class_template: str = DEFAULT_RESOURCE_CLASS_TEMPLATE
    alias_template: str = DEFAULT_ALIAS_TEMPLATE
    flavor_name_template: str = DEFAULT_FLAVOR_NAME_TEMPLATE
    hosts: tuple = ()            # empty: every host

    def to_json(self):
        return {'maps': ['%s=%s' % m for m in self.maps],
                'resource_class_template': self.resource_class_template,
                'alias_template': self.alias_template,
                'flavor_name_template': self.flavor_name_template,
                'hosts': list(self.hosts)}


def parse_maps(values):
    """``['nvidia-558=NVIDIA A40-2Q', ...]`` -> ``(('nvidia-558', ...),)``.

    :raises ValueError: for a value without ``=`` or an empty side, or one
        old type given twice.
    """
    maps = []
    seen = set()
    for value in values or ():
        old, sep, new = value.partition('=')
        old, new = old.strip(), new.strip()
        if not sep or not old or not new:
            raise ValueError('--map takes OLD_TYPE=NEW_TYPE (e.g. '
                             'nvidia-558="NVIDIA A40-2Q"), got %r' % value)
        if old.lower() in seen:
            raise ValueError('--map gives %s twice' % old)
        seen.add(old.lower())
        vgpu_types.validate_type_spec(new)
        maps.append((old, new))
    return tuple(maps)


# -- templates ----------------------------------------------------------------
def _fields(template, allowed, what):
    if not isinstance(template, str) or not template.strip():
        raise TemplateError('%s is empty' % what)
    found = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as e:
        raise TemplateError('%s %r is not a valid template: %s'
                            % (what, template, e))
    for _text, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in allowed or spec or conversion:
            raise TemplateError(
                '%s %r: unknown placeholder {%s%s%s}; known placeholders: '
                '%s' % (what, template, field, '!' + conversion
                        if conversion else '', ':' + spec if spec else '',
                        ', '.join('{%s}' % a for a in allowed)))
        found.append(field)
    return found


def _rc_part(value):
    return re.sub('[^0-9A-Za-z]+', '_', str(value)).strip('_').upper()


def _slug(value):
    return re.sub('[^0-9a-z.]+', '-', str(value).lower()).strip('-.')


def _type_values(vf_type_name, vf_type_id):
    return {'profile': vf_type_name,
            'short': vgpu_types.short_name(vf_type_name),
            'board': profiles.board_of_profile(vf_type_name) or '',
            'type_id': '' if vf_type_id is None else str(vf_type_id)}


def render_resource_class(template, vf_type_name, vf_type_id=None):
    """The resource class for a VF type, normalised as Nova does.

    :raises TemplateError: unknown placeholder, or a result Placement
        would reject or that is not a custom class.
    """
    what = '--resource-class-template'
    _fields(template, TYPE_PLACEHOLDERS, what)
    values = {k: _rc_part(v) for k, v in
              _type_values(vf_type_name, vf_type_id).items()}
    raw = template.format(**values)
    rc = nova_names.normalize_resource_class(raw)
    problem = nova_names.resource_class_problem(rc)
    if problem:
        raise TemplateError('%s %r gives %r for %s, which Placement '
                            'rejects: %s' % (what, template, rc,
                                             vf_type_name, problem))
    if nova_names.is_standard_resource_class(rc):
        raise TemplateError('%s %r gives the standard class %s for %s; '
                            'VFs need a CUSTOM_ class of their own'
                            % (what, template, rc, vf_type_name))
    return rc


def render_alias(template, vf_type_name, vf_type_id=None):
    """The ``[pci] alias`` name for a VF type.

    :raises TemplateError: unknown placeholder, or a name Nova or the
        flavor extra spec ``pci_passthrough:alias`` cannot carry.
    """
    what = '--alias-template'
    _fields(template, TYPE_PLACEHOLDERS, what)
    values = {k: _slug(v) for k, v in
              _type_values(vf_type_name, vf_type_id).items()}
    name = template.format(**values)
    problem = alias_name_problem(name)
    if problem:
        raise TemplateError('%s %r gives %r for %s: %s'
                            % (what, template, name, vf_type_name, problem))
    return name


def alias_name_problem(name):
    if not name or not name.strip():
        return 'the name is empty'
    if name != name.strip():
        return 'Nova strips the name, so flavors would not find it'
    if len(name) > ALIAS_NAME_MAX:
        return 'longer than %d characters' % ALIAS_NAME_MAX
    if ':' in name or ',' in name:
        return ('":" and "," cannot appear in pci_passthrough:alias '
                '<name>:<count>')
    if not name.isprintable():
        return 'it contains control characters'
    return None


def render_flavor_name(template, source_flavor, vf_type_name, vf_type_id,
                       alias, count):
    what = '--flavor-name-template'
    _fields(template, FLAVOR_PLACEHOLDERS, what)
    values = {k: _slug(v) for k, v in
              _type_values(vf_type_name, vf_type_id).items()}
    values.update(flavor=source_flavor, alias=alias, count=str(count))
    name = template.format(**values)
    if not name.strip() or name != name.strip():
        raise TemplateError('%s %r gives %r for flavor %s: Nova refuses '
                            'empty names and leading/trailing spaces'
                            % (what, template, name, source_flavor))
    if len(name) > FLAVOR_NAME_MAX or not name.isprintable():
        raise TemplateError('%s %r gives %r for flavor %s: Nova takes '
                            'printable names of at most %d characters'
                            % (what, template, name, source_flavor,
                               FLAVOR_NAME_MAX))
    return name


def check_templates(options):
    """Validate the templates once with a sample type (early errors)."""
    render_resource_class(options.resource_class_template,
                          'NVIDIA A40-2Q', 558)
    alias = render_alias(options.alias_template, 'NVIDIA A40-2Q', 558)
    render_flavor_name(options.flavor_name_template, 'vgpu.sample',
                       'NVIDIA A40-2Q', 558, alias, 1)


# -- config lines -------------------------------------------------------------
def _json(value):
    return json.dumps(value, sort_keys=False)


def vf_address_specs(pf, vfs):
    """``address`` values that match exactly ``vfs`` and never ``pf``.

    A whole slot of VFs becomes a glob (``0000:41:01.*``), a single VF not
    on function 0 its address, anything else a regex on the function
    (``{"domain": "0000", "bus": "41", "slot": "00", "function":
    "[4567]"}``).  A bare ``....0`` address is avoided because Nova treats
    an exact function-0 address that is a PF as "the PF and all its VFs".
    """
    by_slot = collections.OrderedDict()
    for vf in sorted(vfs):
        d, b, s, f = pci_address.parse_address(vf)
        by_slot.setdefault((d, b, s), []).append(f)
    pf_slot = pci_address.parse_address(pf)[:3]
    out = []
    for (d, b, s), funcs in by_slot.items():
        if len(funcs) == 8 and (d, b, s) != pf_slot:
            out.append('%s:%s:%s.*' % (d, b, s))
        elif len(funcs) == 1 and funcs[0] != '0':
            out.append('%s:%s:%s.%s' % (d, b, s, funcs[0]))
        else:
            out.append({'domain': d, 'bus': b, 'slot': s,
                        'function': '[%s]' % ''.join(funcs)})
    _check_address_specs(pf, vfs, out)
    return out


def _check_address_specs(pf, vfs, specs):
    wanted = set(vfs)
    slots = {pci_address.parse_address(a)[:3] for a in list(vfs) + [pf]}
    candidates = {'%s:%s:%s.%d' % (d, b, s, f) for d, b, s in slots
                  for f in range(8)}
    for spec in specs:
        parsed = devspec.parse_device_spec({'address': spec})
        for address in candidates:
            hit = parsed.address.match(
                pci_address.parse_physical_address(address))
            if hit and address not in wanted:
                raise AssertionError('address spec %r would match %s'
                                     % (spec, address))
            wanted.discard(address) if hit else None
    if wanted:
        raise AssertionError('address specs %r miss %s'
                             % (specs, sorted(wanted)))


def device_spec_lines(gpu):
    """``[pci] device_spec`` values for one planned GPU."""
    lines = []
    for address in vf_address_specs(gpu.address, gpu.vfs):
        spec = {'vendor_id': NVIDIA}
        if gpu.product_id:
            spec['product_id'] = gpu.product_id
        spec['address'] = address
        spec['managed'] = 'no'
        spec['resource_class'] = gpu.resource_class
        lines.append(_json(spec))
    return lines


def alias_line(name, resource_class, vendor_id, product_id):
    value = {'device_type': DEVICE_TYPE, 'name': name,
             'resource_class': resource_class}
    if vendor_id and product_id:
        value['product_id'] = product_id
        value['vendor_id'] = vendor_id
    return json.dumps(value, sort_keys=True)


def _conf_text(sections):
    out = []
    for section, items in sections:
        if not items:
            continue
        out.append('[%s]' % section)
        out.extend('%s = %s' % kv for kv in items)
        out.append('')
    return '\n'.join(out)


# -- facts about one GPU ------------------------------------------------------
@dataclasses.dataclass
class _Gpu:
    host: str
    address: str
    legacy: tuple
    report: object = None
    legacy_type: str = None      # nvidia-558
    legacy_name: str = None      # NVIDIA A40-2Q
    legacy_classes: tuple = ()
    legacy_key: str = None       # what --map may name when type unknown
    product_id: str = None
    board: str = None
    max_instance: int = None
    refusal: str = None


_MDEV_CLASS_NUMBER_RE = re.compile(r'^CUSTOM_NVIDIA_(\d{1,9})$')


def _profile_keys():
    keys = {}
    for p in profiles.PROFILES:
        keys[_rc_part(vgpu_types.short_name(p.name))] = p
    return keys


_PROFILE_KEYS = _profile_keys()


def _hint_from_name(name):
    """A profile or type id named by a class or trait, or None."""
    m = _MDEV_CLASS_NUMBER_RE.match(name)
    if m:
        return ('id', int(m.group(1)))
    body = name[len('CUSTOM_'):] if name.startswith('CUSTOM_') else name
    for key, p in _PROFILE_KEYS.items():
        if body == key or body.endswith('_' + key):
            return ('id', p.type_id)
    return None


def _legacy_from_report(gpu):
    report = gpu.report
    device = report.gpu(gpu.address) if report else None
    if device is None:
        return None
    if device.mode == host_model.LEGACY_MDEV_PF:
        return 'pf-mdev'
    in_use = [t for t in device.types_in_use]
    if len(in_use) > 1:
        return ('mixed', ', '.join('nvidia-%d (%s) x%d' % (
            t.id, t.name or '?', t.count) for t in in_use))
    if len(in_use) == 1:
        return ('id', in_use[0].id, in_use[0].name)
    return None


def _mdev_type_info(gpu, type_id):
    """(name, max_instance) from the report's mdev types, if listed."""
    report = gpu.report
    if report is None:
        return None, None
    functions = [report.device(gpu.address)] + report.vfs_of(gpu.address)
    for dev in functions:
        for t in (dev.mdev_supported_types if dev else ()):
            if t.type_number == type_id:
                return t.name, t.max_instance
    return None, None


def _recognise_legacy(gpu, snapshot, servers_by_provider, flavors):
    """Fill legacy_type/legacy_name/board/product/max_instance or refusal."""
    classes = sorted({rc for p in gpu.legacy for rc in p.inventories})
    gpu.legacy_classes = tuple(classes)
    gpu.legacy_key = classes[0] if len(classes) == 1 else None
    found = _legacy_from_report(gpu)
    if found == 'pf-mdev':
        gpu.refusal = ('vGPU runs as mdevs on the PF (pre-Ampere GPU such '
                       'as T4/V100): it has no SR-IOV vGPU, so there is no '
                       'VF type to move to; it stays on legacy mdev')
        return
    if found and found[0] == 'mixed':
        gpu.refusal = ('one PF would need two VF types: its VFs use %s, '
                       'but Nova reports one resource class per PF; move '
                       'the servers of all but one type first' % found[1])
        return
    hints = set()
    if found:
        hints.add(found[1])
    else:
        for p in gpu.legacy:
            for name in tuple(p.inventories) + tuple(p.traits or ()):
                hint = _hint_from_name(name)
                if hint:
                    hints.add(hint[1])
            for server in servers_by_provider.get(p.uuid, ()):
                flavor = flavors.get(server.flavor_name)
                specs = (flavor.extra_specs if flavor
                         else server.flavor_extra_specs)
                for traits in nova_flavors.required_traits(specs).values():
                    for name in traits:
                        hint = _hint_from_name(name)
                        if hint:
                            hints.add(hint[1])
    if len(hints) > 1:
        gpu.refusal = ('one PF would need two VF types: its providers, '
                       'traits and flavors name types %s' % ', '.join(
                           'nvidia-%d' % h for h in sorted(hints)))
        return
    # A legacy provider on function 0 with several vGPUs is a PF-mdev GPU.
    if not found and gpu.report is None:
        only = gpu.legacy[0] if len(gpu.legacy) == 1 else None
        total = sum(i.total for i in (only.inventories.values()
                                      if only else ()))
        if only and gpu.address.endswith('.0') and total > 1:
            profile = profiles.by_id(next(iter(hints))) if hints else None
            b = profiles.board(profile.board) if profile else None
            if b is None or b.pf_only:
                gpu.refusal = (
                    'vGPU runs as mdevs on the PF (%d vGPUs on %s, as on '
                    'pre-Ampere GPUs such as T4/V100): no SR-IOV vGPU, so '
                    'there is no VF type to move to; it stays on legacy '
                    'mdev' % (total, gpu.address))
                return
    if hints:
        type_id = next(iter(hints))
        gpu.legacy_type = 'nvidia-%d' % type_id
        name, max_instance = _mdev_type_info(gpu, type_id)
        if found and found[2]:
            name = name or found[2]
        profile = profiles.by_id(type_id)
        gpu.legacy_name = name or (profile.name if profile else None)
        gpu.max_instance = max_instance
        if profile is not None and gpu.report is None:
            gpu.board = profile.board
            gpu.product_id = profiles.vf_product_id(profile.board)
    device = gpu.report.gpu(gpu.address) if gpu.report else None
    if device is not None:
        gpu.product_id = device.product_id
        b = profiles.board_of_product(device.product_id)
        gpu.board = b.name if b else device.model
        if b is not None and b.pf_only:
            gpu.refusal = ('%s (%s) keeps vGPU as mdevs on the PF: no SR-IOV'
                           ' vGPU to move to' % (gpu.board,
                                                 device.product_id))


# -- choosing the VF type -----------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _VfType:
    name: str
    type_id: int
    verified: bool
    source: str


def _creatable(report, address):
    """Types the VFs of one GPU offer now (variant model), or None."""
    vfs = report.vfs_of(address) if report else []
    lists = [d.creatable_vgpu_types for d in vfs
             if d.creatable_vgpu_types is not None]
    if not lists:
        return None
    found = {}
    for types in lists:
        for t in types:
            found.setdefault(t.id, t)
    return [found[i] for i in sorted(found)]


def _offered_by_board(reports, product_id):
    """Variant-model types offered on any reported GPU of this product."""
    found = {}
    for report in reports:
        for g in report.gpus:
            if g.product_id != product_id:
                continue
            if g.mode != host_model.VARIANT_VF:
                continue
            for t in g.types_offered:
                found.setdefault(t.id, (t, report.hostname))
            for t in g.types_in_use:
                if t.name:
                    found.setdefault(t.id, (host_model.VgpuType(t.id, t.name),
                                            report.hostname))
    return [found[i] for i in sorted(found)]


def _map_for(gpu, maps):
    for old, new in maps:
        o = old.lower()
        if gpu.legacy_type and (o == gpu.legacy_type.lower() or
                                o == gpu.legacy_type.split('-')[-1]):
            return old, new
        if gpu.legacy_name and vgpu_types.type_name_matches(
                old, gpu.legacy_name):
            return old, new
    if gpu.legacy_type is None:
        for old, new in maps:
            if gpu.legacy_key and old.upper() == gpu.legacy_key:
                return old, new
    return None


def _resolve(spec, gpu, reports, source):
    """A :class:`_VfType` for a type spec on this GPU, or a refusal str."""
    creatable = _creatable(gpu.report, gpu.address)
    if creatable is not None:
        try:
            hit = vgpu_types.match_vgpu_type(spec, creatable)
        except ValueError as e:
            return str(e)
        if hit is None:
            return ('the GPU cannot offer %s: its VFs list %s' % (
                spec, ', '.join('%d (%s)' % (t.id, t.name)
                                for t in creatable) or 'nothing'))
        return _VfType(hit.name or spec, hit.id, True,
                       '%s; host report %s' % (source, gpu.host))
    if gpu.product_id:
        offered = _offered_by_board(reports, gpu.product_id)
        try:
            hit = vgpu_types.match_vgpu_type(
                spec, [t for t, _h in offered])
        except ValueError as e:
            return str(e)
        if hit is not None:
            where = dict((t.id, h) for t, h in offered)[hit.id]
            return _VfType(hit.name or spec, hit.id, True,
                           '%s; offered on %s' % (source, where))
    profile = profiles.lookup(spec)
    if profile is None:
        number = vgpu_types.type_spec_number(spec)
        if number is not None and gpu.legacy_name and (
                'nvidia-%d' % number) == gpu.legacy_type:
            return _VfType(gpu.legacy_name, number, False,
                           '%s; same id as the mdev type (one number space '
                           'for mdev and VF types, UNVERIFIED)' % source)
        return ('no VF type matches %s: no host report of this board '
                'offers it and the built-in table does not know it (pass '
                '--host-report of a variant-driver host or --map with a '
                'known type)' % spec)
    return _VfType(profile.name, profile.type_id, profile.verified,
                   '%s; built-in table (%s)%s' % (
                       source, profile.source,
                       '' if profile.verified else ', id UNVERIFIED'))


def _choose_vf_type(gpu, reports, maps):
    mapped = _map_for(gpu, maps)
    if mapped:
        chosen = _resolve(mapped[1], gpu, reports,
                          '--map %s=%s' % mapped)
    elif gpu.legacy_type is None:
        return ('legacy vGPU type unknown (%s inventory, no host report '
                'for %s, no class or trait naming a type): pass '
                '--host-report for %s or --map %s=<VF type>' % (
                    '/'.join(gpu.legacy_classes) or '?', gpu.host, gpu.host,
                    gpu.legacy_key or 'VGPU'))
    else:
        spec = gpu.legacy_name or gpu.legacy_type
        chosen = _resolve(spec, gpu, reports, 'same profile as %s'
                          % gpu.legacy_type)
    if isinstance(chosen, str):
        return chosen
    target_board = profiles.board_of_profile(chosen.name)
    if gpu.board is None:
        gpu.board = (profiles.board_of_profile(gpu.legacy_name)
                     if gpu.legacy_name else None) or target_board
    tb = profiles.board(target_board)
    if (tb is not None and gpu.board and target_board
            and target_board.upper() not in gpu.board.upper().split('/')):
        return ('the GPU cannot offer %s: it is for %s, this GPU is %s'
                % (chosen.name, target_board, gpu.board))
    if tb is not None and tb.pf_only:
        return ('%s runs vGPU as mdevs on the PF only; it has no VF types'
                % chosen.name)
    return chosen


# -- the plan -----------------------------------------------------------------
def fingerprint_snapshot(snapshot):
    text = json.dumps(snapshot.to_dict(include_collection_details=False),
                      indent=2)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def fingerprint_report(report):
    text = json.dumps(report.to_json(), indent=2)
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


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
        out[node] = dataclasses.replace(r, hostname=node)
    return out


def _selected(host, options, snapshot):
    if not options.hosts:
        return True
    wanted = set(options.hosts)
    if host in wanted:
        return True
    return any(h.host in wanted for h in snapshot.hypervisors
               if h.hypervisor_hostname == host)


def _used(provider):
    return sum((provider.usages or {}).values())


def make_plan(snapshot, host_reports=(), options=Options()):
    """Decide everything; return a :class:`vfioclient.model.plan.Plan`.

    :raises TemplateError: a template is unusable.
    :raises ValueError: a --map value is malformed.
    """
    check_templates(options)
    reports = _report_index(snapshot, host_reports)
    estate = audit_rules.recognise(snapshot, list(reports.values()))
    by_uuid = snapshot.provider_by_uuid()
    flavors = {f.name: f for f in snapshot.flavors}
    refusals = []
    servers_by_provider = collections.defaultdict(list)
    legacy_uuids = {p.uuid for p in estate.legacy_providers}
    allocation_of = {}
    for a in snapshot.allocations:
        server = estate.servers_by_id.get(a.consumer_uuid)
        if a.provider_uuid in legacy_uuids and server is not None:
            servers_by_provider[a.provider_uuid].append(server)
            allocation_of[(a.consumer_uuid, a.provider_uuid)] = a

    # 1. Facts and the VF type per GPU.
    planned = []
    for g in estate.gpus:
        if not g.legacy:
            continue
        subject = 'gpu %s on %s' % (g.address, g.host)
        if not _selected(g.host, options, snapshot):
            continue
        live = [p for p in g.legacy if p.uuid not in estate.stale]
        if not live:
            refusals.append(model.Refusal(subject, (
                'only stale legacy providers (%s): delete them once nothing'
                ' is allocated (audit VFIO-A104/A105)' % '; '.join(
                    estate.stale[p.uuid] for p in g.legacy))))
            continue
        if g.pci:
            refusals.append(model.Refusal(subject, (
                'already half converted: PCI provider %s and legacy '
                'provider(s) %s stand for this GPU (audit VFIO-A108); move '
                'the legacy servers off it and remove its mdev config by '
                'hand' % (', '.join(p.name for p in g.pci),
                          ', '.join(p.name for p in live)))))
            continue
        gpu = _Gpu(host=g.host, address=g.address, legacy=tuple(live),
                   report=reports.get(g.host))
        _recognise_legacy(gpu, snapshot, servers_by_provider, flavors)
        if gpu.refusal:
            refusals.append(model.Refusal(subject, gpu.refusal))
            continue
        chosen = _choose_vf_type(gpu, list(reports.values()), options.maps)
        if isinstance(chosen, str):
            refusals.append(model.Refusal(subject, chosen))
            continue
        planned.append((gpu, chosen))

    # 2. Names per VF type; one name per type, no two types per name.
    rc_of, alias_of = {}, {}
    for gpu, vf in planned:
        if vf.name in rc_of:
            continue
        rc_of[vf.name] = render_resource_class(
            options.resource_class_template, vf.name, vf.type_id)
        alias_of[vf.name] = render_alias(options.alias_template, vf.name,
                                         vf.type_id)
    for what, table in (('--resource-class-template', rc_of),
                        ('--alias-template', alias_of)):
        seen = {}
        for vf_name, value in sorted(table.items()):
            if value in seen:
                raise TemplateError(
                    '%s gives %s for both %s and %s; include {profile} or '
                    '{type_id}' % (what, value, seen[value], vf_name))
            seen[value] = vf_name

    # 3. VFs and GPU plans.
    gpu_plans = []
    for gpu, vf in planned:
        subject = 'gpu %s on %s' % (gpu.address, gpu.host)
        result = _gpu_plan(gpu, vf, rc_of[vf.name], snapshot)
        if isinstance(result, str):
            refusals.append(model.Refusal(subject, result))
            continue
        gpu_plans.append((gpu, vf, result))

    # Hosts: one (type, VF count) per host, for its one boot script.
    by_host = collections.defaultdict(list)
    for item in gpu_plans:
        by_host[item[0].host].append(item)
    for host in sorted(by_host):
        combos = {(p.vf_type_name, p.vf_count) for _g, _v, p in
                  by_host[host]}
        if len(combos) > 1:
            refusals.append(model.Refusal('host %s' % host, (
                'its GPUs would need %s; one boot script per host sets one '
                'type and VF count: convert this host by hand with "vfio '
                'host script" per GPU' % ', '.join(
                    '%s x%d' % c for c in sorted(combos)))))
            del by_host[host]

    # 4. Servers and flavors.
    provider_gpu = {}
    for host, items in by_host.items():
        for gpu, vf, gp in items:
            for p in gpu.legacy:
                provider_gpu[p.uuid] = (gpu, vf, gp)
    moves = []      # (server, gpu plan, vf, amount)
    stays = []
    for server in snapshot.servers:
        holding = [a for a in snapshot.allocations
                   if a.consumer_uuid == server.id
                   and a.provider_uuid in legacy_uuids]
        if not holding:
            continue
        targets = {provider_gpu.get(a.provider_uuid, (None,) * 3)[2]
                   for a in holding}
        if None in targets or len(targets) != 1:
            p = by_uuid[holding[0].provider_uuid]
            stays.append((server, p))
            continue
        gp = targets.pop()
        gpu, vf, _ = provider_gpu[holding[0].provider_uuid]
        amount = sum(sum(a.resources.values()) for a in holding)
        host = estate.roots[by_uuid[holding[0].provider_uuid].root_uuid].name
        moves.append((server, host, gp, vf, amount))
    flavor_plans, flavor_of = _flavor_plans(moves, flavors, options,
                                            alias_of, rc_of, estate)

    # 5. Capacity and order.
    existing = _existing_vfs(estate)
    order, drains, blocked, seq_short = _simulate(by_host, moves, existing,
                                                  estate)
    for host, reason in blocked.items():
        refusals.append(model.Refusal('host %s' % host, reason))

    hosts = []
    order_index = {h: i + 1 for i, h in enumerate(order)}
    for host in sorted(by_host):
        hosts.append(_host_plan(host, by_host[host], order_index.get(host),
                                drains.get(host, ()), alias_of, rc_of,
                                reports.get(host), flavor_of))
    aliases = _alias_plans(gpu_plans, by_host, alias_of, rc_of)
    controllers = _controllers(aliases)
    capacity = _capacity(by_host, moves, existing, seq_short, rc_of)
    servers = _server_plans(moves, stays, flavor_of, order_index, blocked,
                            estate)
    settings = _placement_settings(snapshot, reports, by_host, flavor_plans)
    inputs = model.Inputs(
        snapshot=model.SnapshotRef(snapshot.collected_at,
                                   fingerprint_snapshot(snapshot)),
        host_reports=tuple(sorted(
            (model.HostReportRef(r.hostname, fingerprint_report(r),
                                 r.collected_at) for r in host_reports),
            key=lambda r: (r.hostname, r.sha256))),
        options=options.to_json())
    mappings = _type_mappings(by_host, alias_of, rc_of)
    return model.Plan(
        inputs=inputs,
        resource_classes=tuple(sorted({m.resource_class for m in mappings})),
        aliases=aliases,
        flavors=flavor_plans,
        type_mappings=mappings,
        hosts=tuple(hosts),
        controllers=controllers,
        order=tuple(order),
        servers=servers,
        capacity=capacity,
        placement_settings=settings,
        refusals=tuple(sorted(set(refusals),
                              key=lambda r: (r.subject, r.reason))),
    )


def _gpu_plan(gpu, vf, rc, snapshot):
    profile = profiles.by_id(vf.type_id) if vf.type_id else None
    if profile is None or vgpu_types.short_name(profile.name).lower() != \
            vgpu_types.short_name(vf.name).lower():
        profile = profiles.by_name(vf.name)
    max_instance = gpu.max_instance
    if max_instance is None:
        max_instance, _ok = profiles.max_instance(profile)
    if gpu.report is not None and gpu.report.device(gpu.address):
        vfs = [d.address for d in gpu.report.vfs_of(gpu.address)]
        source = 'host-report'
        product = gpu.product_id
        if vfs:
            product = gpu.report.vfs_of(gpu.address)[0].product_id
        if not vfs:
            return ('the host report of %s shows no VFs on %s: enable '
                    'SR-IOV (sriov-manage -e) and report again'
                    % (gpu.host, gpu.address))
    else:
        vfs = []
        for p in gpu.legacy:
            parsed = nova_providers.parse_provider_name(p.name, gpu.host)
            if parsed and parsed.address != gpu.address:
                vfs.append(parsed.address)
        vfs.sort()
        source = 'legacy-providers'
        board = gpu.board or profiles.board_of_profile(vf.name)
        product = gpu.product_id or profiles.vf_product_id(board)
        if not vfs:
            return ('no VF addresses known for %s (legacy provider is on '
                    'the PF): pass --host-report for %s' % (gpu.address,
                                                           gpu.host))
    if not product:
        return ('product id of %s unknown (board %s): pass --host-report '
                'for %s' % (gpu.address, gpu.board or '?', gpu.host))
    if max_instance:
        vfs = vfs[:max_instance]
    legacy_total = sum(i.total for p in gpu.legacy
                       for i in p.inventories.values())
    legacy_used = sum(_used(p) for p in gpu.legacy)
    before = tuple(model.ProviderRef(
        p.name, '+'.join(sorted(p.inventories)),
        sum(i.total for i in p.inventories.values()), _used(p))
        for p in gpu.legacy)
    after = model.ProviderRef(
        nova_providers.pci_provider_name(gpu.host, gpu.address), rc,
        len(vfs), 0)
    return model.GpuPlan(
        address=gpu.address, board=gpu.board, product_id=product,
        legacy_type=gpu.legacy_type, legacy_name=gpu.legacy_name,
        vf_type_id=vf.type_id, vf_type_name=vf.name, resource_class=rc,
        vf_count=len(vfs), vfs=tuple(vfs), vfs_source=source,
        legacy_total=legacy_total, legacy_in_use=legacy_used,
        providers_before=before, provider_after=after)


def translate_extra_specs(extra_specs, mdev_classes, legacy_traits, alias,
                          count):
    """The new flavor's extra specs: legacy vGPU requests and their traits
    removed, ``pci_passthrough:alias`` added (appended to an existing one).
    """
    specs = dict(extra_specs or {})
    vgpu_groups = set()
    for key in list(specs):
        m = nova_flavors.RESOURCES_KEY_RE.match(key)
        if m and nova_flavors.is_legacy_vgpu_class(m.group('rc'),
                                                   mdev_classes):
            vgpu_groups.add(m.group(1) or '')
            del specs[key]
    resources_key = nova_flavors.RESOURCES_KEY_RE
    remaining_groups = {(resources_key.match(k).group(1) or '')
                        for k in specs if resources_key.match(k)}
    for key in list(specs):
        m = nova_flavors.TRAIT_KEY_RE.match(key)
        if not m:
            continue
        group = m.group(1) or ''
        if (m.group('trait') in legacy_traits or
                (group and group in vgpu_groups
                 and group not in remaining_groups)):
            del specs[key]
    if not any(g for g in remaining_groups):
        specs.pop('group_policy', None)
    value = '%s:%d' % (alias, count)
    old = specs.get(nova_extra_specs.ALIAS_EXTRA_SPEC)
    specs[nova_extra_specs.ALIAS_EXTRA_SPEC] = (
        '%s, %s' % (old, value) if old else value)
    nova_extra_specs.validate_alias_extra_spec(
        specs[nova_extra_specs.ALIAS_EXTRA_SPEC])
    return dict(sorted(specs.items()))


def _flavor_plans(moves, flavors, options, alias_of, rc_of, estate):
    legacy_traits = {t for p in estate.legacy_providers
                     for t in (p.traits or ()) if t.startswith('CUSTOM_')}
    groups = collections.OrderedDict()
    for server, _host, gp, vf, _amount in sorted(
            moves, key=lambda m: (m[0].flavor_name, m[2].vf_type_name,
                                  m[0].name, m[0].id)):
        groups.setdefault((server.flavor_name, gp.vf_type_name),
                          []).append((server, gp))
    plans = []
    flavor_of = {}
    names = {}
    for (fname, vf_name), members in groups.items():
        server, gp = members[0]
        source = flavors.get(fname)
        specs = source.extra_specs if source else server.flavor_extra_specs
        count = nova_flavors.legacy_vgpu_count(specs, estate.mdev_classes)
        count = count or 1
        alias = alias_of[vf_name]
        name = render_flavor_name(options.flavor_name_template, fname,
                                  vf_name, gp.vf_type_id, alias, count)
        if name in names:
            raise TemplateError(
                '--flavor-name-template %r gives %s for both %s and %s; '
                'include {alias} or {short}' % (
                    options.flavor_name_template, name,
                    '%s (%s)' % names[name], '%s (%s)' % (fname, vf_name)))
        names[name] = (fname, vf_name)
        new_specs = translate_extra_specs(specs, estate.mdev_classes,
                                          legacy_traits, alias, count)
        plans.append(model.FlavorPlan(
            name=name, source_flavor=fname,
            source_flavor_id=source.id if source else None,
            vcpus=source.vcpus if source else server.flavor_vcpus,
            ram=source.ram if source else server.flavor_ram,
            disk=source.disk if source else server.flavor_disk,
            ephemeral=source.ephemeral if source else 0,
            swap=source.swap if source else 0,
            is_public=source.is_public if source else True,
            description=source.description if source else None,
            extra_specs=new_specs, alias=alias, count=count,
            resource_class=rc_of[vf_name],
            servers_to_move=len({s.id for s, _g in members}),
            vf_type=vf_name, exists=name in flavors))
        for s, _g in members:
            flavor_of[s.id] = plans[-1]
    plans.sort(key=lambda f: f.name)
    return tuple(plans), flavor_of


def _existing_vfs(estate):
    """{host: {rc: [total, used]}} of PCI providers already in Placement."""
    out = collections.defaultdict(lambda: collections.defaultdict(
        lambda: [0, 0]))
    for p in estate.pci_providers:
        root = estate.roots.get(p.root_uuid)
        host = root.name if root else p.root_uuid
        for rc, inv in p.inventories.items():
            out[host][rc][0] += inv.total
            out[host][rc][1] += (p.usages or {}).get(rc, 0)
    return out


def _simulate(by_host, moves, existing, estate):
    """Greedy drain/convert order.

    Returns ``(order, {host: [Move]}, {host: reason}, {rc: shortfall})``.
    A host can be converted once every server on it has somewhere to go:
    free VFs of its class on hosts already converted (resize to the new
    flavor), else free legacy vGPUs of the same type on hosts not converted
    yet (cold migration, the server moves again later).
    """
    vf_free = collections.defaultdict(collections.Counter)
    vf_hosts = sorted(existing)     # converted hosts, in the order to fill
    for host, by_rc in existing.items():
        for rc, (total, used) in by_rc.items():
            vf_free[host][rc] += max(total - used, 0)
    legacy_free = collections.defaultdict(collections.Counter)
    host_vfs = collections.defaultdict(collections.Counter)
    for host, items in by_host.items():
        for _gpu, _vf, gp in items:
            legacy_free[host][gp.resource_class] += max(
                gp.legacy_total - gp.legacy_in_use, 0)
            host_vfs[host][gp.resource_class] += gp.vf_count
    on_host = collections.defaultdict(list)
    for server, host, gp, vf, amount in moves:
        on_host[host].append([server, gp.resource_class, amount,
                              server.flavor_name])
    for items in on_host.values():
        items.sort(key=lambda s: (s[0].name, s[0].id))
    remaining = set(by_host)
    order, drains, blocked = [], collections.defaultdict(list), {}
    shortfall = collections.Counter()

    def need(host):
        n = collections.Counter()
        for _s, rc, amount, _f in on_host[host]:
            n[rc] += amount
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
        for entry in on_host[host]:
            server, rc, amount, flavor = entry
            target = next((h for h in vf_hosts
                           if vf_free[h][rc] >= amount), None)
            if target is not None:
                vf_free[target][rc] -= amount
                drains[host].append(('resize', server, target, flavor))
                continue
            target = max((h for h in sorted(remaining) if h != host and
                          legacy_free[h][rc] >= amount),
                         key=lambda h: legacy_free[h][rc])
            legacy_free[target][rc] -= amount
            drains[host].append(('migrate', server, target, flavor))
            on_host[target].append(entry)
            on_host[target].sort(key=lambda s: (s[0].name, s[0].id))
        on_host[host] = []
        remaining.discard(host)
        order.append(host)
        vf_hosts.append(host)
        for rc, n in host_vfs[host].items():
            vf_free[host][rc] += n
    return order, drains, blocked, shortfall


def _host_plan(host, items, order, drain, alias_of, rc_of, report,
               flavor_of):
    gpus = tuple(sorted((gp for _g, _v, gp in items),
                        key=lambda g: g.address))
    device_specs = []
    for gp in gpus:
        device_specs.extend(device_spec_lines(gp))
    alias_lines = []
    for gp in gpus:
        line = alias_line(alias_of[gp.vf_type_name], gp.resource_class,
                          NVIDIA, gp.product_id)
        if line not in alias_lines:
            alias_lines.append(line)
    conf_set = ([model.ConfOption('pci', 'report_in_placement', 'True')]
                + [model.ConfOption('pci', 'device_spec', s)
                   for s in device_specs]
                + [model.ConfOption('pci', 'alias', a) for a in alias_lines]
                + [model.ConfOption('libvirt',
                                    'live_migration_permit_post_copy',
                                    'False')])
    legacy_types = sorted({g.legacy_type for g in gpus if g.legacy_type})
    remove = [model.ConfOption('devices', 'enabled_mdev_types',
                               ', '.join(legacy_types) or None)]
    if legacy_types:
        remove += [model.ConfOption('mdev_%s' % t, '*', None)
                   for t in legacy_types]
    else:
        remove.append(model.ConfOption('mdev_*', '*', None))
    sections = collections.OrderedDict()
    for opt in conf_set:
        sections.setdefault(opt.section, []).append((opt.option, opt.value))
    nova_conf = _conf_text(sections.items())
    first = gpus[0]
    spec = first.vf_type_name
    type_id = first.vf_type_id if _verified(items) else None
    if type_id is not None:
        try:
            bootscript.render_script(spec, type_id=type_id)
        except ValueError:
            type_id = None
    script = bootscript.render_script(
        spec, gpus=[g.address for g in gpus], vfs=first.vf_count,
        type_id=type_id)
    unit = bootscript.render_systemd_unit(spec)
    notes = []
    if any(g.vfs_source == 'legacy-providers' for g in gpus):
        notes.append('VF addresses come from the legacy provider names '
                     '(no host report): check them with "openstack vfio '
                     'host report" before applying')
    if not _verified(items):
        notes.append('the VF type id is not confirmed by a host report; '
                     'the boot script resolves %s by name at boot' % spec)
    moves = tuple(model.Move(
        server_id=server.id, server_name=server.name, action=action,
        from_host=host, to_host=target, from_flavor=flavor,
        to_flavor=(flavor_of[server.id].name if action == 'resize'
                   else None))
        for action, server, target, flavor in drain)
    kind = '%d x %s %s -> %s (%s, %d VFs)' % (
        len(gpus), first.board or '?', first.legacy_type or '?',
        first.vf_type_name, first.resource_class, first.vf_count)
    return model.HostPlan(
        host=host, order=order, kind=kind,
        vf_types=tuple(sorted({g.vf_type_name for g in gpus})),
        gpus=gpus, device_spec=tuple(device_specs),
        alias=tuple(alias_lines), conf_set=tuple(conf_set),
        conf_remove=tuple(remove), nova_conf=nova_conf,
        boot_script=script, systemd_unit=unit, drain=moves,
        notes=tuple(notes))


def _verified(items):
    return all(vf.verified for _g, vf, _p in items)


def _alias_plans(gpu_plans, by_host, alias_of, rc_of):
    products = collections.defaultdict(set)
    for host, items in by_host.items():
        for _g, vf, gp in items:
            products[vf.name].add(gp.product_id)
    out = []
    for vf_name in sorted(products):
        ids = products[vf_name]
        product = next(iter(ids)) if len(ids) == 1 else None
        name, rc = alias_of[vf_name], rc_of[vf_name]
        out.append(model.AliasPlan(
            name=name, resource_class=rc, device_type=DEVICE_TYPE,
            vendor_id=NVIDIA if product else None, product_id=product,
            line=alias_line(name, rc, NVIDIA, product)))
    return tuple(sorted(out, key=lambda a: a.name))


def _controllers(aliases):
    conf_set = tuple(
        [model.ConfOption('pci', 'alias', a.line) for a in aliases]
        + [model.ConfOption('filter_scheduler', 'pci_in_placement',
                            'True')])
    sections = collections.OrderedDict()
    for opt in conf_set:
        sections.setdefault(opt.section, []).append((opt.option, opt.value))
    return model.Controllers(alias=tuple(a.line for a in aliases),
                             conf_set=conf_set,
                             nova_conf=_conf_text(sections.items()))


def _type_mappings(by_host, alias_of, rc_of):
    groups = collections.defaultdict(list)
    for host, items in by_host.items():
        for gpu, vf, gp in items:
            groups[(gp.legacy_type, gp.legacy_name, vf.name)].append(
                (gpu, vf, gp))
    out = []
    for (legacy_type, legacy_name, vf_name), members in sorted(
            groups.items(), key=lambda kv: tuple(x or '' for x in kv[0])):
        vf = members[0][1]
        out.append(model.TypeMapping(
            legacy_type=legacy_type, legacy_name=legacy_name,
            legacy_classes=tuple(sorted({c for g, _v, _p in members
                                         for c in g.legacy_classes})),
            vf_type_id=vf.type_id, vf_type_name=vf_name,
            resource_class=rc_of[vf_name], alias=alias_of[vf_name],
            source=vf.source, verified=all(v.verified for _g, v, _p in
                                           members),
            gpus=len(members)))
    return tuple(out)


def _capacity(by_host, moves, existing, seq_short, rc_of):
    rows = collections.OrderedDict()
    vf_name_of = {rc: name for name, rc in rc_of.items()}
    per_host = collections.defaultdict(lambda: [0, 0, 0, 0])
    for host, items in by_host.items():
        for _g, _v, gp in items:
            entry = per_host[(gp.resource_class, host)]
            entry[0] += gp.vf_count
            entry[1] += gp.legacy_total
            entry[2] += gp.legacy_in_use
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
    for _server, _host, gp, _vf, amount in moves:
        demand[gp.resource_class] += amount
    for rc in sorted(vf_name_of):
        hosts = tuple(model.HostCapacity(host, v[0], v[1], v[2], v[3])
                      for (r, host), v in sorted(per_host.items())
                      if r == rc)
        planned = sum(h.vfs_total for h in hosts) - existing_total[rc]
        total = planned + existing_total[rc]
        final = max(demand[rc] + existing_used[rc] - total, 0)
        rows[rc] = model.Capacity(
            resource_class=rc, vf_type=vf_name_of[rc], vfs_total=total,
            vfs_existing=existing_total[rc], vfs_planned=planned,
            legacy_in_use=demand[rc], vf_in_use=existing_used[rc],
            shortfall=max(final, seq_short.get(rc, 0)), hosts=hosts)
    return tuple(rows.values())


def _server_plans(moves, stays, flavor_of, order_index, blocked, estate):
    out = []
    for server, host, gp, _vf, _amount in moves:
        blocked_reason = blocked.get(host)
        out.append(model.ServerPlan(
            id=server.id, name=server.name, host=server.host,
            from_flavor=server.flavor_name,
            to_flavor=flavor_of[server.id].name,
            resource_class=gp.resource_class,
            status='blocked' if blocked_reason else 'move',
            reason=blocked_reason and 'host %s %s' % (host,
                                                      blocked_reason)))
    for server, provider in stays:
        out.append(model.ServerPlan(
            id=server.id, name=server.name, host=server.host,
            from_flavor=server.flavor_name, to_flavor=None,
            resource_class=None, status='stays',
            reason='its vGPU is on %s, which the plan does not convert '
                   '(see refusals)' % provider.name))
    return tuple(sorted(out, key=lambda s: (s.name, s.id)))


def _placement_settings(snapshot, reports, by_host, flavor_plans):
    reasons = []
    found = [f for f in audit_rules.audit(snapshot, list(reports.values()))
             if f.code == 'VFIO-A114']
    if found:
        reasons.append('audit VFIO-A114 (bug 2070257) for %s' % ', '.join(
            sorted(f.subject for f in found)))
    many = max((f.count for f in flavor_plans), default=0)
    for host, items in sorted(by_host.items()):
        per_rc = collections.Counter(gp.resource_class
                                     for _g, _v, gp in items)
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
