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

"""The sandbox end to end: real Keystone, Placement and Nova API.

One sandbox per class (it takes ~30 s to start): it is brought up in a
temporary state dir, seeded with the ``small`` estate, checked through the
real ``openstack`` CLI (and Placement's REST API for the details), seeded
again (no duplicates), then brought down with nothing left running.  The
steps share one sandbox, so they run in order inside one test method.

Needs the ``sandbox`` extra (``pip install .[sandbox]``) and
python-openstackclient in the same environment; skipped otherwise.
"""

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import tempfile

import testtools

from vfioclient.sandbox import config
from vfioclient.sandbox import estates
from vfioclient.sandbox import runner
from vfioclient.tests import base
from vfioclient.tests.functional import sandbox


def listening_sockets(pid):
    """[(ip, port)] of the TCP sockets ``pid`` listens on (from /proc)."""
    inodes = set()
    fd_dir = '/proc/%d/fd' % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        if target.startswith('socket:['):
            inodes.add(target[8:-1])
    found = []
    for table, v6 in (('/proc/net/tcp', False), ('/proc/net/tcp6', True)):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[3] != '0A' or cols[9] not in inodes:   # 0A = LISTEN
                continue
            addr, port = cols[1].split(':')
            if v6:
                ip = 'v6:' + addr
            else:
                ip = '.'.join(str(int(addr[i:i + 2], 16))
                              for i in (6, 4, 2, 0))
            found.append((ip, int(port, 16)))
    return found


@testtools.skipIf(sandbox.MISSING, 'sandbox packages missing (%s): '
                  "pip install '.[sandbox]'" % ', '.join(sandbox.MISSING))
@testtools.skipUnless(os.path.exists(sandbox.OPENSTACK),
                      'python-openstackclient is not installed')
