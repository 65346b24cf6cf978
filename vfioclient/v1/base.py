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

"""Shared behaviour of vfio commands: findings output, exit codes, progress.

Only ``vfioclient/v1`` knows about cliff; everything here is about shaping
output, never about deciding anything.
"""

import argparse
import contextlib
import fnmatch
import gc
import json
import logging
import os
import sys

from keystoneauth1 import exceptions as ks_exceptions
from osc_lib.command import command
from osc_lib import exceptions

from vfioclient.cloud import client
from vfioclient.collect import cloud as collect_cloud
from vfioclient import fileio
from vfioclient.model import documents
from vfioclient.model import jsontext
from vfioclient.nova import releases
from vfioclient.rules import findings as findings_mod


LOG = logging.getLogger(__name__)


def paused_gc():
    """Python's cyclic garbage collector paused for a command's bulk work.

    Loading a fleet's snapshot and host reports and planning it builds
    millions of small objects and next to no reference cycles, but the
    collector, started by every few hundred allocations, walked the growing
    heap again and again: some 4 of the 13 s of a 10,000-host ``vfio
    plan``.  Memory is still freed as it is released (reference counting);
    only cycles wait for the collector, which is enabled again on exit.
    """
    return _gc_enabled(False)


def _running_gc():
    """The cyclic collector enabled for a while, paused again after if it
    was paused."""
    return _gc_enabled(True)


@contextlib.contextmanager
def _gc_enabled(enabled):
    """The cyclic collector on (``enabled``) or off inside, as it was
    after."""
    if gc.isenabled() == enabled:
        yield
        return
    (gc.enable if enabled else gc.disable)()
    try:
        yield
    finally:
        (gc.disable if enabled else gc.enable)()


class Progress:
    """Progress lines on stderr, only for a human watching a terminal.

    stdout carries only the formatted result, so ``-f json`` stays parseable.
    Silent when stderr is not a TTY or when ``-q`` was given.
    """

    def __init__(self, app):
        self._stream = getattr(app, 'stderr', None) or sys.stderr
        options = getattr(app, 'options', None)
        verbose = getattr(options, 'verbose_level', 1)
        isatty = getattr(self._stream, 'isatty', lambda: False)
        self.enabled = bool(verbose >= 1 and isatty())

    def __call__(self, message):
        if self.enabled:
            self._stream.write('\r\x1b[K%s' % message)
            self._stream.flush()

    def done(self):
        if self.enabled:
            self._stream.write('\r\x1b[K')
            self._stream.flush()


class FindingsLister(command.Lister):
    """A Lister of findings whose exit code reflects their severity.

    Subclasses implement :meth:`find` and return an iterable of
    :class:`vfioclient.rules.findings.Finding`, and :meth:`nothing_found`,
    the line printed on stderr when there is none.  The exit code depends
    on the findings only, never on the view: 0 without errors, 2 with at
    least one error (or warning with ``--fail-on warning``), 1 when the
    command itself failed (cliff's usual path for exceptions).

    A subclass that also has a summary view sets :attr:`summary_help` and
    implements :meth:`summary`; ``--summary`` then shows its rows instead
    of the findings (the findings are still found and decide the exit
    code).
    """

    summary_help = None

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--fail-on',
            choices=('error', 'warning'),
            default='error',
            help='Lowest finding severity that makes the command exit 2 '
                 '(default: error).',
        )
        if self.summary_help:
            parser.add_argument('--summary', action='store_true',
                                help=self.summary_help)
        return parser

    def find(self, parsed_args):
        raise NotImplementedError

    def summary(self, parsed_args):
        """``(columns, rows)`` of the ``--summary`` view."""
        raise NotImplementedError

    def nothing_found(self, parsed_args):
        """What was checked, for the line printed when nothing was found."""
        raise NotImplementedError

    def take_action(self, parsed_args):
        found = findings_mod.sort_findings(self.find(parsed_args))
        self._findings = found
        if getattr(parsed_args, 'summary', False):
            return self.summary(parsed_args)
        return findings_mod.COLUMNS, [f.row() for f in found]

    def produce_output(self, parsed_args, column_names, data):
        if (self._findings or getattr(parsed_args, 'summary', False)
                or parsed_args.formatter != 'table'
                or parsed_args.print_empty):
            return super().produce_output(parsed_args, column_names, data)
        # An empty table is one blank line: say what was checked instead
        # (stderr; -f json still prints [] on stdout).
        self.app.stderr.write('%s: no findings\n'
                              % self.nothing_found(parsed_args))
        return 0

    def run(self, parsed_args):
        self._findings = None
        rc = super().run(parsed_args)
        if rc or self._findings is None:
            return rc
        return findings_mod.exit_code(self._findings, parsed_args.fail_on)


