"""Run the real ``openstack`` shell in-process, as tests do everywhere.

Kept free of service imports (no Placement) so unit tests can use it.
"""

import io

import fixtures
from openstackclient import shell


def run_shell(argv, test):
    """``openstack <argv>`` in-process; returns ``(rc, stdout, stderr)``.

    stdout/stderr are captured through fixtures on ``test`` (restored at
    cleanup); argparse errors (SystemExit) become their exit code.
    """
    stdout = io.StringIO()
    stderr = io.StringIO()
    test.useFixture(fixtures.MonkeyPatch('sys.stdout', stdout))
    test.useFixture(fixtures.MonkeyPatch('sys.stderr', stderr))
    try:
        rc = shell.OpenStackShell().run(list(argv))
    except SystemExit as e:
        rc = e.code
    return rc, stdout.getvalue(), stderr.getvalue()
