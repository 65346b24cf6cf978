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

"""Measure ``vfio audit`` against the naive ways of reading Placement.

The pieces used by ``python -m vfioclient.tests.bench`` (see
``__main__.py``): a sandbox cloud grown to N hosts, the audit run as a
subprocess (wall time, peak RSS, requests by endpoint from its snapshot),
the naive sequential script, the ``openstack resource provider`` CLI loop
sampled, and the offline audit.  Nothing here asserts a time.
"""

import json
import os
import subprocess
import sys
import time

from vfioclient.tests import base as tests_base

PLACEMENT_HEADERS = {'OpenStack-API-Version': 'placement 1.39'}
CLOUD = 'vfio-sandbox'
LATENCY_CLOUD = 'vfio-sandbox-latency'
# Fields of a snapshot that legitimately differ between two collections.
VOLATILE_FIELDS = ('collected_at', 'strategy', 'request_counts')


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def bin_path(name, python=None):
    """A console script next to the interpreter (the tox venv's)."""
    return os.path.join(os.path.dirname(python or sys.executable), name)



def stop_sandbox(sandbox, temp_state):
    """Stop the bench's sandbox (reset a temporary one), logging rather
    than raising a failure, so that it does not mask the results."""
    log('stopping the sandbox')
    try:
        if temp_state:
            sandbox._cli('reset')
        else:
            sandbox.down()
    except Exception as e:      # report, do not mask the result
        log('could not stop the sandbox: %s' % e)

class Sandbox:
    """``vfio-sandbox`` in a state dir, driven through its CLI."""

    def __init__(self, state_dir, python=None):
        self.state = os.path.abspath(state_dir)
        self.python = python or sys.executable

    def _cli(self, *args, capture=True):
        cmd = [self.python, '-m', 'vfioclient.sandbox.cli', '--state-dir',
               self.state] + list(args)
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise RuntimeError('vfio-sandbox %s failed (exit %d): %s%s'
                               % (' '.join(args), proc.returncode,
                                  (proc.stdout or '')[-2000:],
                                  proc.stderr[-2000:]))
        return proc.stdout

    def is_up(self):
        cmd = [self.python, '-m', 'vfioclient.sandbox.cli', '--state-dir',
               self.state, 'status', '--json']
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True)
        return proc.returncode == 0

    def up(self, placement_workers=1):
        if self.is_up():
            log('sandbox already up in %s' % self.state)
            return 0.0
        t = time.monotonic()
        self._cli('up', '--placement-workers', str(placement_workers))
        return time.monotonic() - t

    def down(self):
        self._cli('down')

    def seed_large(self, hosts, via='api'):
        """Seed (grow to) ``hosts`` hosts through Placement's API or
        (``via='db'``) its database; the sandbox's JSON summary."""
        t = time.monotonic()
        text = self._cli('seed', '--estate', 'large', '--hosts', str(hosts),
                         '--via', via)
        wall = time.monotonic() - t
        start, end = text.index('{'), text.rindex('}') + 1
        result = json.loads(text[start:end])
        result['wall_seconds'] = wall
        return result

    @property
    def meta(self):
        with open(os.path.join(self.state, 'sandbox.json')) as f:
            return json.load(f)

    @property
    def clouds_yaml(self):
        return os.path.join(self.state, 'clouds.yaml')

    @property
    def placement_url(self):
        return 'http://127.0.0.1:%d' % self.meta['ports']['placement']

    def cloud_config(self, name=CLOUD):
        with open(self.clouds_yaml) as f:
            return json.load(f)['clouds'][name]   # it is JSON (valid YAML)

    def write_latency_clouds(self, path, proxy_url):
        """A clouds.yaml with the sandbox's cloud and a copy whose
        Placement endpoint is the latency proxy (mode 0600)."""
        with open(self.clouds_yaml) as f:
            doc = json.load(f)
        entry = dict(doc['clouds'][CLOUD],
                     placement_endpoint_override=proxy_url)
        doc['clouds'][LATENCY_CLOUD] = entry
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as f:
            json.dump(doc, f, indent=1)
        return path


