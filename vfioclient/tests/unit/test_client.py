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

"""Unit tests of the client layer: error mapping, negotiation, retries."""

import json
import socketserver
import threading
import time
import types
from wsgiref import simple_server

import fixtures
from keystoneauth1 import adapter
from keystoneauth1 import session as ks_session
import requests
import testtools

from vfioclient.cloud import client
from vfioclient.tests import faults


def make_response(status, body=None, text=None, reason=None):
    response = requests.Response()
    response.status_code = status
    response.reason = reason
    if body is not None:
        response._content = json.dumps(body).encode()
        response.headers['Content-Type'] = 'application/json'
    elif text is not None:
        response._content = text.encode()
    else:
        response._content = b''
    return response


class FakeAdapter:
    """Returns queued responses (or raises queued exceptions) in order."""

    def __init__(self, *outcomes, max_microversion=None):
        self.outcomes = list(outcomes)
        self.calls = []
        self.max_microversion = max_microversion

    def request(self, url, method, **kwargs):
        self.calls.append((method, url, kwargs))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def get_endpoint_data(self):
        if self.max_microversion is None:
            return None
        return type('EndpointData', (), {
            'max_microversion': self.max_microversion})()


class TestErrorMapping(testtools.TestCase):

    def _fail(self, response, service='placement', method='GET',
              path='/resource_providers/abc'):
        adapter = FakeAdapter(response)
        svc = client.ServiceClient(service, adapter, retries=0)
        return self.assertRaises(client.ApiError, svc._request, method, path,
                                 '1.14')

    def test_placement_detail(self):
        body = {'errors': [{
            'status': 404, 'title': 'Not Found',
            'detail': 'The resource could not be found.\n\n'
                      ' No resource provider with uuid abc found  '}]}
        err = self._fail(make_response(404, body))
        self.assertEqual(
            'Placement GET /resource_providers/abc failed: HTTP 404: '
            'No resource provider with uuid abc found', str(err))
        self.assertEqual(404, err.status)

    def test_nova_detail(self):
        body = {'badRequest': {'code': 400, 'message': 'Invalid flavor'}}
        err = self._fail(make_response(400, body), service='compute',
                         method='POST', path='/flavors')
        self.assertIn('Compute POST /flavors failed: HTTP 400', str(err))
        self.assertIn('Invalid flavor', str(err))

    def test_5xx_non_json_body_is_readable(self):
        err = self._fail(make_response(500, text='<html>boom</html>',
                                       reason='Internal Server Error'))
        self.assertEqual('Placement GET /resource_providers/abc failed: '
                         'HTTP 500: Internal Server Error', str(err))
        self.assertNotIn('Expecting value', str(err))

    def test_403_names_the_needed_role(self):
        err = self._fail(make_response(403, {'errors': [
            {'detail': 'Policy does not allow placement:resource_providers:'
                       'list to be performed.'}]}))
        self.assertIn('HTTP 403', str(err))
        self.assertIn('admin role', str(err))
        self.assertIn('placement:resource_providers:list', str(err))

    def test_microversion_is_sent(self):
        adapter = FakeAdapter(make_response(200, {'a': 1}))
        svc = client.ServiceClient('placement', adapter)
        self.assertEqual({'a': 1}, svc.get('/x', '1.14', params={'q': 'v'}))
        method, url, kwargs = adapter.calls[0]
        self.assertEqual(('GET', '/x?q=v'), (method, url))
        self.assertEqual('1.14', kwargs['microversion'])
        self.assertFalse(kwargs['raise_exc'])

    def test_expected_status_returns(self):
        adapter = FakeAdapter(make_response(204))
        svc = client.ServiceClient('placement', adapter)
        self.assertIsNone(svc.put('/resource_classes/CUSTOM_X', '1.7',
                                  expected=(201, 204)))


