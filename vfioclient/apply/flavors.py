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

"""Create the VF flavors in Nova: idempotent, resumable, never silent.

Order of work (:func:`apply`):

1. every spec is checked locally (``pci_passthrough:alias`` with Nova API's
   regex, resource class and alias names);
2. the cloud is read: the flavors of those names, the plan's source
   flavors (drift: a renamed or deleted source flavor stops the run before
   any write) and Placement's providers of each resource class;
3. conflicts are reported **before any write** (:func:`preflight`): the
   class has no free inventory anywhere (warning), it is provided by PCI
   providers of another vendor/product than the alias names, or also by
   legacy vGPU providers, or the alias name is used for another class;
4. each flavor is written on its own; one failure never stops the others.

Private flavors get their projects' access (:mod:`.flavor_access`).

Resumable without a local journal: a flavor is created with a description
that starts with :data:`INCOMPLETE_MARK`, then gets its extra specs and
project access, and only then its real description.  A run killed in the
middle leaves a flavor carrying the mark, which the next run recognises as
its own and finishes (action ``created``, reason "resumed").  When Nova
refuses the extra specs the half-made flavor is deleted again (or, if that
fails too, the row says how to finish).  Flavor names are unique in Nova,
so re-runs never duplicate.
"""

import dataclasses
import logging

import os_traits

from vfioclient.apply import drift
from vfioclient.apply import flavor_access
from vfioclient.apply import report
from vfioclient.apply.report import CONFLICT, CREATED, EXISTS, FAILED
from vfioclient.apply.report import UPDATED, WOULD_CREATE, WOULD_UPDATE
from vfioclient.cloud import client
from vfioclient.cloud import compute as compute_api
from vfioclient.cloud import placement as placement_api
from vfioclient.nova import errors as nova_errors
from vfioclient.nova import extra_specs as nova_extra_specs
from vfioclient.nova import flavor_request
from vfioclient.nova import names
from vfioclient.nvidia import pci_ids
from vfioclient.rules import plan as plan_rules

LOG = logging.getLogger(__name__)

INCOMPLETE_MARK = '[vfioclient: incomplete] '

ACTIONS = (CREATED, EXISTS, WOULD_CREATE, UPDATED, WOULD_UPDATE, CONFLICT,
           FAILED)
OK_ACTIONS = (CREATED, EXISTS, WOULD_CREATE, UPDATED, WOULD_UPDATE)

COLUMNS = ('name', 'id', 'action', 'extra_specs', 'alias_line',
           'device_spec_hint', 'reason')


class SpecError(ValueError):
    """A flavor definition Nova would refuse (before any request)."""


@dataclasses.dataclass(frozen=True)
class FlavorSpec:
    name: str
    vcpus: int
    ram: int
    extra_specs: dict
    disk: int = 0
    ephemeral: int = 0
    swap: int = 0
    is_public: bool = True
    description: str = None
    projects: tuple = ()
    alias: str = None
    count: int = 1
    resource_class: str = None
    alias_line: str = None
    vendor_id: str = None
    product_id: str = None
    source_flavor: str = None
    source_flavor_id: str = None

    def body(self, description):
        return {'flavor': {
            'name': self.name, 'vcpus': self.vcpus, 'ram': self.ram,
            'disk': self.disk, 'OS-FLV-EXT-DATA:ephemeral': self.ephemeral,
            'swap': self.swap, 'os-flavor-access:is_public': self.is_public,
            'description': description}}

    def device_spec_hint(self):
        if not self.resource_class:
            return None
        return flavor_request.device_spec_hint(
            self.resource_class, self.vendor_id or pci_ids.VENDOR_ID,
            self.product_id)


@dataclasses.dataclass(frozen=True)
class Result:
    name: str
    id: str
    action: str
    extra_specs: dict
    alias_line: str
    device_spec_hint: str
    reason: str = ''

    def row(self):
        return tuple(getattr(self, c) for c in COLUMNS)

    @property
    def label(self):
        return self.name

    @property
    def ok(self):
        return self.action in OK_ACTIONS


