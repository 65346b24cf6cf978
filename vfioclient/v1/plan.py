"""``openstack vfio plan``: the upgrade path as a plan file and a runbook."""

from cliff.formatters import base as cliff_formatters
from osc_lib.command import command
from osc_lib import exceptions
import stevedore
import tabulate

from vfioclient import fileio
from vfioclient.render import runbook
from vfioclient.rules import plan as plan_rules
from vfioclient.v1 import audit as audit_cmd
from vfioclient.v1 import base

SUMMARY_COLUMNS = ('step', 'host', 'kind', 'vf_types', 'vfs',
                   'servers_to_move', 'status')


class MarkdownFormatter(cliff_formatters.ListFormatter):
    """``-f markdown``: a GitHub-flavoured Markdown table of any list.

    ``vfio plan`` does not use it for its own output: with ``-f markdown``
    it prints the runbook (see :meth:`Plan.produce_output`).
    """

    def add_argument_group(self, parser):
        pass

    def emit_list(self, column_names, data, stdout, parsed_args):
        stdout.write(tabulate.tabulate(
            [[str(c) for c in row] for row in data], headers=column_names,
            tablefmt='github', disable_numparse=True) + '\n')


class Plan(command.Lister):
    """Plan the move from legacy mdev vGPUs to variant-driver VFs

    Reads the estate (live, or --from-snapshot) and host reports, and
    decides per GPU the VF vGPU type, resource class, alias, nova.conf
    lines, boot script, new flavors, capacity and the order in which hosts
    can be drained and converted. -f json prints the versioned plan
    document the apply commands read (--from-plan); -f markdown prints the
    operator runbook; table/value/yaml print one row per host.
    """

    auth_required = False  # --from-snapshot works offline

    def _load_formatter_plugins(self):
        # cliff takes the -f choices from the formatter entry points of its
        # namespace (cliff.formatter.list).  Registering "markdown" there
        # would add it to every list command of every client, so this
        # command adds it to its own manager only.  make_test_instance is
        # stevedore's public constructor from ready Extension objects; it
        # does no entry-point scanning (the namespace's plugins were loaded
        # just above by the normal path).
        manager = super()._load_formatter_plugins()
        if 'markdown' in manager.names():
            return manager
        formatter = MarkdownFormatter()
        extensions = list(manager.extensions) + [stevedore.extension.Extension(
            'markdown', None, MarkdownFormatter, formatter)]
        return stevedore.ExtensionManager.make_test_instance(
            extensions, namespace=self.formatter_namespace)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        audit_cmd.add_snapshot_arguments(parser)
        parser.add_argument(
            '--map', metavar='<old_type=new_type>', action='append',
            default=[],
            help='Use NEW_TYPE (id, nvidia-NNN or profile name) as the VF '
                 'type for legacy type OLD_TYPE (nvidia-NNN or profile '
                 'name); OLD_TYPE may also be a legacy resource class '
                 '(VGPU or a custom mdev class) for GPUs whose type is '
                 'not known otherwise. May be repeated.')
        parser.add_argument(
            '--resource-class-template', metavar='<template>',
            default=plan_rules.DEFAULT_RESOURCE_CLASS_TEMPLATE,
            help='Resource class per VF type (default %s). Placeholders: '
                 '%s.' % (plan_rules.DEFAULT_RESOURCE_CLASS_TEMPLATE,
                          _placeholders(plan_rules.TYPE_PLACEHOLDERS)))
        parser.add_argument(
            '--alias-template', metavar='<template>',
            default=plan_rules.DEFAULT_ALIAS_TEMPLATE,
            help='[pci] alias name per VF type (default %s). Placeholders: '
                 '%s.' % (plan_rules.DEFAULT_ALIAS_TEMPLATE,
                          _placeholders(plan_rules.TYPE_PLACEHOLDERS)))
        parser.add_argument(
            '--flavor-name-template', metavar='<template>',
            default=plan_rules.DEFAULT_FLAVOR_NAME_TEMPLATE,
            help='Name of each new flavor (default %s). Placeholders: %s.'
                 % (plan_rules.DEFAULT_FLAVOR_NAME_TEMPLATE,
                    _placeholders(plan_rules.FLAVOR_PLACEHOLDERS)))
        parser.add_argument(
            '--hosts', metavar='<host>', nargs='+', default=[],
            help='Plan only these compute hosts (service host or hypervisor '
                 'hostname); the others keep their legacy vGPUs and can '
                 'still take drained servers.')
        parser.add_argument(
            '--output', metavar='<file>',
            help='Also write the JSON plan to this file (mode 0600).')
        parser.add_argument(
            '--runbook', metavar='<file>',
            help='Also write the Markdown runbook to this file (mode 0600).')
        return parser

    def take_action(self, parsed_args):
        try:
            options = plan_rules.Options(
                maps=plan_rules.parse_maps(parsed_args.map),
                resource_class_template=parsed_args.resource_class_template,
                alias_template=parsed_args.alias_template,
                flavor_name_template=parsed_args.flavor_name_template,
                hosts=tuple(parsed_args.hosts))
            plan_rules.check_templates(options)
        except ValueError as e:
            raise exceptions.CommandError(str(e))
        reports = base.load_host_reports(parsed_args.host_report)
        snapshot = audit_cmd.collect_or_load(self, parsed_args)
        try:
            plan = plan_rules.make_plan(snapshot, reports, options)
        except ValueError as e:
            raise exceptions.CommandError(str(e))
        self._plan = plan
        plan_file = parsed_args.output or 'plan.json'
        self._runbook = runbook.render(plan, plan_file=plan_file)
        if parsed_args.output:
            fileio.write_private_file(parsed_args.output, plan.to_json())
        if parsed_args.runbook:
            fileio.write_private_file(parsed_args.runbook, self._runbook)
        if plan.refusals:
            self.app.stderr.write(
                '%d item(s) are not in the plan; see "refusals" (-f json) '
                'or the runbook\n' % len(plan.refusals))
        return SUMMARY_COLUMNS, summary_rows(plan)

    def produce_output(self, parsed_args, column_names, data):
        if parsed_args.formatter == 'json':
            self.app.stdout.write(self._plan.to_json())
            return 0
        if parsed_args.formatter == 'markdown':
            self.app.stdout.write(self._runbook)
            return 0
        return super().produce_output(parsed_args, column_names, data)


def _placeholders(names):
    return ', '.join('{%s}' % n for n in names)


def summary_rows(plan):
    rows = []
    for host in sorted(plan.hosts, key=lambda h: (h.order is None,
                                                  h.order or 0, h.host)):
        rows.append((host.order, host.host, host.kind,
                     ', '.join(host.vf_types),
                     sum(g.vf_count for g in host.gpus), len(host.drain),
                     'ready' if host.order is not None else 'blocked'))
    return rows

