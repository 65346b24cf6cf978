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

"""A fleet's runbook and its artifacts (``vfio plan --artifacts DIR``).

The plain runbook (:mod:`.runbook`) prints each host's boot script, unit
and nova.conf lines in its own phase: about 475 lines per host.  Here the
texts that many hosts share are files, written once:

* ``vfio-vgpu-setup-<digest>.sh`` and ``vfio-vgpu-setup-<digest>.service``:
  one per distinct boot script and unit text.  The script embeds the exact
  VFs of each GPU (the ones its ``device_spec`` lines match), so hosts
  share one when their GPUs sit at the same PCI addresses with the same
  VF type each (the same layout of types on GPUs: a host's GPUs may have
  different types), which is the case for identical servers;
* ``nova-compute-<digest>.conf``: one per distinct nova.conf snippet;
* ``drain-phase-<NNN>.sh``: the resize and migrate commands of a phase;
* ``hosts.csv`` / ``hosts.json``: per host its wave, order, kind, files
  and their sha256, servers to move, each GPU's VF type; ``servers.csv``:
  every server;
* ``SHA256SUMS``: every file above, for ``sha256sum -c``.

``<digest>`` is the first 12 hex digits of the file's sha256, so names
are stable across runs.  The runbook has one phase per wave and host kind,
with a host table, the commands written once and each file referenced by
path and sha256.  Deterministic: same plan, same bytes.
"""

import collections
import csv
import dataclasses
import hashlib
import io

from vfioclient.model import jsontext
from vfioclient.render import bootscript
from vfioclient.render import markdown as md
from vfioclient.render import novaconf
from vfioclient.render import runbook

DIGEST_LENGTH = 12
SCRIPT_MODE = 0o755
DOCUMENT_MODE = 0o644
CHECKSUMS = 'SHA256SUMS'
HOST_COLUMNS = ('host', 'wave', 'order', 'kind', 'boot_script',
                'boot_script_sha256', 'unit', 'unit_sha256', 'nova_conf',
                'nova_conf_sha256', 'drain_script', 'servers_to_move',
                'gpu_types')
SERVER_COLUMNS = ('server', 'id', 'host', 'from_flavor', 'to_flavor',
                  'status', 'note')
# Sections of the plain runbook's decisions that list every host: their
# facts are in hosts.csv here.
_PER_HOST_SECTIONS = ('### Capacity by host', '### Conversion order')


@dataclasses.dataclass(frozen=True)
class Artifact:
    name: str
    text: str
    mode: int

    @property
    def sha256(self):
        return hashlib.sha256(self.text.encode('utf-8')).hexdigest()


@dataclasses.dataclass(frozen=True)
class HostFiles:
    """The artifacts one host installs."""
    boot_script: Artifact
    unit: Artifact
    nova_conf: Artifact


@dataclasses.dataclass(frozen=True)
class Phase:
    """Hosts of one kind converted together (one wave, or one host of a
    plan without waves)."""
    number: int                  # runbook phase number
    wave: int | None
    kind: str
    hosts: tuple                 # HostPlans, in plan order
    drain_script: Artifact


@dataclasses.dataclass(frozen=True)
class Bundle:
    files: dict                  # name: Artifact, every file to write
    hosts: dict                  # host name: HostFiles
    phases: tuple


def _digest_name(prefix, text, suffix, mode, files):
    digest = hashlib.sha256(text.encode('utf-8')).hexdigest()
    name = '%s-%s%s' % (prefix, digest[:DIGEST_LENGTH], suffix)
    known = files.get(name)
    if known is not None:
        if known.text != text:
            raise ValueError('two artifacts share the name %s' % name)
        # the hosts of a kind share one text, not a copy each (a
        # 10,000-host plan kept 160 MB of copies of one boot script)
        return known
    files[name] = Artifact(name, text, mode)
    return files[name]


def _ordered(plan):
    return sorted(plan.hosts, key=lambda h: (h.order is None, h.order or 0,
                                             h.host))


