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

"""NVIDIA PCI ids: the vendor, board names, boards whose vGPUs stay on the PF.

Product ids and board names are those of the PCI ID Repository
(https://pci-ids.ucw.cz/read/PC/10de, pciutils ``pci.ids``).
"""

from vfioclient.nvidia import vgpu_types

# The PCI vendor id of NVIDIA, as sysfs ``vendor`` shows it without 0x.
VENDOR_ID = '10de'

# PF product id -> board.  25b6 is shared by the A2 and the A16.
GPU_MODELS = {
    '1eb8': 'T4',
    '1db4': 'V100', '1db6': 'V100', '1df6': 'V100S', '1db1': 'V100',
    '1db5': 'V100',
    '20f1': 'A100', '20b1': 'A100', '20b5': 'A100', '20b0': 'A100',
    '20b2': 'A100',
    '20b7': 'A30',
    '2235': 'A40',
    '2236': 'A10', '2237': 'A10G', '2238': 'A10M',
    '25b6': 'A16/A2',
    '27b8': 'L4',
    '26b5': 'L40',
    '26b9': 'L40S',
    '26b1': 'RTX 6000 Ada',
    '2331': 'H100', '2330': 'H100', '2321': 'H100L',
    '2335': 'H200', '233b': 'H200 NVL',
}

# Pre-Ampere boards (T4, V100): vGPU lives in mdevs on the PF even though
# the PF may advertise SR-IOV (a T4 reports 16 VFs); only GPUs from the
# Ampere architecture on use SR-IOV VFs for vGPU (NVIDIA vGPU User Guide,
# "Virtual GPU Types for Supported GPUs").  The boot script must never
# enable VFs on these.
PF_ONLY_VGPU_PRODUCTS = frozenset({'1eb8', '1db4', '1db6', '1df6', '1db1',
                                   '1db5'})


def gpu_model(product_id, type_names=()):
    """Board name from the PF product id, else from a profile name.

    ``10de:<product id>`` when neither tells it.
    """
    from_table = GPU_MODELS.get(product_id)
    if from_table:
        return from_table
    for name in type_names:
        short = vgpu_types.short_name(name)
        if '-' in short:
            return short.rsplit('-', 1)[0].upper()
    return '%s:%s' % (VENDOR_ID, product_id)
