"""``openstack vfio audit``: the vGPU/PCI estate and its findings."""

import dataclasses
import logging

from osc_lib.cli import format_columns
from osc_lib import exceptions

from vfioclient.collect import cloud as collect_cloud
from vfioclient.model import cloud as model
from vfioclient.model import host as host_model
from vfioclient.rules import audit as audit_rules
from vfioclient.v1 import base

LOG = logging.getLogger(__name__)


def load_snapshot(path):
    doc = base.read_json_file(path, 'snapshot')
    try:
        return model.Snapshot.from_dict(doc, source=path)
    except model.SnapshotError as e:
        raise exceptions.CommandError(str(e))


def load_host_reports(paths):
    reports = []
    for path in paths or ():
        doc = base.read_json_file(path, 'host report')
        try:
            reports.append(host_model.HostReport.from_json(doc))
        except host_model.HostReportError as e:
            raise exceptions.CommandError('host report %s: %s' % (path, e))
    return reports


def load_reuse_snapshot(parsed_args):
    """The earlier snapshot of ``--reuse-snapshot``, or None.

    Conflicting options and an unreadable file are refused here, before
    any request.
    """
    path = getattr(parsed_args, 'reuse_snapshot', None)
    if not path:
        return None
    if parsed_args.from_snapshot:
        raise exceptions.CommandError(
            '--reuse-snapshot and --from-snapshot cannot be combined: '
            '--from-snapshot reads nothing from the cloud, --reuse-snapshot '
            'speeds up reading it')
    if parsed_args.strategy != 'bulk':
        raise exceptions.CommandError(
            '--reuse-snapshot cannot be combined with --strategy %s: only '
            'the bulk strategy reuses inventories' % parsed_args.strategy)
    try:
        return load_snapshot(path)
    except exceptions.CommandError as e:
        raise exceptions.CommandError('--reuse-snapshot: %s' % e)


def collect_or_load(command, parsed_args):
    """The snapshot: from ``--from-snapshot`` or read live from the cloud
    (reusing the inventories ``--reuse-snapshot`` still gives)."""
    earlier = load_reuse_snapshot(parsed_args)
    if parsed_args.from_snapshot:
        return load_snapshot(parsed_args.from_snapshot)
    cloud = base.connect(command, parsed_args)
    progress = base.Progress(command.app)
    collector = collect_cloud.Collector(
        cloud, strategy=parsed_args.strategy, progress=progress,
        aggregates=getattr(parsed_args, 'aggregates', False), reuse=earlier)
    try:
        snapshot = collector.collect()
    finally:
        progress.done()
    if earlier is not None:
        message = 'Reused %d of %d inventories from %s' % (
            collector.inventories_reused, collector.inventory_children,
            parsed_args.reuse_snapshot)
        LOG.info(message)
        # Shown by the console log handler from -v on; at the default level
        # a person at a terminal still sees it (next to the progress).
        verbose = getattr(getattr(command.app, 'options', None),
                          'verbose_level', 1)
        if progress.enabled and verbose < 2:
            command.app.stderr.write(message + '\n')
    LOG.debug('audit used %d requests: %s', cloud.stats.total,
              cloud.stats.as_dict())
    if parsed_args.save_snapshot:
        base.write_private_file(parsed_args.save_snapshot,
                                snapshot.to_json())
    return snapshot


