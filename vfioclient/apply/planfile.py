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

"""Read a plan document for the apply and verify commands.

The document and its checks belong to :mod:`vfioclient.model.plan` and
its schema, read by :func:`vfioclient.model.documents.load` (``PlanError``:
missing, truncated, wrong version, hand-edited and inconsistent documents
are refused there, naming the file); this module only turns its errors into
command errors, names the providers a plan was made from (for
:func:`vfioclient.apply.drift.check_drift`), and builds test documents.
"""

import json

from osc_lib import exceptions

from vfioclient.model import documents
from vfioclient.model import plan as plan_model


class PlanFileError(exceptions.CommandError):
    """The plan file cannot be used; the message names the file and why."""


def load_plan(path):
    """Read and check a plan file written by ``openstack vfio plan``.

    :returns: :class:`vfioclient.model.plan.Plan`.
    :raises PlanFileError: with the reason (never a traceback).
    """
    try:
        return documents.load(path, documents.PLAN)
    except plan_model.PlanError as e:
        raise PlanFileError(str(e))


def plan_provider_names(plan):
    """``{legacy provider name: PCI provider name}`` of the plan: every
    GPU's legacy providers (``providers_before``), each with the provider
    that replaces it once its host is converted (``provider_after``).  A
    legacy provider that is gone while its replacement exists is the
    runbook's progress (``vfio provider cleanup``), not drift."""
    names = {}
    for host in plan.hosts:
        for gpu in host.gpus:
            for p in gpu.providers_before:
                names[p.name] = gpu.provider_after.name
    return dict(sorted(names.items()))


def minimal_document(resource_classes=(), aliases=(), flavors=(),
                     capacity=()):
    """A valid plan dict with only what apply/verify read (for tests and
    for ``--dry-run`` demonstrations).  ``aliases``/``flavors``/``capacity``
    are lists of dicts with the contract keys; missing keys get defaults."""
    alias_docs = []
    for a in aliases:
        doc = {'device_type': 'type-VF', 'vendor_id': None,
               'product_id': None}
        doc.update(a)
        if 'line' not in doc:
            line = {'device_type': doc['device_type'], 'name': doc['name'],
                    'resource_class': doc['resource_class']}
            doc['line'] = json.dumps(line, sort_keys=True)
        alias_docs.append(doc)
    flavor_docs = []
    for f in flavors:
        doc = {'source_flavor': None, 'source_flavor_id': None, 'disk': 0,
               'ephemeral': 0, 'swap': 0, 'is_public': True,
               'description': None, 'count': 1, 'servers_to_move': 0,
               'vf_type': '', 'exists': False}
        doc.update(f)
        doc.setdefault('extra_specs', {
            'pci_passthrough:alias': '%s:%d' % (doc['alias'],
                                                doc['count'])})
        flavor_docs.append(doc)
    capacity_docs = []
    for c in capacity:
        doc = {'vf_type': '', 'vfs_total': 0, 'vfs_existing': 0,
               'vfs_planned': 0, 'legacy_in_use': 0, 'vf_in_use': 0,
               'shortfall': 0, 'hosts': []}
        doc.update(c)
        capacity_docs.append(doc)
    return {
        'schema_version': plan_model.SCHEMA_VERSION,
        'kind': plan_model.KIND,
        'inputs': {'snapshot': None, 'host_reports': [], 'options': {}},
        'resource_classes': sorted(set(resource_classes)),
        'aliases': alias_docs,
        'flavors': flavor_docs,
        'type_mappings': [], 'hosts': [],
        'controllers': {'alias': [], 'conf_set': []},
        'order': [], 'servers': [], 'capacity': capacity_docs,
        'placement_settings': [], 'refusals': [],
    }
