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

"""Test 5: the capacity ``vfio verify`` reports is what Nova's scheduler
places.

On the host converted by the plan (see :mod:`scenario`),
``openstack vfio verify`` is asked how many servers of a VF flavor fit;
then servers are booted through Nova's real scheduler until one fails with
"No valid host".  The number that went ACTIVE must equal verify's
capacity, and verify must report no capacity left afterwards.  Run for one
VF per server and for two (one Placement request group per VF, as Nova
builds it from the alias).
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

from vfioclient.tests.conformance import scenario


class VerifyMatchesSchedulerTest(scenario.ConvertedHostTestCase):

    def verify(self, flavor_name):
        alias = self.plan['aliases'][0]
        rc, rows, _ = self.openstack(
            'vfio', 'verify', '--summary', '--flavor', flavor_name, '--alias',
            alias['line'], '--concurrency', '1', expect_rc=(0, 2))
        self.assertEqual(1, len(rows), rows)
        return rows[0]

    def fill(self, flavor, flavor_name, limit):
        """Boot until Nova says no valid host; return how many went in."""
        placed = 0
        for i in range(limit):
            server = self.boot('%s-%d' % (flavor_name, i), flavor,
                               expected_state=('ACTIVE', 'ERROR'))
            if server['status'] == 'ERROR':
                self.assertIn('No valid host',
                              server.get('fault', {}).get('message', ''),
                              'the server failed for another reason than '
                              'scheduling: %s' % server.get('fault'))
                return placed
            placed += 1
        self.fail('Nova placed %d servers of %s, more than verify\'s '
                  'capacity allows' % (placed, flavor_name))

    def check(self, count):
        self.convert_host()
        name = 'vgpu.a40-2q.vf%d' % count
        flavor = self.create_vf_flavor(name, count=count)
        before = self.verify(name)
        self.assertEqual(count, before['per_server'], before)
        self.assertEqual(self.NUM_VFS // count, before['capacity'],
                         'verify capacity for %d VF(s) per server on %d VFs'
                         % (count, self.NUM_VFS))
        placed = self.fill(flavor, name, before['capacity'] + 2)
        self.assertEqual(
            before['capacity'], placed,
            'vfio verify said %d servers of %s fit; Nova %s\'s scheduler '
            'placed %d before "No valid host"' % (
                before['capacity'], name, harness.NOVA_RELEASE, placed))
        after = self.verify(name)
        self.assertEqual(0, after['capacity'],
                         'verify after the scheduler filled the host: %s'
                         % after)

    def test_one_vf_per_server(self):
        self.check(1)

    def test_two_vfs_per_server(self):
        self.check(2)

    def test_host_resources_bind_before_the_vfs(self):
        """DISK_GB runs out before the VFs: 50 GB servers on a 128 GB host.

        Nova's scheduler places 2; verify must count the compute node's own
        resources too, not only free devices (which would say 4).
        """
        self.convert_host()
        name = 'vgpu.a40-2q.vf-bigdisk'
        flavor = self.create_vf_flavor(name, disk=50)
        before = self.verify(name)
        placed = self.fill(flavor, name, self.NUM_VFS + 2)
        self.assertEqual(2, placed, 'DISK_GB 128 fits two 50 GB servers')
        self.assertEqual(
            placed, before['capacity'],
            'vfio verify says %d servers of %s fit, Nova %s\'s scheduler '
            'placed %d' % (before['capacity'], name, harness.NOVA_RELEASE,
                           placed))
