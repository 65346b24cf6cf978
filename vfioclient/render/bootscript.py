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
4. per VF: leaves it alone when ``current_vgpu_type`` already holds the
   type; otherwise checks that the type is listed in the VF's
   ``creatable_vgpu_types``, writes ``0`` if another type is set (the
   driver refuses to overwrite one, EPERM), writes the id, and reads it
   back.  A failing VF is named on stderr; the other VFs are still done and
   the script exits 1 at the end.

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


def _validate(vgpu_type, gpus, vfs, type_id, wait_seconds):
    spec = vgpu_types.validate_type_spec(vgpu_type)
    addresses = []
    for gpu in gpus or ():
        address = pci_address.normalize_address(gpu)
        if address not in addresses:
            addresses.append(address)
    if vfs is not None and (not isinstance(vfs, int) or isinstance(vfs, bool)
                            or not 1 <= vfs <= MAX_VFS):
        raise ValueError('--vfs must be a number from 1 to %d, got %r'
                         % (MAX_VFS, vfs))
    number = vgpu_types.type_spec_number(spec)
    if type_id is not None:
        if not isinstance(type_id, int) or not 0 < type_id < _VGPU_ID_MAX:
            raise ValueError('vGPU type id must be a positive number, got %r'
                             % (type_id,))
        if number is not None and number != type_id:
            raise ValueError('vGPU type %r does not have id %d'
                             % (spec, type_id))
    if not isinstance(wait_seconds, int) or not 0 <= wait_seconds <= 3600:
        raise ValueError('wait time must be 0..3600 seconds, got %r'
                         % (wait_seconds,))
    return spec, addresses, number if number is not None else type_id


def _q(value):
    return shlex.quote(str(value))


def _comment(value):
    """A value made safe for a ``#`` comment line (no line breaks)."""
    return ''.join(c if c.isprintable() else '?' for c in str(value))


def render_script(vgpu_type, gpus=(), vfs=None, type_id=None,
                  wait_seconds=DEFAULT_WAIT_SECONDS):
    """The POSIX sh boot script.

    :param vgpu_type: type id (``597``, ``nvidia-597``) or profile name
        (``NVIDIA A10-24Q``; matched case-insensitively, also on the part
        after the last space).
    :param gpus: PF addresses; empty means all eligible GPUs found at boot.
    :param vfs: VFs to configure per GPU (the first N); None means the
        VFs that exist at boot, or ``sriov_totalvfs`` when enabling them.
    :param type_id: the id of a profile name when known at generation time
        (cross-checked at boot).
    :raises ValueError: for any value that is not safe or not valid.
    """
    spec, addresses, known_id = _validate(vgpu_type, gpus, vfs, type_id,
                                          wait_seconds)
    match = ' '.join(spec.split()).lower()
    short = vgpu_types.short_name(match)
    settings = '\n'.join([
        'VGPU_TYPE=%s' % _q(spec),
        'VGPU_TYPE_ID=%s' % _q('' if known_id is None else known_id),
        'VGPU_TYPE_MATCH=%s' % _q(match),
        'VGPU_TYPE_SHORT=%s' % _q(short),
        'TYPE_IS_ID=%s' % _q(
            '1' if vgpu_types.type_spec_number(spec) is not None else '0'),
        'VFS_PER_GPU=%s' % _q('' if vfs is None else vfs),
        'GPUS=%s' % _q(' '.join(addresses)),
        'PF_ONLY_PRODUCTS=%s' % _q(' '.join(
            '0x' + p for p in sorted(pci_ids.PF_ONLY_VGPU_PRODUCTS))),
        'DEFAULT_WAIT_SECONDS=%s' % _q(wait_seconds),
        'DEFAULT_SRIOV_MANAGE=%s' % _q(SRIOV_MANAGE),
    ])
    selection = ('GPUs: %s' % ', '.join(addresses) if addresses
                 else 'GPUs: every eligible NVIDIA SR-IOV GPU found at boot')
    header = '\n'.join([
        '#!/bin/sh',
        '# %s: set NVIDIA vGPU type %s on SR-IOV VFs at boot.'
        % (SCRIPT_NAME, _comment(spec)),
        '# %s; VFs per GPU: %s.'
        % (selection, 'all' if vfs is None else vfs),
        '# Generated by "openstack vfio host script" (vfioclient).',
        '# Run before nova-compute at every boot; safe to run again.',
        '#',
        '# Usage: %s [--dry-run]' % SCRIPT_NAME,
        '#   --dry-run  print what would be written; write nothing',
        '# Environment:',
        '#   VFIO_SYSFS_ROOT    prefix of /sys (default: empty, the real '
        'host)',
        '#   VFIO_SRIOV_MANAGE  sriov-manage path (default %s)'
        % SRIOV_MANAGE,
        '#   VFIO_WAIT_SECONDS  how long to wait for VFs (default %d)'
        % wait_seconds,
        '#   VFIO_STATE_DIR     per-boot state (default /run/%s)'
        % SCRIPT_NAME,
        '# Exit status: 0 done, 1 a GPU or VF failed (named on stderr), '
        '2 usage.',
    ])
    return header + '\n\n' + settings + '\n' + _SCRIPT_BODY


