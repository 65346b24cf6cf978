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

"""The sandbox's fake GPU hosts agree with its estate."""

import tempfile

import testtools

from vfioclient.collect import sysfs
from vfioclient.sandbox import estates
from vfioclient.sandbox import hosts


class TestSandboxHosts(testtools.TestCase):

    def test_small_estate_hosts(self):
        specs = hosts.host_specs(estates.small())
        # t4-03 is gone from Nova and a40-04's PF is half converted.
        self.assertEqual(['a40-01.sandbox.test', 'a40-02.sandbox.test',
                          'a40-03.sandbox.test', 't4-01.sandbox.test',
                          't4-02.sandbox.test'], sorted(specs))

    def test_trees_read_back_as_the_estate_says(self):
        with tempfile.TemporaryDirectory() as tmp:
            trees = hosts.write_trees('small', tmp)
            a40 = sysfs.collect_host_report(
                trees['a40-01.sandbox.test'], hostname='a40-01')
            (gpu,) = a40.gpus
            self.assertEqual(('0000:41:00.0', 8, 'legacy-mdev-vf'),
                             (gpu.address, gpu.vf_count, gpu.mode))
            # Three servers hold vGPUs on a40-01: three mdevs.
            self.assertEqual(3, sum(u.count for u in gpu.types_in_use))
            converted = sysfs.collect_host_report(
                trees['a40-03.sandbox.test'], hostname='a40-03')
            (gpu,) = converted.gpus
            self.assertEqual('variant-vf', gpu.mode)
            self.assertEqual([558], [t.id for t in gpu.types_offered])
            t4 = sysfs.collect_host_report(trees['t4-01.sandbox.test'])
            self.assertEqual('legacy-mdev-pf', t4.gpus[0].mode)
