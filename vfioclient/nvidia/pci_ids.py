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

Some boards share a PF product id and differ only in their PCI subsystem
ids (sysfs ``subsystem_vendor`` and ``subsystem_device``): ``25b6`` is the
GA107GL of both the NVIDIA A16 (subsystem ``10de:14a9``) and the NVIDIA A2
(``10de:157e``), as the "Compatible GPUs" table of NVIDIA's
open-gpu-kernel-modules ``README.md`` lists them (release 550.40.82: PCI
device id, subsystem vendor id, subsystem device id).
:func:`board_of_shared_product` tells them apart, or says it cannot.
"""

import collections

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


# PF product id -> {(subsystem vendor, subsystem device): board}, for
# product ids several boards share (open-gpu-kernel-modules README.md).
SHARED_PRODUCTS = {
    '25b6': {('10de', '14a9'): 'A16', ('10de', '157e'): 'A2'},
}

# What :func:`board_of_shared_product` found: the board (None when it
# cannot tell) and how it knows, or why not.
SharedBoard = collections.namedtuple('SharedBoard', 'board evidence')


def _board_of_name(name):
    short = vgpu_types.short_name(name)
    return short.rsplit('-', 1)[0].upper() if '-' in short else None


def board_of_shared_product(product_id, subsystem=None, type_names=()):
    """Which board of a shared product id a GPU is, or None.

    ``subsystem`` is ``(subsystem vendor id, subsystem device id)`` of the
    PF (4 lowercase hex digits each, or None when unknown); ``type_names``
    are vGPU type names seen on the GPU (``NVIDIA A16-2Q``).  The subsystem
    id decides; the type names must agree with it, or decide alone when it
    is unknown.  None when neither tells, or when they disagree.
    :returns: :class:`SharedBoard`.
    """
    boards = SHARED_PRODUCTS.get(product_id, {})
    by_ids = boards.get(tuple(subsystem)) if subsystem else None
    by_names = sorted({b for b in map(_board_of_name, type_names)
                       if b in boards.values()})
    ids_text = ('subsystem %s:%s' % tuple(subsystem)
                if subsystem and all(subsystem) else 'no subsystem id')
    if by_ids and by_names and by_names != [by_ids]:
        return SharedBoard(None, '%s is the %s, but type names say %s'
                           % (ids_text, by_ids, '/'.join(by_names)))
    if by_ids:
        return SharedBoard(by_ids, ids_text)
    if len(by_names) == 1:
        return SharedBoard(by_names[0], 'vGPU type names (%s)' % ids_text)
    if by_names:
        return SharedBoard(None, 'type names of %s' % ' and '.join(by_names))
    if subsystem and all(subsystem):
        return SharedBoard(None, '%s is none of %s' % (
            ids_text, ', '.join('%s:%s (%s)' % (v, d, b) for (v, d), b
                                in sorted(boards.items()))))
    return SharedBoard(None, '%s and no vGPU type names' % ids_text)


def gpu_model(product_id, type_names=(), subsystem=None):
    """Board name from the PF product id, else from a profile name.

    A product id several boards share is resolved with
    :func:`board_of_shared_product`, and stays ``A16/A2`` when it cannot
    be.  ``10de:<product id>`` when nothing tells it.
    """
    if product_id in SHARED_PRODUCTS:
        found = board_of_shared_product(product_id, subsystem, type_names)
        if found.board:
            return found.board
    from_table = GPU_MODELS.get(product_id)
    if from_table:
        return from_table
    for name in type_names:
        board = _board_of_name(name)
        if board:
            return board
    return '%s:%s' % (VENDOR_ID, product_id)
