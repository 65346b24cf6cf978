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

"""``openstack vfio plan``: the upgrade path as a plan file and a runbook."""

import argparse
import os

from cliff.formatters import base as cliff_formatters
from osc_lib import exceptions
import tabulate

from vfioclient import fileio
from vfioclient.collect import conf as conf_reader
from vfioclient.model import conf as conf_model
from vfioclient.nova import alias as nova_alias
from vfioclient.render import fleet
from vfioclient.render import runbook
from vfioclient.rules import plan as plan_rules
from vfioclient.v1 import base

SUMMARY_COLUMNS = ('step', 'host', 'wave', 'kind', 'vf_types', 'vfs',
                   'servers_to_move', 'status')


class MarkdownFormatter(cliff_formatters.ListFormatter):
    """``-f markdown``: a GitHub-flavoured Markdown table of rows.

    Registered only in :attr:`Plan.formatter_namespace` (see pyproject's
    entry points), so other commands do not get it.  ``vfio plan`` prints
    its runbook with ``-f markdown`` (see :attr:`Plan.document_formats`).
    """

    def add_argument_group(self, parser):
        pass

    def emit_list(self, column_names, data, stdout, parsed_args):
        stdout.write(tabulate.tabulate(
            [[str(c) for c in row] for row in data], headers=column_names,
            tablefmt='github', disable_numparse=True) + '\n')


# The naming templates: option, what it names, default, placeholders.
TEMPLATE_OPTIONS = (
    ('--resource-class-template', 'Resource class per VF type',
     plan_rules.DEFAULT_RESOURCE_CLASS_TEMPLATE, plan_rules.TYPE_PLACEHOLDERS),
    ('--alias-template', '[pci] alias name per VF type',
     plan_rules.DEFAULT_ALIAS_TEMPLATE, plan_rules.TYPE_PLACEHOLDERS),
    ('--flavor-name-template', 'Name of each new flavor',
     plan_rules.DEFAULT_FLAVOR_NAME_TEMPLATE, plan_rules.FLAVOR_PLACEHOLDERS),
)