class TestSandbox(testtools.TestCase):

    def sandbox(self, *args, check=True, state_dir_after=False):
        r = subprocess.run(
            sandbox.sandbox_cmd(self.state, *args,
                                state_dir_after=state_dir_after),
            capture_output=True, text=True, timeout=600)
        if check:
            self.assertEqual(0, r.returncode,
                             'vfio-sandbox %s failed:\n%s\n%s'
                             % (' '.join(args), r.stdout, r.stderr))
        return r

    def osc(self, *args):
        env = base.clean_os_environ(
            OS_CLIENT_CONFIG_FILE=self.layout.clouds_yaml,
            OS_CLOUD=config.CLOUD_NAME)
        r = subprocess.run([sandbox.OPENSTACK] + list(args) + ['-f', 'json'],
                           capture_output=True, text=True, env=env,
                           timeout=120)
        self.assertEqual(0, r.returncode, 'openstack %s failed:\n%s'
                         % (' '.join(args), r.stderr))
        return json.loads(r.stdout)

    def placement(self, path):
        from vfioclient.sandbox import seed
        if not hasattr(self, '_sess'):
            self._sess = seed.admin_session(
                self.ports, open(self.layout.admin_password).read().strip())
        r = self._sess.get(config.url('placement', self.ports) + path,
                           headers=seed.PLACEMENT_HEADERS)
        return r.json()

    def test_up_seed_check_reseed_down(self):
        self.state = tempfile.mkdtemp(prefix='vfio-sandbox-test-')
        self.layout = config.Layout(self.state)
        self.addCleanup(shutil.rmtree, self.state, True)
        self.addCleanup(subprocess.run,
                        sandbox.sandbox_cmd(self.state, 'down'),
                        capture_output=True)
        self.expected = estates.get('small').expected()

        r = self.sandbox('up')
        self.assertIn('export OS_CLIENT_CONFIG_FILE=%s'
                      % self.layout.clouds_yaml, r.stdout)
        meta = json.load(open(self.layout.meta))
        self.ports = meta['ports']
        pids = {s: int(open(self.layout.pidfile(s)).read())
                for s in config.SERVICES}
        # --state-dir after the subcommand works as well as before it.
        self.sandbox('seed', '--estate', 'small', state_dir_after=True)

        self._check_security(pids)
        self._check_start_twice()
        self._check_flavors()
        self._check_servers()
        self._check_hypervisors()
        self._check_providers()
        self._check_allocations()
        self._check_reseed()
        self._check_down(pids)

    # -- steps --------------------------------------------------------------
    def _check_security(self, pids):
        for path in (self.layout.admin_password, self.layout.clouds_yaml,
                     self.layout.path('service-password'),
                     self.layout.nova_conf):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(0o600, mode, '%s has mode %o' % (path, mode))
        self.assertEqual(0o700,
                         stat.S_IMODE(os.stat(self.state).st_mode))
        for name, pid in pids.items():
            socks = listening_sockets(pid)
            self.assertNotEqual([], socks, '%s listens nowhere' % name)
            for ip, port in socks:
                self.assertEqual('127.0.0.1', ip,
                                 '%s listens on %s:%d' % (name, ip, port))
        st = json.loads(self.sandbox('status', '--json').stdout)
        self.assertTrue(st['up'], st)

    def _check_start_twice(self):
        r = self.sandbox('up', check=False)
        self.assertEqual(1, r.returncode)
        self.assertIn('already running', r.stderr)

    def _check_flavors(self):
        got = {f['Name']: f for f in self.osc('flavor', 'list')}
        for name, f in self.expected['flavors'].items():
            self.assertIn(name, got)
            self.assertEqual(f['id'], got[name]['ID'])
        custom = self.osc('flavor', 'show', 'vgpu.a40-2q.custom')
        self.assertEqual(
            self.expected['flavors']['vgpu.a40-2q.custom']['extra_specs'],
            custom['properties'])

    def _check_servers(self):
        got = {s['Name']: s for s in self.osc('server', 'list',
                                              '--all-projects', '--long')}
        self.assertEqual(sorted(self.expected['servers']), sorted(got))
        for name, s in self.expected['servers'].items():
            self.assertEqual(s['id'], got[name]['ID'])
            self.assertEqual('ACTIVE', got[name]['Status'])
            self.assertEqual(s['flavor'], got[name]['Flavor'])
            self.assertEqual(s['node'], got[name]['Host'])
        mis = self.expected['trouble']['misplaced_servers'][0]
        show = self.osc('server', 'show', mis['server'])
        self.assertEqual(mis['host'], show['OS-EXT-SRV-ATTR:host'])

    def _check_hypervisors(self):
        got = {h['Hypervisor Hostname']: h['ID']
               for h in self.osc('hypervisor', 'list')}
        self.assertEqual(self.expected['hypervisors'], got)
        svcs = self.osc('compute', 'service', 'list', '--service',
                        'nova-compute')
        self.assertEqual(self.expected['compute_hosts'],
                         sorted(s['Host'] for s in svcs))

    def _check_providers(self):
        rps = {rp['name']: rp for rp in
               self.placement('/resource_providers')['resource_providers']}
        self.assertEqual(sorted(self.expected['providers']), sorted(rps))
        for name, want in self.expected['providers'].items():
            rp = rps[name]
            self.assertEqual(want['uuid'], rp['uuid'])
            self.assertEqual(want['parent_provider_uuid'],
                             rp['parent_provider_uuid'])
            inv = self.placement('/resource_providers/%s/inventories'
                                 % rp['uuid'])['inventories']
            self.assertEqual(want['inventories'],
                             {rc: i['total'] for rc, i in inv.items()})
            traits = self.placement('/resource_providers/%s/traits'
                                    % rp['uuid'])['traits']
            self.assertEqual(want['traits'], sorted(traits))
        # legacy pGPU providers are named exactly as nova's libvirt driver
        self.assertIn('a40-01.sandbox.test_pci_0000_41_00_4', rps)
        self.assertIn('a40-03.sandbox.test_0000:41:00.0', rps)
        # and the real CLI shows them too, when osc-placement is there
        if importlib.util.find_spec('osc_placement'):
            names = {rp['name'] for rp in self.osc(
                '--os-placement-api-version', '1.39',
                'resource', 'provider', 'list')}
            self.assertEqual(set(self.expected['providers']), names)

    def _check_allocations(self):
        for consumer, want in self.expected['allocations'].items():
            got = self.placement('/allocations/%s' % consumer)
            self.assertEqual(
                want, {rp: a['resources']
                       for rp, a in got['allocations'].items()})
        if importlib.util.find_spec('osc_placement'):
            srv = self.expected['servers']['vgpu-a40-custom-1']['id']
            rows = self.osc('--os-placement-api-version', '1.39',
                            'resource', 'provider', 'allocation', 'show',
                            srv)
            self.assertEqual(
                {'CUSTOM_NVIDIA_558': 1},
                [r['resources'] for r in rows
                 if 'CUSTOM_NVIDIA_558' in r['resources']][0])
        orphan = self.expected['trouble']['orphan_allocations'][0]
        self.assertNotIn(orphan['consumer'],
                         [s['id'] for s in self.expected['servers']
                          .values()])

    def _check_reseed(self):
        r = self.sandbox('seed', '--estate', 'small')
        summary = json.loads(r.stdout[r.stdout.index('{'):
                                      r.stdout.rindex('}') + 1])
        self.assertEqual({}, summary['nova']['created'])
        created = [k for k in summary['placement']
                   if k.endswith(('_created', '_written', '_updated'))]
        self.assertEqual([], created, summary['placement'])
        rps = self.placement('/resource_providers')['resource_providers']
        self.assertEqual(len(self.expected['providers']), len(rps))
        self.assertEqual(len(self.expected['servers']),
                         len(self.osc('server', 'list', '--all-projects')))
        self.assertEqual(len(self.expected['flavors']),
                         len(self.osc('flavor', 'list')))

    def _check_down(self, pids):
        self.sandbox('down')
        for name, pid in pids.items():
            self.assertFalse(runner.alive(pid), '%s pid %d still alive'
                             % (name, pid))
        left = []
        for p in os.listdir('/proc'):
            if not p.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % p, 'rb') as f:
                    cmd = f.read()
            except OSError:
                continue
            if os.fsencode(self.state) in cmd and runner.alive(int(p)):
                left.append(cmd.replace(b'\0', b' ').decode())
        self.assertEqual([], left)
        r = self.sandbox('status', check=False)
        self.assertEqual(3, r.returncode)
        for port in self.ports.values():
            self.assertFalse(runner.port_in_use(port))
