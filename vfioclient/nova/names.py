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

"""Resource class and trait names exactly as Nova derives them.

Nova only upper-cases a name that already starts with ``CUSTOM_`` and does
not strip trait items, so names that look right can still be refused by
Placement (``^CUSTOM_[A-Z0-9_]+$``, at most 255 characters).
"""

import re

import os_resource_classes
import os_traits

CUSTOM_PREFIX = 'CUSTOM_'
PLACEMENT_NAME_MAX_LENGTH = 255
_CUSTOM_NAME_RE = re.compile(r'^CUSTOM_[A-Z0-9_]+$')
# os_traits.check_traits rebuilds this list on every call; it never changes.
STANDARD_TRAITS = frozenset(os_traits.get_traits())


def normalize_resource_class(name):
    """Nova's ``_normalize_resource_class``: upper-case, then clean only
    names that are neither standard nor already ``CUSTOM_``-prefixed."""
    name = name.upper()
    if (name not in os_resource_classes.STANDARDS
            and not os_resource_classes.is_custom(name)):
        name = os_resource_classes.normalize_name(name)
    return name


def get_resource_class(requested, vendor_id, product_id):
    """The resource class Nova reports (device_spec) or requests (alias).

    ``requested`` is the raw ``resource_class`` value; when it is empty the
    default ``CUSTOM_PCI_<VENDOR>_<PRODUCT>`` is built from the IDs given.
    """
    if requested:
        return normalize_resource_class(requested)
    return ('CUSTOM_PCI_%s_%s' % (vendor_id, product_id)).upper()


def normalize_traits(names):
    """Nova's ``_normalize_traits``: a standard trait is recognised before
    upper-casing, everything else is upper-cased and, unless it then starts
    with ``CUSTOM_``, cleaned by ``os_traits.normalize_name``."""
    given = set(names)  # check_traits works on a set (duplicates merge)
    result = [name for name in given if name in STANDARD_TRAITS]
    for name in given.difference(result):
        name = name.upper()
        result.append(name if os_traits.is_custom(name)
                      else os_traits.normalize_name(name))
    return result


def get_traits(traits_str):
    """Nova's ``get_traits``: split on ``,`` with **no** strip."""
    if not traits_str:
        return frozenset()
    return frozenset(normalize_traits(traits_str.split(',')))


def is_standard_resource_class(name):
    return name in os_resource_classes.STANDARDS


def is_standard_trait(name):
    return name in STANDARD_TRAITS


def custom_name_problem(name):
    """Why Placement refuses this custom name, or None when it accepts it."""
    if len(name) > PLACEMENT_NAME_MAX_LENGTH:
        return ('is %d characters long; Placement allows at most %d'
                % (len(name), PLACEMENT_NAME_MAX_LENGTH))
    if not _CUSTOM_NAME_RE.match(name) or name.endswith('\n'):
        return 'does not match ^CUSTOM_[A-Z0-9_]+$'
    return None


def resource_class_problem(name):
    """Why Placement refuses a normalised resource class, or None."""
    if is_standard_resource_class(name):
        return None
    return custom_name_problem(name)


def trait_problem(name):
    """Why Placement refuses a normalised trait, or None."""
    if is_standard_trait(name):
        return None
    return custom_name_problem(name)


def suggest_custom_name(name):
    """A valid custom name close to ``name`` (for remedies)."""
    body = name[len(CUSTOM_PREFIX):] if name.upper().startswith(
        CUSTOM_PREFIX) else name
    suggestion = os_resource_classes.normalize_name(body)
    return suggestion[:PLACEMENT_NAME_MAX_LENGTH]


def default_resource_class_ids(name):
    """``(vendor_id, product_id)`` named by a ``CUSTOM_PCI_<V>_<P>`` class.

    The inverse of :func:`get_resource_class` without a requested name
    (Nova's default for a device_spec without ``resource_class``):
    ``CUSTOM_PCI_10DE_2235`` -> ``('10de', '2235')``; None for any other
    name.
    """
    parts = name.split('_')
    if len(parts) == 4 and name.startswith('CUSTOM_PCI_'):
        return parts[2].lower(), parts[3].lower()
    return None