class Plan(base.DocumentLister):
    """Plan the move from legacy mdev vGPUs to variant-driver VFs.

    Reads the estate (live, or --from-snapshot) and host reports, and
    decides per GPU the VF vGPU type, resource class, alias, nova.conf
    lines, boot script, new flavors, capacity and the waves in which hosts
    can be drained and converted. Documents: -f json prints the versioned
    plan document the apply commands read (--from-plan); -f markdown prints
    the operator runbook. Rows: -f table, csv, value and yaml print one row
    per host (-c and --sort-column apply to rows only).
    """

    auth_required = False  # --from-snapshot works offline
    # cliff's list formatters plus markdown, declared in pyproject.toml:
    # cliff loads a command's -f choices from its formatter namespace.
    formatter_namespace = 'vfioclient.formatter.plan'
    document_formats = ('json', 'markdown')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        base.add_snapshot_arguments(parser)
        parser.add_argument(
            '--map', metavar='<old_type=new_type>', action='append',
            default=[],
            help='Use <new_type> (id, nvidia-NNN or profile name) as the VF '
                 'type for legacy type <old_type> (nvidia-NNN or profile '
                 'name); <old_type> may also be a legacy resource class '
                 '(VGPU or a custom mdev class) for GPUs whose type is '
                 'not known otherwise (repeat option for several types).')
        parser.add_argument(
            '--nova-conf', metavar='<pattern=file>', action='append',
            default=[],
            help='The nova.conf of the compute hosts matching <pattern>, a '
                 'shell-style glob (fnmatch: "a40-*", "*.rack1.example"; '
                 'case-insensitive, against the compute node name, the '
                 'service host and their short names). Its [devices] '
                 'enabled_mdev_types and [mdev_<type>] device_addresses '
                 'give the legacy vGPU type of GPUs on which no host report '
                 'shows mdevs in use, so hosts without a report or vGPU in '
                 'use can be planned. Sources, first that knows wins: the '
                 'host report\'s mdevs in use, this file, classes or traits '
                 'naming a type, --map of the legacy class; a file that '
                 'names another type than the report or the classes and '
                 'traits, or gives a GPU another class than it has in '
                 'Placement, refuses the GPU. A pattern with no glob '
                 'character names hosts exactly and wins over globs; two '
                 'globs that give a '
                 'host different files are an error (repeat option for '
                 'several patterns).')
        for flag, what, default, placeholders in TEMPLATE_OPTIONS:
            parser.add_argument(
                flag, metavar='<template>', default=default,
                help='%s (default %s). Placeholders: %s.'
                     % (what, default, _placeholders(placeholders)))
        parser.add_argument(
            '--host', metavar='<host>', dest='hosts', action='append',
            default=[],
            help='Plan only this compute host (service host or hypervisor '
                 'hostname; repeat option for several hosts); the others '
                 'keep their legacy vGPUs and can still take drained '
                 'servers.')
        parser.add_argument(
            '--live-migratable', action='store_true',
            help='Write "live_migratable": "yes" on every device_spec and '
                 'alias line, so that servers resized to the new flavors '
                 'can be live-migrated later (needs libvirt >= 10.0.0 and '
                 'QEMU >= 8.2.2 on the converted hosts). Without it they '
                 'cannot, and choosing later costs a second resize of '
                 'every server. See the runbook\'s decisions.')
        base.add_nova_release_option(parser)
        parser.add_argument(
            '--alias-numa-policy', metavar='<policy>',
            choices=nova_alias.NUMA_POLICIES,
            help='Set "numa_policy" on the [pci] alias lines: %s. Default: '
                 'none set, Nova\'s default "legacy": a server with a guest '
                 'NUMA topology (hw:numa_nodes, pinned CPUs, hugepages) gets '
                 'only a VF of its NUMA node when the VF reports one, which '
                 'mdev vGPUs never required. "preferred" schedules such '
                 'servers even when only VFs of another node are free (at a '
                 'cross-NUMA cost); "required" is strict; "socket" accepts '
                 'a VF of the same socket. The plan notes the flavors '
                 'concerned.' % ', '.join(nova_alias.NUMA_POLICIES))
        parser.add_argument(
            '--wave-size', metavar='<n>', type=_positive_int,
            help='Convert at most <n> hosts together in one wave: their '
                 'servers must fit outside the wave (on converted hosts, '
                 'or legacy hosts not in it), and a wave that does not fit '
                 'has fewer hosts. Default: 5%% of the hosts the plan '
                 'converts, at least 1 and at most {most} (host by host '
                 'below {few} hosts).'.format(
                     most=plan_rules.DEFAULT_WAVE_MAX,
                     few=2 * plan_rules.DEFAULT_WAVE_SHARE))
        parser.add_argument(
            '--group-by', choices=plan_rules.GROUP_BY,
            default=plan_rules.DEFAULT_GROUP_BY,
            help='A wave holds hosts of one group: "kind" (default) the '
                 'same GPUs, types and VF count, so one boot script and '
                 'one set of nova.conf lines; "aggregate" the same '
                 'Placement aggregates (Nova host aggregates; read with '
                 '--aggregates); "az" the same availability zone; "none" '
                 'any hosts. A host without a key is refused.')
        base.add_file_option(
            parser, '--output', 'Also write the plan document (JSON) to '
            '<file> (mode 0600).')
        base.add_file_option(
            parser, '--runbook', 'Also write the Markdown runbook to <file> '
            '(mode 0600).')
        base.add_file_option(
            parser, '--artifacts', 'Write the files many hosts share to '
            '<directory> once (boot scripts and units, nova.conf snippets, '
            'per phase drain scripts; made if missing) with hosts.csv, '
            'hosts.json, servers.csv and SHA256SUMS; the runbook (--runbook, '
            '-f markdown) then has one phase per wave and host kind and '
            'names each file by path and sha256 instead of printing it.',
            metavar='<directory>')
        return parser

    def run(self, parsed_args):
        with base.paused_gc():
            return super().run(parsed_args)

    def take_action(self, parsed_args):
        try:
            options = plan_rules.Options(
                maps=plan_rules.parse_maps(parsed_args.map),
                resource_class_template=parsed_args.resource_class_template,
                alias_template=parsed_args.alias_template,
                flavor_name_template=parsed_args.flavor_name_template,
                hosts=tuple(parsed_args.hosts),
                live_migratable=parsed_args.live_migratable,
                nova_release=parsed_args.nova_release,
                alias_numa_policy=parsed_args.alias_numa_policy,
                wave_size=parsed_args.wave_size,
                group_by=parsed_args.group_by)
            plan_rules.check_templates(options)
        except ValueError as e:
            raise exceptions.CommandError(str(e))
        nova_confs = read_nova_confs(parsed_args.nova_conf)
        reports = base.load_host_reports(parsed_args.host_report)
        if parsed_args.group_by == 'aggregate':
            # the waves need the compute nodes' aggregates
            parsed_args.aggregates = True
        snapshot = base.collect_or_load(self, parsed_args)
        try:
            plan = plan_rules.make_plan(snapshot, reports, options,
                                        nova_confs)
        except ValueError as e:
            raise exceptions.CommandError(str(e))
        self._plan = plan
        for ref in plan.inputs.nova_confs:
            if not ref.hosts:
                self.app.stderr.write(
                    'warning: --nova-conf %s=%s matches no compute host of '
                    'the estate\n' % (ref.pattern, ref.file))
        plan_file = parsed_args.output or 'plan.json'
        if parsed_args.artifacts:
            self._runbook = self._write_artifacts(plan, plan_file,
                                                  parsed_args.artifacts)
        else:
            self._runbook = runbook.render(plan, plan_file=plan_file)
        if parsed_args.output:
            fileio.write_private_file(parsed_args.output, plan.write_json)
        if parsed_args.runbook:
            fileio.write_private_file(parsed_args.runbook, self._runbook)
        if plan.refusals:
            self.app.stderr.write(
                '%d item(s) are not in the plan; see "refusals" (-f json) '
                'or the runbook\n' % len(plan.refusals))
        return SUMMARY_COLUMNS, summary_rows(plan)

    @staticmethod
    def _write_artifacts(plan, plan_file, directory):
        """Write the plan's artifacts; return the runbook naming them."""
        try:
            bundle = fleet.build(plan)
            os.makedirs(directory, exist_ok=True)
            for name, artifact in bundle.files.items():
                fileio.write_file(os.path.join(directory, name),
                                  artifact.text, artifact.mode)
        except (OSError, ValueError) as e:
            raise exceptions.CommandError('cannot write the artifacts to '
                                          '%s: %s' % (directory, e))
        return fleet.render(plan, bundle, directory, plan_file=plan_file)

    def document(self, formatter):
        if formatter == 'markdown':
            return self._runbook
        return self._plan.to_dict()