def _result(spec, action, flavor_id=None, reason=''):
    return Result(spec.name, flavor_id, action, dict(spec.extra_specs),
                  spec.alias_line, spec.device_spec_hint(), reason)


# -- building specs ----------------------------------------------------------

def vgpu_type_names(type_name):
    """``(resource_class, alias)`` for a vGPU type name, the way the plan's
    default templates name it (``NVIDIA A40-2Q`` ->
    ``CUSTOM_NVIDIA_A40_2Q``, ``nvidia-a40-2q``)."""
    try:
        return (plan_rules.render_resource_class(
                    plan_rules.DEFAULT_RESOURCE_CLASS_TEMPLATE, type_name),
                plan_rules.render_alias(plan_rules.DEFAULT_ALIAS_TEMPLATE,
                                        type_name))
    except ValueError as e:
        raise SpecError('--vgpu-type %r: %s' % (type_name, e))


def adhoc_spec(name, vcpus, ram, disk=0, resource_class=None,
               vgpu_type=None, alias=None, count=1, properties=None,
               is_public=True, projects=(), description=None,
               vendor_id=None, product_id=None, ephemeral=0, swap=0):
    """The spec of ``vfio flavor create NAME ...`` (raises SpecError)."""
    if not name or not name.strip():
        raise SpecError('the flavor name is empty')
    if (resource_class is None) == (vgpu_type is None):
        raise SpecError('give exactly one of --resource-class and '
                        '--vgpu-type')
    type_alias = None
    if vgpu_type is not None:
        if not vgpu_type.strip():
            raise SpecError('--vgpu-type is empty')
        rc, type_alias = vgpu_type_names(vgpu_type)
    else:
        rc = names.normalize_resource_class(resource_class)
    if names.is_standard_resource_class(rc):
        raise SpecError('%s is a standard resource class; VF flavors need a '
                        'custom class (e.g. CUSTOM_NVIDIA_A40_2Q)' % rc)
    problem = names.resource_class_problem(rc)
    if problem:
        raise SpecError('resource class %s %s; use e.g. %s' % (
            rc, problem, names.suggest_custom_name(rc)))
    if count is None or count < 1:
        raise SpecError('--count must be at least 1')
    for label, value in (('--vcpus', vcpus), ('--ram', ram)):
        if value is None or value < 1:
            raise SpecError('%s must be at least 1' % label)
    if disk is not None and disk < 0:
        raise SpecError('--disk cannot be negative')
    alias = alias or type_alias or flavor_request.default_alias_name(rc)
    try:
        line = flavor_request.alias_line(alias, rc, vendor_id=vendor_id,
                                         product_id=product_id)
    except nova_errors.NovaConfigError as e:
        raise SpecError('alias %s: %s' % (alias, e))
    specs = dict(properties or {})
    value = '%s:%d' % (alias, count)
    given = specs.get(nova_extra_specs.ALIAS_EXTRA_SPEC)
    if given is not None and given != value:
        raise SpecError('--property %s=%s contradicts --alias/--count (%s)'
                        % (nova_extra_specs.ALIAS_EXTRA_SPEC, given, value))
    specs[nova_extra_specs.ALIAS_EXTRA_SPEC] = value
    spec = FlavorSpec(name=name, vcpus=vcpus, ram=ram, disk=disk or 0,
                      ephemeral=ephemeral or 0, swap=swap or 0,
                      is_public=is_public, description=description,
                      projects=tuple(projects or ()), extra_specs=specs,
                      alias=alias, count=count, resource_class=rc,
                      alias_line=line, vendor_id=vendor_id,
                      product_id=product_id)
    check_spec(spec)
    return spec


def specs_from_plan(plan):
    """One :class:`FlavorSpec` per flavor of a ``model.plan.Plan``."""
    aliases = {a.name: a for a in plan.aliases}
    specs = []
    for f in plan.flavors:
        a = aliases.get(f.alias)
        specs.append(FlavorSpec(
            name=f.name, vcpus=f.vcpus, ram=f.ram, disk=f.disk,
            ephemeral=f.ephemeral, swap=f.swap, is_public=f.is_public,
            description=f.description, extra_specs=dict(f.extra_specs),
            alias=f.alias, count=f.count, resource_class=f.resource_class,
            alias_line=a.line if a else None,
            vendor_id=a.vendor_id if a else None,
            product_id=a.product_id if a else None,
            source_flavor=f.source_flavor,
            source_flavor_id=f.source_flavor_id,
            projects=tuple(f.access_projects)))
    return specs


