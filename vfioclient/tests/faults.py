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

"""A fault-injecting WSGI middleware for real services in tests and benches.

Rules match a method and a path regex and either answer with an error
status, delay the response (latency, or a hang longer than the client's
timeout), or drop the connection.  ``times`` bounds transient faults; every
hit is counted so tests can assert how often a fault was met.
"""

import dataclasses
import re
import threading
import time


@dataclasses.dataclass
class Rule:
    path: str                       # regex matched against the path
    method: str = 'GET'
    status: int = None              # answer with this status
    body: bytes = b''
    content_type: str = 'text/html'
    delay: float = 0.0              # sleep before answering
    drop: bool = False              # close the connection, no response
    times: int = None               # None: forever
    hits: int = 0

    def matches(self, method, path):
        return (self.method in ('*', method)
                and re.search(self.path, path) is not None
                and (self.times is None or self.hits < self.times))


class ConnectionDropped(Exception):
    """Raised inside the server to close the socket without a response."""


class FaultMiddleware:
    """Wrap a WSGI app; ``latency`` is added to every request."""

    def __init__(self, app, rules=(), latency=0.0):
        self.app = app
        self.rules = list(rules)
        self.latency = latency
        self.requests = 0
        self._lock = threading.Lock()

    def add(self, rule):
        with self._lock:
            self.rules.append(rule)
        return rule

    def __call__(self, environ, start_response):
        method = environ['REQUEST_METHOD']
        path = environ.get('SCRIPT_NAME', '') + environ.get('PATH_INFO', '')
        with self._lock:
            self.requests += 1
            rule = next((r for r in self.rules if r.matches(method, path)),
                        None)
            if rule is not None:
                rule.hits += 1
        if self.latency:
            time.sleep(self.latency)
        if rule is None:
            return self.app(environ, start_response)
        if rule.delay:
            time.sleep(rule.delay)
        if rule.drop:
            conn = environ.get('vfio.connection')
            if conn is not None:
                import socket
                conn.shutdown(socket.SHUT_RDWR)
            raise ConnectionDropped(path)
        if rule.status is None:
            return self.app(environ, start_response)
        reason = {403: 'Forbidden', 500: 'Internal Server Error',
                  502: 'Bad Gateway', 503: 'Service Unavailable',
                  409: 'Conflict'}.get(rule.status, 'Error')
        start_response('%d %s' % (rule.status, reason),
                       [('Content-Type', rule.content_type),
                        ('Content-Length', str(len(rule.body)))])
        return [rule.body]


def placement_error(status, detail):
    """A Placement-style JSON error body."""
    import json
    return json.dumps({'errors': [{'status': status, 'title': 'Error',
                                   'detail': detail}]}).encode()
