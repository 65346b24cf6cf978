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

"""``openstack vfio audit`` through the real OSC shell, offline.

The views (findings, ``--summary``), the exit code that depends on the
findings only, and ``-f``/``-c`` applied to both views.
"""

import json
import os

import fixtures

from vfioclient.tests import base
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit import builders


class TestAuditCommand(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path

    def snapshot(self, placement_max='1.39', legacy_used=1):
        b = builders.EstateBuilder()
        b.host('cmp1')
        if legacy_used is not None:
            b.legacy('cmp1', '0000:41:00.4', used=legacy_used)
        b.placement_max = placement_max
        path = os.path.join(self.tmp, 'snap-%s.json' % placement_max)
        with open(path, 'w') as f:
            f.write(b.snapshot().to_json())
        return path

    def audit(self, *argv):
        return run_shell(('vfio', 'audit') + argv, self)

    def test_json_columns_print_only_those_keys(self):
        rc, out, err = self.audit('--from-snapshot', self.snapshot('1.10'),
                                  '-f', 'json', '-c', 'code', '-c',
                                  'severity')
        self.assertEqual(2, rc, err)
        self.assertEqual([{'code': 'VFIO-A101', 'severity': 'info'},
                          {'code': 'VFIO-A115', 'severity': 'error'}],
                         sorted(json.loads(out), key=lambda r: r['code']))

    def test_summary_exit_code_reflects_the_findings(self):
        rc, out, err = self.audit('--from-snapshot', self.snapshot('1.10'),
                                  '--summary', '-f', 'json')
        self.assertEqual(2, rc, err)
        rows = json.loads(out)
        self.assertEqual(['cmp1'], [r['host'] for r in rows])
        self.assertNotIn('code', rows[0])
        rc, out, err = self.audit('--from-snapshot', self.snapshot(),
                                  '--summary', '-f', 'json')
        self.assertEqual(0, rc, err)

    def test_summary_columns_apply(self):
        rc, out, err = self.audit('--from-snapshot', self.snapshot(),
                                  '--summary', '-f', 'value', '-c', 'host')
        self.assertEqual(0, rc, err)
        self.assertEqual('cmp1\n', out)

    def test_fail_on_warning_in_summary_view(self):
        snap = self.snapshot('1.39', legacy_used=None)
        rc, out, err = self.audit('--from-snapshot', snap, '--summary',
                                  '--fail-on', 'warning')
        self.assertEqual(0, rc, err)

    def test_no_findings_says_what_was_audited(self):
        snap = self.snapshot(legacy_used=None)
        rc, out, err = self.audit('--from-snapshot', snap)
        self.assertEqual(0, rc, err)
        self.assertEqual('', out)
        self.assertIn('audited 1 resource providers, 0 allocations: no '
                      'findings', err)
        rc, out, err = self.audit('--from-snapshot', snap, '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertEqual([], json.loads(out))
