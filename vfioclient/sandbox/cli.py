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

"""``vfio-sandbox``: a real mini-cloud with a legacy vGPU estate.

    vfio-sandbox up [--base-port <port>] [--placement-workers <n>]
    vfio-sandbox status [--json]
    vfio-sandbox seed --estate {small,legacy,converted,large} [--hosts <n>]
                      [--via {api,db}]
    vfio-sandbox env                # export lines for the openstack CLI
    vfio-sandbox estate <name>      # the estate's expected contents (JSON)
    vfio-sandbox down
    vfio-sandbox reset              # down + delete the state dir

Every subcommand takes ``--state-dir <dir>``, before or after its name.

Keystone, Placement and the Nova API (the real services, on SQLite) and a
Neutron stub, each one process bound to 127.0.0.1 on a free port.  The
state dir defaults to ``$VFIO_SANDBOX_STATE_DIR`` or
``~/.cache/vfio-sandbox``.  Exit status: 0 ok, 1 failure, 2 usage or
missing package, 3 (status only) not running.
"""

import argparse
import contextlib
import grp
import importlib.util
import json
import os
import pwd
import shutil
import sqlite3
import subprocess
import sys
import threading
import time

from vfioclient import fileio
from vfioclient.sandbox import config
from vfioclient.sandbox import estates
from vfioclient.sandbox import runner

REQUIRED_MODULES = {'keystone': 'keystone',
                    'placement': 'openstack-placement',
                    'nova': 'nova',
                    'keystonemiddleware': 'keystonemiddleware',
                    'keystoneauth1': 'keystoneauth1'}
START_TIMEOUT = int(os.environ.get('VFIO_SANDBOX_START_TIMEOUT', '180'))

MANAGE = {
    'keystone': ("import sys; sys.argv[0] = 'keystone-manage'; "
                 "from keystone.cmd.manage import main; sys.exit(main())"),
    'placement': ("import sys; sys.argv[0] = 'placement-manage'; "
                  "from placement.cmd.manage import main; sys.exit(main())"),
    'nova': ("import sys; sys.argv[0] = 'nova-manage'; "
             "from nova.cmd.manage import main; sys.exit(main())"),
}


class Fail(Exception):
    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


def out(msg=''):
    sys.stdout.write(msg + '\n')
    sys.stdout.flush()


# -- state -------------------------------------------------------------------
def read_text(path):
    with open(path) as f:
        return f.read().strip()


def load_meta(layout):
    try:
        with open(layout.meta) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def save_meta(layout, meta):
    fileio.write_private_file(layout.meta,
                              json.dumps(meta, indent=1, sort_keys=True))


def secret(layout, name):
    """Read or generate the password file ``name`` (mode 0600)."""
    path = layout.path(name)
    if not os.path.exists(path):
        fileio.write_private_file(path, config.new_password() + '\n')
    return read_text(path)


