"""Shared behaviour of vfio commands: findings output, exit codes, progress.

Only ``vfioclient/v1`` knows about cliff; everything here is about shaping
output, never about deciding anything.
"""

import sys

from osc_lib.command import command
from osc_lib import exceptions

from vfioclient.cloud import client
from vfioclient.model import documents
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
    :class:`vfioclient.rules.findings.Finding`.  Exit 0 without errors, 2 with
    at least one error (or warning with ``--fail-on warning``), 1 when the
    command itself failed (cliff's usual path for exceptions).
    """

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--fail-on',
            choices=('error', 'warning'),
            default='error',
            help='Lowest finding severity that makes the command exit 2 '
                 '(default: error).',
        )
        return parser

    def find(self, parsed_args):
        raise NotImplementedError

    def take_action(self, parsed_args):
        found = findings_mod.sort_findings(self.find(parsed_args))
        self._findings = found
        return findings_mod.COLUMNS, [f.row() for f in found]

    def run(self, parsed_args):
        self._findings = None
        rc = super().run(parsed_args)
        if rc or self._findings is None:
            return rc
        return findings_mod.exit_code(self._findings, parsed_args.fail_on)


def load_document(path, kind):
    """The snapshot, host report or plan in the file at ``path``.

    ``kind`` is one of :data:`vfioclient.model.documents.KINDS`.  Errors name
    the file and the field; they never show a traceback.
    """
    try:
        return documents.load(path, kind)
    except documents.DocumentError as e:
        raise exceptions.CommandError(str(e))


def load_host_reports(paths):
    """The host reports of ``--host-report FILE`` options, in order."""
    return [load_document(path, documents.HOST_REPORT)
            for path in paths or ()]


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


def connect(app, parsed_args=None):
    """A :class:`vfioclient.cloud.client.CloudClient` for the selected cloud.

    Commands that can also work offline (``--from-snapshot``, ``--from-plan``)
    declare ``auth_required = False``, so osc-lib skipped credential checks;
    here they are done the way osc-lib does them for other commands, when the
    command really needs the cloud.
    """
    cm = app.client_manager
    if not getattr(cm, '_auth_required', True):
        try:
            app.cloud = app.cloud_config.get_one(
                cloud=app.options.cloud, argparse=app.options,
                validate=True, app_name=cm._app_name,
                app_version=cm._app_version)
        except Exception as e:
            raise exceptions.CommandError(
                'this command needs a cloud (set OS_CLOUD or the --os-* '
                'options; offline commands take --from-snapshot/--from-plan):'
                ' %s' % e)
        cm._cli_options = app.cloud
        cm._auth_required = True
    try:
        cm.setup_auth()
    except exceptions.CommandError:
        raise
    except Exception as e:
        raise exceptions.CommandError('cannot authenticate: %s' % e)
    concurrency = getattr(parsed_args, 'concurrency',
                          client.DEFAULT_CONCURRENCY)
    if concurrency < 1:
        raise exceptions.CommandError('--concurrency must be at least 1')
    timeout = getattr(parsed_args, 'timeout', client.DEFAULT_TIMEOUT)
    if timeout is not None and timeout <= 0:
        raise exceptions.CommandError('--timeout must be positive')
    return client.CloudClient.from_client_manager(
        cm, concurrency=concurrency, timeout=timeout)
