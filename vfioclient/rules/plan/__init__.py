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

"""Plan decisions: legacy mdev vGPU -> variant-driver VFs, host by host.

Pure functions of a :class:`vfioclient.model.cloud.Snapshot`, host reports
and :class:`Options`; :func:`make_plan` returns a
:class:`vfioclient.model.plan.Plan`.  No I/O, no clock: the same inputs give
the same plan, byte for byte.

What is decided, per physical GPU (PF) that still has legacy providers,
and where:

1. its legacy mdev type (:mod:`.legacy`; from ``--nova-conf`` files:
   :mod:`.legacy_conf`);
2. the VF vGPU type with the same profile (:mod:`.vftype`);
3. the VFs Nova gets (:mod:`.gpus`).

Then per host the ``nova.conf`` values (:mod:`.nova_config`) and boot
script parameters (:mod:`.hosts`), and globally the resource classes and
aliases (:mod:`.options`), flavors (:mod:`.flavors`), capacity and the
drain/convert order in waves (:mod:`.capacity`, :mod:`.waves`) and the
Placement settings for bug 2070257; :mod:`.assemble` runs these phases
in order.  A GPU or host the
plan cannot convert becomes a :class:`vfioclient.model.plan.Refusal`
with the reason: refusals are values, returned by the phase that decides
them.
"""

from vfioclient.rules.plan.assemble import make_plan
from vfioclient.rules.plan.flavors import translate_extra_specs
from vfioclient.rules.plan.legacy_conf import nova_conf
from vfioclient.rules.plan.legacy_conf import NovaConf
from vfioclient.rules.plan.nova_config import vf_address_specs
from vfioclient.rules.plan.options import check_templates
from vfioclient.rules.plan.options import DEFAULT_ALIAS_TEMPLATE
from vfioclient.rules.plan.options import DEFAULT_FLAVOR_NAME_TEMPLATE
from vfioclient.rules.plan.options import DEFAULT_GROUP_BY
from vfioclient.rules.plan.options import DEFAULT_RESOURCE_CLASS_TEMPLATE
from vfioclient.rules.plan.options import FLAVOR_PLACEHOLDERS
from vfioclient.rules.plan.options import GROUP_BY
from vfioclient.rules.plan.options import Options
from vfioclient.rules.plan.options import parse_maps
from vfioclient.rules.plan.options import render_alias
from vfioclient.rules.plan.options import render_flavor_name
from vfioclient.rules.plan.options import render_resource_class
from vfioclient.rules.plan.options import TemplateError
from vfioclient.rules.plan.options import TYPE_PLACEHOLDERS
from vfioclient.rules.plan.waves import default_wave_size
from vfioclient.rules.plan.waves import DEFAULT_WAVE_MAX
from vfioclient.rules.plan.waves import DEFAULT_WAVE_SHARE

__all__ = [
    'DEFAULT_ALIAS_TEMPLATE', 'DEFAULT_FLAVOR_NAME_TEMPLATE',
    'DEFAULT_GROUP_BY', 'DEFAULT_RESOURCE_CLASS_TEMPLATE',
    'DEFAULT_WAVE_MAX', 'DEFAULT_WAVE_SHARE', 'FLAVOR_PLACEHOLDERS',
    'GROUP_BY', 'NovaConf', 'Options', 'TYPE_PLACEHOLDERS', 'TemplateError',
    'check_templates', 'default_wave_size', 'make_plan', 'nova_conf',
    'parse_maps', 'render_alias', 'render_flavor_name',
    'render_resource_class', 'translate_extra_specs', 'vf_address_specs',
]
