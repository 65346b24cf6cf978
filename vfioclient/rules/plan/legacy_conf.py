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

"""Legacy vGPU types from nova.conf: ``vfio plan --nova-conf PATTERN=FILE``.

A GPU with only ``VGPU`` inventory, no class or trait naming a type and no
host report has no legacy type the snapshot can tell; the nova.conf its
nova-compute runs does.  ``[devices] enabled_mdev_types`` and the
``[mdev_<type>] device_addresses`` give the type of each mdev parent the
way the libvirt driver reads them (:func:`vfioclient.nova.mdev.
resolve_mdev_types`, after ``_get_supported_vgpu_types`` and
``_get_vgpu_type_per_pgpu`` in ``nova/virt/libvirt/driver.py``, Nova
31.0.0 / 2025.1): the first enabled type without ``device_addresses`` is
the type of every parent not listed, and one address under two types
stops nova-compute (``InvalidLibvirtMdevConfig``), so such a file is an
input error here.

The file must agree with the host: each legacy provider (one per mdev
parent, a VF on SR-IOV GPUs) must have the class the file gives its parent
(``mdev_class`` for listed addresses, ``VGPU`` for the default type:
:func:`vfioclient.nova.mdev.reported_class`), the file must give one type
to all parents of a GPU, and a host report's mdevs in use or a class or
trait that names a type must name the same one.  Otherwise the file is not
what that nova-compute runs and the GPU is refused with the reason.

Which file a host gets: ``PATTERN`` is an ``fnmatch`` glob matched, case
insensitively, against the compute node name, its service host and the
short name (before the first dot) of each.  A pattern without glob
characters names hosts exactly and wins over globs; two globs (or two exact
names) that give one host different files are an input error naming both.
"""

import collections
import dataclasses
import fnmatch

from vfioclient.nova import errors
from vfioclient.nova import mdev as nova_mdev
from vfioclient.nova import providers as nova_providers
from vfioclient.nvidia import vgpu_types

SOURCE = 'nova-conf'
_GLOB_CHARACTERS = frozenset('*?[')


@dataclasses.dataclass(frozen=True)
class NovaConf:
    """One ``--nova-conf PATTERN=FILE``, read and checked."""
    pattern: str
    file: str
    sha256: str
    enabled: tuple               # [devices] enabled_mdev_types as written
    layout: nova_mdev.MdevLayout
    listed: dict                 # address as written -> type (for hints)

    @property
    def exact(self):
        """The pattern names hosts, it is not a glob."""
        return not _GLOB_CHARACTERS & set(self.pattern)

    def label(self):
        return '--nova-conf %s=%s' % (self.pattern, self.file)


def _legacy_section(section):
    return section == 'devices' or section.startswith(('mdev_', 'vgpu_'))


def nova_conf(pattern, conf):
    """The :class:`NovaConf` of ``--nova-conf PATTERN=FILE`` from the
    :class:`vfioclient.model.conf.ConfSnapshot` of FILE.

    :raises ValueError: a ``[devices]`` or ``[mdev_*]`` value oslo.config
        refuses, or types nova-compute refuses (one address under two types,
        an address that is not one), naming the file and line.
    """
    path = conf.files[0]
    for error in conf.option_errors:
        if _legacy_section(error.source.section):
            raise ValueError(
                '--nova-conf %s=%s: %s = %r: %s (nova-compute refuses to '
                'start with it)' % (pattern, path, error.source.label(),
                                    error.value, error.message))
    groups = {g.mdev_type: g for g in conf.mdev_groups}
    # In the order Nova reads them, repeats included (a type enabled twice
    # with addresses lists them twice: nova-compute refuses that too).
    types = [nova_mdev.MdevType(name=t, device_addresses=g.device_addresses,
                                mdev_class=g.mdev_class,
                                max_instances=g.max_instances)
             for t in conf.enabled_mdev_types for g in (groups[t],)]
    try:
        layout = nova_mdev.resolve_mdev_types(types)
    except errors.InvalidMdevConfig as e:
        group = groups.get(e.mdev_type)
        where = (group.addresses_source or group.source).label() if group \
            else '%s [devices] enabled_mdev_types' % path
        others = [g.mdev_type for g in conf.mdev_groups
                  if e.address in g.device_addresses
                  and g.mdev_type != e.mdev_type]
        raise ValueError(
            '--nova-conf %s=%s: %s: %s%s (nova-compute refuses to start '
            'with it: %s)' % (
                pattern, path, where, e.reason,
                ' (also listed for %s)' % ', '.join(others) if others
                else '', e))
    listed = {a: g.mdev_type for g in conf.mdev_groups
              for a in g.device_addresses}
    return NovaConf(pattern=pattern, file=path,
                    sha256=conf.sha256[0] if conf.sha256 else '',
                    enabled=tuple(conf.enabled_mdev_types), layout=layout,
                    listed=listed)


