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

"""The boot-time vGPU setup script and its systemd unit (pure text out).

``current_vgpu_type`` and the VFs themselves are lost at every reboot
(Nova's ``doc/source/admin/virtual-gpu.rst``, Nova 34.0.0: sriov-manage
must run at each boot), so each variant-driver host runs this script before
nova-compute.  For each selected GPU it:

1. checks the PF (vendor ``10de``, bound to ``nvidia``, SR-IOV capable);
2. enables VFs if none exist: NVIDIA's ``/usr/lib/nvidia/sriov-manage -e
   <PF>`` when it is installed (NVIDIA's documented way: NVIDIA vGPU User
   Guide, https://docs.nvidia.com/vgpu/latest/grid-vgpu-user-guide/),
   otherwise by writing the VF count to ``sriov_numvfs`` (the generic
   kernel interface the upstream driver documents).  A PF that already has
   fewer VFs than wanted is an error: cycling SR-IOV destroys vGPUs;
3. waits, bounded, for ``virtfn0..N-1`` and their ``nvidia/`` directory;
   with a plan's exact VF list (``gpu_vfs``, the VFs its ``device_spec``
   lines match, so that the script and Nova name the same VFs) for each
   listed VF instead, which must be a VF of its GPU (``physfn``), and
   enabling SR-IOV enables every VF;
4. per VF: leaves it alone when ``current_vgpu_type`` already holds the
   type; otherwise checks that the type is listed in the VF's
   ``creatable_vgpu_types``, writes ``0`` if another type is set (the
   driver refuses to overwrite one, EPERM), writes the id, and reads it
   back.  A failing VF is named on stderr; the other VFs are still done and
   the script exits 1 at the end.

Each GPU gets one type: its own from the script's per-GPU type map
(``GPU_TYPES``, for a host whose GPUs have different types: Nova takes one
resource class and trait set per PF, ``PciResourceProvider.add_child`` in
``nova/compute/pci_placement_translator.py``, stable/2025.1 and later),
else the script's one type.

GPU selection without ``--gpu``: every PCI function under
``/sys/bus/pci/devices`` with vendor ``0x10de``, a display class, no
``physfn`` (a PF), bound to ``nvidia``, ``sriov_totalvfs`` > 0, no
``mdev_supported_types`` (a legacy PF-mdev GPU) and not a pre-Ampere board
(T4/V100 product ids advertise SR-IOV that vGPU does not use; see
:data:`vfioclient.nvidia.pci_ids.PF_ONLY_VGPU_PRODUCTS`).

A type named by profile name is resolved at boot from the VFs'
``creatable_vgpu_types`` (ids may differ between driver releases).  The
list no longer shows a type once the GPU is full, so a resolved id is kept
in ``$VFIO_STATE_DIR`` (``/run``, i.e. per boot) and, when the generator
knew the id, it is embedded and cross-checked against the driver's answer.

Every value placed in the script is validated here and shell-quoted, and
values read from sysfs at boot are only compared, never evaluated.
"""

import functools
import importlib.resources
import re
import shlex

from vfioclient.model import host as model
from vfioclient.nova import pci_address
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import vgpu_types

SCRIPT_NAME = 'vfio-vgpu-setup'
DEFAULT_SCRIPT_PATH = '/usr/local/sbin/' + SCRIPT_NAME
UNIT_NAME = SCRIPT_NAME + '.service'
DEFAULT_UNIT_PATH = '/etc/systemd/system/' + UNIT_NAME
DEFAULT_WAIT_SECONDS = 60
MAX_VFS = 256
SRIOV_MANAGE = '/usr/lib/nvidia/sriov-manage'

# Units the script must run after / before.  nvidia-vgpu-mgr is the vGPU
# manager daemon Nova's sriov-manage unit example orders after; the
# nvidia-sriov-manage@ template is Nova's documented way to enable VFs.
# Ordering against a unit that does not exist is a no-op in systemd.
AFTER_UNITS = ('nvidia-vgpu-mgr.service', 'nvidia-sriov-manage@ALL.service')
BEFORE_UNITS = ('nova-compute.service', 'openstack-nova-compute.service')

_SCRIPT_PATH_RE = re.compile(r'^/[A-Za-z0-9._/-]{1,200}$')
_VGPU_ID_MAX = 10 ** 9