class TestNegotiation(testtools.TestCase):

    def test_from_endpoint_data(self):
        svc = client.ServiceClient('placement',
                                   FakeAdapter(max_microversion=(1, 39)))
        self.assertEqual('1.14', svc.negotiate('1.14'))
        self.assertEqual('1.36', svc.negotiate('1.14', '1.36'))
        self.assertEqual('1.39', svc.negotiate('1.14', '1.99'))

    def test_too_old_names_versions(self):
        svc = client.ServiceClient('placement',
                                   FakeAdapter(max_microversion=(1, 10)))
        err = self.assertRaises(client.MicroversionError, svc.negotiate,
                                '1.14')
        self.assertEqual('requires Placement >= 1.14, server supports 1.10',
                         str(err))

    def test_from_version_document(self):
        doc = {'versions': [{'id': 'v1.0', 'max_version': '1.36',
                             'min_version': '1.0'}]}
        adapter = FakeAdapter(make_response(200, doc))
        svc = client.ServiceClient('placement', adapter)
        self.assertEqual((1, 36), svc.max_version())
        # Discovered once.
        self.assertEqual((1, 36), svc.max_version())
        self.assertEqual(1, len(adapter.calls))

    def test_nova_version_document(self):
        doc = {'version': {'id': 'v2.1', 'version': '2.96',
                           'min_version': '2.1'}}
        svc = client.ServiceClient('compute',
                                   FakeAdapter(make_response(200, doc)))
        self.assertEqual('2.61', svc.negotiate('2.61', '2.61'))
        err = self.assertRaises(client.MicroversionError, svc.negotiate,
                                '2.100')
        self.assertIn('requires Compute >= 2.100, server supports 2.96',
                      str(err))


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class LoopbackService(fixtures.Fixture):
    """A JSON service on 127.0.0.1 behind :class:`faults.FaultMiddleware`,
    reached through a real keystoneauth Session and Adapter."""

    def _setUp(self):
        def app(environ, start_response):
            start_response('200 OK', [('Content-Type', 'application/json')])
            return [b'{"ok": true}']
        self.faults = faults.FaultMiddleware(app)
        server = simple_server.make_server(
            '127.0.0.1', 0, self.faults, server_class=_Server,
            handler_class=_QuietHandler)
        thread = threading.Thread(target=server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        endpoint = 'http://127.0.0.1:%d' % server.server_port
        self.adapter = adapter.Adapter(
            ks_session.Session(), service_type='placement',
            endpoint_override=endpoint)


class TestRetry(testtools.TestCase):
    """Retries are keystoneauth's; observed over real HTTP."""

    def setUp(self):
        super().setUp()
        self.service = self.useFixture(LoopbackService())
        # keystoneauth waits with time.sleep in its session module: record
        # the delays instead of waiting them.
        self.sleeps = []
        fake_time = types.SimpleNamespace(**vars(time))
        fake_time.sleep = self.sleeps.append
        self.useFixture(fixtures.MonkeyPatch('keystoneauth1.session.time',
                                             fake_time))

    def _client(self, retries=3, timeout=None):
        return client.ServiceClient('placement', self.service.adapter,
                                    retries=retries, timeout=timeout)

    def _fault(self, **kwargs):
        return self.service.faults.add(faults.Rule(path='^/x$', **kwargs))

    def _hits_settled(self, rule, expected):
        """``rule.hits`` once the server threads caught up.

        A timed-out client does not wait for the server: on a loaded
        machine the thread serving the last attempt may count its hit a
        moment after the client gave up.  Wait (real time, up to 10 s) for
        ``expected`` and then a little longer, so extra hits still show.
        """
        deadline = time.monotonic() + 10
        while rule.hits < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)
        return rule.hits

    def test_get_retries_503_then_succeeds(self):
        rule = self._fault(status=503, times=2)
        self.assertEqual({'ok': True}, self._client().get('/x', '1.0'))
        self.assertEqual(2, rule.hits)
        self.assertEqual([0.5, 1.0], self.sleeps)

    def test_get_retries_502_and_504(self):
        for status in (502, 504):
            rule = self._fault(status=status, times=1)
            self.assertEqual({'ok': True}, self._client().get('/x', '1.0'))
            self.assertEqual(1, rule.hits)

    def test_gives_up_after_retries_with_last_status(self):
        rule = self._fault(status=503)
        err = self.assertRaises(client.ApiError, self._client().get, '/x',
                                '1.0')
        self.assertEqual(503, err.status)
        self.assertEqual(4, rule.hits)       # 1 try + 3 retries
        self.assertEqual([0.5, 1.0, 2.0], self.sleeps)

    def test_timeout_is_retried_then_reported(self):
        rule = self._fault(delay=0.5)
        err = self.assertRaises(client.ApiError,
                                self._client(retries=2, timeout=0.1).get,
                                '/x', '1.0')
        self.assertIsNone(err.status)
        self.assertIn('Placement GET /x failed: connection failed after 3 '
                      'attempt(s)', str(err))
        self.assertIn('timed out', str(err))
        self.assertEqual(3, self._hits_settled(rule, 3))
        self.assertEqual([0.5, 1.0], self.sleeps)

    def test_writes_are_not_retried(self):
        rule = self._fault(method='PUT', status=503)
        err = self.assertRaises(client.ApiError, self._client().put, '/x',
                                '1.7')
        self.assertEqual(503, err.status)
        self.assertEqual(1, rule.hits)
        self.assertEqual([], self.sleeps)

    def test_write_timeout_is_not_retried(self):
        rule = self._fault(method='POST', delay=0.5)
        err = self.assertRaises(client.ApiError,
                                self._client(timeout=0.1).post, '/x', '1.7',
                                body={})
        self.assertIn('connection failed after 1 attempt(s)', str(err))
        self.assertEqual(1, self._hits_settled(rule, 1))
        self.assertEqual([], self.sleeps)

    def test_4xx_and_500_are_not_retried(self):
        for status in (404, 500):
            rule = self._fault(status=status, times=1)
            err = self.assertRaises(client.ApiError, self._client().get,
                                    '/x', '1.0')
            self.assertEqual(status, err.status)
            self.assertEqual(1, rule.hits)
        self.assertEqual([], self.sleeps)

    def test_microversion_header_is_sent(self):
        seen = []
        app = self.service.faults.app

        def record(environ, start_response):
            seen.append(environ.get('HTTP_OPENSTACK_API_VERSION'))
            return app(environ, start_response)
        self.service.faults.app = record
        self._client().get('/x', '1.36')
        self.assertEqual(['placement 1.36'], seen)


class TestStatsAndPool(testtools.TestCase):

    def test_endpoint_collapses_uuids(self):
        self.assertEqual(
            'placement GET /resource_providers/{uuid}/inventories',
            client.RequestStats.endpoint(
                'placement', 'GET', '/resource_providers/'
                '0b6e1f04-7c4b-4a0e-9a5e-58f0e4f1a1b2/inventories?x=1'))

    def test_map_keeps_order_and_propagates_first_error(self):
        cloud = client.CloudClient(None, None, concurrency=4)
        self.assertEqual([i * i for i in range(50)],
                         cloud.map(lambda i: i * i, range(50)))

        def boom(i):
            if i == 7:
                raise ValueError('seven')
            return i
        self.assertRaises(ValueError, cloud.map, boom, range(20))

    def test_map_reports_progress(self):
        seen = []
        cloud = client.CloudClient(None, None, concurrency=1)
        cloud.map(str, range(3), progress=lambda d, t: seen.append((d, t)))
        self.assertEqual([(1, 3), (2, 3), (3, 3)], seen)