def _host_names(snapshot):
    """``{compute node: names a pattern may match}`` (lower case)."""
    names = collections.defaultdict(set)
    for p in snapshot.providers:
        if p.is_root:
            names[p.name].add(p.name)
    for h in snapshot.hypervisors:
        names[h.hypervisor_hostname].update((h.hypervisor_hostname, h.host))
    out = {}
    for node, found in names.items():
        found = {n.lower() for n in found if n}
        out[node] = found | {n.split('.', 1)[0] for n in found}
    return out


def _matches(conf, names):
    pattern = conf.pattern.lower()
    return any(fnmatch.fnmatchcase(n, pattern) for n in names)


def by_host(confs, snapshot):
    """``({compute node: NovaConf}, [(nodes it matched, ...) per conf]``.

    An exact pattern wins over globs for the hosts it names.

    :raises ValueError: two patterns of one kind give one host different
        files.
    """
    if not confs:
        return {}, []
    chosen = {}
    matched = [[] for _c in confs]
    for node, names in sorted(_host_names(snapshot).items()):
        hits = []
        for i, c in enumerate(confs):
            if _matches(c, names):
                matched[i].append(node)
                hits.append(c)
        hits = [c for c in hits if c.exact] or hits
        other = next((c for c in hits if c.file != hits[0].file), None) \
            if hits else None
        if other is not None:
            raise ValueError(
                'host %s matches %s and %s: which nova.conf does it run? '
                'Make the patterns not overlap, or name the host exactly '
                '(--nova-conf %s=FILE wins over patterns)' % (
                    node, hits[0].label(), other.label(),
                    node.split('.', 1)[0]))
        if hits:
            chosen[node] = hits[0]
    return chosen, [tuple(nodes) for nodes in matched]


def _case_hint(conf, parent):
    written = [a for a in conf.listed if a.lower() == parent and a != parent]
    if not written:
        return ''
    return ('; it lists %s, but Nova compares device_addresses as written '
            'and libvirt names devices in lower case' % written[0])


def gpu_type(conf, host, legacy):
    """The legacy type number ``conf`` gives the GPU whose live legacy
    providers are ``legacy``, or a refusal reason (str)."""
    types = collections.defaultdict(list)
    for p in legacy:
        parsed = nova_providers.parse_provider_name(p.name, host)
        if parsed is None:
            continue
        parent = parsed.address
        mdev_type = conf.layout.type_for(parent)
        if mdev_type is None:
            return (
                '%s gives no mdev type to %s (enabled_mdev_types: %s; not '
                'in any device_addresses and no type without them%s), yet '
                'provider %s stands for it: the file is not what '
                'nova-compute on %s runs' % (
                    conf.label(), parent, ', '.join(conf.enabled) or
                    'none', _case_hint(conf, parent), p.name, host))
        rc = conf.layout.class_for(parent)
        if rc not in (p.inventories or {}):
            return (
                '%s gives %s type %s with resource class %s, but its '
                'provider %s has %s: the file is not what nova-compute on '
                '%s runs (or it changed without a restart)' % (
                    conf.label(), parent, mdev_type, rc, p.name,
                    '/'.join(sorted(p.inventories or {})) or 'no inventory',
                    host))
        types[mdev_type].append(parent)
    if not types:
        return None
    if len(types) > 1:
        return ('one PF would need two VF types: %s gives its mdev parents '
                '%s' % (conf.label(), '; '.join(
                    '%s to %s' % (t, ', '.join(sorted(a)))
                    for t, a in sorted(types.items()))))
    mdev_type = next(iter(types))
    number = vgpu_types.type_spec_number(mdev_type)
    if number is None or not mdev_type.lower().startswith('nvidia-'):
        return ('%s gives it mdev type %s, which is not an NVIDIA vGPU '
                'type (nvidia-<id>)' % (conf.label(), mdev_type))
    return number
