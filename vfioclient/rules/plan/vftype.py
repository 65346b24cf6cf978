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

"""VF type choice: the SR-IOV vGPU type with the legacy type's profile.

``--map`` first, then the ``creatable_vgpu_types`` a host report shows for
that GPU or board, then the built-in table
(:mod:`vfioclient.nvidia.profiles`).  Refused with a reason when no
VF type matches, the GPU cannot offer it, or it is MIG-backed (it needs a
MIG GPU instance the boot script cannot create).
"""

import dataclasses

from vfioclient.nvidia import vgpu_types
from vfioclient.model import host as host_model
from vfioclient.model import plan as model
from vfioclient.nvidia import profiles


@dataclasses.dataclass(frozen=True)
class VfType:
    name: str
    type_id: int
    verified: bool               # the id was seen on a host, not assumed
    source: str                  # how it was chosen, for the plan


@dataclasses.dataclass(frozen=True)
class Choice:
    """A GPU (its board filled in where the VF type tells it) and the VF
    type it moves to."""
    gpu: object                  # legacy.Gpu
    vf: VfType


def _creatable(report, address):
    """Types the VFs of one GPU offer now (variant model), or None."""
    vfs = report.vfs_of(address) if report else []
    lists = [d.creatable_vgpu_types for d in vfs
             if d.creatable_vgpu_types is not None]
    if not lists:
        return None
    found = {}
    for types in lists:
        for t in types:
            found.setdefault(t.id, t)
    return [found[i] for i in sorted(found)]


def _offered_by_board(reports, product_id):
    """Variant-model types offered on any reported GPU of this product."""
    found = {}
    for report in reports:
        for g in report.gpus:
            if g.product_id != product_id:
                continue
            if g.mode != host_model.VARIANT_VF:
                continue
            for t in g.types_offered:
                found.setdefault(t.id, (t, report.hostname))
            for t in g.types_in_use:
                if t.name:
                    found.setdefault(t.id, (host_model.VgpuType(t.id, t.name),
                                            report.hostname))
    return [found[i] for i in sorted(found)]


class BoardOffers:
    """:func:`_offered_by_board` of one list of reports, worked out once
    per product: choosing the type of every GPU of 10,000 hosts must not
    read all the reports again for each GPU."""

    def __init__(self, reports):
        self.reports = reports
        self._by_product = {}

    def of(self, product_id):
        if product_id not in self._by_product:
            self._by_product[product_id] = _offered_by_board(self.reports,
                                                             product_id)
        return self._by_product[product_id]


def _map_for(gpu, maps):
    for old, new in maps:
        o = old.lower()
        if gpu.legacy_type and (o == gpu.legacy_type.lower() or
                                o == gpu.legacy_type.split('-')[-1]):
            return old, new
        if gpu.legacy_name and vgpu_types.type_name_matches(
                old, gpu.legacy_name):
            return old, new
    if gpu.legacy_type is None:
        for old, new in maps:
            if gpu.legacy_key and old.upper() == gpu.legacy_key:
                return old, new
    return None


def _resolve(spec, gpu, offers, source):
    """A :class:`VfType` for a type spec on this GPU, or a Refusal."""
    creatable = _creatable(gpu.report, gpu.address)
    if creatable is not None:
        try:
            hit = vgpu_types.match_vgpu_type(spec, creatable)
        except ValueError as e:
            return model.Refusal(gpu.subject, str(e))
        if hit is None:
            return model.Refusal(gpu.subject, (
                'the GPU cannot offer %s: its VFs list %s' % (
                    spec, ', '.join('%d (%s)' % (t.id, t.name)
                                    for t in creatable) or 'nothing')))
        return VfType(hit.name or spec, hit.id, True,
                      '%s; host report %s' % (source, gpu.host))
    if gpu.product_id:
        offered = offers.of(gpu.product_id)
        try:
            hit = vgpu_types.match_vgpu_type(
                spec, [t for t, _h in offered])
        except ValueError as e:
            return model.Refusal(gpu.subject, str(e))
        if hit is not None:
            where = dict((t.id, h) for t, h in offered)[hit.id]
            return VfType(hit.name or spec, hit.id, True,
                          '%s; offered on %s' % (source, where))
    profile = profiles.lookup(spec)
    if profile is None:
        number = vgpu_types.type_spec_number(spec)
        if number is not None and gpu.legacy_name and (
                'nvidia-%d' % number) == gpu.legacy_type:
            return VfType(gpu.legacy_name, number, False,
                          '%s; same id as the mdev type (one number space '
                          'for mdev and VF types, UNVERIFIED)' % source)
        return model.Refusal(gpu.subject, (
            'no VF type matches %s: no host report of this board offers it '
            'and the built-in table does not know it (pass --host-report of'
            ' a variant-driver host or --map with a known type)' % spec))
    return VfType(profile.name, profile.type_id, profile.verified,
                  '%s; built-in table (%s)%s' % (
                      source, profile.source,
                      '' if profile.verified else ', id UNVERIFIED'))


