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

"""The README demo: ``python -m vfioclient.sandbox.demo [--keep]``.

Brings a sandbox up (in a temporary state dir unless ``--state-dir``),
seeds the ``small`` estate, runs the real ``openstack`` commands in order,
printing each command before its output, and always brings the sandbox
down again (``--keep`` leaves it running).  Exits non-zero if any step
fails.

The whole flow: audit (with a saved snapshot), host reports of the GPU
hosts (fake sysfs trees consistent with the estate), plan and runbook,
config check of the generated lines, the boot-time script, resource class
and flavor creation (dry run, real, and again to show idempotence), and
verify.  Server moves need a compute service, which the sandbox does not
run; the runbook shows them.

``--fleet [N]`` runs the fleet version instead (N defaults to 300): the
``large N`` estate seeded straight into the databases, the audit, a host
report of every GPU host gathered by the shipped collect playbook
(``ansible-playbook`` on this machine, each host reading its own fake
sysfs tree through the stdlib collector), the plan in waves with its
files in ``--artifacts``, and the Ansible inventory of the first wave.
Like the plain run it leaves ``plan.json``, ``runbook.md`` and the
reports (``reports/``) in ``<state-dir>/demo/``.

``--transcript FILE`` also writes everything the demo prints (the
commands' stdout and stderr included) to FILE, with what changes from run
to run replaced by stable placeholders (the state directory by
``$SANDBOX``, its ``demo`` directory by ``$DEMO``, durations, ports, pids,
timestamps, checksums and Keystone ids), so that regenerating it gives a
diff only when the behaviour changed.  The documentation includes it
(``doc/source/user/transcript.txt``).
"""

import argparse
import collections
import concurrent.futures
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from vfioclient.model import documents
from vfioclient import playbooks
from vfioclient.render import novaconf
from vfioclient.sandbox import config
from vfioclient.sandbox import hosts as sandbox_hosts

BIN = os.path.dirname(sys.executable)

# A legacy A40 host (mdev on VFs) and its SR-IOV VF target, for
# `openstack vfio config check`.
LEGACY_NOVA_CONF = """\
[devices]
enabled_mdev_types = nvidia-558

[mdev_nvidia-558]
device_addresses = 0000:41:00.4,0000:41:00.5,0000:41:00.6,0000:41:00.7
"""

TARGET_NOVA_CONF = """\
[pci]
report_in_placement = True
device_spec = {"address": "0000:41:00.4", "resource_class": \
"CUSTOM_NVIDIA_A40_2Q", "managed": "no"}
device_spec = {"address": "0000:41:00.5", "resource_class": \
"CUSTOM_NVIDIA_A40_2Q", "managed": "no"}
alias = {"name": "nvidia-a40-2q", "resource_class": \
"CUSTOM_NVIDIA_A40_2Q", "device_type": "type-VF"}

[filter_scheduler]
pci_in_placement = True
"""


