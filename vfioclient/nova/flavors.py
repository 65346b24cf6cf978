"""What a flavor asks Placement for, read from its extra specs as Nova does.

Covers the legacy vGPU requests (``resources[N]:VGPU=1``,
``resources[N]:CUSTOM_<MDEV_CLASS>=1``, ``trait[N]:CUSTOM_X=required``) and
PCI aliases (``pci_passthrough:alias``).  Group suffixes follow Nova's
pattern ``([a-zA-Z0-9_-]{1,64})?``.
"""

import collections
import re

_RESOURCES_RE = re.compile(r'^resources([a-zA-Z0-9_-]{1,64})?:(?P<rc>.+)$')
_TRAIT_RE = re.compile(r'^trait([a-zA-Z0-9_-]{1,64})?:(?P<trait>.+)$')

ResourceRequest = collections.namedtuple('ResourceRequest',
                                         'group resource_class amount')


def resource_requests(extra_specs):
    """``[ResourceRequest]`` for every ``resources*:`` extra spec."""
    found = []
    for key, value in sorted((extra_specs or {}).items()):
        m = _RESOURCES_RE.match(key)
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
        m = _TRAIT_RE.match(key)
        if m and str(value).strip() == 'required':
            found.setdefault(m.group(1) or '', []).append(m.group('trait'))
    return found


def is_legacy_vgpu_class(resource_class, mdev_classes=()):
    """``VGPU`` or one of the custom classes an mdev config reports."""
    return resource_class == 'VGPU' or resource_class in mdev_classes


def legacy_vgpu_count(extra_specs, mdev_classes=()):
    """Total legacy vGPUs the flavor asks for (0 when none)."""
    return sum(r.amount for r in resource_requests(extra_specs)
               if is_legacy_vgpu_class(r.resource_class, mdev_classes))
