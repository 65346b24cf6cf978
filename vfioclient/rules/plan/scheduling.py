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

"""When the controllers switch ``[filter_scheduler] pci_in_placement`` on.

While it is off, Nova's PCI pools ignore the ``resource_class`` and
``traits`` tags (``ignored_spec_tags``/``ignored_pool_tags`` in
``nova/pci/stats.py``, stable/2025.1 to stable/2026.1): a request for an
alias matches every pool of the alias's vendor/product.  So when two VF
types of one vendor/product id (A40-2Q and A40-4Q hosts) are both
reachable, a 2Q flavor can be given a 4Q VF, by a resize of this plan or
by any user's boot.  With the option on, the scheduler allocates the
VF's resource class in Placement first and the pool of that provider is
used (``_get_rp_uuids_for_request``), which is type-correct.

Rule: when the plan's aliases are *type-ambiguous* (two resource classes
behind one vendor/product, or an alias without a product id beside any
other), the switch happens in the preparation phase, with the aliases,
before any VF can be handed out; otherwise it stays at the end, where it
is safe because every pool stands for one type.  Nova only schedules PCI
requests through Placement when every compute with a ``[pci]
device_spec`` reports in Placement (``[pci] report_in_placement``), so
computes that already pass through PCI devices for flavors outside this
plan are listed: they must report first.
"""

import collections

from vfioclient.model import plan as model
from vfioclient.nova import extra_specs as nova_extra_specs

PREPARE = 'prepare'
FINAL = 'final'


def ambiguous_products(aliases):
    """``['10de:2235 (CUSTOM_A, CUSTOM_B)', ...]``: vendor/product ids the
    PCI pools cannot tell apart while ``pci_in_placement`` is off."""
    by_vendor = collections.defaultdict(lambda: collections.defaultdict(
        set))
    for a in aliases:
        by_vendor[a.vendor_id][a.product_id].add(a.resource_class)
    out = []
    for vendor, products in sorted(by_vendor.items(),
                                   key=lambda kv: kv[0] or ''):
        any_product = products.get(None, set())
        for product, classes in sorted(products.items(),
                                       key=lambda kv: kv[0] or ''):
            if product is None:
                # A vendor-only alias matches every product of the vendor.
                others = set().union(*products.values())
                if len(others) > 1:
                    out.append('%s:* (%s)' % (vendor or '*', ', '.join(
                        sorted(others))))
                continue
            seen = classes | any_product
            if len(seen) > 1:
                out.append('%s:%s (%s)' % (vendor or '*', product,
                                           ', '.join(sorted(seen))))
    return tuple(out)


def hosts_with_other_pci_flavors(snapshot, planned_alias_names):
    """Compute nodes running servers whose flavor asks for a PCI alias this
    plan does not make: they pass PCI devices through already, and must
    report them in Placement before the switch."""
    hosts = set()
    for server in snapshot.servers:
        value = (server.flavor_extra_specs or {}).get(
            nova_extra_specs.ALIAS_EXTRA_SPEC)
        if not value:
            continue
        try:
            names = {n for n, _c in
                     nova_extra_specs.parse_alias_extra_spec(value)}
        except ValueError:
            names = {value}
        if names - set(planned_alias_names):
            hosts.add(server.hypervisor_hostname or server.host
                      or '(unknown host of server %s)' % server.id)
    return tuple(sorted(hosts))


def pci_in_placement_switch(aliases, snapshot):
    """``(phase, reason, ambiguous, hosts_to_report)`` for the plan's
    :class:`~vfioclient.model.plan.Controllers`."""
    ambiguous = ambiguous_products(aliases)
    others = hosts_with_other_pci_flavors(
        snapshot, [a.name for a in aliases]) if snapshot else ()
    if ambiguous:
        reason = (
            'the PCI pools cannot tell %s apart while pci_in_placement is '
            'off (nova/pci/stats.py ignores resource_class and traits), so '
            'a flavor could get a VF of another type: the scheduler must '
            'use Placement before the first VF flavor exists'
            % '; '.join(ambiguous))
        return PREPARE, reason, ambiguous, others
    reason = ('every VF type has its own vendor/product id, so the PCI '
              'pools keep the types apart until the switch')
    return FINAL, reason, ambiguous, others


def controllers(alias_lines, conf_set, aliases, snapshot):
    phase, reason, ambiguous, others = pci_in_placement_switch(
        aliases, snapshot)
    return model.Controllers(
        alias=tuple(alias_lines), conf_set=tuple(conf_set),
        pci_in_placement_phase=phase, pci_in_placement_reason=reason,
        ambiguous_products=ambiguous, pci_hosts_to_report=others)
