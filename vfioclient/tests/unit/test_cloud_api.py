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

"""The named reads and writes of vfioclient.cloud: the request each makes,
the microversion it sends, and the one pager."""

import json

import requests
import testtools

from vfioclient.cloud import client
from vfioclient.cloud import compute
from vfioclient.cloud import placement


def _response(status=200, body=None):
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode() if body is not None \
        else b''
    return response


class RecordingAdapter:
    """Answers every request with ``answer(method, url)`` and records
    ``(method, url, microversion)``."""

    def __init__(self, max_microversion, answer):
        self.max_microversion = max_microversion
        self.answer = answer
        self.calls = []

    def get_endpoint_data(self):
        return type('EndpointData', (), {
            'max_microversion': self.max_microversion})()

    def request(self, url, method, **kwargs):
        self.calls.append((method, url, kwargs.get('microversion')))
        return self.answer(method, url)


def _service(name, max_version, answer):
    adapter = RecordingAdapter(max_version, answer)
    return client.ServiceClient(name, adapter), adapter


# (function, arguments, answer body, method, url) per named call.
PLACEMENT_CALLS = [
    (placement.list_resource_providers, (), {'resource_providers': []},
     'GET', '/resource_providers'),
    (placement.list_resource_providers_with_trait, ('T',),
     {'resource_providers': []}, 'GET', '/resource_providers?required=T'),
    (placement.list_resource_providers_without_trait, ('T', 'VGPU:1'),
     {'resource_providers': []}, 'GET',
     '/resource_providers?resources=VGPU%3A1&required=%21T'),
    (placement.list_resource_classes, (), {'resource_classes': []},
     'GET', '/resource_classes'),
    (placement.get_resource_class, ('CUSTOM_X',), {'name': 'CUSTOM_X'},
     'GET', '/resource_classes/CUSTOM_X'),
    (placement.create_resource_class, ('CUSTOM_X',), None,
     'PUT', '/resource_classes/CUSTOM_X'),
    (placement.list_associated_traits, (), {'traits': []},
     'GET', '/traits?associated=true'),
    (placement.get_provider_traits, ('u',), {'traits': []},
     'GET', '/resource_providers/u/traits'),
    (placement.get_inventories, ('u',), {'inventories': {}},
     'GET', '/resource_providers/u/inventories'),
    (placement.get_usages, ('u',), {'usages': {}},
     'GET', '/resource_providers/u/usages'),
    (placement.get_provider_allocations, ('u',), {'allocations': {}},
     'GET', '/resource_providers/u/allocations'),
    (placement.get_aggregates, ('u',), {'aggregates': []},
     'GET', '/resource_providers/u/aggregates'),
    (placement.find_resource_provider, ('cmp1',),
     {'resource_providers': []}, 'GET', '/resource_providers?name=cmp1'),
    (placement.list_provider_tree, ('u',), {'resource_providers': []},
     'GET', '/resource_providers?in_tree=u'),
    (placement.get_resource_provider, ('u',), {'uuid': 'u'},
     'GET', '/resource_providers/u'),
    (placement.delete_resource_provider, ('u',), None,
     'DELETE', '/resource_providers/u'),
    (placement.list_allocation_candidates,
     (lambda version, limit: [('resources', 'VGPU:1'), ('limit', limit)],
      5), {'allocation_requests': []},
     'GET', '/allocation_candidates?resources=VGPU%3A1&limit=5'),
]

COMPUTE_CALLS = [
    (compute.list_compute_services, (), {'services': []},
     'GET', '/os-services?binary=nova-compute'),
    (compute.get_server, ('s',), {'server': {'id': 's'}},
     'GET', '/servers/s'),
    (compute.get_flavor, ('f',), {'flavor': {'id': 'f'}},
     'GET', '/flavors/f'),
    (compute.create_flavor, ({'name': 'n'},), {'flavor': {'id': 'f'}},
     'POST', '/flavors'),
    (compute.set_flavor_description, ('f', 'd'), {'flavor': {}},
     'PUT', '/flavors/f'),
    (compute.delete_flavor, ('f',), None, 'DELETE', '/flavors/f'),
    (compute.set_flavor_extra_specs, ('f', {'k': 'v'}),
     {'extra_specs': {}}, 'POST', '/flavors/f/os-extra_specs'),
    (compute.delete_flavor_extra_spec, ('f', 'k'), None,
     'DELETE', '/flavors/f/os-extra_specs/k'),
    (compute.list_flavor_access, ('f',), {'flavor_access': []},
     'GET', '/flavors/f/os-flavor-access'),
    (compute.add_flavor_access, ('f', 'p'), None,
     'POST', '/flavors/f/action'),
]


