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

"""Built-in table of NVIDIA vGPU profiles, for hosts without a host report.

``vfio plan`` prefers what a host report shows (``creatable_vgpu_types`` on
variant-driver VFs, ``mdev_supported_types`` on legacy parents).  Without a
report it falls back on this table to know, for a legacy mdev type, which
board it belongs to, whether that board can run vGPU on SR-IOV VFs, the
VF product id to put in ``device_spec``/``alias`` and how many instances of
the profile fit on one GPU.

Sources:

* Type ids and profile names: the ``vgpuConfig.xml`` of NVIDIA's vGPU
  manager (driver 510.47.03), and the NVIDIA vGPU User Guide, "Virtual GPU
  Types for Supported GPUs"
  (https://docs.nvidia.com/vgpu/latest/grid-vgpu-user-guide/index.html).
  mdev ``nvidia-NNN`` and ``creatable_vgpu_types`` ids share one number
  space: the kernel interface source of NVIDIA's vGPU KVM host driver
  525.85.07 prints the same resource-manager id in both.  Only entries
  marked ``verified=True`` were *observed* in the new (variant driver)
  model: A10-1B/24Q/24A (588/597/605, OpenNebula's vGPU documentation) and
  the L40S ids (1145-1166 and 2164, a host capture in
  harvester/pcidevices).  Every other id was only seen as an mdev type and
  is **UNVERIFIED** on the VF side: the plan says so, and the boot script
  resolves the type by profile name at boot rather than trusting an
  embedded id.
* PCI ids: the PCI ID Repository (https://pci-ids.ucw.cz/read/PC/10de).
  The VF device id equals the PF id on A40, A10, A16 and L40S (seen in
  ``lspci -nn`` listings); UNVERIFIED on the others.  T4 and V100 keep
  vGPU as mdevs on the PF (``pf_only``): they cannot move to VFs.
* MIG-backed types (``mig_backed``): a name with a slice count between
  board and size, ``<board>-<slices>-<GB><series>`` (``A100-1-5C``,
  ``A30-2-12C``, ``H100-1-10C``; ``...CME`` with media extensions), as
  NVIDIA's vGPU type tables name them ("MIG-Backed NVIDIA vGPU for
  Compute": "Slices per vGPU", "Corresponding GPU Instance Profile",
  https://docs.nvidia.com/ai-enterprise/release-8/latest/infra-software/vgpu/reference/blackwell.html
  and the Ampere tables of the vGPU User Guide above).  Such a type can
  only be created in a MIG GPU instance: MIG mode must be on and GPU and
  compute instances created (``nvidia-smi mig -cgi ... -C``) before it is
  offered ("Configuring a GPU for MIG-Backed vGPUs",
  https://docs.nvidia.com/ai-enterprise/release-4/4.9/infra-software/vgpu/configuration.html).
  The table marks the ones it lists; :func:`is_mig_backed` applies the
  naming rule to any name.
* ``max_instance`` per GPU: the legacy mdev ``description`` gives it; the
  table has A40-2Q = 24 from Nova's ``doc/source/admin/virtual-gpu.rst``
  (Nova 34.0.0).  Other values are computed as
  ``min(framebuffer GB / profile GB, VFs)`` and marked UNVERIFIED; a host
  report's mdev description always wins.
"""

import collections
import re

from vfioclient.nvidia import vgpu_types

Board = collections.namedtuple(
    'Board', 'name product_ids vf_product_id_verified memory_gb total_vfs '
    'sriov pf_only')
Profile = collections.namedtuple(
    'Profile', 'type_id name board verified max_instance max_verified '
    'source mig_backed')

