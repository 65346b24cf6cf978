"""Read a plan document for the apply and verify commands.

The document and its checks belong to :mod:`vfioclient.model.plan` and
its schema, read by :func:`vfioclient.model.documents.load` (``PlanError``:
missing, truncated, wrong version, hand-edited and inconsistent documents
are refused there, naming the file); this module only turns its errors into
command errors, and builds test documents.
"""

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
    """Names of the Placement providers the plan was made from: every GPU's
    legacy providers (``providers_before``).  The PCI providers of
    ``provider_after`` do not exist until the host is converted."""
    names = set()
    for host in plan.hosts:
        for gpu in host.gpus:
            names.update(p.name for p in gpu.providers_before)
    return sorted(names)


def check_drift(cloud, plan):
    """Stop before any write when the plan no longer matches the cloud.

    Checks the plan's source flavors (gone, or renamed) in Nova and the
    providers it was made from in Placement (gone).  Raises
    :class:`vfioclient.apply.flavors.DriftError` naming what changed.
    """
    from vfioclient.apply import flavors as apply_flavors

    problems = []
    specs = [s for s in apply_flavors.specs_from_plan(plan)
             if s.source_flavor_id]
    if specs:
        cmv = cloud.compute.negotiate(apply_flavors.COMPUTE_MIN,
                                      apply_flavors.COMPUTE_WANTED)
        try:
            apply_flavors.check_drift(cloud.compute, cmv, specs)
        except apply_flavors.DriftError as e:
            problems.append(str(e))
    names = plan_provider_names(plan)
    if names:
        pmv = cloud.placement.negotiate('1.14')
        body = cloud.placement.get('/resource_providers', pmv) or {}
        have = {p.get('name') for p in body.get('resource_providers', [])}
        gone = [n for n in names if n not in have]
        if gone:
            problems.append(
                'the plan no longer matches the cloud: %d provider(s) it '
                'was made from are gone from Placement (%s); nothing was '
                'written: make the plan again ("openstack vfio plan")'
                % (len(gone), ', '.join(gone[:5])
                   + (', ...' if len(gone) > 5 else '')))
    if problems:
        raise apply_flavors.DriftError('; '.join(problems))


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
            import json
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
        'controllers': {'alias': [], 'conf_set': [], 'nova_conf': ''},
        'order': [], 'servers': [], 'capacity': capacity_docs,
        'placement_settings': [], 'refusals': [],
    }
