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
