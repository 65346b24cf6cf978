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

"""The decisions a runbook states up front, beyond the type mappings and
capacity tables (pure text out): live migration, the new flavors' project
access and NUMA affinity, and the waves."""

from vfioclient.nova import releases
from vfioclient.render import markdown as md
from vfioclient.rules import plan as plan_rules
from vfioclient.rules.plan import flavors as plan_flavors


NVIDIA_LIVE_MIGRATION_DOC = ('https://docs.nvidia.com/vgpu/knowledge-base/'
                             'latest/vgpu-features.html')
RHEL_VGPU_LIVE_MIGRATION_DOC = (
    'https://docs.redhat.com/en/documentation/red_hat_enterprise_linux/10/'
    'html/configuring_and_managing_windows_virtual_machines/'
    'live-migrating-a-virtual-machine-with-an-attached-nvidia-vgpu')


def _target_release(plan):
    series = plan.inputs.options.get('nova_release')
    if series in releases.SERIES:
        return releases.get(series)
    return releases.DEFAULT


def live_migration_decision(plan):
    """The live-migration decision of a plan and what it requires, as
    Markdown lines (a ``###`` part of the runbook's decisions).

    Nova (2025.1 and later) stores an alias's ``live_migratable`` with each
    server's PCI request when the server is booted or resized
    (``InstancePCIRequest``) and refuses to live-migrate a server whose
    request does not say "yes" (``_check_can_migrate_pci`` in
    ``nova/conductor/tasks/live_migrate.py``): the choice is made when the
    servers are resized onto the new flavors.
    """
    libvirt = releases.format_version(releases.MIN_LIVE_MIGRATABLE_LIBVIRT)
    qemu = releases.format_version(releases.MIN_LIVE_MIGRATABLE_QEMU)
    release = _target_release(plan)
    if not plan.inputs.options.get('live_migratable'):
        return [
            '### Live migration: not chosen', '',
            'This plan was made without `--live-migratable`: its '
            '`device_spec` and `alias` lines do not carry '
            '`live_migratable`. Nova stores the alias with each server\'s '
            'PCI request when the server is resized onto a new flavor, and '
            'refuses to live-migrate a server whose request does not ask '
            'for live-migratable devices ("This request does not '
            'explicitly request live-migratable devices."). Cold migration '
            'and resize keep working.', '',
            '**Choosing later costs a second resize of every server**: '
            'the `device_spec` and `alias` lines change on every host and '
            'controller, and each server must then be resized again, to a '
            'flavor whose alias asks `"live_migratable": "yes"`, because '
            'Nova reads the alias only at boot and resize. To choose now, '
            'make the plan again with `openstack vfio plan '
            '--live-migratable` (it needs libvirt >= %s and QEMU >= %s on '
            'the converted hosts).' % (libvirt, qemu), '']
    out = [
        '### Live migration: chosen', '',
        'Every `device_spec` and `alias` line of this plan carries '
        '`"live_migratable": "yes"`. Nova stores it with each server\'s '
        'PCI request when the server is resized onto a new flavor, so '
        'these servers can be live-migrated between converted hosts '
        'later. Requirements, before the first converted host starts '
        'nova-compute again:', '',
        '- **libvirt >= %s and QEMU >= %s** on every converted host. '
        'With `live_migratable` in a `device_spec`, nova-compute refuses '
        'to start below them ("%s"). The plan refuses hosts whose host '
        'report shows older versions; check the others (a note in their '
        'phase says which), e.g. `virsh version`.'
        % (libvirt, qemu, releases.LIVE_MIGRATABLE_TOO_OLD),
        '- **`[libvirt] live_migration_permit_post_copy = False`** on '
        'every converted host (it is in each host\'s nova.conf lines): '
        'QEMU refuses post-copy migration with VFIO devices (Nova\'s '
        '`doc/source/admin/pci-passthrough.rst`, "Post-copy '
        'Limitation").',
        '- **The same `device_spec` lines on every host that takes these '
        'servers**: an alias asking `"live_migratable": "yes"` matches '
        'only devices whose `device_spec` says "yes" too; a host '
        'configured without it gets no server of these flavors '
        '(`openstack vfio config check` reports it as VFIO-C123).',
        '- **NVIDIA support**: vGPU live migration depends on the board, '
        'the vGPU software release and the hypervisor (%s), and fails '
        'when the vGPU host driver versions of source and destination '
        'differ (%s). Live-migrate one test server between two '
        'converted hosts before relying on it.'
        % (NVIDIA_LIVE_MIGRATION_DOC, RHEL_VGPU_LIVE_MIGRATION_DOC)]
    if release.at_least(releases.TRAITS_SINCE[
            releases.HW_PCI_LIVE_MIGRATABLE]):
        out.append('- %s also puts the trait `%s` on the PCI providers '
                   'of these VFs.' % (release,
                                      releases.HW_PCI_LIVE_MIGRATABLE))
    return out + ['']


def access_cell(flavor):
    """The "access" cell of the runbook's new-flavors table."""
    if flavor.is_public:
        return 'public'
    return 'private: %d project(s)' % len(flavor.access_projects)


def flavor_notes(plan):
    """Markdown lines on the new flavors' project access and NUMA affinity
    (empty when there is nothing to say): which private flavors get which
    projects, and which flavors' servers must find their VF on their NUMA
    node under the alias ``numa_policy``, with the trade-off."""
    return _access_lines(plan) + _numa_lines(plan)