def add_snapshot_arguments(parser):
    parser.add_argument(
        '--from-snapshot', metavar='<file>',
        help='Read the estate from a snapshot written by --save-snapshot '
             'instead of the cloud (no credentials needed).')
    parser.add_argument(
        '--save-snapshot', metavar='<file>',
        help='Write everything collected (versioned JSON, mode 0600) so the '
             'audit can be repeated offline or attached to a support case.')
    parser.add_argument(
        '--reuse-snapshot', metavar='<file>',
        help='Read the cloud, but take the inventories of child providers '
             'from this earlier snapshot (--save-snapshot) where Placement '
             'shows the same provider generation, name and parent: '
             'Placement changes the generation on every inventory and trait '
             'write. Allocations, traits and everything else are always '
             're-read. Not with --from-snapshot or --strategy per-provider. '
             'Caveat: a provider deleted and re-created under the same uuid '
             'that reached the same generation again, or custom resource '
             'classes swapping names (microversions 1.2-1.6), would not be '
             'noticed.')
    parser.add_argument(
        '--host-report', metavar='<file>', action='append', default=[],
        help='Host facts from "openstack vfio host report -f json" (may be '
             'repeated, one per host).')
    parser.add_argument(
        '--strategy', choices=('bulk', 'per-provider'), default='bulk',
        help='How to read Placement: "bulk" (default) uses filtered lists '
             'and reads per provider only what matters; "per-provider" '
             'reads everything for every provider (slow; for comparison).')
    parser.add_argument(
        '--aggregates', action='store_true',
        help='Also read the aggregates of vGPU/PCI providers and of their '
             'compute nodes into the snapshot (one request per provider: '
             'Placement has no bulk read for them).')
    base.add_cloud_arguments(parser)
    return parser


class Audit(base.FindingsLister):
    """Audit the legacy vGPU and PCI-in-Placement estate.

    Reads Placement and Nova (never writes) and reports findings with stable
    codes (see the findings reference); --summary shows one row per host
    instead. The exit code depends on the findings, in both views: 0 when
    no finding is an error, 2 when one is (or a warning, with --fail-on
    warning), 1 when the audit could not run.
    """

    auth_required = False  # --from-snapshot works offline
    summary_help = ('Show one row per host (GPUs, legacy vGPUs total/used, '
                    'VFs total/used by resource class, servers to move) '
                    'instead of the findings; the exit code still reflects '
                    'the findings.')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_snapshot_arguments(parser)
        parser.add_argument(
            '--nova-conf', metavar='<host=file>', action='append',
            default=[],
            help='A host\'s nova.conf, checked with the "config check" rules '
                 'and used to map flavor aliases to resource classes (may be '
                 'repeated). Give controllers\' files for [pci] alias.')
        return parser

    def find(self, parsed_args):
        # Argument errors first, before any request.
        confs = parse_nova_conf_args(parsed_args.nova_conf)
        reports = load_host_reports(parsed_args.host_report)
        snapshot = collect_or_load(self, parsed_args)
        self._snapshot, self._reports = snapshot, reports
        aliases, extra = conf_findings(confs, reports)
        return audit_rules.audit(snapshot, reports, aliases=aliases,
                                 extra_findings=extra)

    def summary(self, parsed_args):
        rows = [tuple(_summary_value(row[c]) for c in
                      audit_rules.SUMMARY_COLUMNS)
                for row in audit_rules.summary(self._snapshot,
                                               self._reports)]
        return audit_rules.SUMMARY_COLUMNS, rows

    def nothing_found(self, parsed_args):
        return 'audited %d resource providers, %d allocations' % (
            len(self._snapshot.providers), len(self._snapshot.allocations))


def _summary_value(value):
    if isinstance(value, dict):
        return format_columns.DictColumn(value)
    return value


def parse_nova_conf_args(values):
    confs = []
    for value in values or ():
        host, sep, path = value.partition('=')
        if not sep or not host or not path:
            raise exceptions.CommandError(
                '--nova-conf takes <host>=<file>, got %r' % value)
        confs.append((host, path))
    return confs


def conf_findings(confs, reports):
    """Lint each host's config; collect the aliases controllers define.

    Returns ``(aliases or None, findings)``.
    """
    if not confs:
        return None, []
    from vfioclient.collect import conf as collect_conf
    from vfioclient.model import conf as conf_model
    from vfioclient.rules import lint
    reports_by_host = {r.hostname: r for r in reports}
    aliases = {}
    found = []
    for host, path in confs:
        try:
            snapshot = collect_conf.read_conf([path])
        except conf_model.ConfReadError as e:
            raise exceptions.CommandError(str(e))
        for f in lint.lint(snapshot, reports_by_host.get(host)):
            found.append(dataclasses.replace(
                f, subject='%s: %s' % (host, f.subject)))
        aliases.update(lint.valid_aliases(snapshot))
    return aliases, found