def cli_env(clouds_yaml, cloud):
    # nothing from the caller's own cloud may leak in
    return tests_base.clean_os_environ(OS_CLIENT_CONFIG_FILE=clouds_yaml,
                                       OS_CLOUD=cloud)


def run_measured(cmd, env, stdout_path=os.devnull):
    """Run ``cmd``; wall seconds, exit code and the child's peak RSS (MiB)
    from ``wait4`` rusage."""
    with open(stdout_path, 'wb') as out, open(stdout_path + '.err'
                                                if stdout_path != os.devnull
                                                else os.devnull,
                                                'wb') as err:
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {'wall': wall, 'rc': proc.returncode,
            'rss_mib': usage.ru_maxrss / 1024.0,       # KiB on Linux
            'cpu': usage.ru_utime + usage.ru_stime}


def audit(env, snapshot, strategy='bulk', concurrency=None, python=None,
          workdir='.', reuse=None, timeout=None):
    """``openstack vfio audit --save-snapshot`` as a subprocess
    (``reuse``: an earlier snapshot for ``--reuse-snapshot``;
    ``timeout``: its ``--timeout``)."""
    cmd = [bin_path('openstack', python), 'vfio', 'audit',
           '--save-snapshot', snapshot, '--strategy', strategy, '-f',
           'value']
    if timeout:
        cmd += ['--timeout', str(timeout)]
    if reuse:
        cmd += ['--reuse-snapshot', reuse]
    if concurrency:
        cmd += ['--concurrency', str(concurrency)]
    result = run_measured(cmd, env, os.path.join(
        workdir, os.path.basename(snapshot) + '.out'))
    if result['rc'] not in (0, 2):         # 2: findings with errors
        with open(os.path.join(workdir, os.path.basename(snapshot)
                               + '.out.err')) as f:
            raise RuntimeError('vfio audit failed (exit %d): %s'
                               % (result['rc'], f.read()[-3000:]))
    with open(snapshot) as f:
        doc = json.load(f)
    counts = doc.get('request_counts') or {}
    result.update(
        providers=len(doc['providers']),
        allocations=len(doc['allocations']),
        servers=len(doc['servers']),
        request_counts=counts,
        requests=sum(counts.values()),
        placement_requests=sum(v for k, v in counts.items()
                               if k.startswith('placement ')),
        compute_requests=sum(v for k, v in counts.items()
                             if k.startswith('compute ')))
    return result


def comparable(path):
    with open(path) as f:
        doc = json.load(f)
    for key in VOLATILE_FIELDS:
        doc.pop(key, None)
    return doc


def snapshot_diff(path_a, path_b):
    """Keys whose contents differ between two snapshots (volatile fields
    excluded); empty when they are identical."""
    a, b = comparable(path_a), comparable(path_b)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


# -- the naive script --------------------------------------------------------
def keystone_session(cloud_config):
    from keystoneauth1.identity import v3
    from keystoneauth1 import session
    auth = cloud_config['auth']
    return session.Session(auth=v3.Password(
        auth_url=auth['auth_url'], username=auth['username'],
        password=auth['password'], project_name=auth['project_name'],
        user_domain_name=auth['user_domain_name'],
        project_domain_name=auth['project_domain_name']))


