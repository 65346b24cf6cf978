"""Shared behaviour of vfio commands: findings output, exit codes, progress.

Only ``vfioclient/v1`` knows about cliff; everything here is about shaping
output, never about deciding anything.
"""

import json
import os
import sys

from osc_lib.command import command
from osc_lib import exceptions

from vfioclient.cloud import client
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