def mig_refusal(type_name, gpu):
    """Why a MIG-backed VF type cannot be planned (see
    :func:`vfioclient.nvidia.profiles.is_mig_backed`)."""
    return (
        '%s is a MIG-backed vGPU type: the GPU must be in MIG mode with a '
        'GPU instance created for each vGPU (nvidia-smi mig -cgi ... -C) '
        'before a VF offers the type, and the boot script only sets '
        'types on VFs (it creates no GPU instances): convert this GPU by '
        'hand, or move it to a time-sliced type with --map %s=<type '
        'without a slice count, e.g. %s-%dC>' % (
            type_name, gpu.legacy_type or gpu.legacy_key or '<legacy type>',
            profiles.board_of_profile(type_name) or '<board>',
            profiles.profile_size_gb(type_name) or 4))


def choose_vf_type(gpu, reports, maps, offers=None):
    """A :class:`Choice` for this GPU, or a Refusal.

    Returns a new GPU record (board filled in from the profiles when the
    snapshot and reports did not tell it); ``gpu`` itself is not changed.
    ``offers``: a :class:`BoardOffers` of ``reports`` shared by the calls
    for every GPU of a plan (made here when not given).
    """
    offers = offers or BoardOffers(reports)
    mapped = _map_for(gpu, maps)
    if mapped:
        chosen = _resolve(mapped[1], gpu, offers,
                          '--map %s=%s' % mapped)
    elif gpu.legacy_type is None:
        if gpu.report is not None:
            # A report without mdevs in use cannot tell the type: Nova's
            # nova.conf chose it, and no mdev shows it.
            known = ('its host report shows no mdev in use, no nova.conf '
                     'for it, no class or trait naming a type')
            ask = ''
        else:
            known = ('no host report or nova.conf for %s, no class or '
                     'trait naming a type' % gpu.host)
            ask = '--host-report for %s, ' % gpu.host
        return model.Refusal(gpu.subject, (
            'legacy vGPU type unknown (%s inventory, %s): pass %s'
            '--nova-conf %s=<its nova.conf> or --map %s=<VF type>' % (
                '/'.join(gpu.legacy_classes) or '?', known, ask,
                gpu.host.split('.', 1)[0], gpu.legacy_key or 'VGPU')))
    else:
        spec = gpu.legacy_name or gpu.legacy_type
        chosen = _resolve(spec, gpu, offers, 'same profile as %s'
                          % gpu.legacy_type)
    if isinstance(chosen, model.Refusal):
        return chosen
    if profiles.is_mig_backed(chosen.name):
        return model.Refusal(gpu.subject, mig_refusal(chosen.name, gpu))
    target_board = profiles.board_of_profile(chosen.name)
    if gpu.board is None:
        gpu = dataclasses.replace(gpu, board=(
            profiles.board_of_profile(gpu.legacy_name)
            if gpu.legacy_name else None) or target_board)
    tb = profiles.board(target_board)
    if (tb is not None and gpu.board and target_board
            and target_board.upper() not in gpu.board.upper().split('/')):
        return model.Refusal(gpu.subject, (
            'the GPU cannot offer %s: it is for %s, this GPU is %s'
            % (chosen.name, target_board, gpu.board)))
    if tb is not None and tb.pf_only:
        return model.Refusal(gpu.subject, (
            '%s runs vGPU as mdevs on the PF only; it has no VF types'
            % chosen.name))
    return Choice(gpu, chosen)