@contextlib.contextmanager
def locked(layout):
    import fcntl
    os.makedirs(layout.state, mode=0o700, exist_ok=True)
    fd = os.open(layout.path('.lock'), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Fail('another vfio-sandbox command is running on %s'
                       % layout.state)
        yield
    finally:
        os.close(fd)


def running(layout):
    """{service: pid} of the sandbox processes alive now."""
    found = {}
    for name in config.SERVICES:
        try:
            pid = int(read_text(layout.pidfile(name)))
        except (OSError, ValueError):
            continue
        if runner.is_ours(pid, layout.state):
            found[name] = pid
    return found


def missing_packages(modules=None):
    mods = REQUIRED_MODULES if modules is None else modules
    return sorted(pkg for mod, pkg in mods.items()
                  if importlib.util.find_spec(mod) is None)


# -- up ----------------------------------------------------------------------
def _write_configs(layout, ports, service_password):
    fileio.write_private_file(layout.keystone_conf,
                              config.keystone_conf(layout))
    fileio.write_private_file(
        layout.placement_conf,
        config.placement_conf(layout, ports, service_password))
    fileio.write_private_file(
        layout.nova_conf, config.nova_conf(layout, ports, service_password))
    paste = config.installed_api_paste(sys.prefix) or config.API_PASTE
    with open(layout.api_paste, 'w') as f:
        f.write(paste)


def _init_commands(layout, ports):
    py = sys.executable
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    ks = [py, '-c', MANAGE['keystone'], '--config-file',
          layout.keystone_conf]
    ks_url = config.url('keystone', ports)
    nova = [py, '-c', MANAGE['nova'], '--config-file', layout.nova_conf]
    return {
        'keystone': [
            ks + ['db_sync'],
            ks + ['fernet_setup', '--keystone-user', user,
                  '--keystone-group', group],
            ks + ['credential_setup', '--keystone-user', user,
                  '--keystone-group', group],
            # the password comes from OS_BOOTSTRAP_PASSWORD, not argv
            ks + ['bootstrap', '--bootstrap-region-id', config.REGION,
                  '--bootstrap-admin-url', ks_url,
                  '--bootstrap-internal-url', ks_url,
                  '--bootstrap-public-url', ks_url],
        ],
        'placement': [
            [py, '-c', MANAGE['placement'], '--config-file',
             layout.placement_conf, 'db', 'sync'],
        ],
        'nova': [
            nova + ['api_db', 'sync'],
            nova + ['cell_v2', 'map_cell0', '--database_connection',
                    layout.db_url('nova_cell0')],
            nova + ['db', 'sync'],
            nova + ['cell_v2', 'create_cell', '--name', 'cell1',
                    '--transport-url', 'fake://', '--database_connection',
                    layout.db_url('nova_cell1')],
        ],
    }


def _init_databases(layout, ports, admin_password):
    """Create the databases: three chains of manage commands at once."""
    chains = _init_commands(layout, ports)
    env = dict(os.environ, OS_BOOTSTRAP_PASSWORD=admin_password)
    errors = {}

    def run(name, cmds):
        log = layout.log('init-%s' % name)
        with open(log, 'ab') as f:
            for cmd in cmds:
                shown = ' '.join(c for c in cmd[3:])
                f.write(('$ %s-manage %s\n' % (name, shown)).encode())
                f.flush()
                rc = subprocess.call(cmd, stdout=f, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env,
                                     cwd=layout.state)
                # create_cell says 2 when the cell already exists
                if rc != 0 and not (rc == 2 and 'create_cell' in cmd):
                    errors[name] = (shown, rc, log)
                    return

    threads = [threading.Thread(target=run, args=item)
               for item in chains.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        lines = []
        for name, (cmd, rc, log) in sorted(errors.items()):
            lines.append('%s-manage %s failed (exit %s); %s:\n%s'
                         % (name, cmd, rc, log, runner.tail(log)))
        raise Fail('\n'.join(lines))
    for db in ('keystone', 'placement', 'nova_api', 'nova_cell0',
               'nova_cell1'):
        # WAL: readers never block the (serialised) writers
        with contextlib.closing(sqlite3.connect(layout.db(db))) as c:
            c.execute('PRAGMA journal_mode=WAL')


def workers_of(meta, service):
    """Worker processes of ``service`` (``up --placement-workers``)."""
    return ((meta or {}).get('workers') or {}).get(service, 1)


def _start_services(layout, ports, meta):
    procs = {}
    for name in config.SERVICES:
        module, env_var, prog = config.WSGI[name]
        env = dict(os.environ)
        if env_var:
            env[env_var] = layout.conf_dir(name)
        cmd = runner.command(module, ports[name], prog or name,
                             layout.state,
                             workers=workers_of(meta, name))
        proc = runner.start(cmd, layout.log(name), env=env,
                            cwd=layout.state)
        with open(layout.pidfile(name), 'w') as f:
            f.write('%d\n' % proc.pid)
        procs[name] = (proc, config.root_url(name, ports), layout.log(name))
    return procs


def cmd_up(layout, args):
    missing = missing_packages()
    if missing:
        raise Fail('missing package(s): %s. Install the sandbox extra: '
                   "pip install 'vfioclient[sandbox]' (from a checkout: "
                   "pip install '.[sandbox]')" % ', '.join(missing), 2)
    t0 = time.monotonic()
    for d in layout.dirs():
        os.makedirs(d, mode=0o700, exist_ok=True)
    os.chmod(layout.state, 0o700)
    alive = running(layout)
    if alive:
        raise Fail('the sandbox in %s is already running (%s); see '
                   '`vfio-sandbox status`, or `vfio-sandbox down` first'
                   % (layout.state, ', '.join('%s pid %d' % kv
                                              for kv in sorted(
                                                  alive.items()))))
    meta = load_meta(layout) or {'version': 1, 'initialized': False}
    if not meta.get('ports') or args.base_port:
        meta['ports'] = runner.pick_ports(config.SERVICES, args.base_port)
    ports = meta['ports']
    save_meta(layout, meta)      # marks the dir as ours (for reset)
    taken = [(s, p) for s, p in sorted(ports.items())
             if runner.port_in_use(p)]
    if taken and not args.base_port:
        # ports kept from an earlier run: move to free ones; the configs,
        # the catalog and clouds.yaml follow
        out('port(s) %s taken now; moving to free ports'
            % ', '.join('%d' % p for s, p in taken))
        meta['ports'] = ports = runner.pick_ports(config.SERVICES)
        taken = [(s, p) for s, p in sorted(ports.items())
                 if runner.port_in_use(p)]
    if taken:
        raise Fail('port(s) already taken on 127.0.0.1: %s. Free them '
                   'or pick others with --base-port N'
                   % ', '.join('%d (%s)' % (p, s) for s, p in taken))
    save_meta(layout, meta)
    admin_password = secret(layout, 'admin-password')
    service_password = secret(layout, 'service-password')
    demo_password = secret(layout, 'demo-password')
    _write_configs(layout, ports, service_password)
    timings = {}
    if not meta.get('initialized'):
        out('creating databases in %s ...' % layout.state)
        t = time.monotonic()
        _init_databases(layout, ports, admin_password)
        timings['databases'] = round(time.monotonic() - t, 1)
        meta['initialized'] = True
        save_meta(layout, meta)
    out('starting %s ...' % ', '.join(config.SERVICES))
    t = time.monotonic()
    if args.placement_workers:
        meta['workers'] = {'placement': args.placement_workers}
        save_meta(layout, meta)
    procs = _start_services(layout, ports, meta)
    try:
        timings['services'] = runner.wait_all(procs, START_TIMEOUT)
        if meta.get('registered') != ports:
            # users, projects and catalog: once per set of ports
            t = time.monotonic()
            from vfioclient.sandbox import identity
            from vfioclient.sandbox import seed
            sess = seed.admin_session(ports, admin_password)
            identity.register(sess, ports, service_password, demo_password)
            timings['keystone_setup'] = round(time.monotonic() - t, 1)
            meta['registered'] = dict(ports)
            save_meta(layout, meta)
    except runner.ServiceFailed as exc:
        _stop_all(layout, quiet=True)
        msg = str(exc)
        if exc.log:
            msg += '\nlast lines of %s:\n%s' % (exc.log,
                                               runner.tail(exc.log))
        raise Fail(msg)
    except BaseException as exc:
        _stop_all(layout, quiet=True)
        if isinstance(exc, Exception):
            raise Fail('setting up Keystone failed: %s' % exc)
        raise
    fileio.write_private_file(layout.clouds_yaml, config.clouds_yaml(
        ports, admin_password, demo_password))
    meta['started_at'] = time.time()
    meta['timings'] = timings
    save_meta(layout, meta)
    took = time.monotonic() - t0
    out('vfio-sandbox is up in %.1f s (state dir %s)' % (took,
                                                          layout.state))
    _print_services(layout, ports, running(layout))
    out('')
    out('Use it with the openstack CLI:')
    out('  export OS_CLIENT_CONFIG_FILE=%s OS_CLOUD=%s'
        % (layout.clouds_yaml, config.CLOUD_NAME))
    out('  (or: eval "$(vfio-sandbox --state-dir %s env)")' % layout.state)
    out('Seed a legacy vGPU estate: vfio-sandbox seed --estate small')
    out('Admin password: %s (mode 0600). Stop: vfio-sandbox down'
        % layout.admin_password)
    return 0


def _print_services(layout, ports, alive):
    for name in config.SERVICES:
        pid = alive.get(name)
        out('  %-13s %-32s %s' % (
            name, config.url(name, ports),
            'pid %d' % pid if pid else 'not running'))


# -- status / down / reset ---------------------------------------------------
def cmd_status(layout, args):
    meta = load_meta(layout)
    alive = running(layout)
    rows = []
    for name in config.SERVICES:
        port = (meta or {}).get('ports', {}).get(name)
        pid = alive.get(name)
        rows.append({'service': name, 'pid': pid, 'port': port,
                     'workers': workers_of(meta, name),
                     'alive': bool(pid),
                     'answers': bool(pid and port and runner.answers(
                         config.root_url(name, meta['ports'])))})
    up = all(r['answers'] for r in rows)
    if args.json:
        out(json.dumps({'state_dir': layout.state, 'up': up,
                        'services': rows}, indent=1))
    else:
        out('state dir: %s' % layout.state)
        out('%-13s %-8s %-6s %-6s %s' % ('service', 'pid', 'port',
                                         'alive', 'answers'))
        for r in rows:
            out('%-13s %-8s %-6s %-6s %s' % (
                r['service'], r['pid'] or '-', r['port'] or '-',
                'yes' if r['alive'] else 'no',
                'yes' if r['answers'] else 'no'))
        if meta is None:
            out('no sandbox here; start one with `vfio-sandbox up`')
    return 0 if up else 3


def _stop_all(layout, quiet=False):
    ours = {}
    for name in config.SERVICES:
        path = layout.pidfile(name)
        try:
            pid = int(read_text(path))
        except (OSError, ValueError):
            continue
        if runner.is_ours(pid, layout.state):
            ours[pid] = (name, path)
            continue
        if runner.alive(pid) and not quiet:
            out('warning: pid %d in %s is not a sandbox process; left '
                'alone' % (pid, path))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    left = runner.stop_many(list(ours))
    for pid, (name, path) in ours.items():
        if pid not in left:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
    if left:
        raise Fail('could not stop: %s' % ', '.join(
            '%s pid %d' % (ours[pid][0], pid) for pid in left))
    return len(ours)


def cmd_down(layout, args):
    if not os.path.isdir(layout.state):
        out('nothing to stop: %s does not exist' % layout.state)
        return 0
    t0 = time.monotonic()
    n = _stop_all(layout)
    out('stopped %d service(s) in %.1f s; state kept in %s'
        % (n, time.monotonic() - t0, layout.state))
    return 0


def cmd_reset(layout, args):
    if not os.path.isdir(layout.state):
        out('nothing to reset: %s does not exist' % layout.state)
        return 0
    if (not os.path.exists(layout.meta) and os.listdir(layout.state)
            and set(os.listdir(layout.state)) != {'.lock'}):
        raise Fail('%s does not look like a vfio-sandbox state dir (no '
                   'sandbox.json); not deleting it' % layout.state)
    n = _stop_all(layout)
    shutil.rmtree(layout.state)
    out('stopped %d service(s) and deleted %s' % (n, layout.state))
    return 0


def cmd_env(layout, args):
    if not os.path.exists(layout.clouds_yaml):
        raise Fail('no clouds.yaml in %s; run `vfio-sandbox up`'
                   % layout.state)
    for line in config.env_lines(layout):
        out(line)
    return 0


# -- seed / estate -----------------------------------------------------------
def cmd_seed(layout, args):
    meta = load_meta(layout)
    alive = running(layout)
    if meta is None or len(alive) != len(config.SERVICES):
        raise Fail('the sandbox in %s is not running; run `vfio-sandbox '
                   'up` first' % layout.state)
    from vfioclient.sandbox import seed
    estate = estates.get(args.estate, args.hosts)
    out('seeding estate %r (%d hosts, %d providers, %d servers) ...'
        % (estate.name, len(estate.hosts), len(estate.providers),
           len(estate.servers)))
    try:
        result = seed.seed(layout, meta['ports'],
                           read_text(layout.admin_password), estate,
                           threads=workers_of(meta, 'placement'),
                           via=args.via)
    except seed.SeedError as exc:
        raise Fail(str(exc))
    out(json.dumps(result, indent=1, sort_keys=True))
    out('expected contents: %s' % result['expected'])
    return 0


def cmd_estate(layout, args):
    estate = estates.get(args.name, args.hosts)
    out(json.dumps(estate.expected(), indent=1, sort_keys=True))
    return 0


# -- main --------------------------------------------------------------------
def _positive(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('expected a whole number >= 1, '
                                         'got %r' % text)
    return value


STATE_DIR_HELP = ('state directory (default: $VFIO_SANDBOX_STATE_DIR or '
                  '~/.cache/vfio-sandbox)')


def build_parser():
    p = argparse.ArgumentParser(
        prog='vfio-sandbox',
        description='A real Keystone + Placement + Nova API on 127.0.0.1 '
                    'with a seeded legacy vGPU estate.')
    p.add_argument('--state-dir', metavar='<dir>', default=None,
                   help=STATE_DIR_HELP)
    # The same option after the subcommand name; it wins over the one
    # before (see main).
    after = argparse.ArgumentParser(add_help=False)
    after.add_argument('--state-dir', metavar='<dir>', dest='sub_state_dir',
                       default=None, help=STATE_DIR_HELP)
    sub = p.add_subparsers(dest='command', required=True)

    def add(name, text):
        return sub.add_parser(name, help=text, parents=[after])

    up = add('up', 'start the services')
    up.add_argument('--placement-workers', type=_positive, default=None,
                    metavar='<n>',
                    help='Placement worker processes (default 1, or what '
                         'the last `up` of this state dir asked for); '
                         'uWSGI or mod_wsgi deployments run several')
    up.add_argument('--base-port', type=int, default=None, metavar='<port>',
                    help='use ports <port>..<port>+3 instead of free ones')
    st = add('status', 'show each service')
    st.add_argument('--json', action='store_true')
    add('down', 'stop every process of the sandbox')
    add('reset', 'down, then delete the state dir')
    add('env', 'print export lines for the openstack CLI')
    sd = add('seed', 'seed an estate')
    sd.add_argument('--estate', choices=sorted(estates.ESTATES),
                    default='small')
    sd.add_argument('--hosts', type=int, default=None, metavar='<n>',
                    help='number of hosts (large only; default 50)')
    sd.add_argument('--via', choices=('api', 'db'), default='api',
                    help="write Placement's data through its REST API "
                         '(default) or straight into its database (fast, '
                         'for thousands of hosts)')
    es = add('estate', "print an estate's expected contents as JSON")
    es.add_argument('name', metavar='<name>', choices=sorted(estates.ESTATES),
                    help='one of %s' % ', '.join(sorted(estates.ESTATES)))
    es.add_argument('--hosts', type=int, default=None, metavar='<n>',
                    help='number of hosts (large only; default 50)')
    return p


COMMANDS = {'up': cmd_up, 'status': cmd_status, 'down': cmd_down,
            'reset': cmd_reset, 'env': cmd_env, 'seed': cmd_seed,
            'estate': cmd_estate}
LOCKED = ('up', 'down', 'reset', 'seed')


def main(argv=None):
    args = build_parser().parse_args(argv)
    state = (args.sub_state_dir or args.state_dir
             or config.default_state_dir())
    layout = config.Layout(state)
    try:
        if (args.command in ('down', 'reset')
                and not os.path.isdir(layout.state)):
            out('nothing to %s: %s does not exist' % (args.command,
                                                      layout.state))
            return 0
        if args.command in LOCKED:
            with locked(layout):
                code = COMMANDS[args.command](layout, args)
            if args.command == 'reset':
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(layout.path('.lock'))
                    os.rmdir(layout.state)
            return code
        return COMMANDS[args.command](layout, args)
    except Fail as exc:
        sys.stderr.write('vfio-sandbox: error: %s\n' % exc)
        return exc.code
    except KeyboardInterrupt:
        return 130


if __name__ == '__main__':
    sys.exit(main())
