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

"""How the sandbox writes an estate into Placement (seed.seed_placement),
against a recording stand-in for Placement's REST API: which requests a
new, an existing and a half-existing estate cost."""

import testtools

from vfioclient.sandbox import estates
from vfioclient.sandbox import seed


class RecordingPlacement(seed.Placement):
    """seed.Placement with ``call`` answered from memory."""

    def __init__(self, existing=(), fail_batch=False):
        super().__init__(sess=None, base='http://placement')
        self.calls = []
        self.existing = {p.uuid: {'uuid': p.uuid, 'name': p.name,
                                  'generation': 1,
                                  'parent_provider_uuid': p.parent_uuid}
                         for p in existing}
        self.fail_batch = fail_batch

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        with self._lock:
            self.requests += 1
            self.calls.append((method, path, body))
        if method == 'GET' and path == '/resource_providers':
            return {'resource_providers': list(self.existing.values())}
        if method == 'POST' and path == '/resource_providers':
            return {'generation': 0}
        if method == 'POST' and path == '/allocations':
            if self.fail_batch:
                raise seed.SeedError('POST /allocations -> 409: consumer '
                                     'generation conflict')
            return None
        if method == 'GET' and path.startswith('/allocations/'):
            return {'allocations': {}}
        if method == 'GET' and path.endswith('/inventories'):
            return {'resource_provider_generation': 1, 'inventories': {}}
        if method == 'GET' and path.endswith('/traits'):
            return {'resource_provider_generation': 1, 'traits': []}
        if method == 'PUT' and (path.endswith('/inventories')
                                or path.endswith('/traits')):
            return {'resource_provider_generation': 2}
        return None

    def paths(self, method, prefix):
        return [(p, b) for m, p, b in self.calls
                if m == method and p.startswith(prefix)]


class TestSeedPlacement(testtools.TestCase):

    def seed(self, placement, estate, threads=1):
        return seed.seed_placement(placement, estate, 'proj', 'user',
                                   threads=threads)

    def check_new_estate(self, threads):
        estate = estates.get('large', 30)
        pl = RecordingPlacement()
        stats = self.seed(pl, estate, threads)
        posts = pl.paths('POST', '/resource_providers')
        self.assertEqual(len(estate.providers), len(posts))
        # every root is created before any child
        kinds = ['parent_provider_uuid' in b for _, b in posts]
        self.assertEqual(sorted(kinds), kinds)
        # new providers: no reads of what they cannot have yet
        self.assertEqual([], pl.paths('GET', '/resource_providers/'))
        self.assertEqual([], pl.paths('GET', '/allocations/'))
        with_traits = [p for p in estate.providers if p.traits]
        self.assertEqual(len(with_traits),
                         len([1 for p, _ in pl.paths('PUT', '/resource_')
                              if p.endswith('/traits')]))
        # allocations: one POST per batch, every consumer written once
        batches = pl.paths('POST', '/allocations')
        self.assertEqual(
            -(-len(estate.consumers) // seed.ALLOCATION_BATCH),
            len(batches))
        written = [u for _, body in batches for u in body]
        self.assertEqual(sorted(c.uuid for c in estate.consumers),
                         sorted(written))
        self.assertEqual(len(estate.consumers),
                         stats['allocations_written'])
        self.assertEqual(len(pl.calls), stats['requests'])

    def test_new_estate_serial(self):
        self.check_new_estate(1)

    def test_new_estate_two_threads(self):
        self.check_new_estate(2)

    def test_existing_estate_compares_before_writing(self):
        estate = estates.get('small', None)
        pl = RecordingPlacement(existing=estate.providers)
        self.seed(pl, estate)
        self.assertEqual([], pl.paths('POST', '/resource_providers'))
        self.assertEqual([], pl.paths('POST', '/allocations'))
        # each consumer is read, then written (the stand-in has none)
        self.assertEqual(len(estate.consumers),
                         len(pl.paths('GET', '/allocations/')))
        self.assertEqual(len(estate.consumers),
                         len(pl.paths('PUT', '/allocations/')))

    def test_batch_refused_falls_back_to_one_by_one(self):
        estate = estates.get('large', 8)
        pl = RecordingPlacement(fail_batch=True)
        stats = self.seed(pl, estate)
        self.assertEqual(1, len(pl.paths('POST', '/allocations')))
        self.assertEqual(len(estate.consumers),
                         len(pl.paths('PUT', '/allocations/')))
        self.assertEqual(len(estate.consumers),
                         stats['allocations_written'])
