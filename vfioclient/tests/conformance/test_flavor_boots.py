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

"""Test 4: a flavor made by ``vfio flavor create`` boots on the VFs.

On the host converted by the plan (see :mod:`scenario`),
``openstack vfio flavor create`` makes the VF flavor for the plan's
resource class and alias.  Nova's real scheduler (``pci_in_placement``)
must place a server with it on the converted host; the guest's libvirt
XML must pass the VF with ``managed="no"`` (the variant driver owns it),
and the server's allocation must use our resource class on the PF's PCI
provider.
"""

from vfioclient.tests.conformance import harness  # isort:skip  (first)

from lxml import etree

from vfioclient.tests.conformance import scenario


class FlavorBootsTest(scenario.ConvertedHostTestCase):

    def test_vf_flavor_boots_with_managed_no(self):
        self.convert_host()
        flavor = self.create_vf_flavor('vgpu.a40-2q.vf')
        server = self.boot('vf-vm', flavor)
        self.assertEqual(scenario.HOST, server['OS-EXT-SRV-ATTR:host'])

        # libvirt XML: one PCI hostdev, a VF of the GPU, managed="no".
        xml = etree.fromstring(self.domain_xml(scenario.HOST, server['id']))
        hostdevs = xml.findall('./devices/hostdev')
        self.assertEqual(1, len(hostdevs), etree.tostring(xml))
        hostdev = hostdevs[0]
        self.assertEqual('pci', hostdev.get('type'))
        self.assertEqual(
            'no', hostdev.get('managed'),
            'Nova %s must write managed="no" for a device_spec with '
            '"managed": "no"; the guest XML has managed=%r'
            % (harness.NOVA_RELEASE, hostdev.get('managed')))
        addr = hostdev.find('./source/address')
        address = '%04x:%02x:%02x.%x' % tuple(
            int(addr.get(k), 16) for k in ('domain', 'bus', 'slot',
                                            'function'))
        self.assertIn(address, self.vfs, 'the hostdev is not one of the '
                      'VFs the plan configured')

        # Placement: the allocation uses our class on the PF's provider.
        rp = self.pci_provider()
        allocations = self._get_allocations_by_server_uuid(server['id'])
        self.assertEqual(
            {scenario.RESOURCE_CLASS: 1},
            allocations.get(rp['uuid'], {}).get('resources'),
            'Nova %s with pci_in_placement allocates one unit of the '
            'alias resource class on the PCI provider; allocations: %s'
            % (harness.NOVA_RELEASE, allocations))
        self.assertEqual(2, len(allocations), allocations)
        self.assertEqual(
            {scenario.RESOURCE_CLASS: 1},
            self._get_provider_usages(rp['uuid']))
