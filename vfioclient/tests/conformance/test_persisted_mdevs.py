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

"""Nova's persisted mdevs across the driver switch (issue 18, item 2).

A legacy server on ``gpuhost`` makes Nova create an mdev, which Nova (see
:mod:`harness` for the release) also defines: libvirt keeps the definition
as mdevctl's file, and the server leaving the host (the runbook's drain)
leaves both.  Then the host is switched to the variant driver (its mdevs
are gone, its VFs offer no mdev type) and nova-compute restarts with the
plan's nova.conf:

* as is, ``init_host`` starts the defined, inactive mdev, the start fails
  and nova-compute does not start; the audit names the definition
  (VFIO-A119, error);
* after the runbook's step (the script ``host script --undefine-mdevs``
  writes, run with a fake ``mdevctl``) nova-compute starts and reports the
  plan's PCI provider.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import os
import subprocess

from nova.tests.fixtures import libvirt as fakelibvirt

from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.conformance import scenario

HOST = scenario.HOST

# What "mdevctl undefine --uuid U --parent P" does to the files
# (MDev::undefine, mdevctl src/mdev.rs): removes the definition.
FAKE_MDEVCTL = '''#!/bin/sh
[ "$1" = undefine ] || exit 2
rm "$VFIO_SYSFS_ROOT/etc/mdevctl.d/$5/$3"
'''


class PersistedMdevsTest(scenario.ConvertedHostTestCase):

    def setUp(self):
        super().setUp()
        server = self.boot('legacy-vm', self.legacy_flavor, HOST)
        self.root = self.host_root(HOST)
        (self.mdev,) = harness.defined_mdevs(self.connection(HOST))
        self.assertIn(self.mdev.parent, self.vfs)
        self.delete_settled(server)
        # Nova keeps the mdev and its definition once the server is gone.
        self.assertEqual(
            [self.mdev.uuid],
            [d.uuid for d in harness.defined_mdevs(self.connection(HOST))])

    def report_of_root(self, mode):
        """``vfio host report`` of gpuhost (once per test): its fake sysfs
        built under the root that holds the definitions Nova made."""
        gpu = {'address': scenario.PF, 'product_id': scenario.A40_PRODUCT,
               'sriov_totalvfs': 32, 'vfs': self.NUM_VFS}
        if mode == 'legacy':
            gpu.update(vf_mode='legacy',
                       vf_mdev_types=[(scenario.VF_TYPE[0],
                                       scenario.VF_TYPE[1], 1)],
                       vf_mdevs={self.vfs.index(self.mdev.parent): (
                           self.mdev.uuid, scenario.VF_TYPE[0])})
        else:
            gpu.update(vf_mode='variant', creatable=[scenario.VF_TYPE])
        fake_sysfs.build_host(self.root, {'hostname': HOST, 'gpus': [gpu],
                                          'mdev_definitions': []})
        rc, report, out = self.openstack(
            'vfio', 'host', 'report', '--sysfs-root', self.root,
            '--hostname', HOST)
        return self.write_file('%s-%s.json' % (HOST, mode), out), report

    def switch_driver(self):
        """The driver switch and nova-compute's restart with the plan's
        nova.conf; returns the exception the restart raised, or None."""
        harness.stop_mdevs(self.connection(HOST))
        try:
            self.convert_host()
        except Exception as e:  # noqa: BLE001  whatever Nova raises
            return e
        return None

    def test_definition_stops_nova_compute_after_the_switch(self):
        error = self.switch_driver()
        self.assertIsInstance(
            error, fakelibvirt.libvirtError,
            'Nova %s is expected to fail its start-up on a defined mdev '
            'whose parent offers no mdev type (init_host -> '
            '_start_inactive_mediated_devices); it raised %r'
            % (harness.NOVA_RELEASE, error))
        self.assertIn("Unable to create mediated device: Unable to find "
                      "parent device '%s'" % self.mdev.parent, str(error))
        self.assertIn('Starting inactive mdev: %s' % self.mdev.name(),
                      self.stdlog.logger.output)
        self.assertNotIn(HOST, self.computes,
                         'nova-compute on %s must not be running' % HOST)
        # What the audit says of the host as it is now.
        report, doc = self.report_of_root('variant')
        self.assertEqual(
            [(self.mdev.uuid, self.mdev.parent, False, False)],
            [(d['uuid'], d['parent'], d['active'], d['parent_offers_type'])
             for d in doc['mdev_definitions']])
        rc, findings, _ = self.openstack(
            'vfio', 'audit', '--host-report', report, '--concurrency', '1',
            expect_rc=(2,))
        (a119,) = [f for f in findings if f['code'] == 'VFIO-A119']
        self.assertEqual(('error', 'host %s' % HOST),
                         (a119['severity'], a119['subject']))
        self.assertIn(self.mdev.uuid, a119['message'])

    def test_undefining_first_lets_nova_compute_start(self):
        report, doc = self.report_of_root('legacy')
        self.assertEqual(
            [(self.mdev.uuid, self.mdev.parent, 'nvidia-558', 'auto', True,
              True)],
            [(d['uuid'], d['parent'], d['mdev_type'], d['start'],
              d['active'], d['parent_offers_type'])
             for d in doc['mdev_definitions']])
        rc, findings, _ = self.openstack(
            'vfio', 'audit', '--host-report', report, '--concurrency', '1')
        self.assertEqual(
            [('warning', 'host %s' % HOST)],
            [(f['severity'], f['subject']) for f in findings
             if f['code'] == 'VFIO-A119'])
        # The runbook's step: the script from the host report, run on the
        # host (dry run first) with nova-compute stopped.
        script = self.write_file('undefine.sh', '')
        self.openstack('vfio', 'host', 'script', '--undefine-mdevs',
                       '--host-report', report, '--output', script,
                       as_json=False)
        bin_dir = os.path.join(self.root, 'bin')
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, 'mdevctl'), 'w') as f:
            f.write(FAKE_MDEVCTL)
        os.chmod(os.path.join(bin_dir, 'mdevctl'), 0o755)
        env = {'PATH': '%s:%s' % (bin_dir, os.environ['PATH']),
               'VFIO_SYSFS_ROOT': self.root}
        for args in (['--dry-run'], []):
            proc = subprocess.run(['sh', script] + args, env=env, text=True,
                                  capture_output=True, timeout=60)
            self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        self.assertIn('1 undefined', proc.stdout)
        self.assertEqual([], harness.defined_mdevs(self.connection(HOST)))

        error = self.switch_driver()
        self.assertIsNone(error, 'nova-compute did not start on %s after '
                          'its persisted mdev was undefined' % HOST)
        self.assertNotIn('Starting inactive mdev', self.stdlog.logger.output)
        provider = self.pci_provider()
        self.assertEqual(
            self.NUM_VFS, self._get_provider_inventory(provider['uuid'])[
                scenario.RESOURCE_CLASS]['total'])