def check_spec(spec):
    """Nova API's checks we can make locally (raises SpecError)."""
    value = spec.extra_specs.get(nova_extra_specs.ALIAS_EXTRA_SPEC)
    if value is None:
        raise SpecError('flavor %s has no %s extra spec' % (
            spec.name, nova_extra_specs.ALIAS_EXTRA_SPEC))
    try:
        nova_extra_specs.validate_alias_extra_spec(value)
    except nova_errors.NovaConfigError as e:
        raise SpecError('flavor %s: %s' % (spec.name, e))
    if spec.projects and spec.is_public:
        raise SpecError('flavor %s: --project needs --private' % spec.name)


# -- reading the cloud -------------------------------------------------------

@dataclasses.dataclass
class InventoryView:
    """Providers with free capacity of each resource class, by kind."""

    pci: dict = dataclasses.field(default_factory=dict)      # rc -> [name]
    legacy: dict = dataclasses.field(default_factory=dict)   # rc -> [name]
    # (vendor_id, product_id) of PCI providers when known: name -> (v, p)
    device_ids: dict = dataclasses.field(default_factory=dict)


def flavors_by_name(compute):
    """All flavors (public and private) by name."""
    return {f['name']: f for f in compute_api.list_flavors(compute)}


def read_inventory(placement, resource_classes):
    """:class:`InventoryView` for the classes (two list calls per class)."""
    view = InventoryView()
    pci_trait = os_traits.COMPUTE_MANAGED_PCI_DEVICE
    for rc in sorted(set(resource_classes)):
        if names.resource_class_problem(rc):
            continue
        resources = '%s:1' % rc
        try:
            pci = placement_api.list_resource_providers_with_trait(
                placement, pci_trait, resources=resources)
            other = placement_api.list_resource_providers_without_trait(
                placement, pci_trait, resources=resources)
        except client.ApiError as e:
            if e.status == 400:   # unknown class: nothing provides it
                continue
            raise
        view.pci[rc] = sorted(p['name'] for p in pci)
        view.legacy[rc] = sorted(p['name'] for p in other)
    return view


# -- conflicts before any write ----------------------------------------------

def preflight(specs, view, known_aliases=None):
    """``{name: (errors, warnings)}`` for each spec, from reads only.

    ``known_aliases`` maps alias names already configured (controllers,
    the plan) to their resource class.
    """
    report = {}
    alias_classes = {}
    for name, rc in (known_aliases or {}).items():
        alias_classes.setdefault(name, set()).add(rc)
    for spec in specs:
        if spec.alias and spec.resource_class:
            alias_classes.setdefault(spec.alias, set()).add(
                spec.resource_class)
    for spec in specs:
        errs, warns = [], []
        rc = spec.resource_class
        if rc:
            pci = view.pci.get(rc, [])
            legacy = view.legacy.get(rc, [])
            if not pci and not legacy:
                warns.append('no provider has free %s inventory (none '
                             'reports it yet, or all is in use): the flavor '
                             'will not schedule until converted hosts '
                             'report it' % rc)
            if legacy:
                errs.append('%s is also provided by %d legacy vGPU / non-PCI '
                            'provider(s) (%s): a VF request could land on an '
                            'mdev device; give the VFs their own class'
                            % (rc, len(legacy), ', '.join(legacy[:3])))
            wanted = (spec.vendor_id, spec.product_id)
            if spec.vendor_id and spec.product_id:
                others = set()
                implied = names.default_resource_class_ids(rc)
                if implied and implied != wanted:
                    others.add('%s:%s' % implied)
                for rp in pci:
                    ids = view.device_ids.get(rp)
                    if ids and tuple(ids) != wanted:
                        others.add('%s:%s' % tuple(ids))
                if others:
                    errs.append('%s is provided by PCI devices %s, not the '
                                '%s:%s the alias names' % (
                                    rc, ', '.join(sorted(others)), *wanted))
        others = alias_classes.get(spec.alias, set()) - {rc}
        if spec.alias and others:
            errs.append('alias %s is already used for %s' % (
                spec.alias, ', '.join(sorted(others))))
        report[spec.name] = (errs, warns)
    return report