def read_nova_confs(values):
    """The :class:`~vfioclient.rules.plan.NovaConf` of each ``--nova-conf
    PATTERN=FILE``, in order (each file read once)."""
    confs, patterns, read = [], {}, {}
    for value in values or ():
        pattern, sep, path = value.partition('=')
        pattern, path = pattern.strip(), path.strip()
        if not sep or not pattern or not path:
            raise exceptions.CommandError(
                '--nova-conf takes PATTERN=FILE, a hostname glob and a '
                'nova.conf (e.g. "a40-*=/srv/nova/a40.conf"), got %r'
                % value)
        if pattern.lower() in patterns:
            raise exceptions.CommandError(
                '--nova-conf gives pattern %s twice (%s and %s)' % (
                    pattern, patterns[pattern.lower()], path))
        patterns[pattern.lower()] = path
        try:
            if path not in read:
                read[path] = conf_reader.read_conf([path])
            confs.append(plan_rules.nova_conf(pattern, read[path]))
        except conf_model.ConfReadError as e:
            raise exceptions.CommandError('--nova-conf %s: %s' % (value, e))
        except ValueError as e:
            raise exceptions.CommandError(str(e))
    return tuple(confs)


def _positive_int(value):
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError('expected a whole number of at '
                                         'least 1, got %r' % value)
    return number


def _placeholders(names):
    return ', '.join('{%s}' % n for n in names)


def summary_rows(plan):
    wave_of = {h: w.number for w in plan.waves for h in w.hosts}
    rows = []
    for host in sorted(plan.hosts, key=lambda h: (h.order is None,
                                                  h.order or 0, h.host)):
        rows.append((host.order, host.host, wave_of.get(host.host),
                     host.kind,
                     ', '.join(host.vf_types),
                     sum(g.vf_count for g in host.gpus), len(host.drain),
                     'ready' if host.order is not None else 'blocked'))
    return rows

