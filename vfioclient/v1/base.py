"""Shared behaviour of vfio commands: findings output, exit codes, progress.

Only ``vfioclient/v1`` knows about cliff; everything here is about shaping
output, never about deciding anything.
"""

import json
import os
import sys

from keystoneauth1 import exceptions as ks_exceptions
from osc_lib.command import command
from osc_lib import exceptions

from vfioclient import client
from vfioclient.rules import findings as findings_mod


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
            indent = None if getattr(parsed_args, 'noindent', False) else 2
            doc = json.dumps(doc, indent=indent) + '\n'
        self.app.stdout.write(doc)
        return 0


def read_json_file(path, what):
    """Read a JSON document written by another vfio command.

    Errors name the file and what was expected; they never show a traceback.
    """
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except FileNotFoundError:
        raise exceptions.CommandError(
            '%s file %s does not exist' % (what, path))
    except (OSError, UnicodeDecodeError) as e:
        raise exceptions.CommandError(
            'cannot read %s file %s: %s' % (what, path, e))
    except ValueError as e:
        raise exceptions.CommandError(
            '%s file %s is not valid JSON: %s' % (what, path, e))


def write_private_file(path, text):
    """Write ``text`` to ``path`` with mode 0600 (snapshots, plans, scripts).

    Written to a temporary file first and renamed, so a crash never leaves a
    half-written document behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, '.%s.tmp%d' % (os.path.basename(path),
                                                  os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


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
    """A :class:`vfioclient.client.CloudClient` for the selected cloud.

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
