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

"""Real Placement served over HTTP on 127.0.0.1 (not intercepted).

For tests whose client side runs in several threads (in-process
wsgi-intercept shares one SQLite connection and cannot take concurrent
requests) and for the benchmarks.  The server handles one request at a time,
like a single Placement worker; the clients may be as concurrent as they like.

Optional middleware in front of the app injects latency or faults.
"""

import io
import threading
from wsgiref import simple_server

import fixtures
from placement import deploy
from placement.tests.functional.fixtures import placement as placement_fx


class _NullStream(io.StringIO):
    def write(self, text):
        return len(text)


class _QuietServer(simple_server.WSGIServer):
    def handle_error(self, request, client_address):
        # A client killed mid-request (crash tests) breaks the pipe; that is
        # the point of the test, not a server error worth a traceback.
        pass


class _QuietHandler(simple_server.WSGIRequestHandler):
    """No access log; server-side errors never reach the test's stderr.

    ``vfio.connection`` in the environ lets fault middleware drop the
    connection (shut the socket) without answering.
    """

    def log_message(self, *args):
        pass

    def get_stderr(self):
        return _NullStream()

    def get_environ(self):
        environ = super().get_environ()
        environ['vfio.connection'] = self.connection
        return environ


class LoopbackPlacement(fixtures.Fixture):
    """Placement on ``http://127.0.0.1:<free port>/placement``.

    ``middleware`` is an optional callable ``app -> app`` (latency, faults).
    """

    def __init__(self, middleware=None):
        super().__init__()
        self.middleware = middleware

    def _setUp(self):
        fx = self.useFixture(placement_fx.PlacementFixture(
            use_intercept=False))
        self.token = fx.token
        app = deploy.loadapp(fx.conf_fixture.conf)
        if self.middleware:
            app = self.middleware(app)

        def routed(environ, start_response):
            # The endpoint has a /placement prefix, as in a real deployment.
            path = environ.get('PATH_INFO', '')
            if path.startswith('/placement'):
                environ['SCRIPT_NAME'] = '/placement'
                environ['PATH_INFO'] = path[len('/placement'):] or '/'
            return app(environ, start_response)

        self.server = simple_server.make_server(
            '127.0.0.1', 0, routed, server_class=_QuietServer,
            handler_class=_QuietHandler)
        port = self.server.server_address[1]
        self.endpoint = 'http://127.0.0.1:%d/placement' % port
        thread = threading.Thread(target=self.server.serve_forever,
                                  kwargs={'poll_interval': 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
