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

"""What vfioclient knows about NVIDIA vGPU, in one place.

Pure data and functions, no I/O: used by :mod:`vfioclient.collect` (reading
a host) and :mod:`vfioclient.rules` / :mod:`vfioclient.render` (deciding
and writing) alike.  ``classify``, ``pci_ids``, ``profiles`` and
``vgpu_types`` import only the standard library: the host collector
(:mod:`vfioclient.collect.hostscan_script`) carries them to hosts that
have nothing but python3.  Import the modules themselves:

* :mod:`.pci_ids` - the vendor id, board names by product id, the boards
  whose vGPUs stay mdevs on the PF
* :mod:`.vgpu_types` - type specs (``597``, ``nvidia-597``, profile
  names), name matching and the ``creatable_vgpu_types`` parser
* :mod:`.profiles` - the built-in table of vGPU profiles and boards
* :mod:`.classify` - what one NVIDIA PCI function is used for

Sources: NVIDIA Virtual GPU Software User Guide,
https://docs.nvidia.com/vgpu/latest/grid-vgpu-user-guide/index.html
(including its "Virtual GPU Types for Supported GPUs" reference), and the
kernel interface source of NVIDIA's vGPU KVM host driver where the guide
does not describe a sysfs format; each module names what it relies on.
"""
