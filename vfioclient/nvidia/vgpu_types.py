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

"""vGPU types as an operator names them and as the driver lists them.

A type is named by its number (``597``, also ``nvidia-597`` as the legacy
mdev type directory spells it) or by its profile name (``NVIDIA A10-24Q``).
NVIDIA renamed prefixes between driver branches (``GRID A100-4C`` became
``NVIDIA A100-4C``), so names also match on their :func:`short_name`, the
part after the last space (the profile names of the NVIDIA vGPU User
Guide, "Virtual GPU Types for Supported GPUs":
https://docs.nvidia.com/vgpu/latest/grid-vgpu-user-guide/index.html).

``nvidia/creatable_vgpu_types`` on a VF (NVIDIA's vendor-specific VFIO
framework) prints a header ``ID    : vGPU Name`` and one ``%-5d : %s``
line per type that can be created now; a full GPU prints the header only
(kernel interface source of NVIDIA's vGPU KVM host driver 525.85.07,
``nvidia-vgpu-vfio/vgpu-vfio-pci-core.c``; the same format in NVIDIA's
proposed upstream driver, Linux ``drivers/vfio/pci/nvidia-vgpu/``).
"""

import collections
import re

# A type entry of ``creatable_vgpu_types``: number and profile name.
CreatableType = collections.namedtuple('CreatableType', 'id name')

# A vGPU type as an operator may type it: a number, ``nvidia-NNN``, or a
# profile name such as ``NVIDIA A10-4Q`` / ``GRID A100D-1-10C`` /
# ``NVIDIA RTX6000-Ada-1Q``.  Deliberately narrow: the value ends up in a
# root shell script.
TYPE_SPEC_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9 ._+-]{0,63}$')
_TYPE_NUMBER_RE = re.compile(r'^(?:[A-Za-z][A-Za-z0-9_]*-)?(\d{1,9})$')
_CREATABLE_LINE_RE = re.compile(r'^\s*(\d+)\s*:\s*(\S.*?)\s*$')
_CREATABLE_HEADER_RE = re.compile(r'^\s*ID\s*:')
_TRAILING_INT_RE = re.compile(r'(\d+)$')


def short_name(name):
    """``NVIDIA A40-2Q`` -> ``A40-2Q``; ``''`` for an empty name."""
    return name.strip().split()[-1] if name and name.strip() else ''


def mdev_type_number(type_dir_name):
    """The vGPU type number of an mdev type directory name, or None.

    ``nvidia-558`` -> 558.  Parsed from the trailing integer: the prefix is
    the parent's driver name (Linux
    ``Documentation/driver-api/vfio-mediated-device.rst``) and is not
    always ``nvidia-``.
    """
    match = _TRAILING_INT_RE.search(type_dir_name)
    return int(match.group(1)) if match else None


def parse_creatable_vgpu_types(text):
    """Parse ``nvidia/creatable_vgpu_types``.

    Returns ``(types, bad_lines)``: a tuple of :class:`CreatableType` in
    file order (first of a repeated id kept), and the lines that were
    neither blank, the ``ID : vGPU Name`` header, nor an entry.  An empty
    or header-only file (a full GPU) is a valid empty list.
    """
    types = []
    bad = []
    seen = set()
    for line in (text or '').splitlines():
        if not line.strip() or _CREATABLE_HEADER_RE.match(line):
            continue
        match = _CREATABLE_LINE_RE.match(line)
        if not match:
            bad.append(line)
            continue
        type_id = int(match.group(1))
        if type_id not in seen:
            seen.add(type_id)
            types.append(CreatableType(id=type_id, name=match.group(2)))
    return tuple(types), tuple(bad)


def validate_type_spec(spec):
    """Check a ``--vgpu-type`` value; return it stripped.

    Raises ValueError for anything that is not a number or a profile name
    made of letters, digits, space, ``.``, ``_``, ``+`` and ``-``.
    """
    value = (spec or '').strip()
    if not TYPE_SPEC_RE.match(value):
        raise ValueError(
            'vGPU type %r is not a type id (e.g. 597) or a profile name '
            '(e.g. "NVIDIA A10-4Q"): only letters, digits, space, ".", '
            '"_", "+" and "-" are allowed' % spec)
    return value


def type_spec_number(spec):
    """The type number a spec names directly (``597``, ``nvidia-597``).

    None when the spec is a profile name.
    """
    match = _TYPE_NUMBER_RE.match((spec or '').strip())
    return int(match.group(1)) if match else None


def type_name_matches(spec, name):
    """True if a profile name given by the operator names ``name``.

    Exact (case-insensitive, blanks collapsed) or on the short names.
    """
    if not name:
        return False
    if ' '.join(spec.split()).lower() == ' '.join(name.split()).lower():
        return True
    return short_name(spec).lower() == short_name(name).lower()


def match_vgpu_type(spec, types):
    """Find the type in ``types`` (objects with ``id``/``name``) ``spec``
    names.

    ``spec`` is a number, ``nvidia-NNN`` or a profile name.  Returns None
    when nothing matches; raises ValueError when a name is ambiguous.
    """
    number = type_spec_number(spec)
    if number is not None:
        for vgpu_type in types:
            if vgpu_type.id == number:
                return vgpu_type
        return None
    found = {t.id: t for t in types if type_name_matches(spec, t.name)}
    if len(found) > 1:
        raise ValueError('vGPU type %r matches several types: %s' % (
            spec, ', '.join('%d (%s)' % (t.id, t.name)
                            for t in found.values())))
    return next(iter(found.values()), None)
