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

"""Nova's PCI / vGPU configuration semantics, in one place.

Pure functions and immutable records, no I/O and no ``import nova``: the
conformance tests (``vfioclient/tests/conformance``) compare these with
Nova itself.  Import the modules themselves:

* :mod:`.names` - resource class / trait normalisation, Placement validity
* :mod:`.pci_address` - PCI addresses as Nova parses them, canonical form
  (standard library only, with :mod:`.errors`: the host collector,
  :mod:`vfioclient.collect.hostscan_script`, carries both to the hosts)
* :mod:`.devspec` - ``[pci] device_spec`` parsing and first-match matching
* :mod:`.alias` - ``[pci] alias`` schema, merging and validation
* :mod:`.extra_specs` - ``pci_passthrough:alias`` and request groups
* :mod:`.flavors` - ``resources*:`` / ``trait*:`` extra specs of a flavor
* :mod:`.flavor_request` - what a new VF flavor asks Placement for
* :mod:`.mdev` - legacy ``enabled_mdev_types`` / ``[mdev_*]``
* :mod:`.providers` - Nova's resource provider names
* :mod:`.releases` - what differs between Nova releases (tags, provider
  traits, the libvirt/QEMU minimum for ``live_migratable``)
* :mod:`.errors` - exceptions whose text is Nova's reason
"""