class DocumentLister(command.Lister):
    """A Lister whose document formats print a whole versioned document.

    ``-f table/csv/value/yaml`` print the rows; each format named in
    :attr:`document_formats` prints the document :meth:`document` returns
    (a dict is printed as JSON, honouring ``--noindent``; text as is).
    Options that select or order rows (``-c``, ``--sort-column``) mean
    nothing for a document: they are refused before any work is done,
    never ignored.
    """

    document_formats = ('json',)

    def document(self, formatter):
        raise NotImplementedError

    def run(self, parsed_args):
        if parsed_args.formatter in self.document_formats:
            given = [option for option, value in (
                ('-c/--column', parsed_args.columns),
                ('--sort-column', getattr(parsed_args, 'sort_columns', [])))
                if value]
            if given:
                raise exceptions.CommandError(
                    '%s apply to rows; -f %s prints the whole document, not '
                    'rows. Use -f table, csv, value or yaml with %s.'
                    % (' and '.join(given), parsed_args.formatter,
                       ' and '.join(given)))
        return super().run(parsed_args)

    def produce_output(self, parsed_args, column_names, data):
        if parsed_args.formatter not in self.document_formats:
            return super().produce_output(parsed_args, column_names, data)
        doc = self.document(parsed_args.formatter)
        if isinstance(doc, dict):
            if getattr(parsed_args, 'noindent', False):
                doc = json.dumps(doc) + '\n'
            else:    # json.dumps(doc, indent=2), the same text, faster
                doc = jsontext.dumps(doc) + '\n'
        self.app.stdout.write(doc)
        return 0


def load_document(path, kind):
    """The snapshot, host report or plan in the file at ``path``.

    ``kind`` is one of :data:`vfioclient.model.documents.KINDS`.  Errors name
    the file and the field; they never show a traceback.
    """
    try:
        return documents.load(path, kind)
    except documents.DocumentError as e:
        raise exceptions.CommandError(str(e))


HOST_REPORT_PATTERN = '*.json'


def host_report_files(paths):
    """The files of ``--host-report FILE|DIR`` options, in order: a file
    as given, a directory as the ``*.json`` files in it, sorted by name
    (not its subdirectories, hidden files or files of other names)."""
    files = []
    for path in paths or ():
        if not os.path.isdir(path):
            files.append(path)
            continue
        try:
            names = sorted(fnmatch.filter(os.listdir(path),
                                          HOST_REPORT_PATTERN))
        except OSError as e:
            raise exceptions.CommandError(
                '--host-report %s: cannot list the directory: %s'
                % (path, e.strerror or e))
        found = [os.path.join(path, name) for name in names
                 if not name.startswith('.')
                 and os.path.isfile(os.path.join(path, name))]
        if not found:
            raise exceptions.CommandError(
                '--host-report %s: the directory holds no host report '
                '(%s); write them with "openstack vfio host report -f '
                'json"' % (path, HOST_REPORT_PATTERN))
        files += found
    return files


def load_host_reports(paths):
    """The host reports of ``--host-report FILE|DIR`` options, in order
    (see :func:`host_report_files`); a file that is not a host report is
    an error naming it."""
    return [load_document(path, documents.HOST_REPORT)
            for path in host_report_files(paths)]


def load_host_report(path, purpose):
    """The one host report of a ``--host-report FILE|DIR`` option of a
    command about one host (a directory must hold exactly one)."""
    files = host_report_files([path])
    if len(files) > 1:
        raise exceptions.CommandError(
            '--host-report %s holds %d host reports; %s needs the report '
            'of one host: name its file' % (path, len(files), purpose))
    return load_document(files[0], documents.HOST_REPORT)


def add_file_option(parser, flag, help, metavar='<file>', **kwargs):
    """An option naming a file or directory, in OSC's metavar style."""
    return parser.add_argument(flag, metavar=metavar, help=help, **kwargs)


def _nova_release(series):
    try:
        return releases.get(series)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def add_nova_release_option(parser):
    """``--nova-release``; ``parsed_args.nova_release`` is a
    :class:`~vfioclient.nova.releases.NovaRelease`."""
    return parser.add_argument(
        '--nova-release', metavar='<series>', type=_nova_release,
        default=releases.DEFAULT,
        help='Nova release series the cloud runs: %s (default %s, the '
             'oldest: it never assumes a tag or trait a newer release '
             'added). Decides which device_spec tags exist and the traits '
             'Nova puts on PCI providers.' % (', '.join(releases.SERIES),
                                             releases.DEFAULT_SERIES))