# The script, shipped as package data so that shellcheck reads it (tox -e
# pep8).  ``@NAME@`` placeholders are filled by render_script: comment text
# in the header, shell-quoted words in the settings block.  The body below
# the settings reads only them and the environment; keep it POSIX (dash,
# busybox sh): no arrays, no [[ ]], no local.
SCRIPT_TEMPLATE = 'vfio-vgpu-setup.sh.in'
_PLACEHOLDER_RE = re.compile(r'@([A-Z_]+)@')


@functools.cache
def _script_template():
    return importlib.resources.files(__package__).joinpath(
        SCRIPT_TEMPLATE).read_text(encoding='utf-8')


def _validate_type(vgpu_type, type_id):
    """``(spec, id known now or None)`` of one type."""
    spec = vgpu_types.validate_type_spec(vgpu_type)
    number = vgpu_types.type_spec_number(spec)
    if type_id is not None:
        if not isinstance(type_id, int) or isinstance(type_id, bool) or \
                not 0 < type_id < _VGPU_ID_MAX:
            raise ValueError('vGPU type id must be a positive number, got %r'
                             % (type_id,))
        if number is not None and number != type_id:
            raise ValueError('vGPU type %r does not have id %d'
                             % (spec, type_id))
    return spec, number if number is not None else type_id


def _validate(vgpu_type, gpus, vfs, type_id, wait_seconds, gpu_types):
    """``(default type or None, its id, addresses, {PF: (type, id)})``.

    :raises ValueError: a bad value, or a GPU left without a type.
    """
    addresses = []
    for gpu in gpus or ():
        address = pci_address.normalize_address(gpu)
        if address not in addresses:
            addresses.append(address)
    types = {}
    for gpu, (gpu_type, gpu_type_id) in (gpu_types or {}).items():
        address = pci_address.normalize_address(gpu)
        if address in types:
            raise ValueError('GPU %s is given two types' % address)
        types[address] = _validate_type(gpu_type, gpu_type_id)
        if address not in addresses:
            addresses.append(address)
    if vfs is not None and (not isinstance(vfs, int) or isinstance(vfs, bool)
                            or not 1 <= vfs <= MAX_VFS):
        raise ValueError('--vfs must be a number from 1 to %d, got %r'
                         % (MAX_VFS, vfs))
    if vgpu_type is None:
        untyped = [a for a in addresses if a not in types]
        if untyped or not addresses:
            raise ValueError('no vGPU type for %s' % (
                'GPU ' + ', '.join(untyped) if untyped
                else 'the GPUs found at boot'))
        if type_id is not None:
            raise ValueError('a type id without a vGPU type')
        spec, known_id = None, None
    else:
        spec, known_id = _validate_type(vgpu_type, type_id)
    if not isinstance(wait_seconds, int) or not 0 <= wait_seconds <= 3600:
        raise ValueError('wait time must be 0..3600 seconds, got %r'
                         % (wait_seconds,))
    return spec, known_id, addresses, types


def _validate_gpu_vfs(gpu_vfs, addresses, vfs):
    """``{PF: (VF, ...)}`` normalised, in the order given.

    :raises ValueError: a bad or repeated address, a VF that is a listed
        PF, an empty list, ``--vfs`` as well, or ``gpus`` naming other GPUs.
    """
    if vfs is not None:
        raise ValueError('give either a VF count or the VF addresses')
    listed = {}
    seen = set()
    for gpu, vf_list in gpu_vfs.items():
        pf = pci_address.normalize_address(gpu)
        if pf in listed:
            raise ValueError('GPU %s is listed twice' % pf)
        listed[pf] = []
        for vf in vf_list:
            address = pci_address.normalize_address(vf)
            if address in seen:
                raise ValueError('VF %s is listed twice' % address)
            seen.add(address)
            listed[pf].append(address)
        if not listed[pf] or len(listed[pf]) > MAX_VFS:
            raise ValueError('GPU %s: 1 to %d VF addresses, got %d'
                             % (pf, MAX_VFS, len(listed[pf])))
    if seen & set(listed):
        raise ValueError('a listed VF is also a listed GPU')
    if addresses and addresses != list(listed):
        raise ValueError('the GPUs %s are not those the VF addresses are '
                         'listed for (%s)' % (', '.join(addresses),
                                              ', '.join(listed)))
    return listed


def _q(value):
    return shlex.quote(str(value))


def _comment(value):
    """A value made safe for a ``#`` comment line (no line breaks)."""
    return ''.join(c if c.isprintable() else '?' for c in str(value))