# name, PF product ids, VF id == PF id verified, GB per GPU, VFs, SR-IOV
# vGPU, mdev on the PF only (pre-Ampere).
BOARDS = {b.name: b for b in (
    Board('T4', ('1eb8',), False, 16, None, False, True),
    Board('V100', ('1db4', '1db6', '1db1', '1db5'), False, 16, None, False,
          True),
    Board('V100D', ('1db6',), False, 32, None, False, True),
    Board('A100', ('20f1', '20b1', '20b0'), False, 40, None, True, False),
    Board('A100D', ('20b5', '20b2'), False, 80, None, True, False),
    Board('A30', ('20b7',), False, 24, None, True, False),
    Board('A40', ('2235',), True, 48, 32, True, False),
    Board('A10', ('2236',), True, 24, 32, True, False),
    Board('A16', ('25b6',), True, 16, None, True, False),
    Board('A2', ('25b6',), True, 16, None, True, False),
    Board('L40S', ('26b9',), True, 48, None, True, False),
    Board('RTX6000-Ada', ('26b1',), False, 48, None, True, False),
)}

_TABLE = 'vgpuConfig.xml of driver 510.47.03'
_RFC = "NVIDIA's vGPU VFIO driver RFC, drivers/vfio/pci/nvidia-vgpu"
_SEEN_ONE = ('observed in creatable_vgpu_types, OpenNebula vGPU '
             'documentation')
_SEEN_HARV = ('observed in creatable_vgpu_types, harvester/pcidevices '
              'host capture')


def _p(type_id, name, verified=False, max_instance=None,
       max_verified=False, source=_TABLE, mig_backed=False):
    board = board_of_profile(name)
    return Profile(type_id, name, board, verified, max_instance,
                   max_verified, source, mig_backed)


def _mig(type_id, name):
    """A MIG-backed profile of the table."""
    return _p(type_id, name, mig_backed=True)


# ``<board>-[<slices>-]<GB><series>[ME]``: ``ME`` is the media-extension
# variant of a one-slice MIG-backed type (``A100-1-5CME``).
_PROFILE_RE = re.compile(r'^(?P<board>.+?)-(?:(?P<slices>\d+)-)?'
                         r'(?P<size>\d+)(?P<series>[A-Z])(?:ME)?$')


def board_of_profile(name):
    """``NVIDIA A40-2Q`` -> ``A40``; ``RTX6000-Ada-1Q`` -> ``RTX6000-Ada``;
    None when the name does not look like a profile."""
    m = _PROFILE_RE.match(vgpu_types.short_name(name))
    return m.group('board') if m else None


def profile_size_gb(name):
    m = _PROFILE_RE.match(vgpu_types.short_name(name))
    return int(m.group('size')) if m else None


def is_mig_backed(name):
    """True for a MIG-backed type name (``NVIDIA A30-1-6C``,
    ``GRID A100-7-40C``, ``A100-1-5CME``): one with a slice count."""
    m = _PROFILE_RE.match(vgpu_types.short_name(name))
    return bool(m and m.group('slices'))