def _access_lines(plan):
    private = [f for f in plan.flavors if not f.is_public]
    if not private:
        return []
    out = ['### Project access of private flavors', '',
           'A private flavor is created private, and `openstack vfio '
           'flavor create --from-plan` gives it the projects of its source '
           'flavor (only those it lacks: running it again adds nothing '
           'twice). Projects Nova no longer knows are reported, not '
           'granted.', '',
           md.table(('flavor', 'from', 'projects'),
                  [(f.name, f.source_flavor,
                    ', '.join(f.access_projects) or '-')
                   for f in private])]
    unknown = [n for f in private for n in f.notes
               if n.startswith(plan_flavors.ACCESS_NOTE)]
    out += ['> Warning: %s' % n for n in unknown]
    if unknown:
        out.append('')
    out += ['Check after creating them:', '',
            md.code('\n'.join(
                'openstack flavor show %s -c access_project_ids'
                % md.quote(f.name) for f in private), 'shell')]
    return out


def _numa_lines(plan):
    notes = [(f, n) for f in plan.flavors for n in f.notes
             if n.startswith(plan_flavors.NUMA_NOTE)]
    if not notes:
        return []
    policy = next((a.numa_policy for a in plan.aliases if a.numa_policy),
                  None)
    return [
        '### NUMA affinity of the VFs', '',
        'A VF is a PCI device: for a server with a guest NUMA topology '
        '(`hw:numa_nodes`, pinned CPUs, hugepages, or the same from its '
        'image) Nova picks it by NUMA node under the alias `numa_policy` '
        '(or the flavor\'s `hw:pci_numa_affinity_policy`), which mdev '
        'vGPUs never required. `legacy` (Nova\'s default) and `required` '
        'use only VFs of the server\'s NUMA node (legacy also those that '
        'report none), so a resize fails with NoValidHost when the free '
        'VFs are on the other node; `preferred` falls back to any VF, '
        'with cross-NUMA traffic; `socket` accepts the same socket. The '
        'alias lines of this plan set %s.' % (
            '`numa_policy = %s`' % policy if policy else
            'no `numa_policy` (Nova\'s default, legacy; `openstack vfio '
            'plan --alias-numa-policy preferred` changes it)'), '',
        md.table(('flavor', 'from', 'servers to move', 'note'),
               [(f.name, f.source_flavor, f.servers_to_move,
                 n[len(plan_flavors.NUMA_NOTE):]) for f, n in notes])]


GROUP_BY_TEXT = {
    'kind': 'one kind of host (same GPUs, VF type and count per GPU, '
            'also for hosts whose GPUs mix types: one boot script and one '
            'set of nova.conf lines per wave)',
    'aggregate': 'one set of Placement aggregates (Nova host aggregates)',
    'az': 'one availability zone',
}


def _wave_size_text(plan):
    given = plan.inputs.options.get('wave_size')
    if given:
        return 'at most %d hosts (`--wave-size %d`)' % (given, given)
    return ('at most %d hosts (the default for %d hosts: %d %% of them, '
            'at least 1, at most %d)' % (
                plan_rules.default_wave_size(len(plan.hosts)),
                len(plan.hosts), 100 // plan_rules.DEFAULT_WAVE_SHARE,
                plan_rules.DEFAULT_WAVE_MAX))


def _free_change(wave, rc, key):
    before = wave.capacity_before.get(rc, {}).get(key)
    after = wave.capacity_after.get(rc, {}).get(key)
    return '%s -> %s' % (before, after)


def waves_section(plan):
    """The waves of a plan as Markdown lines (a ``###`` part of the
    runbook's decisions): one row per wave with its hosts, the servers to
    move off them and the free capacity per class before and after it.
    Empty for a plan without waves (made before they existed, or with
    nothing to convert)."""
    if not plan.waves:
        return []
    group_by = plan.inputs.options.get('group_by', 'none')
    classes = sorted({rc for w in plan.waves
                      for rc in (*w.capacity_before, *w.capacity_after)})
    grouped = group_by in GROUP_BY_TEXT
    out = ['### Waves', '',
           'The plan converts %d host(s) in %d wave(s) of %s%s. A wave\'s '
           'hosts are drained and converted together: each server on them '
           'is resized onto a free VF of a host converted before the wave, '
           'or cold-migrated to a legacy host outside the wave (it moves '
           'again later), so a wave needs no capacity of its own. The '
           'simulation closes a wave early when one more host\'s servers '
           'would not fit outside it (see "note").' % (
               sum(len(w.hosts) for w in plan.waves), len(plan.waves),
               _wave_size_text(plan),
               ', each of %s' % GROUP_BY_TEXT[group_by] if grouped else ''),
           '',
           'Free capacity per resource class, before -> after each wave: '
           '"VFs" are free VFs on converted hosts (where servers are '
           'resized to), "legacy" free legacy vGPUs on hosts not converted '
           'yet (where servers are migrated to).', '']
    headers = ['wave'] + (['group'] if grouped else []) + [
        'hosts', 'servers to move']
    for rc in classes:
        headers += ['%s VFs' % rc, '%s legacy' % rc]
    headers.append('note')
    rows = []
    for w in plan.waves:
        row = [w.number] + ([w.group] if grouped else []) + [
            ', '.join(w.hosts), w.servers_to_move]
        for rc in classes:
            row += [_free_change(w, rc, 'vfs'), _free_change(w, rc,
                                                            'legacy')]
        row.append(w.note)
        rows.append(row)
    out.append(md.table(headers, rows))
    left = sorted(h.host for h in plan.hosts if h.order is None)
    if left:
        out += ['%d host(s) are in no wave, they cannot be drained: %s '
                '(see the refusals).' % (len(left), ', '.join(left)), '']
    return out
