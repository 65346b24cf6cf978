"""The README demo: ``python -m vfioclient.sandbox.demo [--keep]``.

Brings a sandbox up (in a temporary state dir unless ``--state-dir``),
seeds the ``small`` estate, runs the real ``openstack`` commands in order,
printing each command before its output, and always brings the sandbox
down again (``--keep`` leaves it running).  Exits non-zero if any step
fails.

Commands whose ``openstack vfio`` entry point does not load yet are
skipped with a note, so the demo grows as issues land.  Still to add
(their arguments are not settled yet), in this order after ``audit``::

    openstack vfio plan
    openstack vfio resource class create ...
    openstack vfio flavor create ...
    openstack vfio verify
    # plus the runbook for resize/migrate (no compute service here)
"""

import argparse
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from vfioclient.sandbox import config

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


def vfio_command_available(name):
    """True if the ``openstack vfio`` entry point ``name`` loads."""
    from importlib import metadata
    for ep in metadata.entry_points(group='openstack.vfio.v1'):
        if ep.name == name:
            try:
                ep.load()
                return True
            except Exception:
                return False
    return False


class Demo:
    def __init__(self, state):
        self.state = state
        self.layout = config.Layout(state)
        self.failures = []
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith('OS_')}
        self.env.update(OS_CLIENT_CONFIG_FILE=self.layout.clouds_yaml,
                        OS_CLOUD=config.CLOUD_NAME)

    def run(self, argv, title=None, check=True, ok=(0,)):
        shown = ' '.join(shlex.quote(a) for a in argv)
        print('\n$ %s' % (title or shown), flush=True)
        t0 = time.monotonic()
        r = subprocess.run(argv, env=self.env, stdin=subprocess.DEVNULL)
        print('  (%.1f s, exit %d)' % (time.monotonic() - t0, r.returncode),
              flush=True)
        if check and r.returncode not in ok:
            self.failures.append(title or shown)
        return r.returncode

    def sandbox(self, *args):
        exe = os.path.join(BIN, 'vfio-sandbox')
        base = ([exe] if os.path.exists(exe) else
                [sys.executable, '-m', 'vfioclient.sandbox.cli'])
        return self.run(base + ['--state-dir', self.state] + list(args),
                        title='vfio-sandbox ' + ' '.join(args))

    def openstack(self, *args, check=True, ok=(0,)):
        return self.run([os.path.join(BIN, 'openstack')] + list(args),
                        title='openstack ' + ' '.join(args), check=check,
                        ok=ok)

    def skip(self, what, why):
        print('\n# skipped: %s (%s)' % (what, why), flush=True)

    def steps(self):
        if self.sandbox('up') != 0:
            return
        if self.sandbox('seed', '--estate', 'small') != 0:
            return
        # the estate, through the plain CLI
        self.openstack('flavor', 'list')
        self.openstack('server', 'list', '--all-projects')
        self.openstack('hypervisor', 'list')
        if importlib.util.find_spec('osc_placement'):
            self.openstack('--os-placement-api-version', '1.39',
                           'resource', 'provider', 'list', '-c', 'name',
                           '-c', 'parent_provider_uuid')
        else:
            self.skip('openstack resource provider list',
                      'osc-placement is not installed')
        # the audit of the seeded estate: it finds the planted trouble and
        # exits 2 (error findings), which is what the demo expects
        if vfio_command_available('vfio_audit'):
            self.openstack('vfio', 'audit', ok=(2,))
        else:
            self.skip('openstack vfio audit', 'not available yet')
        demo = self.layout.path('demo')
        os.makedirs(demo, exist_ok=True)
        # config check: the legacy and the target nova.conf
        if vfio_command_available('vfio_config_check'):
            legacy = os.path.join(demo, 'nova-legacy.conf')
            target = os.path.join(demo, 'nova-target.conf')
            with open(legacy, 'w') as f:
                f.write(LEGACY_NOVA_CONF)
            with open(target, 'w') as f:
                f.write(TARGET_NOVA_CONF)
            self.openstack('vfio', 'config', 'check', legacy)
            self.openstack('vfio', 'config', 'check', target)
        else:
            self.skip('openstack vfio config check', 'not available yet')
        # host report on a bundled fake sysfs tree
        if (vfio_command_available('vfio_host_report') and
                importlib.util.find_spec('vfioclient.tests.fixtures.sysfs')):
            tree = os.path.join(demo, 'sysfs-a40')
            self.run([sys.executable, '-m', 'vfioclient.tests.fixtures.sysfs',
                      '--preset', 'a40', tree],
                     title='python -m vfioclient.tests.fixtures.sysfs '
                           '--preset a40 %s' % tree)
            self.openstack('vfio', 'host', 'report', '--sysfs-root', tree)
        else:
            self.skip('openstack vfio host report', 'not available yet')
        for words in ('plan', 'resource class create', 'flavor create',
                      'verify'):
            self.skip('openstack vfio %s' % words,
                      'not wired into the demo yet')


def main(argv=None):
    p = argparse.ArgumentParser(prog='python -m vfioclient.sandbox.demo')
    p.add_argument('--state-dir', default=None,
                   help='default: a new temporary directory, deleted at '
                        'the end')
    p.add_argument('--keep', action='store_true',
                   help='leave the sandbox running at the end')
    args = p.parse_args(argv)
    tmp = args.state_dir is None
    state = args.state_dir or tempfile.mkdtemp(prefix='vfio-sandbox-demo-')
    demo = Demo(os.path.abspath(state))
    t0 = time.monotonic()
    try:
        demo.steps()
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


if __name__ == '__main__':
    sys.exit(main())