def render_systemd_unit(vgpu_type, script_path=DEFAULT_SCRIPT_PATH):
    """The systemd unit that runs the script before nova-compute.

    Install it as ``/etc/systemd/system/vfio-vgpu-setup.service`` next to
    the script at ``script_path``.
    """
    spec = vgpu_types.validate_type_spec(vgpu_type)
    if not _SCRIPT_PATH_RE.match(script_path or '') or '..' in script_path:
        raise ValueError('script path %r is not a plain absolute path'
                         % script_path)
    return '\n'.join([
        '# %s: generated by "openstack vfio host script --format systemd".'
        % UNIT_NAME,
        '# Runs %s (vGPU type %s) at boot, before nova-compute.'
        % (script_path, _comment(spec)),
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


# The body reads only the settings above and the environment.  Keep it
# POSIX (dash, busybox sh): no arrays, no [[ ]], no local.
_SCRIPT_BODY = r'''
SYSFS_ROOT=${VFIO_SYSFS_ROOT:-}
PCI="$SYSFS_ROOT/sys/bus/pci/devices"
SRIOV_MANAGE=${VFIO_SRIOV_MANAGE:-$DEFAULT_SRIOV_MANAGE}
WAIT_SECONDS=${VFIO_WAIT_SECONDS:-$DEFAULT_WAIT_SECONDS}
STATE_DIR=${VFIO_STATE_DIR:-/run/vfio-vgpu-setup}
DRY_RUN=0
FAILED=''

case $WAIT_SECONDS in ''|*[!0-9]*) WAIT_SECONDS=$DEFAULT_WAIT_SECONDS ;; esac

for arg in "$@"; do
    case $arg in
        --dry-run) DRY_RUN=1 ;;
        -h|--help) sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) printf '%s\n' "vfio-vgpu-setup: unknown argument: $arg" >&2
           exit 2 ;;
    esac
done

log() { printf '%s\n' "vfio-vgpu-setup: $*"; }
# fail MESSAGE... SUBJECT: report on stderr; SUBJECT joins the summary.
fail() {
    msg=''
    n=$#
    for part in "$@"; do
        n=$((n - 1))
        if [ "$n" -eq 0 ]; then
            FAILED="$FAILED $part"
        else
            msg="${msg:+$msg }$part"
        fi
    done
    printf '%s\n' "vfio-vgpu-setup: ERROR: $msg" >&2
}
is_uint() { case $1 in ''|*[!0-9]*) return 1 ;; esac; return 0; }
is_pci_address() {
    case $1 in
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7])
            return 0 ;;
    esac
    return 1
}
trim() {
    TRIMMED=${1#"${1%%[![:space:]]*}"}
    TRIMMED=${TRIMMED%"${TRIMMED##*[![:space:]]}"}
}
# read_value PATH: first line of PATH, trimmed, in VALUE; 1 if unreadable.
read_value() {
    VALUE=''
    [ -f "$1" ] && [ -r "$1" ] || return 1
    { IFS= read -r VALUE || [ -n "$VALUE" ]; } < "$1" 2>/dev/null || return 1
    trim "$VALUE"
    VALUE=$TRIMMED
    return 0
}
# write_value VALUE PATH
write_value() {
    if [ "$DRY_RUN" = 1 ]; then
        log "dry-run: would write $1 to $2"
        return 0
    fi
    log "writing $1 to $2"
    ( printf '%s\n' "$1" > "$2" ) 2>/dev/null
}
link_name() {
    LINK=''
    [ -L "$1" ] || return 1
    LINK=$(readlink "$1") || return 1
    LINK=${LINK##*/}
    return 0
}
name_matches() {
    lowered=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
    [ "$lowered" = "$VGPU_TYPE_MATCH" ] && return 0
    [ "${lowered##* }" = "$VGPU_TYPE_SHORT" ]
}
# find_creatable FILE: 0 and FOUND_ID if the wanted type is listed in FILE.
find_creatable() {
    FOUND_ID=''
    [ -f "$1" ] && [ -r "$1" ] || return 1
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in *:*) ;; *) continue ;; esac
        trim "${line%%:*}"; id=$TRIMMED
        trim "${line#*:}"; name=$TRIMMED
        is_uint "$id" || continue
        if [ "$TYPE_IS_ID" = 1 ]; then
            [ "$id" = "$VGPU_TYPE_ID" ] || continue
        else
            name_matches "$name" || continue
        fi
        FOUND_ID=$id
        return 0
    done < "$1"
    return 1
}
state_file() { printf '%s\n' "$STATE_DIR/$1.type-id"; }
remember_type_id() {
    [ "$DRY_RUN" = 1 ] && return 0
    mkdir -p "$STATE_DIR" 2>/dev/null &&
        ( printf '%s\n' "$2" > "$(state_file "$1")" ) 2>/dev/null
    return 0
}

select_gpus() {
    SELECTED=''
    for dev in "$PCI"/*; do
        pf=${dev##*/}
        is_pci_address "$pf" || continue
        read_value "$dev/vendor" && [ "$VALUE" = 0x10de ] || continue
        read_value "$dev/class" || continue
        case $VALUE in 0x03*) ;; *) continue ;; esac
        [ -e "$dev/physfn" ] || [ -L "$dev/physfn" ] && continue
        read_value "$dev/device" || continue
        case " $PF_ONLY_PRODUCTS " in
            *" $VALUE "*) log "skipping $pf: pre-Ampere GPU ($VALUE)," \
                              "vGPU uses mdevs on the PF"; continue ;;
        esac
        if ! link_name "$dev/driver" || [ "$LINK" != nvidia ]; then
            log "skipping $pf: not bound to the nvidia driver"; continue
        fi
        if [ -d "$dev/mdev_supported_types" ]; then
            log "skipping $pf: legacy mdev GPU"; continue
        fi
        read_value "$dev/sriov_totalvfs" && is_uint "$VALUE" &&
            [ "$VALUE" -gt 0 ] || continue
        SELECTED="$SELECTED $pf"
    done
}

# enable_vfs PF DEV COUNT: 0 when VFs were requested (or would be).
enable_vfs() {
    if [ -x "$SRIOV_MANAGE" ]; then
        if [ "$DRY_RUN" = 1 ]; then
            log "dry-run: would run $SRIOV_MANAGE -e $1"
            return 0
        fi
        log "running $SRIOV_MANAGE -e $1"
        "$SRIOV_MANAGE" -e "$1" || {
            fail "GPU $1: $SRIOV_MANAGE -e $1 failed" "$1"; return 1; }
        return 0
    fi
    write_value "$3" "$2/sriov_numvfs" || {
        fail "GPU $1: cannot write $3 to $2/sriov_numvfs" "$1"; return 1; }
    return 0
}

# wait_for_vfs PF DEV COUNT: every VF 0..COUNT-1 exists with nvidia/.
wait_for_vfs() {
    waited=0
    while :; do
        missing=''
        i=0
        while [ "$i" -lt "$3" ]; do
            vfdir="$2/virtfn$i"
            if [ -d "$vfdir/mdev_supported_types" ]; then
                link_name "$vfdir"
                fail "VF $LINK of GPU $1 is an mdev parent: this host" \
                     "runs the legacy mdev model, not the variant driver" \
                     "$LINK"
                return 1
            fi
            if [ ! -f "$vfdir/nvidia/current_vgpu_type" ]; then
                missing=$i
                break
            fi
            i=$((i + 1))
        done
        [ -z "$missing" ] && return 0
        if [ "$waited" -ge "$WAIT_SECONDS" ]; then
            vf="virtfn$missing"
            link_name "$2/virtfn$missing" && vf="$vf ($LINK)"
            fail "GPU $1: VF $vf has no nvidia/current_vgpu_type after" \
                 "${WAIT_SECONDS}s (VF missing, or not on the nvidia" \
                 "vGPU driver)" "$1/virtfn$missing"
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

# configure_vf PF VF: set the wanted type on one VF.
configure_vf() {
    nv="$PCI/$2/nvidia"
    if ! read_value "$nv/current_vgpu_type" || ! is_uint "$VALUE"; then
        fail "VF $2: cannot read a type id from $nv/current_vgpu_type" "$2"
        return 1
    fi
    current=$VALUE
    if [ -n "$GPU_TYPE_ID" ] && [ "$current" = "$GPU_TYPE_ID" ]; then
        UNCHANGED=$((UNCHANGED + 1))
        return 0
    fi
    if find_creatable "$nv/creatable_vgpu_types"; then
        if [ -n "$GPU_TYPE_ID" ] && [ "$FOUND_ID" != "$GPU_TYPE_ID" ]; then
            fail "VF $2: the driver lists $VGPU_TYPE as id $FOUND_ID," \
                 "expected $GPU_TYPE_ID; regenerate the script" "$2"
            return 1
        fi
        GPU_TYPE_ID=$FOUND_ID
        remember_type_id "$1" "$GPU_TYPE_ID"
        if [ "$current" = "$GPU_TYPE_ID" ]; then
            UNCHANGED=$((UNCHANGED + 1))
            return 0
        fi
    elif [ -z "$GPU_TYPE_ID" ] && [ "$current" != 0 ]; then
        fail "VF $2: has type $current; $VGPU_TYPE cannot be resolved to" \
             "an id (not in $nv/creatable_vgpu_types, GPU full?):" \
             "generate the script with the numeric type id" "$2"
        return 1
    else
        fail "VF $2: vGPU type $VGPU_TYPE is not in" \
             "$nv/creatable_vgpu_types (GPU full, another type in use on" \
             "this GPU, or not offered by this board)" "$2"
        return 1
    fi
    if [ "$current" != 0 ]; then
        # The driver refuses to replace a type: clear it first.
        write_value 0 "$nv/current_vgpu_type" || {
            fail "VF $2: cannot write 0 to $nv/current_vgpu_type (vGPU" \
                 "in use by a VM?)" "$2"; return 1; }
    fi
    write_value "$GPU_TYPE_ID" "$nv/current_vgpu_type" || {
        fail "VF $2: cannot write $GPU_TYPE_ID to" \
             "$nv/current_vgpu_type" "$2"; return 1; }
    if [ "$DRY_RUN" != 1 ]; then
        if ! read_value "$nv/current_vgpu_type" ||
                [ "$VALUE" != "$GPU_TYPE_ID" ]; then
            fail "VF $2: current_vgpu_type reads '$VALUE' after writing" \
                 "$GPU_TYPE_ID" "$2"
            return 1
        fi
    fi
    CHANGED=$((CHANGED + 1))
    return 0
}

configure_gpu() {
    pf=$1
    dev="$PCI/$pf"
    if [ ! -d "$dev" ]; then
        fail "GPU $pf: no such PCI device under $PCI" "$pf"; return 1
    fi
    if ! read_value "$dev/vendor" || [ "$VALUE" != 0x10de ]; then
        fail "GPU $pf: not an NVIDIA device (vendor '$VALUE')" "$pf"
        return 1
    fi
    if [ -e "$dev/physfn" ]; then
        fail "GPU $pf: is a VF; give the PF address" "$pf"; return 1
    fi
    if ! link_name "$dev/driver" || [ "$LINK" != nvidia ]; then
        fail "GPU $pf: bound to '${LINK:-no driver}', not nvidia" "$pf"
        return 1
    fi
    if ! read_value "$dev/sriov_totalvfs" || ! is_uint "$VALUE" ||
            [ "$VALUE" -eq 0 ]; then
        fail "GPU $pf: no SR-IOV capability (sriov_totalvfs)" "$pf"
        return 1
    fi
    total=$VALUE
    if ! read_value "$dev/sriov_numvfs" || ! is_uint "$VALUE"; then
        fail "GPU $pf: cannot read $dev/sriov_numvfs" "$pf"; return 1
    fi
    # Default: the VFs that exist, or all of them when enabling.
    if [ -n "$VFS_PER_GPU" ]; then
        want=$VFS_PER_GPU
    elif [ "$VALUE" -gt 0 ]; then
        want=$VALUE
    else
        want=$total
    fi
    if [ "$want" -gt "$total" ]; then
        fail "GPU $pf: $want VFs wanted, the GPU has at most $total" "$pf"
        return 1
    fi
    if [ "$VALUE" -eq 0 ]; then
        enable_vfs "$pf" "$dev" "$want" || return 1
        if [ "$DRY_RUN" = 1 ]; then
            log "dry-run: would then set type $VGPU_TYPE on $want VFs of $pf"
            return 0
        fi
    elif [ "$VALUE" -lt "$want" ]; then
        fail "GPU $pf: $VALUE VFs enabled, $want wanted; not re-enabling" \
             "SR-IOV on a live GPU (it destroys vGPUs): disable VFs first" \
             "$pf"
        return 1
    fi
    wait_for_vfs "$pf" "$dev" "$want" || return 1

    GPU_TYPE_ID=$VGPU_TYPE_ID
    if [ -z "$GPU_TYPE_ID" ] && read_value "$(state_file "$pf")" &&
            is_uint "$VALUE"; then
        GPU_TYPE_ID=$VALUE
    fi
    CHANGED=0
    UNCHANGED=0
    errors=0
    i=0
    while [ "$i" -lt "$want" ]; do
        if link_name "$dev/virtfn$i" && is_pci_address "$LINK"; then
            configure_vf "$pf" "$LINK" || errors=$((errors + 1))
        else
            fail "GPU $pf: virtfn$i is not a link to a VF" "$pf/virtfn$i"
            errors=$((errors + 1))
        fi
        i=$((i + 1))
    done
    log "GPU $pf: type $VGPU_TYPE${GPU_TYPE_ID:+ (id $GPU_TYPE_ID)}" \
        "on $want VFs: $CHANGED set, $UNCHANGED already set," \
        "$errors failed"
    [ "$errors" -eq 0 ]
}

if [ -n "$GPUS" ]; then
    SELECTED=$GPUS
else
    select_gpus
    if [ -z "$SELECTED" ]; then
        fail "no eligible NVIDIA SR-IOV GPU under $PCI" "(none)"
    fi
fi
for pf in $SELECTED; do
    configure_gpu "$pf"
done
if [ -n "$FAILED" ]; then
    printf '%s\n' "vfio-vgpu-setup: FAILED:$FAILED" >&2
    exit 1
fi
log "done"
exit 0
'''


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
