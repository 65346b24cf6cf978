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

"""What one NVIDIA PCI function is used for, and the mode of a GPU.

The decision table (checked in this order):

* a VF with an ``nvidia/`` directory (``current_vgpu_type``) runs
  NVIDIA's vendor-specific VFIO framework: ``variant-vf``;
* a function with ``mdev_supported_types`` or mdevs is a legacy mdev
  parent (kernel ``Documentation/driver-api/vfio-mediated-device.rst``):
  ``legacy-mdev-vf`` on a VF (Ampere and later), ``legacy-mdev-pf`` on a PF
  (pre-Ampere boards, whose vGPUs are mdevs on the PF: Nova
  ``doc/source/admin/virtual-gpu.rst``, Nova 34.0.0);
* a function bound to ``vfio-pci`` or the upstream Grace passthrough
  variant ``nvgrace_gpu_vfio_pci`` (Linux ``drivers/vfio/pci/nvgrace-gpu``)
  is whole-GPU passthrough: ``vfio-passthrough``;
* anything else is ``unconfigured``.  A PF whose vGPUs live on its VFs is
  ``unconfigured`` as a function; its GPU's mode says what it hosts.

The mdev and ``nvidia/`` checks come before the driver name: one host
capture showed an mdev parent bound to ``vfio-pci``.  ``device`` is any
object with the attributes of :class:`vfioclient.model.host.HostDevice`
that the table reads.
"""

LEGACY_MDEV_PF = 'legacy-mdev-pf'
LEGACY_MDEV_VF = 'legacy-mdev-vf'
VARIANT_VF = 'variant-vf'
VFIO_PASSTHROUGH = 'vfio-passthrough'
UNCONFIGURED = 'unconfigured'
CLASSIFICATIONS = (LEGACY_MDEV_PF, LEGACY_MDEV_VF, VARIANT_VF,
                   VFIO_PASSTHROUGH, UNCONFIGURED)
# A GPU whose PF and VFs disagree (for example mdevs on some VFs and
# variant-driver VFs on others).
MIXED = 'mixed'
GPU_MODES = CLASSIFICATIONS + (MIXED,)

# Drivers that pass a whole GPU through (not vGPU).
PASSTHROUGH_DRIVERS = frozenset({'vfio-pci', 'vfio_pci',
                                 'nvgrace_gpu_vfio_pci',
                                 'nvgrace-gpu-vfio-pci'})


def classify_device(device):
    """Classification of one NVIDIA PCI function (see the module doc)."""
    if device.is_vf and device.has_variant_interface:
        return VARIANT_VF
    if device.mdev_supported_types or device.mdevs:
        return LEGACY_MDEV_VF if device.is_vf else LEGACY_MDEV_PF
    if device.driver in PASSTHROUGH_DRIVERS:
        return VFIO_PASSTHROUGH
    return UNCONFIGURED


def gpu_mode(classifications):
    """A GPU's mode from the classifications of its PF and VFs.

    The one classification they share once ``unconfigured`` functions are
    ignored, ``unconfigured`` if nothing else is there, and ``mixed`` when
    two models meet on one GPU.
    """
    found = set(classifications) - {UNCONFIGURED}
    if not found:
        return UNCONFIGURED
    if len(found) == 1:
        return found.pop()
    return MIXED
