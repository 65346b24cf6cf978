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

"""Processes of the sandbox: one WSGI server per service, on 127.0.0.1.

``python -m vfioclient.sandbox.runner MODULE PORT PROG --state DIR`` serves
``MODULE.application`` with the stdlib's threaded wsgiref server, bound to
127.0.0.1 only.  Keystone, Placement and Nova parse ``sys.argv`` when they
are imported, so the runner sets it to ``[PROG]`` first (gunicorn's argv
breaks them).  ``--state`` is only there so that ``down`` can tell its own
processes from anyone else's.

The rest of the module starts, watches and stops those processes; each one
is the leader of its own process group and its pid is recorded in
``<state>/run/<service>.pid``.
"""

import errno
import http.client
import os
import signal
import socket
import subprocess
import sys
import time

HOST = '127.0.0.1'
EXIT_PORT_IN_USE = 98


class SandboxError(Exception):
    """A failure with a message meant for the user."""


class ServiceFailed(SandboxError):
    def __init__(self, service, message, log=None):
        self.service = service
        self.log = log
        super().__init__(message)


# -- ports -------------------------------------------------------------------
def pick_free_port(host=HOST):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def pick_ports(services, base=None):
    """{service: port}: consecutive from ``base`` or free ones."""
    if base:
        return {s: base + i for i, s in enumerate(services)}
    ports = {}
    while len(ports) < len(services):
        p = pick_free_port()
        if p not in ports.values():
            ports[services[len(ports)]] = p
    return ports


def port_in_use(port, host=HOST):
    """True if something listens on ``port`` (TIME_WAIT does not count:
    the runner sets SO_REUSEADDR too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


# -- processes ---------------------------------------------------------------
def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            return f.read().split(b'\0')
    except OSError:
        return None


def _is_zombie(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except (OSError, IndexError):
        return False


def alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def is_ours(pid, state):
    """True if ``pid`` is a sandbox runner of state dir ``state``."""
    if not alive(pid):
        return False
    cmd = _cmdline(pid)
    if cmd is None:           # no /proc: trust the pid file
        return True
    return (b'vfioclient.sandbox.runner' in cmd
            and os.fsencode(state) in cmd)


def command(module, port, prog, state, python=None, workers=1):
    cmd = [python or sys.executable, '-m', 'vfioclient.sandbox.runner',
           module, str(port), prog, '--state', state]
    if workers > 1:
        cmd += ['--workers', str(workers)]
    return cmd


def start(cmd, log_path, env=None, cwd=None):
    """Start ``cmd`` in a new session (pid == process group id)."""
    log = open(log_path, 'ab')
    try:
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True, close_fds=True)
    finally:
        log.close()


def _group_alive(pgid):
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # zombies count as members; the leader alone may be one
    return alive(pgid) or _other_members(pgid)


def _other_members(pgid):
    try:
        pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
    except OSError:
        return True
    for pid in pids:
        try:
            if os.getpgid(pid) == pgid and not _is_zombie(pid):
                return True
        except OSError:
            continue
    return False


def stop(pid, timeout=10.0):
    """SIGTERM the process group ``pid``, SIGKILL it after ``timeout``.

    Returns True when nothing of the group is left.
    """
    return not stop_many([pid], timeout)


def stop_many(pids, timeout=10.0):
    """Stop the process groups ``pids`` together (SIGTERM to all, then
    SIGKILL to the ones left after ``timeout`` s).  Returns the pids of
    the groups that could not be stopped."""
    left = list(pids)
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        for pid in left:
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while left and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.waitpid(pid, os.WNOHANG)   # reap our own children
                except ChildProcessError:
                    pass
            left = [pid for pid in left if _group_alive(pid)]
            if left:
                time.sleep(0.1)
        if not left:
            return []
    return left


def answers(url, timeout=3.0):
    """True if an HTTP server answers ``url`` with any status."""
    u = url.split('://', 1)[1]
    hostport, _, path = u.partition('/')
    host, _, port = hostport.partition(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request('GET', '/' + path)
        conn.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def tail(path, lines=25):
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            data = f.read().decode('utf-8', 'replace')
    except OSError:
        return ''
    return '\n'.join(data.splitlines()[-lines:])


def wait_all(procs, timeout):
    """Wait until every service answers.

    ``procs``: {service: (Popen, url, log_path)}.  Raises ServiceFailed for
    the first one that dies or does not answer within ``timeout`` s.
    Returns {service: seconds it took}.
    """
    t0 = time.monotonic()
    pending = dict(procs)
    took = {}
    while pending:
        for name, (proc, url, log) in list(pending.items()):
            rc = proc.poll()
            if rc is not None:
                if rc == EXIT_PORT_IN_USE:
                    msg = ('%s could not bind %s: the port is already '
                           'taken' % (name, url))
                else:
                    msg = '%s exited with status %s while starting' % (
                        name, rc)
                raise ServiceFailed(name, msg, log)
            if answers(url):
                took[name] = round(time.monotonic() - t0, 1)
                del pending[name]
        if not pending:
            break
        if time.monotonic() - t0 > timeout:
            name = sorted(pending)[0]
            raise ServiceFailed(name, '%s did not answer %s within %d s'
                                % (name, pending[name][1], timeout),
                                pending[name][2])
        time.sleep(0.2)
    return took


# -- the WSGI server (python -m vfioclient.sandbox.runner) -------------------
def serve(module, port, prog, workers=1):
    """Serve ``module.application`` on 127.0.0.1:``port``.

    ``workers`` > 1 pre-forks that many processes on one listening socket
    (like uWSGI's ``processes``): a threaded Python server is bound by the
    GIL to one core, and a real deployment runs several workers.  Workers
    fork before the app is imported, so they share no connection or
    cache; they all stay in this process group, which ``stop()`` kills.
    """
    import importlib
    import socketserver
    from wsgiref import simple_server

    class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
        daemon_threads = True
        allow_reuse_address = True

    class Handler(simple_server.WSGIRequestHandler):
        def log_message(self, fmt, *args):
            sys.stderr.write('%s %s\n' % (self.address_string(),
                                          fmt % args))
            sys.stderr.flush()

    try:
        # bind first: a taken port fails in milliseconds, not after the
        # app's imports
        server = Server((HOST, port), Handler)
    except OSError as exc:
        sys.stderr.write('vfio-sandbox runner: cannot bind %s:%d: %s\n'
                         % (HOST, port, exc))
        return (EXIT_PORT_IN_USE if exc.errno == errno.EADDRINUSE
                else 1)
    if workers > 1:
        # the loser of a wake-up must not block in accept()
        server.socket.setblocking(False)
        for _ in range(workers - 1):
            if os.fork() == 0:
                break
    sys.argv = [prog]            # the apps parse sys.argv at import time
    app = importlib.import_module(module).application
    server.set_app(app)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    sys.stderr.write('vfio-sandbox runner: %s serving on http://%s:%d/ '
                     '(pid %d)\n' % (module, HOST, port, os.getpid()))
    sys.stderr.flush()
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if '--state' in argv:        # only a marker for is_ours()
        i = argv.index('--state')
        del argv[i:i + 2]
    workers = 1
    if '--workers' in argv:
        i = argv.index('--workers')
        workers = int(argv[i + 1])
        del argv[i:i + 2]
    if len(argv) != 3 or workers < 1:
        sys.stderr.write('usage: python -m vfioclient.sandbox.runner '
                         'MODULE PORT PROG [--state DIR] [--workers N]\n')
        return 2
    return serve(argv[0], int(argv[1]), argv[2], workers)


if __name__ == '__main__':
    sys.exit(main())