class Transcript:
    """A copy of everything written to stdout, saved normalised.

    Installed as ``sys.stdout`` for the run; the commands' output is piped
    through it (see ``Demo.run``), so the file holds exactly what the
    terminal showed, minus what differs between two runs.
    """

    # (pattern, replacement), applied in order after the paths.
    RULES = (
        # a command's footer: "(12.3 s, exit 0)" -> "(exit 0)"
        (re.compile(r'\(\d+(?:\.\d+)? s, exit (\d+)\)'), r'(exit \1)'),
        (re.compile(r'\b\d+\.\d+ s\b'), 'N s'),
        (re.compile(r'"(\w*seconds)": \d+(?:\.\d+)?'), r'"\1": N'),
        # seeding retries while the services warm up: not a fixed count
        (re.compile(r'"requests": \d+'), '"requests": N'),
        (re.compile(r'127\.0\.0\.1:\d+'), '127.0.0.1:PORT'),
        (re.compile(r'\bpid \d+'), 'pid PID'),
        (re.compile(r'\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?'
                    r'(?:Z|[+-]\d\d:\d\d)?'), 'YYYY-MM-DDTHH:MM:SSZ'),
        (re.compile(r'\b[0-9a-f]{64}\b'), '<sha256>'),
        # Keystone ids (project, user): same width, so tables stay aligned
        (re.compile(r'\b[0-9a-f]{32}\b'), '<keystone-id>'.ljust(32)),
    )

    def __init__(self, path, state, stream):
        self.path = path
        self.stream = stream
        self.parts = []
        paths = []
        for base in {state, os.path.realpath(state)}:
            paths += [(os.path.join(base, 'demo'), '$DEMO'),
                      (base, '$SANDBOX')]
        # longest first, so $DEMO wins over $SANDBOX/demo
        self.paths = sorted(paths, key=lambda p: -len(p[0]))

    def write(self, text):
        self.parts.append(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False

    def normalise(self, text):
        for path, placeholder in self.paths:
            text = text.replace(path, placeholder)
        for pattern, replacement in self.RULES:
            text = pattern.sub(replacement, text)
        return '\n'.join(line.rstrip() for line in text.split('\n'))

    def save(self):
        header = ('# Transcript of "python -m vfioclient.sandbox.demo", '
                  'regenerated with --transcript.\n'
                  '# $SANDBOX is the sandbox state directory, $DEMO is '
                  '$SANDBOX/demo; durations,\n'
                  '# ports, pids, timestamps, checksums and Keystone ids '
                  'are replaced by placeholders.\n')
        text = header + self.normalise(''.join(self.parts))
        with open(self.path, 'w') as f:
            f.write(text.rstrip('\n') + '\n')


class Demo:
    def __init__(self, state, transcript=None):
        self.state = state
        self.transcript = transcript
        self.layout = config.Layout(state)
        self.failures = []
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith('OS_')}
        self.env.update(OS_CLIENT_CONFIG_FILE=self.layout.clouds_yaml,
                        OS_CLOUD=config.CLOUD_NAME)

    def run(self, argv, title=None, check=True, ok=(0,), env=None,
            tail=None):
        """Run ``argv``, printing it and its output; ``tail``: print only
        the last ``tail`` lines of the output (a fleet's long logs)."""
        shown = ' '.join(shlex.quote(a) for a in argv)
        print('\n$ %s' % (title or shown), flush=True)
        t0 = time.monotonic()
        env = self.env if env is None else env
        if self.transcript is None and tail is None:
            rc = subprocess.run(argv, env=env,
                                stdin=subprocess.DEVNULL).returncode
        else:
            # through sys.stdout (the transcript), line by line
            kept = collections.deque(maxlen=tail)
            hidden = 0
            with subprocess.Popen(argv, env=env,
                                  stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  text=True, errors='replace') as proc:
                for line in proc.stdout:
                    if tail is None:
                        sys.stdout.write(line)
                        sys.stdout.flush()
                    else:
                        hidden += len(kept) == tail
                        kept.append(line)
            rc = proc.returncode
            if hidden:
                print('[... %d lines before these not shown]' % hidden)
            sys.stdout.write(''.join(kept))
        print('  (%.1f s, exit %d)' % (time.monotonic() - t0, rc),
              flush=True)
        if check and rc not in ok:
            self.failures.append(title or shown)
        return rc

    def sandbox(self, *args):
        exe = os.path.join(BIN, 'vfio-sandbox')
        base = ([exe] if os.path.exists(exe) else
                [sys.executable, '-m', 'vfioclient.sandbox.cli'])
        return self.run(base + ['--state-dir', self.state] + list(args),
                        title='vfio-sandbox ' + _join(args))

    def openstack(self, *args, check=True, ok=(0,)):
        return self.run([os.path.join(BIN, 'openstack')] + list(args),
                        title='openstack ' + _join(args), check=check,
                        ok=ok)

    def os_cmd(self, *args, ok=(0,), out=None):
        """An ``openstack`` command for :meth:`batch`; ``out``: a file
        that receives its stdout instead of the screen."""
        return ([os.path.join(BIN, 'openstack')] + list(args),
                'openstack ' + _join(args), ok, out)

    def batch(self, items):
        """Run independent commands two at a time, then print each as if
        they had run one after the other (same text, same order).

        CLI start-up is CPU-bound, so two at once nearly halves the wait on
        this 2-core class of machine without changing what is shown.
        """
        def one(item):
            argv, _title, _ok, out = item
            t0 = time.monotonic()
            r = subprocess.run(
                argv, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if out else subprocess.STDOUT,
                text=True, errors='replace')
            return r, time.monotonic() - t0

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            results = list(pool.map(one, items))
        for (argv, title, ok, out), (r, secs) in zip(items, results):
            if out:
                with open(out, 'w') as f:
                    f.write(r.stdout)
                if r.stderr:
                    sys.stdout.write(r.stderr)
            else:
                print('\n$ %s' % title, flush=True)
                sys.stdout.write(r.stdout)
                print('  (%.1f s, exit %d)' % (secs, r.returncode),
                      flush=True)
            if r.returncode not in ok:
                self.failures.append(title + (' > %s' % out if out else ''))

    def skip(self, what, why):
        print('\n# skipped: %s (%s)' % (what, why), flush=True)

    def steps(self):
        if self.sandbox('up') != 0:
            return
        if self.sandbox('seed', '--estate', 'small') != 0:
            return
        # the estate, through the plain CLI
        listing = [self.os_cmd('flavor', 'list'),
                   self.os_cmd('server', 'list', '--all-projects'),
                   self.os_cmd('hypervisor', 'list')]
        if importlib.util.find_spec('osc_placement'):
            listing.append(self.os_cmd(
                '--os-placement-api-version', '1.39', 'resource',
                'provider', 'list', '-c', 'name', '-c',
                'parent_provider_uuid'))
        self.batch(listing)
        if len(listing) == 3:
            self.skip('openstack resource provider list',
                      'osc-placement is not installed')
        demo = self.layout.path('demo')
        os.makedirs(demo, exist_ok=True)
        snapshot = os.path.join(demo, 'estate.json')
        plan = os.path.join(demo, 'plan.json')
        runbook = os.path.join(demo, 'runbook.md')
        # 1. The audit of the seeded estate: it finds the planted trouble and
        # exits 2 (error findings), which is what the demo expects.
        self.openstack('vfio', 'audit', '--save-snapshot', snapshot,
                       ok=(2,))
        # 2. What each GPU host really has: fake sysfs trees consistent with
        # the estate (the sandbox has no GPUs), read by the real command.
        print('\n# writing fake sysfs trees of the GPU hosts', flush=True)
        trees = sandbox_hosts.write_trees('small', os.path.join(demo, 'sysfs'))
        reports = []
        # The exit code follows the findings in every view: 2 again.
        work = [self.os_cmd('vfio', 'audit', '--summary', '--from-snapshot',
                            snapshot, ok=(2,))]
        for hostname, tree in sorted(trees.items()):
            report = os.path.join(demo, 'host-%s.json' % hostname)
            work.append(self.os_cmd('vfio', 'host', 'report',
                                    '--sysfs-root', tree, '--hostname',
                                    hostname, '-f', 'value', '--output',
                                    report))
            reports += ['--host-report', report]
        self.batch(work)
        # 3. The plan, as JSON for the apply commands and as a runbook.
        self.batch([
            self.os_cmd('vfio', 'plan', '--from-snapshot', snapshot,
                        *reports, '--output', plan),
            self.os_cmd('vfio', 'plan', '--from-snapshot', snapshot,
                        *reports, '-f', 'markdown', out=runbook)])
        print('\n# runbook written to %s (first lines):' % runbook)
        with open(runbook) as f:
            print(''.join(f.readlines()[:25]), flush=True)
        # 4. The config the plan generates passes the lint; so does the
        # target example; the legacy one is valid too (the plan lists what
        # to remove from it).
        legacy = os.path.join(demo, 'nova-legacy.conf')
        target = os.path.join(demo, 'nova-target.conf')
        with open(legacy, 'w') as f:
            f.write(LEGACY_NOVA_CONF)
        with open(target, 'w') as f:
            f.write(TARGET_NOVA_CONF)
        checks = [self.os_cmd('vfio', 'config', 'check', legacy,
                              ok=(0, 2)),
                  self.os_cmd('vfio', 'config', 'check', target)]
        for index, conf in enumerate(self.plan_confs(plan)):
            path = os.path.join(demo, 'nova-plan-%d.conf' % index)
            with open(path, 'w') as f:
                f.write(conf)
            checks.append(self.os_cmd('vfio', 'config', 'check',
                                      '--fail-on', 'warning', path))
        # 5. Boot-time VF type setup for a converted host.
        checks.append(self.os_cmd('vfio', 'host', 'script', '--vgpu-type',
                                  'NVIDIA A40-2Q', '--gpu', '0000:41:00.0'))
        self.batch(checks)
        # 6. Apply: dry run, for real, and again (idempotent).
        self.openstack('vfio', 'resource', 'class', 'create',
                       '--from-plan', plan, '--dry-run')
        self.openstack('vfio', 'resource', 'class', 'create',
                       '--from-plan', plan)
        self.openstack('vfio', 'flavor', 'create', '--from-plan', plan,
                       '--dry-run', '-c', 'name', '-c', 'action', '-c',
                       'extra_specs')
        self.openstack('vfio', 'flavor', 'create', '--from-plan', plan,
                       '-c', 'name', '-c', 'action', '-c', 'alias_line')
        self.openstack('vfio', 'flavor', 'create', '--from-plan', plan,
                       '-c', 'name', '-c', 'action')
        # 7. Prove the new flavors schedule on the VFs Placement has.
        self.openstack('vfio', 'verify', '--from-plan', plan, '--summary')
        print('\n# server moves (resize/migrate) need a compute service, '
              'which the sandbox does not run: follow the runbook\'s '
              'per-host steps on a real cloud.', flush=True)

    def fleet_steps(self, hosts):
        """The fleet run (``--fleet N``): the ``large N`` estate, a host
        report of every GPU host gathered by the collector through the
        shipped playbook (every host is this machine, on its own fake
        sysfs tree), and a plan in waves with its files in a directory."""
        playbook_cmd = os.path.join(BIN, 'ansible-playbook')
        if not os.path.exists(playbook_cmd):
            print('\nansible-playbook is not in %s: install ansible-core '
                  '(it is in cloud-requirements.txt; "tox -e demo" has it)'
                  % BIN, flush=True)
            self.failures.append('ansible-playbook not installed')
            return
        if self.sandbox('up') != 0:
            return
        if self.sandbox('seed', '--estate', 'large', '--hosts', str(hosts),
                        *SEED_FAST) != 0:
            return
        demo = self.layout.path('demo')
        os.makedirs(demo, exist_ok=True)
        snapshot = os.path.join(demo, 'estate.json')
        plan = os.path.join(demo, 'plan.json')
        runbook = os.path.join(demo, 'runbook.md')
        artifacts = os.path.join(demo, 'artifacts')
        reports = os.path.join(demo, 'reports')
        # 1. The audit of the whole estate, saved for the plan.
        self.openstack('vfio', 'audit', '--summary', '--save-snapshot',
                       snapshot, ok=(0, 1, 2))
        # 2. A host report from every GPU host, without this plugin there:
        # the collect playbook copies the stdlib collector to each host,
        # runs it and fetches the report (here every "host" is this
        # machine, reading its own fake sysfs tree).
        print('\n# writing fake sysfs trees of %d GPU hosts' % hosts,
              flush=True)
        trees = sandbox_hosts.write_trees('large', os.path.join(
            demo, 'sysfs'), hosts)
        inventory = os.path.join(demo, 'gpu-hosts.json')
        with open(inventory, 'w') as f:
            json.dump(fleet_inventory(trees, sys.executable), f, indent=1)
        env = dict(self.env, **ansible_env(os.path.join(demo, 'ansible')))
        env['PATH'] = os.pathsep.join([BIN, env.get('PATH', '')])
        self.run([playbook_cmd, '-i', inventory, '--forks', '8',
                  playbooks.path('collect-host-reports.yml'),
                  '-e', 'vfio_report_dir=%s' % reports],
                 title='ansible-playbook -i %s --forks 8 '
                       '$PLAYBOOKS/collect-host-reports.yml -e '
                       'vfio_report_dir=%s' % (inventory, reports),
                 env=env, tail=FLEET_TAIL_LINES)
        # 3. The plan in waves: JSON for the apply commands, a runbook
        # whose per-host facts are tables and whose shared files are in
        # the artifacts directory.  Hosts with no vGPU in use show no
        # mdev, so their legacy type comes from the computes' nova.conf.
        legacy_conf = os.path.join(demo, 'nova-legacy.conf')
        with open(legacy_conf, 'w') as f:
            f.write(LARGE_LEGACY_NOVA_CONF)
        sources = ['--host-report', reports,
                   '--nova-conf', 'lg-*=%s' % legacy_conf]
        self.batch([
            self.os_cmd('vfio', 'plan', '--from-snapshot', snapshot,
                        *sources, '--output', plan, '-f', 'value', '-c',
                        'wave', out=os.path.join(demo, 'plan-waves.txt')),
            self.os_cmd('vfio', 'plan', '--from-snapshot', snapshot,
                        *sources, '--artifacts', artifacts,
                        '-f', 'markdown', out=runbook)])
        self.fleet_summary(plan, runbook, artifacts, reports)
        # 4. The plan's hosts as an Ansible inventory for the host side.
        self.openstack('vfio', 'playbook', 'inventory', '--from-plan', plan,
                       '--wave', '1', '--output-dir', artifacts)

    def fleet_summary(self, plan_path, runbook, artifacts, reports):
        plan = documents.load(plan_path, documents.PLAN)
        with open(runbook) as f:
            lines = f.read().count('\n')
        files = sorted(os.listdir(artifacts)) if os.path.isdir(
            artifacts) else []
        print('\n# %d host reports in %s' % (len(os.listdir(reports)),
                                              reports))
        print('# plan: %d hosts to convert in %d waves' % (
            sum(1 for h in plan.hosts if h.order is not None),
            len(plan.waves)))
        print('# runbook: %d lines (%s); %d files in %s' % (
            lines, runbook, len(files), artifacts))
        print('# runbook (first lines):')
        with open(runbook) as f:
            print(''.join(f.readlines()[:30]), flush=True)

    @staticmethod
    def plan_confs(plan_path):
        """The nova.conf snippets the plan sets (computes, then the
        controllers), as the runbook renders them."""
        plan = documents.load(plan_path, documents.PLAN)
        confs = [novaconf.host_snippet(h) for h in plan.hosts]
        confs.append(novaconf.controllers_snippet(plan.controllers))
        return [c for c in confs if c]


