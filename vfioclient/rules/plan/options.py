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

"""The operator's choices for a plan and the names they produce.

:class:`Options` holds ``--map``, the naming templates and the alias NUMA
policy of ``openstack vfio plan``; the ``render_*`` functions turn a
template and a VF type into the resource class, ``[pci] alias`` name and
flavor name, refusing (with :class:`TemplateError`) any name Nova or
Placement would reject.
"""

import dataclasses
import re
import string

from vfioclient.nvidia import vgpu_types
from vfioclient.nova import alias as nova_alias
from vfioclient.nova import names as nova_names
from vfioclient.nova import releases
from vfioclient.nvidia import profiles

DEFAULT_RESOURCE_CLASS_TEMPLATE = 'CUSTOM_{profile}'
DEFAULT_ALIAS_TEMPLATE = '{profile}'
DEFAULT_FLAVOR_NAME_TEMPLATE = '{flavor}.vf'
TYPE_PLACEHOLDERS = ('profile', 'short', 'board', 'type_id')
FLAVOR_PLACEHOLDERS = TYPE_PLACEHOLDERS + ('flavor', 'alias', 'count')
# --group-by: a wave holds hosts of one group (vfioclient.rules.plan.waves)
GROUP_BY = ('none', 'kind', 'aggregate', 'az')
DEFAULT_GROUP_BY = 'kind'
ALIAS_NAME_MAX = 256
FLAVOR_NAME_MAX = 255


class TemplateError(ValueError):
    """A name template is unusable (unknown placeholder, bad result)."""


@dataclasses.dataclass(frozen=True)
class Options:
    maps: tuple = ()             # ((old, new), ...)
    resource_class_template: str = DEFAULT_RESOURCE_CLASS_TEMPLATE
    alias_template: str = DEFAULT_ALIAS_TEMPLATE
    flavor_name_template: str = DEFAULT_FLAVOR_NAME_TEMPLATE
    hosts: tuple = ()            # empty: every host
    # "live_migratable": "yes" on every device_spec and alias line
    live_migratable: bool = False
    nova_release: releases.NovaRelease = releases.DEFAULT
    # ``numa_policy`` of the alias lines; None: Nova's default (legacy).
    alias_numa_policy: str = None
    # at most this many hosts per wave; None: the default for the estate
    # (vfioclient.rules.plan.waves.default_wave_size)
    wave_size: int | None = None
    group_by: str = DEFAULT_GROUP_BY     # one of GROUP_BY

    def to_json(self):
        return {'maps': ['%s=%s' % m for m in self.maps],
                'resource_class_template': self.resource_class_template,
                'alias_template': self.alias_template,
                'flavor_name_template': self.flavor_name_template,
                'hosts': list(self.hosts),
                'live_migratable': self.live_migratable,
                'nova_release': self.nova_release.series,
                'alias_numa_policy': self.alias_numa_policy,
                'wave_size': self.wave_size, 'group_by': self.group_by}


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


def rc_part(value):
    """A value as a resource class fragment (``A40-2Q`` -> ``A40_2Q``)."""
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
    values = {k: rc_part(v) for k, v in
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
    """Validate the templates once with a sample type (early errors), and
    the alias NUMA policy."""
    if options.alias_numa_policy not in (None,) + nova_alias.NUMA_POLICIES:
        raise ValueError('--alias-numa-policy must be one of %s, got %r'
                         % (', '.join(nova_alias.NUMA_POLICIES),
                            options.alias_numa_policy))
    render_resource_class(options.resource_class_template,
                          'NVIDIA A40-2Q', 558)
    alias = render_alias(options.alias_template, 'NVIDIA A40-2Q', 558)
    render_flavor_name(options.flavor_name_template, 'vgpu.sample',
                       'NVIDIA A40-2Q', 558, alias, 1)


def names_per_type(vf_types, options):
    """``({vf type name: resource class}, {vf type name: alias})``.

    One name per type, and no name shared by two types.

    :raises TemplateError: a template gives one name to two types.
    """
    rc_of, alias_of = {}, {}
    for vf in vf_types:
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
    return rc_of, alias_of
