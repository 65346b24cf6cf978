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

"""``openstack vfio resource class create`` against real Placement."""

import json
import os
import tempfile

from vfioclient.apply import planfile
from vfioclient.tests.functional import base


def _rows(result):
    return {row['name']: row for row in result.json}


class TestResourceClassCreate(base.PlacementTestCase):

    def _exists(self, name):
        resp = self.api.request('/resource_classes/%s' % name, 'GET',
                                raise_exc=False)
        return resp.status_code == 200

    def _create(self, *argv, **kwargs):
        result = self.openstack('vfio', 'resource', 'class', 'create',
                                '--concurrency', '1', *argv, **kwargs)
        return result

    def test_created_then_exists_with_normalisation(self):
        self.assertFalse(self._exists('CUSTOM_NVIDIA_A40_2Q'))
        result = self._create('nvidia-a40-2q', 'CUSTOM_NVIDIA_A16_4Q')
        rows = _rows(result)
        self.assertEqual({'CUSTOM_NVIDIA_A40_2Q', 'CUSTOM_NVIDIA_A16_4Q'},
                         set(rows))
        row = rows['CUSTOM_NVIDIA_A40_2Q']
        self.assertEqual('nvidia-a40-2q', row['requested'])
        self.assertEqual('created', row['action'])
        self.assertTrue(self._exists('CUSTOM_NVIDIA_A40_2Q'))
        self.assertTrue(self._exists('CUSTOM_NVIDIA_A16_4Q'))
        again = _rows(self._create('nvidia-a40-2q', 'CUSTOM_NVIDIA_A16_4Q'))
        self.assertEqual(['exists', 'exists'],
                         [r['action'] for r in again.values()])

    def test_dry_run_writes_nothing(self):
        self._create('CUSTOM_ALREADY')
        result = self._create('--dry-run', 'CUSTOM_ALREADY', 'new-one')
        rows = _rows(result)
        self.assertEqual('exists', rows['CUSTOM_ALREADY']['action'])
        self.assertEqual('would-create', rows['CUSTOM_NEW_ONE']['action'])
        self.assertFalse(self._exists('CUSTOM_NEW_ONE'))

    def test_refused_names_and_others_still_created(self):
        result = self._create('VGPU', 'custom_bad-name', 'good',
                              may_fail=True)
        self.assertEqual(1, result.rc)
        # The table is printed even though the command exits 1.
        rows = {r['requested']: r for r in json.loads(result.stdout)}
        self.assertEqual('refused', rows['VGPU']['action'])
        self.assertIn('standard resource class', rows['VGPU']['reason'])
        bad = rows['custom_bad-name']
        self.assertEqual('CUSTOM_BAD-NAME', bad['name'])
        self.assertEqual('refused', bad['action'])
        self.assertIn('CUSTOM_BAD_NAME', bad['reason'])
        self.assertEqual('created', rows['good']['action'])
        self.assertTrue(self._exists('CUSTOM_GOOD'))
        self.assertFalse(self._exists('CUSTOM_BAD-NAME'))
        self.assertIn('1 created, 2 refused', result.stderr)
        self.assertIn('not done: VGPU, CUSTOM_BAD-NAME', result.stderr)

    def test_from_plan_resumes(self):
        doc = planfile.minimal_document(
            resource_classes=['CUSTOM_P_A', 'CUSTOM_P_B', 'CUSTOM_P_C'])
        fd, path = tempfile.mkstemp(suffix='.json')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            json.dump(doc, f)
        # As if an earlier run was killed after the first class.
        self._create('CUSTOM_P_A')
        rows = _rows(self._create('--from-plan', path))
        self.assertEqual({'CUSTOM_P_A': 'exists', 'CUSTOM_P_B': 'created',
                          'CUSTOM_P_C': 'created'},
                         {n: r['action'] for n, r in rows.items()})
        listed = self.api.get('/resource_classes').json()['resource_classes']
        names = [rc['name'] for rc in listed]
        self.assertEqual(1, names.count('CUSTOM_P_B'))

    def test_bad_plan_is_a_clear_error(self):
        fd, path = tempfile.mkstemp(suffix='.json')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            f.write('{"schema_version": 1, "kind": "vfio-pl')
        result = self._create('--from-plan', path, may_fail=True)
        self.assertEqual(1, result.rc)
        self.assertIn('not valid JSON', result.stderr)
        self.assertNotIn('Traceback', result.stderr)