# The legacy nova.conf of the "large" estate's computes: one type, so
# Nova gives it to every GPU that offers it (enabled_mdev_types in
# nova/conf/devices.py).
LARGE_LEGACY_NOVA_CONF = """\
[devices]
enabled_mdev_types = nvidia-558
"""

# The fleet run's default size: the "operator of 300 hosts".
FLEET_DEFAULT_HOSTS = 300
# How much of ansible-playbook's output the fleet run shows (its recap
# alone has a line per host).
FLEET_TAIL_LINES = 12
# The fleet run seeds straight into the services' databases: through the
# API, 300 hosts take minutes.
SEED_FAST = ('--via', 'db')


def fleet_inventory(trees, python):
    """An Ansible inventory (JSON) of the fleet run's GPU hosts: each is
    this machine (``ansible_connection=local``) reading its own tree."""
    return {'all': {
        'children': {'gpu_hosts': {'hosts': {
            name: {'vfio_sysfs_root': root}
            for name, root in sorted(trees.items())}}},
        'vars': {'ansible_connection': 'local',
                 'ansible_python_interpreter': python,
                 # the playbook becomes root to read libvirt's cache; the
                 # fake trees need no root
                 'ansible_become': False}}}


def ansible_env(home):
    """Environment for the fleet run's ansible-playbook: its own home and
    temporary directories under ``home``, no user or site ansible.cfg."""
    os.makedirs(home, exist_ok=True)
    return {'ANSIBLE_HOME': home,
            'ANSIBLE_LOCAL_TEMP': os.path.join(home, 'tmp'),
            'ANSIBLE_REMOTE_TEMP': os.path.join(home, 'remote'),
            'ANSIBLE_CONFIG': os.path.join(home, 'none.cfg'),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            # only changes and failures, then the recap
            'ANSIBLE_DISPLAY_OK_HOSTS': '0',
            'ANSIBLE_DISPLAY_SKIPPED_HOSTS': '0'}