# -- writing -----------------------------------------------------------------

def _swap(value):
    return 0 if value in ('', None) else int(value)


def base_differences(flavor, spec):
    """Fields (other than extra specs) where Nova's flavor differs."""
    have = {
        'vcpus': flavor.get('vcpus'), 'ram': flavor.get('ram'),
        'disk': flavor.get('disk'),
        'ephemeral': flavor.get('OS-FLV-EXT-DATA:ephemeral', 0),
        'swap': _swap(flavor.get('swap')),
        'is_public': flavor.get('os-flavor-access:is_public', True),
    }
    want = {'vcpus': spec.vcpus, 'ram': spec.ram, 'disk': spec.disk,
            'ephemeral': spec.ephemeral, 'swap': spec.swap,
            'is_public': spec.is_public}
    diffs = ['%s %s (want %s)' % (k, have[k], want[k])
             for k in want if have[k] != want[k]]
    desc = flavor.get('description')
    if (spec.description is not None and not is_incomplete(flavor)
            and desc != spec.description):
        diffs.append('description %r (want %r)' % (desc, spec.description))
    return diffs


def is_incomplete(flavor):
    return str(flavor.get('description') or '').startswith(INCOMPLETE_MARK)


def extra_spec_differences(flavor, spec):
    have = flavor.get('extra_specs') or {}
    diffs = []
    for key, value in sorted(spec.extra_specs.items()):
        if have.get(key) != value:
            diffs.append('%s=%s (want %s)' % (key, have.get(key, '<unset>'),
                                              value))
    for key in sorted(set(have) - set(spec.extra_specs)):
        diffs.append('%s=%s (not in the definition)' % (key, have[key]))
    return diffs


