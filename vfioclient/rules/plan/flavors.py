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
vGPU requests and their traits go, ``pci_passthrough:alias`` comes in.  A
private source flavor's project access is copied (``access_projects``).

A flavor whose servers have a guest NUMA topology gets a note: its VF is a
PCI request, which Nova fits to the server's NUMA cells under the request's
``numa_policy`` (``_filter_pools_for_numa_cells`` in ``nova/pci/stats.py``,
stable/2026.1), which mdev vGPUs (Placement resources) never were.
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


# The kinds of FlavorPlan notes, as their first word.
NUMA_NOTE = 'NUMA: '
ACCESS_NOTE = 'ACCESS: '

# What each NUMA policy means for a server with a guest NUMA topology
# (``_filter_pools_for_numa_cells``, nova/pci/stats.py, stable/2026.1).
NUMA_EFFECTS = {
    'legacy': ('only a VF on one of its NUMA nodes, or one that reports no '
               'NUMA node, is used: a resize or boot fails (NoValidHost) '
               'when the free VFs are all on another node, which never '
               'happened with mdev vGPUs; --alias-numa-policy preferred '
               'lets it use them, at a cross-NUMA cost'),
    'required': ('only a VF on one of its NUMA nodes is used (strict): a '
                 'resize or boot fails when the free VFs are all on another '
                 'node'),
    'preferred': ('a VF on its NUMA node is used when one is free, else '
                  'any VF: it always schedules, possibly with cross-NUMA '
                  'traffic'),
    'socket': ('a VF on the socket of its NUMA node is used (needs socket '
               'information for every host NUMA cell): a resize or boot '
               'fails when the free VFs are all on another socket'),
}


def numa_note(extra_specs, alias_numa_policy):
    """The note for a new flavor whose servers have a guest NUMA topology,
    or None."""
    reasons = nova_flavors.numa_topology_reasons(extra_specs)
    if not reasons:
        return None
    flavor_policy = nova_flavors.pci_numa_policy(extra_specs)
    policy = flavor_policy or alias_numa_policy or 'legacy'
    if flavor_policy:
        origin = 'the flavor\'s %s' % nova_flavors.PCI_NUMA_POLICY_KEY
    elif alias_numa_policy:
        origin = 'the alias (--alias-numa-policy)'
    else:
        origin = 'Nova\'s default for the alias'
    return (NUMA_NOTE + 'its servers have a guest NUMA topology (%s); with '
            'numa_policy %s (%s) %s' % (
                ', '.join(reasons), policy, origin,
                NUMA_EFFECTS.get(policy, 'Nova refuses an unknown policy')))


def _access(source):
    """``(projects, notes)`` the new flavor copies from a private source
    flavor."""
    if source is None or source.is_public:
        return (), ()
    if source.access_projects is None:
        return (), (ACCESS_NOTE + 'the source flavor %s is private but the '
                    'snapshot has no access list for it (taken by an older '
                    'vfioclient, or the flavor went away meanwhile): take '
                    'the snapshot again, or grant the projects of '
                    '"openstack flavor show %s -c access_project_ids" by '
                    'hand after "vfio flavor create"'
                    % (source.name, source.id),)
    return tuple(sorted(source.access_projects)), ()


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
        projects, notes = _access(source)
        note = numa_note(new_specs, options.alias_numa_policy)
        if note:
            notes += (note,)
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
            vf_type=vf_name, exists=name in flavors,
            access_projects=projects, notes=notes))
        for m in members:
            flavor_of[m.server.id] = plans[-1]
    plans.sort(key=lambda f: f.name)
    return tuple(plans), flavor_of
