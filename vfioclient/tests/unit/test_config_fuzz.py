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

"""Fuzz: any file content ends in findings or a clear error, never a crash.

Example counts: 300 random-byte files, 300 random-text INI files, 500
random device_spec/alias values (hypothesis ``max_examples``).
"""

import os

import fixtures
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import testtools

from vfioclient.collect import conf
from vfioclient.model import conf as model
from vfioclient.rules import findings
from vfioclient.rules import lint


def fuzz_settings(n):
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


JSONISH = st.text(alphabet='{}[]":,\' \\0123456789abcdefxyz_-.*nultre',
                  max_size=80)


class TestFuzz(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.counter = 0

    def check_file(self, data):
        self.counter += 1
        path = os.path.join(self.dir, 'f%d.conf' % self.counter)
        with open(path, 'wb') as f:
            f.write(data)
        try:
            snap = conf.read_conf([path])
        except model.ConfReadError as e:
            self.assertIn(path, str(e))
            return None
        found = lint.lint(snap)
        for finding in found:
            self.assertIn(finding.severity, findings.SEVERITIES)
        return found

    @fuzz_settings(300)
    @given(st.binary(max_size=2000))
    def test_random_bytes(self, data):
        self.check_file(data)

    @fuzz_settings(300)
    @given(st.lists(st.tuples(
        st.sampled_from(['pci', 'DEFAULT', 'devices', 'mdev_x',
                         'filter_scheduler']),
        st.sampled_from(['device_spec', 'alias', 'passthrough_whitelist',
                         'report_in_placement', 'enabled_mdev_types',
                         'pci_in_placement', 'device_addresses',
                         'mdev_class', 'dev_spec']),
        st.one_of(JSONISH, st.text(max_size=40))), max_size=8))
    def test_random_ini(self, entries):
        text = ''.join('[%s]\n%s = %s\n' % (s, k, v.replace('\n', ' ')
                                             .replace('\r', ' '))
                       for s, k, v in entries)
        self.check_file(text.encode('utf-8', 'surrogatepass'))

    @fuzz_settings(500)
    @given(JSONISH, JSONISH, st.booleans(), st.booleans())
    def test_random_values(self, spec, alias, rip, pip):
        snap = model.ConfSnapshot(
            device_specs=(model.ConfEntry(spec, 1, model.Source()),),
            aliases=(model.ConfEntry(alias, 1, model.Source()),),
            report_in_placement=rip, pci_in_placement=pip)
        lint.lint(snap)
        self.assertIsInstance(lint.parse_spec_items(snap), list)

    def test_deep_nesting_and_huge_values(self):
        found = self.check_file(
            b'[pci]\ndevice_spec = ' + b'[' * 100000 + b']' * 100000 + b'\n')
        self.assertEqual(['VFIO-C101'], [f.code for f in found])
        found = self.check_file(b'[pci]\ndevice_spec = {"vendor_id": "' +
                                b'1' * 1000000 + b'"}\n')
        self.assertEqual(['VFIO-C103'], [f.code for f in found])
        self.assertLess(len(found[0].message), 2000)
