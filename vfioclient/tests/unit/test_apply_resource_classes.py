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

"""apply/resource_classes.py: normalisation, refusals, 409s, failures."""

import testtools

from vfioclient.apply import resource_classes as rcs
from vfioclient.cloud import client


class FakePlacement:
    def __init__(self, existing=(), fail=(), conflict=()):
        self.classes = set(existing)
        self.fail = set(fail)
        self.conflict = set(conflict)
        self.puts = []

    def negotiate(self, minimum, wanted=None):
        return minimum

    def get(self, path, version, params=None, expected=None):
        assert expected == (404,), 'a missing class is a normal answer'
        name = path.rsplit('/', 1)[1]
        if name in self.classes:
            return {'name': name, 'links': []}
        return {'errors': [{'detail': 'not found'}]}

    def put(self, path, version, body=None, expected=None):
        name = path.rsplit('/', 1)[1]
        self.puts.append(name)
        if name in self.fail:
            raise client.ApiError('placement', 'PUT', path, 503, 'down')
        if name in self.conflict:
            self.classes.add(name)   # the other writer won
            raise client.ApiError('placement', 'PUT', path, 409, 'race')
        self.classes.add(name)


class TestResourceClasses(testtools.TestCase):

    def test_check_name(self):
        self.assertEqual('CUSTOM_NVIDIA_A40_2Q',
                         rcs.check_name('nvidia-a40-2q').name)
        self.assertIsNone(rcs.check_name('nvidia-a40-2q').problem)
        self.assertIn('standard', rcs.check_name('vgpu').problem)
        self.assertEqual('VGPU', rcs.check_name('vgpu').name)
        bad = rcs.check_name('custom_a-b')
        self.assertEqual('CUSTOM_A-B', bad.name)
        self.assertIn('CUSTOM_A_B', bad.problem)
        self.assertIn('255', rcs.check_name('CUSTOM_' + 'A' * 250).problem)
        self.assertIn('empty', rcs.check_name(' ').problem)

    def test_duplicates_after_normalisation_once(self):
        items = rcs.check_names(['a-b', 'A_B', 'CUSTOM_A_B'])
        self.assertEqual(['CUSTOM_A_B'], [i.name for i in items])

    def test_one_failure_does_not_stop_the_others(self):
        fake = FakePlacement(existing=['CUSTOM_OLD'], fail=['CUSTOM_DOWN'],
                             conflict=['CUSTOM_RACE'])
        results = rcs.create_resource_classes(
            fake, ['old', 'down', 'race', 'new', 'PCI_DEVICE'])
        self.assertEqual(
            [('CUSTOM_OLD', 'exists'), ('CUSTOM_DOWN', 'failed'),
             ('CUSTOM_RACE', 'exists'), ('CUSTOM_NEW', 'created'),
             ('PCI_DEVICE', 'refused')],
            [(r.name, r.action) for r in results])
        self.assertIn('HTTP 503', results[1].reason)
        self.assertIn('concurrently', results[2].reason)
        self.assertNotIn('CUSTOM_OLD', fake.puts)
        text = rcs.summary(results)
        self.assertIn('1 created, 2 exists, 1 refused, 1 failed', text)
        self.assertIn('not done: CUSTOM_DOWN, PCI_DEVICE', text)

    def test_dry_run_never_puts(self):
        fake = FakePlacement(existing=['CUSTOM_OLD'])
        results = rcs.create_resource_classes(fake, ['old', 'new'],
                                              dry_run=True)
        self.assertEqual(['exists', 'would-create'],
                         [r.action for r in results])
        self.assertEqual([], fake.puts)