def _type_words(spec, known_id):
    """``(type, id, match, short, is-id)`` as the script compares them."""
    match = ' '.join(spec.split()).lower()
    return (spec, '' if known_id is None else str(known_id), match,
            vgpu_types.short_name(match),
            '1' if vgpu_types.type_spec_number(spec) is not None else '0')


def _types_comment(spec, types):
    names = sorted({t for t, _i in types.values()} | (
        {spec} if spec is not None else set()))
    if len(names) == 1:
        return 'type %s' % _comment(names[0])
    return 'types %s (one per GPU: GPU_TYPES)' % _comment(', '.join(names))


def render_script(vgpu_type, gpus=(), vfs=None, type_id=None,
                  wait_seconds=DEFAULT_WAIT_SECONDS, gpu_vfs=None,
                  gpu_types=None):
    """The POSIX sh boot script.

    :param vgpu_type: type id (``597``, ``nvidia-597``) or profile name
        (``NVIDIA A10-24Q``; matched case-insensitively, also on the part
        after the last space); the type of every GPU ``gpu_types`` does
        not name (None: ``gpu_types`` names every GPU).
    :param gpus: PF addresses; empty means all eligible GPUs found at boot
        (or the GPUs of ``gpu_vfs`` / ``gpu_types``).
    :param vfs: VFs to configure per GPU (the first N); None means the
        VFs that exist at boot, or ``sriov_totalvfs`` when enabling them.
    :param type_id: the id of a profile name when known at generation time
        (cross-checked at boot).
    :param gpu_vfs: ``{PF: [VF address, ...]}``: set the type on exactly
        these VFs (a plan's list, the one its ``device_spec`` lines match);
        enabling SR-IOV then enables every VF, and a listed address that is
        not a VF of its GPU fails.  Not with ``vfs``.
    :param gpu_types: ``{PF: (type, id or None)}``: a GPU's own type (Nova
        takes one resource class per PF, so the GPUs of one host may have
        different types); these GPUs are set up too.
    :raises ValueError: for any value that is not safe or not valid.
    """
    spec, known_id, addresses, types = _validate(
        vgpu_type, gpus, vfs, type_id, wait_seconds, gpu_types)
    listed = _validate_gpu_vfs(gpu_vfs, addresses, vfs) if gpu_vfs else {}
    addresses = list(listed) or addresses
    default = _type_words(spec, known_id) if spec is not None else (
        '', '', '', '', '0')
    values = {
        # Header comments.
        'TYPE_COMMENT': _types_comment(spec, types),
        'GPU_SELECTION': (
            'GPUs: %s' % ', '.join(addresses) if addresses
            else 'GPUs: every eligible NVIDIA SR-IOV GPU found at boot'),
        'VFS_COMMENT': ('the listed ones (GPU_VFS)' if listed
                        else 'all' if vfs is None else vfs),
        'SRIOV_MANAGE': SRIOV_MANAGE,
        'WAIT_SECONDS': wait_seconds,
        # Settings: shell words.
        'VGPU_TYPE': _q(default[0]),
        'VGPU_TYPE_ID': _q(default[1]),
        'VGPU_TYPE_MATCH': _q(default[2]),
        'VGPU_TYPE_SHORT': _q(default[3]),
        'TYPE_IS_ID': _q(default[4]),
        'VFS_PER_GPU': _q('' if vfs is None else vfs),
        'GPUS': _q(' '.join(addresses)),
        # Validated types hold no "|" and no line break.
        'GPU_TYPES': _q('\n'.join(
            '|'.join((pf,) + _type_words(*types[pf]))
            for pf in addresses if pf in types)),
        'GPU_VFS': _q(' '.join('%s=%s' % (pf, ','.join(vf_list))
                               for pf, vf_list in listed.items())),
        'PF_ONLY_PRODUCTS': _q(' '.join(
            '0x' + p for p in sorted(pci_ids.PF_ONLY_VGPU_PRODUCTS))),
        'DEFAULT_WAIT_SECONDS': _q(wait_seconds),
        'DEFAULT_SRIOV_MANAGE': _q(SRIOV_MANAGE),
    }
    # One pass: a value can never introduce a placeholder.
    return _PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]),
                               _script_template())