def _join(args):
    """The command as one would type it (quoted where the shell needs)."""
    return ' '.join(shlex.quote(a) for a in args)


def main(argv=None):
    p = argparse.ArgumentParser(prog='python -m vfioclient.sandbox.demo')
    p.add_argument('--state-dir', default=None,
                   help='default: a new temporary directory, deleted at '
                        'the end')
    p.add_argument('--keep', action='store_true',
                   help='leave the sandbox running at the end')
    p.add_argument('--transcript', metavar='FILE', default=None,
                   help='also write everything printed to FILE, with '
                        'temporary paths, durations, ports, pids, '
                        'timestamps and ids replaced by stable '
                        'placeholders (for the documentation)')
    p.add_argument('--fleet', metavar='N', type=int, nargs='?',
                   const=FLEET_DEFAULT_HOSTS, default=None,
                   help='the fleet run instead: the "large N" estate '
                        '(default N: %d), host reports gathered with the '
                        'collect playbook, a plan in waves with '
                        '--artifacts' % FLEET_DEFAULT_HOSTS)
    args = p.parse_args(argv)
    if args.fleet is not None and args.fleet < 1:
        p.error('--fleet N: N must be at least 1')
    tmp = args.state_dir is None
    state = args.state_dir or tempfile.mkdtemp(prefix='vfio-sandbox-demo-')
    state = os.path.abspath(state)
    transcript = None
    if args.transcript:
        transcript = Transcript(os.path.abspath(args.transcript), state,
                                sys.stdout)
        sys.stdout = transcript
    demo = Demo(state, transcript)
    t0 = time.monotonic()
    try:
        try:
            if args.fleet is None:
                demo.steps()
            else:
                demo.fleet_steps(args.fleet)
        finally:
            if not args.keep:
                if demo.sandbox('down') != 0:
                    demo.failures.append('vfio-sandbox down')
                if tmp:
                    shutil.rmtree(state, ignore_errors=True)
        print('\ndemo finished in %.1f s' % (time.monotonic() - t0))
        if demo.failures:
            print('FAILED steps:\n  ' + '\n  '.join(demo.failures))
            return 1
        return 0
    finally:
        if transcript is not None:
            sys.stdout = transcript.stream
            transcript.save()
            print('transcript written to %s' % transcript.path)


if __name__ == '__main__':
    sys.exit(main())
