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

"""A latency-injecting HTTP reverse proxy on 127.0.0.1, for benchmarks.

It stands for a remote cloud: every request waits ``--latency-ms`` before
it is forwarded to ``--upstream`` (an ``http://127.0.0.1:PORT`` service of
the sandbox), and the answer is passed back unchanged.

Bounded and self-stopping by design:

* it binds to 127.0.0.1 only and forwards only to a loopback upstream;
* at most ``--max-connections`` requests are handled at once (more wait
  in the listen queue);
* it exits by itself after ``--max-seconds`` in any case, when its parent
  process dies (it polls the parent's pid), so a crashed benchmark leaves
  nothing behind, and, run by hand, after ``--idle-exit`` seconds without
  a request (:class:`Running`, used by the benchmark, turns the idle exit
  off: seeding a big estate can leave the proxy unused for long).

``GET /__proxy__/stats`` (answered locally, not counted, no latency) gives
``{"requests": N, "by_path": {...}}`` so the benchmark can check that a
client really went through the proxy.

Run: ``python -m vfioclient.tests.bench.latency_proxy --upstream URL``; it
prints one JSON line ``{"port": ..., "pid": ...}`` when it is ready.
"""

import argparse
import collections
import http.client
import http.server
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
import urllib.parse

from vfioclient.sandbox import runner

LOOPBACK = '127.0.0.1'
STATS_PATH = '/__proxy__/stats'
HOP_BY_HOP = frozenset((
    'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization',
    'te', 'trailers', 'transfer-encoding', 'upgrade'))
UUID_RE = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-'
                     r'[0-9a-f]{12}')


class Proxy(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, upstream, latency, max_connections=16, port=0):
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.scheme != 'http' or parsed.hostname not in (
                LOOPBACK, 'localhost'):
            raise ValueError('upstream must be http://127.0.0.1:PORT, got %r'
                             % upstream)
        self.upstream_host = LOOPBACK
        self.upstream_port = parsed.port or 80
        self.upstream_prefix = parsed.path.rstrip('/')
        self.latency = latency
        self.slots = threading.BoundedSemaphore(max_connections)
        self.lock = threading.Lock()
        self.requests = 0
        self.by_path = collections.Counter()
        self.last_request = time.monotonic()
        super().__init__((LOOPBACK, port), Handler)

    def count(self, method, path):
        shape = UUID_RE.sub('{uuid}', path.split('?')[0])
        with self.lock:
            self.requests += 1
            self.by_path['%s %s' % (method, shape)] += 1
            self.last_request = time.monotonic()

    def stats(self):
        with self.lock:
            return {'requests': self.requests,
                    'by_path': dict(sorted(self.by_path.items())),
                    'latency_ms': round(self.latency * 1000, 1)}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'     # keep-alive towards the client

    def setup(self):
        super().setup()
        # Headers and body go out in two writes: without TCP_NODELAY,
        # Nagle's algorithm and the client's delayed ACK add ~40 ms to
        # every keep-alive response, on top of the latency we mean to add.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY,
                                   1)

    def log_message(self, fmt, *args):   # quiet
        pass

    def _stats(self):
        body = json.dumps(self.server.stats()).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self):
        if self.path == STATS_PATH:
            return self._stats()
        server = self.server
        with server.slots:
            server.count(self.command, self.path)
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else None
            if server.latency:
                time.sleep(server.latency)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in HOP_BY_HOP and k.lower() != 'host'}
            headers['Host'] = '%s:%d' % (server.upstream_host,
                                         server.upstream_port)
            conn = http.client.HTTPConnection(
                server.upstream_host, server.upstream_port, timeout=120)
            try:
                conn.request(self.command, server.upstream_prefix + self.path,
                             body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except OSError as e:
                data = ('proxy: upstream failed: %s' % e).encode()
                self.send_response(502)
                self.send_header('Content-Type', 'text/plain')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            finally:
                conn.close()
            self.send_response_only(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() in HOP_BY_HOP or k.lower() == 'content-length':
                    continue
                self.send_header(k, v)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward


def _watchdog(server, idle_exit, max_seconds, parent):
    start = time.monotonic()
    while True:
        time.sleep(0.5)
        now = time.monotonic()
        with server.lock:
            idle = now - server.last_request
        reason = None
        if max_seconds and now - start > max_seconds:
            reason = 'max lifetime %ds reached' % max_seconds
        elif idle_exit and idle > idle_exit:
            reason = 'idle for %ds' % idle_exit
        elif parent and not _alive(parent):
            reason = 'parent %d gone' % parent
        if reason:
            sys.stderr.write('latency proxy: stopping: %s\n' % reason)
            server.shutdown()
            return


def _alive(pid):
    if pid == _FIRST_PARENT:
        # Our parent: when it dies we are re-parented (pid reuse-proof).
        return os.getppid() == pid
    return runner.alive(pid)


_FIRST_PARENT = os.getppid()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--upstream', required=True,
                        help='http://127.0.0.1:PORT[/prefix] to forward to')
    parser.add_argument('--latency-ms', type=float, default=20.0)
    parser.add_argument('--port', type=int, default=0,
                        help='port on 127.0.0.1 (default: a free one)')
    parser.add_argument('--max-connections', type=int, default=16)
    parser.add_argument('--idle-exit', type=float, default=900.0,
                        help='exit after this many seconds without a '
                             'request (0: never)')
    parser.add_argument('--max-seconds', type=float, default=4 * 3600.0,
                        help='exit after this long in any case')
    parser.add_argument('--parent-pid', type=int, default=None,
                        help='exit when this process is gone (default: '
                             'the parent process)')
    args = parser.parse_args(argv)
    server = Proxy(args.upstream, args.latency_ms / 1000.0,
                   max_connections=args.max_connections, port=args.port)
    parent = args.parent_pid if args.parent_pid is not None else (
        os.getppid())
    threading.Thread(target=_watchdog, daemon=True,
                     args=(server, args.idle_exit, args.max_seconds,
                           parent)).start()
    sys.stdout.write(json.dumps({'port': server.server_address[1],
                                 'pid': os.getpid()}) + '\n')
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


class Running:
    """Start the proxy as a child process; a context manager.

    ``url`` is the proxy's base URL; :meth:`stats` reads its counters.
    """

    def __init__(self, upstream, latency_ms=20.0, python=None, **options):
        self.upstream = upstream
        self.latency_ms = latency_ms
        self.python = python or sys.executable
        self.options = options
        self.proc = None
        self.port = None

    def __enter__(self):
        import subprocess
        cmd = [self.python, '-m', 'vfioclient.tests.bench.latency_proxy',
               '--upstream', self.upstream,
               '--latency-ms', str(self.latency_ms),
               '--parent-pid', str(os.getpid())]
        # A benchmark may not use its proxy for a long while (seeding a
        # big estate): it stops with its parent, not when idle.
        options = dict({'idle_exit': 0}, **self.options)
        for key, value in options.items():
            cmd += ['--%s' % key.replace('_', '-'), str(value)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise RuntimeError('latency proxy did not start (exit %s)'
                               % self.proc.returncode)
        self.port = json.loads(line)['port']
        return self

    @property
    def url(self):
        return 'http://%s:%d' % (LOOPBACK, self.port)

    def stats(self):
        conn = http.client.HTTPConnection(LOOPBACK, self.port, timeout=10)
        try:
            conn.request('GET', STATS_PATH)
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        return False


if __name__ == '__main__':
    sys.exit(main())