class Writer:
    """Writes one flavor at a time through the compute ServiceClient.

    ``hook(step, spec)`` is called before each write step (``create``,
    ``extra_specs``, ``access``, ``finish``); tests use it to inject a
    failure or a crash in the middle.
    """

    def __init__(self, compute, dry_run=False, update_extra_specs=False,
                 hook=None):
        self.compute = compute
        self.dry_run = dry_run
        self.update_extra_specs = update_extra_specs
        self.hook = hook or (lambda step, spec: None)

    def apply(self, spec, existing):
        try:
            if existing is None:
                return self._create(spec)
            return self._existing(spec, existing)
        except client.ApiError as e:
            return _result(spec, FAILED, (existing or {}).get('id'), str(e))

    # -- steps -------------------------------------------------------------
    def _create(self, spec):
        if self.dry_run:
            return _result(spec, WOULD_CREATE, reason=flavor_access.text(
                'would grant access to', spec.projects if not spec.is_public
                else ()))
        self.hook('create', spec)
        try:
            flavor = compute_api.create_flavor(self.compute, spec.body(
                INCOMPLETE_MARK + (spec.description or ''))['flavor'])
        except client.ApiError as e:
            if e.status != 409:
                raise
            # Created meanwhile (a concurrent run): judge what is there.
            flavor = self._read_by_name(spec.name)
            if flavor is None:
                raise
            return self._existing(spec, flavor)
        return self._finish(spec, flavor, resumed=False)

    def _finish(self, spec, flavor, resumed):
        """Extra specs, access, then the real description."""
        fid = flavor['id']
        try:
            self.hook('extra_specs', spec)
            compute_api.set_flavor_extra_specs(self.compute, fid,
                                               spec.extra_specs)
        except client.ApiError as e:
            return self._undo(spec, fid, e)
        self.hook('access', spec)
        granted = self._grant(spec, fid)
        self.hook('finish', spec)
        compute_api.set_flavor_description(self.compute, fid,
                                           spec.description)
        reasons = ['resumed an interrupted create'] if resumed else []
        reasons += granted.reasons()
        return _result(spec, CREATED, fid, '; '.join(reasons))

    def _undo(self, spec, fid, error):
        try:
            compute_api.delete_flavor(self.compute, fid)
        except client.ApiError as e:
            return _result(spec, FAILED, fid,
                           '%s; the half-made flavor %s could not be deleted'
                           ' (%s): fix the definition and run again to '
                           'finish it, or "openstack flavor delete %s"'
                           % (error, fid, e, fid))
        return _result(spec, FAILED, None,
                       '%s; the half-made flavor was deleted again' % error)

    def _grant(self, spec, fid):
        return flavor_access.grant(self.compute, fid, spec.projects,
                                   spec.is_public)

    def _missing_access(self, spec, fid):
        return flavor_access.missing(self.compute, fid, spec.projects,
                                     spec.is_public)

    def _existing(self, spec, flavor):
        fid = flavor['id']
        diffs = base_differences(flavor, spec)
        if diffs:
            return _result(spec, CONFLICT, fid,
                           'a flavor %s exists with another definition: %s; '
                           'it is never changed (choose another name or '
                           'delete it)' % (spec.name, '; '.join(diffs)))
        if is_incomplete(flavor):
            if self.dry_run:
                return _result(spec, WOULD_CREATE, fid,
                               'would resume an interrupted create')
            return self._finish(spec, flavor, resumed=True)
        extra = extra_spec_differences(flavor, spec)
        if extra and not self.update_extra_specs:
            return _result(spec, CONFLICT, fid,
                           'extra specs differ: %s (--update-extra-specs'
                           ' updates them)' % '; '.join(extra))
        missing = self._missing_access(spec, fid)
        if not extra and not missing:
            return _result(spec, EXISTS, fid)
        if self.dry_run:
            return _result(spec, WOULD_UPDATE, fid, '; '.join(
                extra + ([flavor_access.text('would grant access to', missing)]
                         if missing else [])))
        if extra:
            self.hook('extra_specs', spec)
            compute_api.set_flavor_extra_specs(self.compute, fid,
                                               spec.extra_specs)
            for key in sorted(set(flavor.get('extra_specs') or {})
                              - set(spec.extra_specs)):
                compute_api.delete_flavor_extra_spec(self.compute, fid, key)
        granted = self._grant(spec, fid) if missing else flavor_access.Grants()
        action = UPDATED if extra or granted.added else EXISTS
        return _result(spec, action, fid,
                       '; '.join(extra + granted.reasons()))

    def _read_by_name(self, name):
        return flavors_by_name(self.compute).get(name)


def apply(cloud, specs, dry_run=False, update_extra_specs=False,
          known_aliases=None, device_ids=None, check_plan_drift=False,
          hook=None):
    """Check, read, report conflicts, then write; returns [Result].

    :raises DriftError: a plan source flavor changed (nothing written).
    """
    for spec in specs:
        check_spec(spec)
    seen = set()
    for spec in specs:
        if spec.name in seen:
            raise SpecError('flavor %s is listed twice' % spec.name)
        seen.add(spec.name)
    if check_plan_drift:
        drift.check_drift(cloud, specs)
    existing = flavors_by_name(cloud.compute)
    view = read_inventory(cloud.placement,
                          [s.resource_class for s in specs
                           if s.resource_class])
    if device_ids:
        view.device_ids.update(device_ids)
    report = preflight(specs, view, known_aliases)
    writer = Writer(cloud.compute, dry_run=dry_run,
                    update_extra_specs=update_extra_specs, hook=hook)
    results = []
    for spec in specs:
        errs, warns = report[spec.name]
        if errs:
            flavor = existing.get(spec.name)
            results.append(_result(spec, CONFLICT,
                                   flavor['id'] if flavor else None,
                                   '; '.join(errs + warns)))
            continue
        result = writer.apply(spec, existing.get(spec.name))
        if warns:
            reason = '; '.join(([result.reason] if result.reason else [])
                               + ['warning: ' + w for w in warns])
            result = dataclasses.replace(result, reason=reason)
        results.append(result)
    return results


def summary(results):
    return report.summary(
        results, ACTIONS,
        hint=' (run the same command again after fixing; finished flavors '
             'show as "exists")')