def add_dry_run(parser, help='Show what would be done; write nothing.'):
    return parser.add_argument('--dry-run', action='store_true', help=help)


def add_cloud_arguments(parser):
    parser.add_argument(
        '--concurrency', metavar='<n>', type=int,
        default=client.DEFAULT_CONCURRENCY,
        help='Number of API reads run at once (default: %d).'
             % client.DEFAULT_CONCURRENCY)
    parser.add_argument(
        '--timeout', metavar='<seconds>', type=float,
        default=client.DEFAULT_TIMEOUT,
        help='Seconds to wait for each API response before retrying or '
             'giving up (default: %d).' % client.DEFAULT_TIMEOUT)
    return parser


def connect(cmd, parsed_args=None):
    """A :class:`vfioclient.cloud.client.CloudClient` for the selected cloud.

    osc-lib sets up credentials in the shell's ``prepare_to_run_command``
    for a command that declares ``auth_required``, before its arguments are
    parsed.  Commands that can also work offline (``--from-snapshot``,
    ``--from-plan``, refused names) declare ``auth_required = False``; once
    their arguments show that the cloud is needed, the command declares it
    and asks the shell to prepare it again: the path every other OSC
    command takes (cloud selection, password prompt, scope check).
    """
    concurrency = getattr(parsed_args, 'concurrency',
                          client.DEFAULT_CONCURRENCY)
    if concurrency < 1:
        raise exceptions.CommandError('--concurrency must be at least 1')
    timeout = getattr(parsed_args, 'timeout', client.DEFAULT_TIMEOUT)
    if timeout is not None and timeout <= 0:
        raise exceptions.CommandError('--timeout must be positive')
    app = cmd.app
    if not cmd.auth_required:
        cmd.auth_required = True
        try:
            app.prepare_to_run_command(cmd)
        except ks_exceptions.http.Unauthorized as e:
            raise exceptions.CommandError('cannot authenticate: %s' % e)
        except Exception as e:
            raise exceptions.CommandError(
                'this command needs a cloud (set OS_CLOUD or the --os-* '
                'options; offline commands take --from-snapshot/--from-plan):'
                ' %s' % e)
    return client.CloudClient.from_client_manager(
        app.client_manager, concurrency=concurrency, timeout=timeout)


class ApplyLister(command.Lister):
    """A Lister of apply results: exit 1 with a summary on stderr when an
    item was refused, conflicted or failed (the rows still show all)."""

    def run(self, parsed_args):
        self._results = None
        rc = super().run(parsed_args)
        if rc or not self._results:
            return rc
        bad = [r for r in self._results if not r.ok]
        if bad:
            self.app.stderr.write('%s\n' % self.summarize(self._results))
            return 1
        return 0

    def summarize(self, results):
        raise NotImplementedError


# -- the estate: a snapshot from a file or read live (audit and plan) -------
def load_snapshot(path):
    return load_document(path, documents.SNAPSHOT)


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
    cloud = connect(command, parsed_args)
    progress = Progress(command.app)
    collector = collect_cloud.Collector(
        cloud, strategy=parsed_args.strategy, progress=progress,
        aggregates=getattr(parsed_args, 'aggregates', False), reuse=earlier)
    try:
        # a live read makes thousands of requests, whose objects may hold
        # reference cycles: the collector runs then, even in a command
        # that paused it (paused_gc)
        with _running_gc():
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
        fileio.write_private_file(parsed_args.save_snapshot,
                                  snapshot.iter_json())
    return snapshot


def add_snapshot_arguments(parser):
    add_file_option(
        parser, '--from-snapshot', 'Read the estate from a snapshot written '
        'by --save-snapshot instead of the cloud (no credentials needed).')
    add_file_option(
        parser, '--save-snapshot', 'Write everything collected (versioned '
        'JSON, mode 0600) so the audit can be repeated offline or attached '
        'to a support case.')
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
    add_file_option(
        parser, '--host-report', 'Host facts from "openstack vfio host '
        'report -f json": a file, or a directory meaning every file in '
        'it whose name ends in .json (may be repeated).', metavar='<path>',
        action='append', default=[])
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
    add_cloud_arguments(parser)
    return parser