PROFILES = (
    _p(230, 'GRID T4-1Q'), _p(234, 'GRID T4-16Q'), _p(319, 'GRID T4-4C'),
    _p(321, 'GRID T4-16C'),
    _p(105, 'GRID V100-1Q'), _p(109, 'GRID V100-16Q'),
    _p(185, 'GRID V100D-32Q'),
    _p(35, 'GRID M10-0B'),
    _p(468, 'GRID A100-4C'), _p(473, 'GRID A100-40C'),
    _mig(474, 'GRID A100-1-5C'), _mig(475, 'GRID A100-2-10C'),
    _mig(476, 'GRID A100-3-20C'), _mig(477, 'GRID A100-4-20C'),
    _mig(478, 'GRID A100-7-40C'), _mig(706, 'GRID A100-1-5CME'),
    _p(692, 'GRID A100D-4C'), _p(698, 'GRID A100D-80C'),
    _mig(699, 'GRID A100D-1-10C'), _mig(700, 'GRID A100D-2-20C'),
    _mig(701, 'GRID A100D-3-40C'), _mig(702, 'GRID A100D-4-40C'),
    _mig(703, 'GRID A100D-7-80C'), _mig(707, 'GRID A100D-1-10CME'),
    _p(684, 'NVIDIA A30-4C'), _p(688, 'NVIDIA A30-24C'),
    _mig(689, 'NVIDIA A30-1-6C'), _mig(690, 'NVIDIA A30-2-12C'),
    _mig(691, 'NVIDIA A30-4-24C'), _mig(708, 'NVIDIA A30-1-6CME'),
    _p(555, 'NVIDIA A40-1B'),
    _p(558, 'NVIDIA A40-2Q', max_instance=24, max_verified=True,
       source=_TABLE + '; max_instance 24 from Nova virtual-gpu.rst'),
    _p(566, 'NVIDIA A40-48Q'), _p(575, 'NVIDIA A40-24A'),
    _p(587, 'NVIDIA A40-48C'),
    _p(588, 'NVIDIA A10-1B', verified=True, source=_SEEN_ONE),
    _p(597, 'NVIDIA A10-24Q', verified=True, source=_SEEN_ONE),
    _p(605, 'NVIDIA A10-24A', verified=True, source=_SEEN_ONE),
    _p(709, 'NVIDIA A16-1B'), _p(711, 'NVIDIA A16-1Q'),
    _p(715, 'NVIDIA A16-16Q'), _p(720, 'NVIDIA A16-16A'),
    _p(723, 'NVIDIA A16-16C'),
    _p(742, 'NVIDIA A2-1B'), _p(756, 'NVIDIA A2-16C'),
    _p(1145, 'NVIDIA L40S-1B', verified=True, source=_SEEN_HARV),
    _p(1148, 'NVIDIA L40S-2Q', verified=True, source=_SEEN_HARV),
    _p(1155, 'NVIDIA L40S-24Q', verified=True, source=_SEEN_HARV),
    _p(1156, 'NVIDIA L40S-48Q', verified=True, source=_SEEN_HARV),
    _p(1159, 'NVIDIA L40S-3A', verified=True, source=_SEEN_HARV),
    _p(2164, 'NVIDIA L40S-3B', verified=True, source=_SEEN_HARV),
    _p(941, 'NVIDIA RTX6000-Ada-1Q', source=_RFC),
    _p(950, 'NVIDIA RTX6000-Ada-48Q', source=_RFC),
)

BY_ID = {p.type_id: p for p in PROFILES}


def by_id(type_id):
    return BY_ID.get(type_id)


def by_name(name):
    """The profile whose short name matches ``name`` (case-insensitive)."""
    want = vgpu_types.short_name(name).lower()
    for p in PROFILES:
        if vgpu_types.short_name(p.name).lower() == want:
            return p
    return None


def lookup(spec):
    """A profile by ``558``, ``nvidia-558`` or a profile name; or None."""
    number = vgpu_types.type_spec_number(spec)
    if number is not None:
        return by_id(number)
    return by_name(spec)


def known_type_name(type_id):
    """Profile name of a type id from the table, or None."""
    profile = by_id(type_id)
    return profile.name if profile else None


def board(name):
    return BOARDS.get(name) if name else None


def board_of_product(product_id):
    for b in BOARDS.values():
        if product_id in b.product_ids:
            return b
    return None


def vf_product_id(board_name):
    """The single PF (= VF) product id of a board, or None when several
    boards or variants share the name (A100) or it is not known."""
    b = board(board_name)
    if b is None or len(b.product_ids) != 1:
        return None
    return b.product_ids[0]


def max_instance(profile):
    """(instances per GPU, verified) or (None, False)."""
    if profile is None:
        return None, False
    if profile.max_instance:
        return profile.max_instance, profile.max_verified
    b = board(profile.board)
    size = profile_size_gb(profile.name)
    if b is None or not size:
        return None, False
    count = b.memory_gb // size
    if b.total_vfs:
        count = min(count, b.total_vfs)
    return (count or None), False
