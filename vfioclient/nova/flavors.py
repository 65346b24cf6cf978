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

"""What a flavor asks Placement for, read from its extra specs as Nova does.

Covers the legacy vGPU requests (``resources[N]:VGPU=1``,
``resources[N]:CUSTOM_<MDEV_CLASS>=1``, ``trait[N]:CUSTOM_X=required``) and
PCI aliases (``pci_passthrough:alias``).

:data:`RESOURCES_KEY_RE` / :data:`TRAIT_KEY_RE` are Nova's extra-spec key
patterns (``ResourceRequest.XS_KEYPAT`` in ``nova/scheduler/utils.py``,
Nova 34.0.0): a prefix, an optional group suffix
``([a-zA-Z0-9_-]{1,64})?``, ``:`` and the resource class or trait.
"""

import collections
import re

import os_resource_classes

RESOURCES_KEY_RE = re.compile(
    r'^resources([a-zA-Z0-9_-]{1,64})?:(?P<rc>.+)$')
TRAIT_KEY_RE = re.compile(r'^trait([a-zA-Z0-9_-]{1,64})?:(?P<trait>.+)$')

ResourceRequest = collections.namedtuple('ResourceRequest',
                                         'group resource_class amount')


def resource_requests(extra_specs):
    """``[ResourceRequest]`` for every ``resources*:`` extra spec."""
    found = []
    for key, value in sorted((extra_specs or {}).items()):
        m = RESOURCES_KEY_RE.match(key)
        if not m:
            continue
        try:
            amount = int(str(value).strip())
        except ValueError:
            continue
        found.append(ResourceRequest(m.group(1) or '', m.group('rc'),
                                     amount))
    return found


def required_traits(extra_specs):
    """Traits a flavor requires, by group (``''`` for the unnumbered)."""
    found = {}
    for key, value in sorted((extra_specs or {}).items()):
        m = TRAIT_KEY_RE.match(key)
        if m and str(value).strip() == 'required':
            found.setdefault(m.group(1) or '', []).append(m.group('trait'))
    return found


def is_legacy_vgpu_class(resource_class, mdev_classes=()):
    """``VGPU`` or one of the custom classes an mdev config reports."""
    return (resource_class == os_resource_classes.VGPU
            or resource_class in mdev_classes)


def legacy_vgpu_count(extra_specs, mdev_classes=()):
    """Total legacy vGPUs the flavor asks for (0 when none)."""
    return sum(r.amount for r in resource_requests(extra_specs)
               if is_legacy_vgpu_class(r.resource_class, mdev_classes))