class Naive:
    """What an operator's script does: one keystoneauth session, list the
    providers, then for each provider its inventories, usages, traits and
    allocations, one request after another."""

    KINDS = ('inventories', 'usages', 'traits', 'allocations')

    def __init__(self, sess, base):
        self.sess = sess
        self.base = base.rstrip('/')
        self.requests = 0

    def get(self, path):
        self.requests += 1
        r = self.sess.get(self.base + path, headers=PLACEMENT_HEADERS,
                          raise_exc=True)
        return r.json()

    def list(self):
        return self.get('/resource_providers')['resource_providers']

    def read_provider(self, uuid):
        return {kind: self.get('/resource_providers/%s/%s' % (uuid, kind))
                for kind in self.KINDS}

    def run(self, sample=None):
        """Measure the whole loop, or (``sample``: a number of providers)
        the list plus an even spread of ``sample`` providers, and
        extrapolate linearly to all of them (``extrapolated`` says so)."""
        self.sess.get_token()         # authentication is not the loop
        self.requests = 0
        t0 = time.monotonic()
        providers = self.list()
        t_list = time.monotonic() - t0
        total = len(providers)
        if sample and sample < total:
            step = total / float(sample)
            chosen = [providers[int(i * step)] for i in range(sample)]
        else:
            chosen = providers
        used = 0
        t1 = time.monotonic()
        for rp in chosen:
            body = self.read_provider(rp['uuid'])
            used += sum(u for u in body['usages']['usages'].values())
        t_loop = time.monotonic() - t1
        per_provider = t_loop / max(1, len(chosen))
        extrapolated = len(chosen) < total
        return {
            'providers': total, 'measured_providers': len(chosen),
            'extrapolated': extrapolated,
            'list_seconds': t_list,
            'per_provider_seconds': per_provider,
            'seconds': t_list + per_provider * total,
            'measured_seconds': t_list + t_loop,
            'requests': 1 + 4 * total,
            'measured_requests': self.requests,
            'used_seen': used,
        }


# -- the OSC CLI loop ---------------------------------------------------------
CLI_CALLS = (
    ('inventory', ['resource', 'provider', 'inventory', 'list']),
    ('usage', ['resource', 'provider', 'usage', 'show']),
    ('traits', ['resource', 'provider', 'trait', 'list']),
    ('allocations', ['resource', 'provider', 'show', '--allocations']),
)


def _cli(env, args, python=None):
    start = time.monotonic()
    proc = subprocess.run([bin_path('openstack', python)] + args, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True,
                          text=True)
    took = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError('openstack %s failed (exit %d): %s'
                           % (' '.join(args), proc.returncode,
                              proc.stderr[-1500:]))
    return took, proc.stdout


def cli_available(env, python=None):
    proc = subprocess.run([bin_path('openstack', python), 'resource',
                           'provider', 'list', '--help'], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True)
    return proc.returncode == 0


def cli_list(env, python=None):
    """``openstack resource provider list``: seconds and the uuids."""
    took, out = _cli(env, ['resource', 'provider', 'list', '-f', 'value',
                           '-c', 'uuid'], python)
    return took, out.split()


def cli_sample(env, uuids, python=None):
    """Time each per-provider CLI call on a few providers."""
    times = {name: [] for name, _ in CLI_CALLS}
    for uuid in uuids:
        for name, args in CLI_CALLS:
            took, _ = _cli(env, args + [uuid], python)
            times[name].append(took)
    return {name: sum(v) / len(v) for name, v in times.items()}


def cli_extrapolate(list_seconds, per_call, providers, kinds=None):
    kinds = kinds or [name for name, _ in CLI_CALLS]
    return list_seconds + providers * sum(per_call[k] for k in kinds)


# -- offline ------------------------------------------------------------------
def offline_audit(snapshot, repeat=3):
    """Load a snapshot and run the audit rules in-process (best of
    ``repeat``): the rule time alone, no CLI start-up."""
    from vfioclient.rules import audit as audit_rules
    from vfioclient.v1 import base as v1_base
    best = None
    findings = 0
    for _ in range(repeat):
        t = time.perf_counter()
        snap = v1_base.load_snapshot(snapshot)
        t_load = time.perf_counter() - t
        found = audit_rules.audit(snap, [])
        total = time.perf_counter() - t
        findings = len(found)
        if best is None or total < best[0]:
            best = (total, t_load)
    return {'seconds': best[0], 'load_seconds': best[1],
            'findings': findings, 'bytes': os.path.getsize(snapshot)}


def offline_audit_cli(snapshot, python=None, workdir='.'):
    """``openstack vfio audit --from-snapshot`` end to end (with start-up)."""
    cmd = [bin_path('openstack', python), 'vfio', 'audit', '--from-snapshot',
           snapshot, '-f', 'value']
    return run_measured(cmd, tests_base.clean_os_environ(),
                        os.path.join(workdir, 'offline.out'))