def _phase_groups(plan):
    """``[(wave number or None, kind, [HostPlan])]`` in conversion order;
    blocked hosts are in none."""
    by_name = {h.host: h for h in plan.hosts}
    if plan.waves:
        waves = [(w.number, [by_name[h] for h in w.hosts])
                 for w in plan.waves]
    else:
        waves = [(None, [h]) for h in _ordered(plan) if h.order is not None]
    groups = []
    for number, hosts in waves:
        kinds = collections.OrderedDict()
        for host in hosts:
            kinds.setdefault(host.kind, []).append(host)
        groups += [(number, kind, members)
                   for kind, members in kinds.items()]
    return groups


def _drain_script(number, hosts):
    lines = ['#!/bin/sh',
             '# Phase %d of the vGPU migration runbook: move the servers off'
             % number,
             '# its hosts (generated by "openstack vfio plan --artifacts").',
             'set -e']
    for host in hosts:
        lines.append('# %s: %d server(s)' % (md.comment(host.host),
                                              len(host.drain)))
        lines += runbook._drain_commands(host)
    return '\n'.join(lines) + '\n'


def _csv(columns, rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue()


def build(plan, first_phase=2):
    """The :class:`Bundle` of a plan; phases are numbered from
    ``first_phase`` (after the runbook's pre-checks and Phase 1)."""
    files = {}
    hosts = {}
    # hosts of a kind have equal boot setups and nova.conf settings: each
    # is rendered once, not once per host
    setups, confs = {}, {}
    for host in _ordered(plan):
        setup = host.boot_setup
        if setup not in setups:
            setups[setup] = (
                _digest_name(bootscript.SCRIPT_NAME,
                             bootscript.render_boot_setup(setup), '.sh',
                             SCRIPT_MODE, files),
                _digest_name(bootscript.SCRIPT_NAME,
                             bootscript.render_boot_unit(setup),
                             '.service', DOCUMENT_MODE, files))
        if host.conf_set not in confs:
            confs[host.conf_set] = _digest_name(
                'nova-compute', novaconf.host_snippet(host), '.conf',
                DOCUMENT_MODE, files)
        boot_script, unit = setups[setup]
        hosts[host.host] = HostFiles(boot_script=boot_script, unit=unit,
                                     nova_conf=confs[host.conf_set])
    phases = []
    for number, (wave, kind, members) in enumerate(_phase_groups(plan),
                                                   first_phase):
        name = 'drain-phase-%03d.sh' % number
        files[name] = Artifact(name, _drain_script(number, members),
                               SCRIPT_MODE)
        phases.append(Phase(number, wave, kind, tuple(members),
                            files[name]))
    records = _host_records(plan, hosts, phases)
    files['hosts.csv'] = Artifact('hosts.csv', _csv(
        HOST_COLUMNS, [[r[c] for c in HOST_COLUMNS] for r in records]),
        DOCUMENT_MODE)
    files['hosts.json'] = Artifact(
        'hosts.json', jsontext.dumps(records) + '\n', DOCUMENT_MODE)
    files['servers.csv'] = Artifact('servers.csv', _csv(
        SERVER_COLUMNS, [(s.name, s.id, s.host, s.from_flavor, s.to_flavor,
                          s.status, s.reason) for s in plan.servers]),
        DOCUMENT_MODE)
    files[CHECKSUMS] = Artifact(CHECKSUMS, ''.join(
        '%s  %s\n' % (files[n].sha256, n) for n in sorted(files)),
        DOCUMENT_MODE)
    return Bundle(dict(sorted(files.items())), hosts, tuple(phases))


def _host_records(plan, hosts, phases):
    phase_of = {h.host: p for p in phases for h in p.hosts}
    records = []
    for host in _ordered(plan):
        files = hosts[host.host]
        phase = phase_of.get(host.host)
        records.append({
            'host': host.host,
            'wave': phase.wave if phase else None,
            'order': host.order,
            'kind': host.kind,
            'boot_script': files.boot_script.name,
            'boot_script_sha256': files.boot_script.sha256,
            'unit': files.unit.name,
            'unit_sha256': files.unit.sha256,
            'nova_conf': files.nova_conf.name,
            'nova_conf_sha256': files.nova_conf.sha256,
            'drain_script': phase.drain_script.name if phase else None,
            'servers_to_move': len(host.drain),
            'gpu_types': runbook.gpu_types_text(host),
        })
    return records


def _path(directory, name):
    """A file of the bundle as a shell word (a placeholder stays as it
    is)."""
    return '%s/%s' % (md.quote(directory.rstrip('/') or '.'), name)


def _check_line(directory, artifact):
    """The shell line that checks one file against its sha256."""
    return 'echo %s | sha256sum -c' % md.quote('%s  %s/%s' % (
        artifact.sha256, directory.rstrip('/') or '.', artifact.name))


def _header(plan, plan_file, directory):
    out = ['# vGPU migration runbook: legacy mdev to SR-IOV VFs', '',
           'Generated by `openstack vfio plan --artifacts` from:', '']
    snap = plan.inputs.snapshot
    if snap:
        out.append('- cloud snapshot collected at %s (sha256 `%s`)'
                   % (snap.collected_at, snap.sha256))
    out.append('- %d host report(s) (each one\'s sha256 is in the plan '
               'file\'s `inputs`)' % len(plan.inputs.host_reports))
    out += runbook.nova_conf_inputs(plan)
    opts = plan.inputs.options
    out += ['- options: %s' % ', '.join(
        '%s=%s' % (k, v) for k, v in sorted(opts.items()) if v), '',
        'Plan file: `%s`. Artifacts: `%s` (boot scripts, units, nova.conf '
        'snippets and drain scripts, each written once; `hosts.csv` and '
        '`hosts.json` say which host uses which, `servers.csv` lists the '
        'servers). Check them all with `(cd %s && sha256sum -c %s)`. Every '
        'phase ends with a verification; stop and roll back that phase if '
        'it fails.' % (plan_file, directory, md.quote(directory),
                       CHECKSUMS), '']
    return out


def _summary(plan):
    """The plain runbook's decisions without its per-host tables."""
    out, skipping = [], False
    for line in runbook._summary(plan):
        if line.startswith('### '):
            skipping = line in _PER_HOST_SECTIONS
        if not skipping:
            out.append(line)
    return out


def _one_or_placeholder(artifacts, placeholder):
    names = sorted({a.name for a in artifacts})
    return names[0] if len(names) == 1 else placeholder


def _mdev_cell(host):
    if host.mdev_definitions is None:
        return 'not reported'
    return len(host.mdev_definitions)


def _host_table(bundle, phase):
    rows = []
    for host in phase.hosts:
        files = bundle.hosts[host.host]
        rows.append((host.host, host.order, len(host.drain),
                     sum(g.vf_count for g in host.gpus),
                     _mdev_cell(host), files.boot_script.name,
                     files.unit.name, files.nova_conf.name))
    return md.table(('host', 'order', 'servers to move', 'VFs',
                     'persisted mdevs', 'boot script', 'unit', 'nova.conf'),
                    rows)


def _layouts(bundle, phase):
    """Which GPU gets which VF type, once per boot script (a layout of
    types on GPU addresses), when the phase's hosts mix types."""
    if all(len({g.vf_type_name for g in h.gpus}) < 2 for h in phase.hosts):
        return []
    layouts = collections.OrderedDict()
    for host in phase.hosts:
        key = (runbook.gpu_types_text(host),
               bundle.hosts[host.host].boot_script.name)
        layouts[key] = layouts.get(key, 0) + 1
    return ['Their GPUs get different VF types (one per GPU: Nova takes '
            'one resource class per physical GPU); the boot script of each '
            'layout sets each GPU\'s:', '',
            md.table(('GPU: VF type (VFs)', 'hosts', 'boot script'),
                     [(text, n, script)
                      for (text, script), n in layouts.items()])]


def _notes(phase):
    by_text = collections.OrderedDict()
    for host in phase.hosts:
        for note in host.notes:
            by_text.setdefault(note, []).append(host.host)
    every = len(phase.hosts)
    out = ['> Note (%s): %s' % (
        'every host' if len(hosts) == every > 1 else ', '.join(hosts), note)
        for note, hosts in by_text.items()]
    return out + [''] if out else []


def _mdevs_step():
    return [
        '4. Undefine Nova\'s persisted mdevs: Nova (30.0.0 and later) '
        'defines every mdev it creates, and nova-compute starts every '
        'defined mdev that is not running when it starts; after the switch '
        'their parents offer no mdev type and nova-compute would fail to '
        'start (VFIO-A119). As root on each host, with nova-compute stopped '
        'and no server left (column "persisted mdevs": how many its host '
        'report lists), with the script made from that host\'s report (it '
        'skips what is already undefined and names any definition made '
        'after the report; without a report it reads `/etc/mdevctl.d`). '
        'Rollback: nothing to undo; Nova defines a new mdev whenever it '
        'creates one.',
        '',
        md.code('openstack vfio host script --undefine-mdevs --host-report '
                '<host>.json --output vfio-undefine-mdevs\n'
                'sh vfio-undefine-mdevs --dry-run\n'
                'sh vfio-undefine-mdevs\n'
                'mdevctl list --defined   # must print nothing', 'shell')]


def _switch_step(directory, phase, files):
    script = _one_or_placeholder([f.boot_script for f in files],
                                 '<boot script>')
    unit = _one_or_placeholder([f.unit for f in files], '<unit>')
    return [
        '5. On each host: switch to the NVIDIA variant driver (vGPU 17+ '
        'host driver), install the boot script and unit of its row, and '
        'reboot (then the VFs carry their type and nova-compute is still '
        'stopped):', '',
        md.code('\n'.join([
            'install -m 0700 %s %s' % (_path(directory, script),
                                       bootscript.DEFAULT_SCRIPT_PATH),
            'install -m 0644 %s %s' % (_path(directory, unit),
                                       bootscript.DEFAULT_UNIT_PATH),
            'systemctl daemon-reload',
            'systemctl enable vfio-vgpu-setup.service',
            'reboot']), 'shell')]


def _nova_conf_step(directory, phase, files):
    removals = collections.OrderedDict()
    for host in phase.hosts:
        removals.setdefault(runbook._conf_lines(host.conf_remove),
                            []).append(host.host)
    out = ['6. In nova.conf remove the legacy vGPU lines:', '']
    for text, hosts in removals.items():
        if len(removals) > 1:
            out += ['   On %s:' % ', '.join(hosts), '']
        out.append(md.code(text))
    conf = _one_or_placeholder([f.nova_conf for f in files], '<nova.conf>')
    out += ['   and add the lines of the nova.conf file of its row, `%s` '
            '(merge them into the sections it names).'
            % _path(directory, conf), '']
    return out


def _phase(bundle, phase, plan_file, directory):
    files = [bundle.hosts[h.host] for h in phase.hosts]
    names = ' '.join(h.host for h in phase.hosts)
    used = sorted({a.name: a for f in files
                   for a in (f.boot_script, f.unit, f.nova_conf)}.items())
    checks = [_check_line(directory, a) for _name, a in used]
    checks.append(_check_line(directory, phase.drain_script))
    title = '## Phase %d: convert %s%s (%d host%s)' % (
        phase.number, 'wave %d, ' % phase.wave if phase.wave else '',
        phase.kind, len(phase.hosts), '' if len(phase.hosts) == 1 else 's')
    plan_arg = md.quote(plan_file)
    out = [title, '', 'Hosts (the same rows are in `%s/hosts.csv`):'
           % directory, '', _host_table(bundle, phase)]
    out += _layouts(bundle, phase)
    out += _notes(phase)
    out += ['The cloud-side commands loop over the hosts; the host-side '
            'ones run on each host, with `<host>` its name. Check the files '
            'first (and again on each host after copying them there):', '',
            md.code('HOSTS=%s\n%s' % (md.quote(names), '\n'.join(checks)),
                    'shell'),
            '1. Stop new servers landing here: `for host in $HOSTS; do '
            'openstack compute service set --disable --disable-reason '
            '"vfio migration" "$host" nova-compute; done`', '',
            '2. Move its servers off (%d in this phase; each host\'s in the '
            'table, each server in `servers.csv`): `sh %s`. Check that '
            'nothing is left: `openstack server list --all-projects --host '
            '<host>` must be empty for every host.' % (
                sum(len(h.drain) for h in phase.hosts),
                _path(directory, phase.drain_script.name)), '',
            '3. On each host stop nova-compute **and keep it from starting '
            'on its own** until step 8 (a nova-compute that starts early '
            'with the old nova.conf or the legacy providers still in '
            'Placement hands out vGPUs that no longer exist): `systemctl '
            'stop nova-compute && systemctl mask nova-compute`; '
            'containerised computes: stop the container and turn off its '
            'restart policy (kolla-ansible: `docker stop nova_compute && '
            'docker update --restart=no nova_compute`; restore it in step '
            '8).', '']
    out += _mdevs_step()
    out += _switch_step(directory, phase, files)
    out += _nova_conf_step(directory, phase, files)
    out += ['7. Remove the legacy vGPU providers of these hosts from '
            'Placement (Nova does not, and they stay schedulable: audit '
            'VFIO-A118), while nova-compute is stopped: `openstack vfio '
            'provider cleanup --host <host> --from-plan %s` for each host, '
            'first with `--dry-run`:' % plan_arg, '',
            md.code('for host in $HOSTS; do openstack vfio provider cleanup '
                    '--host "$host" --from-plan %s --dry-run; done\n'
                    'for host in $HOSTS; do openstack vfio provider cleanup '
                    '--host "$host" --from-plan %s; done'
                    % (plan_arg, plan_arg), 'shell'),
            '8. Start nova-compute on each host: `systemctl unmask '
            'nova-compute && systemctl start nova-compute`.', '',
            '9. Verify before the hosts take servers again:', '',
            md.code('# on each host:\n'
                    'openstack vfio host report -f json > <host>.json\n'
                    'openstack vfio config check --host-report <host>.json '
                    '--fail-on warning /etc/nova/nova.conf\n'
                    '# then:\n'
                    'for host in $HOSTS; do openstack vfio provider cleanup '
                    '--host "$host" --dry-run; done\n'
                    'openstack vfio audit --fail-on error\n'
                    'openstack vfio verify --from-plan %s --summary'
                    % plan_arg, 'shell'),
            '   Expected: each host has the VFs of its row in Placement; no '
            'legacy provider left (the dry-run cleanup finds nothing) and no '
            'error in the audit.', '',
            '10. Enable the services again: `for host in $HOSTS; do '
            'openstack compute service set --enable "$host" nova-compute; '
            'done`', '',
            'Rollback of a host (before step 10): as in the single-host '
            'runbook (`openstack vfio plan --runbook` without --artifacts): '
            'keep its service disabled, stop and mask nova-compute, '
            '`systemctl disable vfio-vgpu-setup.service`, restore '
            '`/etc/nova/nova.conf.pre-vfio`, boot the old kernel and host '
            'driver and start nova-compute; delete its PCI providers first '
            'if it reported them (`[pci] report_in_placement` cannot be '
            'turned off again while they exist).', '']
    return out


def _blocked(plan):
    blocked = [h for h in _ordered(plan) if h.order is None]
    if not blocked:
        return []
    return ['## Blocked hosts', '',
            'Not converted by this plan (see "Not in this plan"):', '',
            md.table(('host', 'kind'), [(h.host, h.kind) for h in blocked])]


def render(plan, bundle, directory, plan_file='plan.json'):
    """The fleet runbook as one Markdown string (ends with a newline);
    ``directory``: where the operator finds the bundle's files."""
    out = _header(plan, plan_file, directory)
    out += _summary(plan)
    out += runbook._provider_trees(plan)
    out += runbook._precheck(plan, plan_file)
    out += runbook._phase_prepare(plan, plan_file)
    for phase in bundle.phases:
        out += _phase(bundle, phase, plan_file, directory)
    out += _blocked(plan)
    number = (bundle.phases[-1].number + 1 if bundle.phases else 2)
    out += runbook._phase_final(number, plan, plan_file)
    out += ['## Servers', '',
            'Every server and where it goes: `%s/servers.csv`.'
            % directory, '']
    out += runbook._cleanup()
    return '\n'.join(out).rstrip('\n') + '\n'
