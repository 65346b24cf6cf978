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

"""New flavors: one per (legacy flavor, VF type) the moving servers use.

Each copies its source flavor and translates its extra specs: the legacy
vGPU requests and their traits go, ``pci_passthrough:alias`` comes in.
"""

import collections

from vfioclient.model import plan as model
from vfioclient.nova import extra_specs as nova_extra_specs
from vfioclient.nova import flavors as nova_flavors
from vfioclient.rules.plan import options as plan_options


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
    remaining_groups = {m.group(1) or '' for m in
                        map(nova_flavors.RESOURCES_KEY_RE.match, specs) if m}
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


def _groups(moves):
    """``{(legacy flavor, VF type): [Move, ...]}`` in a stable order."""
    groups = collections.OrderedDict()
    for m in sorted(moves, key=lambda m: (
            m.server.flavor_name, m.gpu_plan.vf_type_name, m.server.name,
            m.server.id)):
        groups.setdefault((m.server.flavor_name, m.gpu_plan.vf_type_name),
                          []).append(m)
    return groups


def flavor_plans(moves, flavors, options, alias_of, rc_of, estate):
    """``(FlavorPlans sorted by name, {server id: its new FlavorPlan})``.

    :raises TemplateError: the flavor name template gives one name to two
        new flavors.
    """
    legacy_traits = {t for p in estate.legacy_providers
                     for t in (p.traits or ()) if t.startswith('CUSTOM_')}
    plans = []
    flavor_of = {}
    names = {}
    for (fname, vf_name), members in _groups(moves).items():
        server, gp = members[0].server, members[0].gpu_plan
        source = flavors.get(fname)
        specs = source.extra_specs if source else server.flavor_extra_specs
        count = nova_flavors.legacy_vgpu_count(specs, estate.mdev_classes)
        count = count or 1
        alias = alias_of[vf_name]
        name = plan_options.render_flavor_name(
            options.flavor_name_template, fname, vf_name, gp.vf_type_id,
            alias, count)
        if name in names:
            raise plan_options.TemplateError(
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
            servers_to_move=len({m.server.id for m in members}),
            vf_type=vf_name, exists=name in flavors))
        for m in members:
            flavor_of[m.server.id] = plans[-1]
    plans.sort(key=lambda f: f.name)
    return tuple(plans), flavor_of
