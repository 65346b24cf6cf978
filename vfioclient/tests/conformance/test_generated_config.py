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

"""Test 3: the nova.conf lines ``vfio plan`` generates are accepted by Nova.

A legacy Ampere host (``gpuhost``: an A40 whose 4 VFs are mdev parents,
one pGPU provider per VF) is read by ``openstack vfio plan`` with the host
report of the host.  The host is then converted the way the runbook says:
the VFs move to NVIDIA's variant driver (no mdev types any more) and
nova-compute restarts with the plan's ``[pci] device_spec`` / ``alias``
lines (``"managed": "no"``, our resource class) and
``report_in_placement``.  Nova must accept them and report the GPU as one
PCI provider named after the PF, with our resource class, one unit per VF
and the traits the plan expects from this release (``--nova-release``
the pinned Nova's series).  With ``plan --live-migratable`` the same holds,
with ``"live_migratable": "yes"`` on the lines, and a server resized or
booted onto the new flavor stores a live-migratable PCI request.

The scenario (:class:`scenario.ConvertedHostTestCase`) is shared with
tests 4 and 5.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

import json

from vfioclient.tests.conformance import scenario


class GeneratedConfigTest(scenario.ConvertedHostTestCase):

    def test_plan_lines_are_what_nova_needs(self):
        host = self.host_plan()
        self.assertEqual([scenario.RESOURCE_CLASS],
                         self.plan['resource_classes'])
        specs = [json.loads(line) for line in host['device_spec']]
        self.assertTrue(specs, 'the plan gives no device_spec for %s'
                        % scenario.HOST)
        for spec in specs:
            self.assertEqual('no', str(spec.get('managed')).lower(),
                             'variant-driver VFs need "managed": "no"')
            self.assertEqual(scenario.RESOURCE_CLASS,
                             spec.get('resource_class'))
        options = {(o['section'], o['option']): o['value']
                   for o in host['conf_set']}
        self.assertEqual('True', options.get(('pci', 'report_in_placement')))

    def test_nova_reports_our_resource_class_and_traits(self):
        self.convert_host()
        rp = self.pci_provider()
        inventory = self._get_provider_inventory(rp['uuid'])
        self.assertEqual(
            {scenario.RESOURCE_CLASS: (self.NUM_VFS, self.NUM_VFS)},
            {rc: (v['total'], v['max_unit']) for rc, v in inventory.items()},
            'Nova %s counts the VFs matched by the plan\'s device_spec on '
            'the PF\'s provider under the device_spec resource_class'
            % harness.NOVA_RELEASE)
        (gpu,) = self.host_plan()['gpus']
        self.assertEqual(
            set(gpu['provider_traits']), self.provider_traits(rp['uuid']),
            'traits Nova %s puts on the PCI provider, as the plan for '
            '--nova-release %s expects them'
            % (harness.NOVA_RELEASE, scenario.NOVA_SERIES))
        self.assertEqual(self.compute_rp_uuids[scenario.HOST],
                         rp['parent_provider_uuid'],
                         'PCI providers are children of the compute node')
        # Nova tracks the VFs with the plan's "managed" tag.
        devices = harness.objects.PciDeviceList.get_by_compute_node(
            self.ctxt, harness.objects.ComputeNode.get_by_nodename(
                self.ctxt, scenario.HOST).id)
        self.assertEqual(
            sorted(self.vfs),
            sorted(d.address for d in devices),
            'Nova should track exactly the VFs (not the PF) as PCI devices')
        for d in devices:
            self.assertEqual('type-VF', d.dev_type)
            self.assertEqual('false', d.extra_info.get('managed'),
                             'Nova stores "managed": "no" as extra_info '
                             'managed=false')
            self.assertEqual(rp['uuid'], d.extra_info.get('rp_uuid'))


class LiveMigratableConfigTest(GeneratedConfigTest):
    """The same with ``plan --live-migratable``."""

    PLAN_OPTIONS = ('--live-migratable',)

    def test_lines_say_live_migratable(self):
        host = self.host_plan()
        for line in list(host['device_spec']) + list(host['alias']):
            self.assertEqual('yes', json.loads(line)['live_migratable'])
        (gpu,) = host['gpus']
        self.assertIn('HW_PCI_LIVE_MIGRATABLE', gpu['provider_traits'])

    def test_servers_store_a_live_migratable_request(self):
        self.convert_host()
        flavor_id = self.create_vf_flavor('a40-2q.vf')
        server = self.boot('vf-server', flavor_id)
        requests = harness.objects.InstancePCIRequests.get_by_instance_uuid(
            self.ctxt, server['id'])
        (request,) = requests.requests
        self.assertEqual([{'live_migratable': 'true'}],
                         [{k: v for k, v in spec.items()
                           if k == 'live_migratable'}
                          for spec in request.spec])
        self.assertTrue(request.is_live_migratable(),
                        'Nova %s stores the alias\'s live_migratable with '
                        'the server\'s PCI request' % harness.NOVA_RELEASE)