class TestNamedCalls(testtools.TestCase):

    def _check(self, service_name, calls, max_version):
        for func, args, body, method, url in calls:
            minimum, wanted = func.microversion
            svc, adapter = _service(service_name, max_version,
                                    lambda m, u, b=body: _response(
                                        200 if b is not None else 204, b))
            func(svc, *args)
            expected = client.format_version(min(
                client.parse_version(wanted or minimum), max_version))
            self.assertEqual([(method, url, expected)], adapter.calls,
                             func.__name__)

    def test_placement_calls_send_their_declared_version(self):
        self._check('placement', PLACEMENT_CALLS, (1, 39))

    def test_compute_calls_send_their_declared_version(self):
        self._check('compute', COMPUTE_CALLS, (2, 96))

    def test_declared_versions(self):
        # The versions that the snapshot records and that Nova's
        # scheduler uses for allocation candidates.
        self.assertEqual(('1.18', '1.39'),
                         placement.list_resource_providers_with_trait
                         .microversion)
        self.assertEqual(('1.22', None),
                         placement.list_resource_providers_without_trait
                         .microversion)
        self.assertEqual(('1.33', '1.36'),
                         placement.list_allocation_candidates.microversion)
        self.assertEqual(('2.61', '2.61'), compute.list_flavors.microversion)
        self.assertEqual(('2.61', '2.86'), compute.create_flavor.microversion)

    def test_too_old_server_is_refused_before_any_request(self):
        svc, adapter = _service('placement', (1, 30),
                                lambda m, u: _response(200, {}))
        err = self.assertRaises(
            client.MicroversionError, placement.list_allocation_candidates,
            svc, lambda version, limit: [], 1)
        self.assertEqual('requires Placement >= 1.33, server supports 1.30',
                         str(err))
        self.assertEqual([], adapter.calls)

    def test_missing_resource_class_is_none(self):
        svc, _ = _service('placement', (1, 39), lambda m, u: _response(
            404, {'errors': [{'detail': 'not found'}]}))
        self.assertIsNone(placement.get_resource_class(svc, 'CUSTOM_X'))

    def test_missing_provider_is_none_or_already_gone(self):
        svc, _ = _service('placement', (1, 39), lambda m, u: _response(
            404, {'errors': [{'detail': 'not found'}]}))
        self.assertIsNone(placement.get_resource_provider(svc, 'u'))
        self.assertFalse(placement.delete_resource_provider(svc, 'u'))
        svc, _ = _service('placement', (1, 39), lambda m, u: _response(
            409, {'errors': [{'detail': 'has allocations'}]}))
        err = self.assertRaises(client.ApiError,
                                placement.delete_resource_provider, svc, 'u')
        self.assertEqual(409, err.status)
        svc, _ = _service('placement', (1, 39), lambda m, u: _response(204))
        self.assertTrue(placement.delete_resource_provider(svc, 'u'))

    def test_missing_server_is_none(self):
        svc, _ = _service('compute', (2, 96), lambda m, u: _response(
            404, {'itemNotFound': {'message': 'no'}}))
        self.assertIsNone(compute.get_server(svc, 's'))

    def test_missing_flavor_is_none(self):
        svc, _ = _service('compute', (2, 96), lambda m, u: _response(
            404, {'itemNotFound': {'message': 'no'}}))
        self.assertIsNone(compute.get_flavor(svc, 'f'))


class PagedNova:
    """``GET`` of a Nova list of ``total`` items, ``limit``/``marker``."""

    def __init__(self, total, links=True):
        self.items = [{'id': 'i%05d' % n} for n in range(total)]
        self.links = links
        self.queries = []

    def get(self, path, version, params=None):
        self.queries.append(dict(params))
        start = 0
        if 'marker' in params:
            start = [i['id'] for i in self.items].index(params['marker']) + 1
        page = self.items[start:start + params['limit']]
        body = {'flavors': page}
        if self.links and len(page) == params['limit']:
            body['flavors_links'] = [{'rel': 'next', 'href': '...'}]
        return body


class TestPager(testtools.TestCase):

    def test_follows_markers_to_a_short_page(self):
        nova = PagedNova(compute.PAGE_SIZE * 2 + 3)
        items = list(compute.paged(nova, '2.61', '/flavors/detail',
                                   'flavors', params={'is_public': 'None'}))
        self.assertEqual(nova.items, items)
        self.assertEqual([
            {'is_public': 'None', 'limit': compute.PAGE_SIZE},
            {'is_public': 'None', 'limit': compute.PAGE_SIZE,
             'marker': 'i%05d' % (compute.PAGE_SIZE - 1)},
            {'is_public': 'None', 'limit': compute.PAGE_SIZE,
             'marker': 'i%05d' % (compute.PAGE_SIZE * 2 - 1)},
        ], nova.queries)

    def test_a_full_page_then_an_empty_one(self):
        nova = PagedNova(compute.PAGE_SIZE)
        self.assertEqual(compute.PAGE_SIZE, len(list(compute.paged(
            nova, '2.61', '/flavors/detail', 'flavors'))))
        self.assertEqual(2, len(nova.queries))

    def test_a_full_page_without_next_link_is_the_last(self):
        nova = PagedNova(compute.PAGE_SIZE + 1, links=False)
        self.assertEqual(compute.PAGE_SIZE, len(list(compute.paged(
            nova, '2.61', '/flavors/detail', 'flavors'))))
        self.assertEqual(1, len(nova.queries))

    def test_reads_a_page_only_when_needed(self):
        nova = PagedNova(compute.PAGE_SIZE * 3)
        items = compute.paged(nova, '2.61', '/flavors/detail', 'flavors')
        self.assertEqual([], nova.queries)
        next(items)
        self.assertEqual(1, len(nova.queries))

    def test_list_flavors_pages_all_flavors(self):
        nova = PagedNova(compute.PAGE_SIZE + 1)
        nova.negotiate = lambda minimum, wanted=None: wanted
        self.assertEqual(nova.items, list(compute.list_flavors(nova)))
        self.assertEqual('None', nova.queries[0]['is_public'])