def render_boot_setup(setup, wait_seconds=DEFAULT_WAIT_SECONDS):
    """The boot script of a plan's host
    (:class:`vfioclient.model.plan.BootSetup`): with the exact VF list of
    each GPU when the plan has it (the VFs its ``device_spec`` lines
    match), else the first ``vfs_per_gpu`` VFs (plans made before the list
    was kept); each GPU's own type when they differ."""
    per_gpu = setup.gpu_types()
    shared = {(t, i) for _g, t, i in per_gpu}
    vgpu_type, type_id = (shared.pop() if len(shared) == 1
                          else (setup.vf_type, setup.type_id))
    gpu_types = None if vgpu_type is not None else {
        gpu: (t, i) for gpu, t, i in per_gpu}
    if setup.vfs:
        return render_script(
            vgpu_type, gpus=list(setup.gpus), type_id=type_id,
            wait_seconds=wait_seconds,
            gpu_vfs={g.gpu: list(g.vfs) for g in setup.vfs},
            gpu_types=gpu_types)
    return render_script(vgpu_type, gpus=list(setup.gpus),
                         vfs=setup.vfs_per_gpu, type_id=type_id,
                         wait_seconds=wait_seconds, gpu_types=gpu_types)


def render_boot_unit(setup, script_path=DEFAULT_SCRIPT_PATH):
    """The systemd unit of a plan's host
    (:class:`vfioclient.model.plan.BootSetup`)."""
    return render_systemd_unit(setup.types(), script_path=script_path)


def render_systemd_unit(vgpu_type, script_path=DEFAULT_SCRIPT_PATH):
    """The systemd unit that runs the script before nova-compute.

    ``vgpu_type`` is the script's type, or the list of its types when its
    GPUs have different ones.  Install it as
    ``/etc/systemd/system/vfio-vgpu-setup.service`` next to the script at
    ``script_path``.
    """
    names = [vgpu_type] if isinstance(vgpu_type, str) or vgpu_type is None \
        else list(vgpu_type)
    specs = sorted({vgpu_types.validate_type_spec(n) for n in names})
    if not specs:
        raise ValueError('no vGPU type for the unit')
    if not _SCRIPT_PATH_RE.match(script_path or '') or '..' in script_path:
        raise ValueError('script path %r is not a plain absolute path'
                         % script_path)
    return '\n'.join([
        '# %s: generated by "openstack vfio host script --format systemd".'
        % UNIT_NAME,
        '# Runs %s (vGPU %s) at boot, before nova-compute.'
        % (script_path, _comment(
            'type %s' % specs[0] if len(specs) == 1
            else 'types %s, one per GPU' % ', '.join(specs))),
        '# Install:',
        '#   install -m 0700 %s %s' % (SCRIPT_NAME, script_path),
        '#   install -m 0644 %s %s' % (UNIT_NAME, DEFAULT_UNIT_PATH),
        '#   systemctl daemon-reload && systemctl enable %s' % UNIT_NAME,
        '# To keep nova-compute down when a VF cannot be set, add',
        '# RequiredBy=nova-compute.service under [Install].',
        '# Containerised nova-compute (e.g. kolla): add its unit to Before=.',
        '[Unit]',
        'Description=Enable NVIDIA SR-IOV VFs and set their vGPU type '
        '(vfioclient)',
        'After=%s' % ' '.join(AFTER_UNITS),
        'Before=%s' % ' '.join(BEFORE_UNITS),
        'ConditionPathExists=%s' % script_path,
        '',
        '[Service]',
        'Type=oneshot',
        'RemainAfterExit=yes',
        'ExecStart=%s' % script_path,
        'TimeoutStartSec=900',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
        '',
    ])


def resolve_type_id(vgpu_type, report=None):
    """The type id for a spec, when this host's data tells it before boot.

    From the spec itself (``597``, ``nvidia-597``), else from the types a
    host report of the target host shows (offered or in use).  None when
    unknown: the script then resolves the name at boot.  The built-in
    profile table (:mod:`vfioclient.nvidia.profiles`) is deliberately not
    used: ids are per driver release, and a wrong embedded id would fail
    every boot.
    """
    spec = vgpu_types.validate_type_spec(vgpu_type)
    number = vgpu_types.type_spec_number(spec)
    if number is not None:
        return number
    if report is None:
        return None
    candidates = []
    for gpu in report.gpus:
        candidates.extend(gpu.types_offered)
        candidates.extend(model.VgpuType(u.id, u.name)
                          for u in gpu.types_in_use if u.name)
    found = vgpu_types.match_vgpu_type(spec, candidates)
    return found.id if found else None
