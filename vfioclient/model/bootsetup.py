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

"""A converted host's boot setup: what its boot script sets on which VF.

Part of the plan document (``hosts[].boot_setup``, see
:mod:`vfioclient.model.plan`).  Each GPU has its own VF type: Nova takes one
resource class and trait set per PF, not per host
(``PciResourceProvider.add_child`` in
``nova/compute/pci_placement_translator.py``, stable/2025.1 and later), so
the GPUs of one host may have different types.  Plans made before types
were per GPU name one type for the whole setup; they are still read.
"""

import dataclasses

from vfioclient.nova import pci_address
from vfioclient.nvidia import vgpu_types


@dataclasses.dataclass(frozen=True)
class GpuVfs:
    """One GPU of a boot setup: the VF type the boot script sets on
    exactly these VFs."""
    gpu: str                     # PF address
    vfs: tuple[str, ...]         # VF addresses, = the GpuPlan's vfs
    # The GPU's own VF type (Nova takes one resource class and trait set
    # per PF, not per host) and its id when a host report confirms it.
    # None in plans made before types were per GPU: the setup's apply.
    vf_type: str | None = None
    type_id: int | None = None


@dataclasses.dataclass(frozen=True)
class BootSetup:
    """The parameters of a host's boot script
    (``vfioclient.render.bootscript.render_boot_setup``)."""
    vf_type: str | None          # every GPU's type; None: they differ
    type_id: int | None          # embedded when a host report confirms it
    gpus: tuple[str, ...]        # PF addresses
    vfs_per_gpu: int | None      # None: the GPUs' VF counts differ
    vfs: tuple[GpuVfs, ...] = ()  # per GPU: type and exact VFs

    def gpu_types(self):
        """``((gpu, vf_type, type_id), ...)`` in ``gpus`` order, for plans
        of any age (before types were per GPU, every GPU has the setup's).
        """
        listed = {g.gpu: g for g in self.vfs if g.vf_type is not None}
        return tuple((gpu, listed[gpu].vf_type, listed[gpu].type_id)
                     if gpu in listed else (gpu, self.vf_type, self.type_id)
                     for gpu in self.gpus)

    def types(self):
        """The VF types the script sets, sorted, each once."""
        return tuple(sorted({t for _g, t, _i in self.gpu_types() if t}))


def _type_problem(where, vf_type, type_id):
    try:
        spec = vgpu_types.validate_type_spec(vf_type)
    except ValueError as e:
        return '%s: %s' % (where, e)
    number = vgpu_types.type_spec_number(spec)
    if type_id is not None and number is not None and number != type_id:
        return '%s %s does not have id %d' % (where, spec, type_id)
    return None


def boot_setup_problem(setup):
    """What makes ``setup`` unusable for the boot script, or None (the
    checks ``vfioclient.render.bootscript`` makes before rendering)."""
    try:
        for gpu in setup.gpus:
            pci_address.normalize_address(gpu)
    except ValueError as e:
        return str(e)
    if setup.vf_type is not None:
        problem = _type_problem('vf_type', setup.vf_type, setup.type_id)
        if problem:
            return problem
    elif setup.type_id is not None:
        return 'type_id %d without a vf_type' % setup.type_id
    if setup.vfs and [g.gpu for g in setup.vfs] != list(setup.gpus):
        return 'vfs does not list the GPUs of gpus, in their order'
    if not setup.vfs and (setup.vfs_per_gpu is None
                          or setup.vf_type is None):
        return 'no VF list (vfs) and no vf_type or vfs_per_gpu'
    for i, g in enumerate(setup.vfs):
        where = 'vfs[%d].vf_type' % i
        if g.vf_type is None:
            if g.type_id is not None or setup.vf_type is None:
                return 'GPU %s: %s is null' % (g.gpu, where)
            continue
        problem = _type_problem(where, g.vf_type, g.type_id)
        if problem:
            return problem
        if setup.vf_type is not None and (g.vf_type, g.type_id) != (
                setup.vf_type, setup.type_id):
            return ('%s %s (id %s) is not vf_type %s (id %s), the type of '
                    'every GPU' % (where, g.vf_type, g.type_id,
                                   setup.vf_type, setup.type_id))
    return None
