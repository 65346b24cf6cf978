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

"""Drift: a plan that no longer matches the cloud stops an apply
command before any write (one check for every ``--from-plan``)."""

from vfioclient.cloud import compute as compute_api
from vfioclient.cloud import placement as placement_api


class DriftError(Exception):
    """The plan no longer matches the cloud; nothing was written."""


def gone_providers(placement, provider_names):
    """Names of ``provider_names`` that are gone; with a ``{name:
    replacement}`` mapping, a provider whose replacement exists is not."""
    have = {p.get('name')
            for p in placement_api.list_resource_providers(placement)}
    replaced = provider_names if isinstance(provider_names, dict) else {}
    return [n for n in provider_names
            if n not in have and replaced.get(n) not in have]


def check_drift(cloud, specs, provider_names=()):
    """Stop before any write when a plan no longer matches the cloud.

    Checks the source flavors of ``specs`` (gone, or renamed) in Nova and
    that the Placement providers named ``provider_names`` (those a plan
    was made from, :func:`vfioclient.apply.planfile.plan_provider_names`)
    still exist, or were replaced by their host's PCI provider.  Raises
    :class:`DriftError` naming what changed.
    """
    problems = []
    flavor_problems = []
    for spec in specs:
        if not spec.source_flavor_id:
            continue
        flavor = compute_api.get_flavor(cloud.compute, spec.source_flavor_id)
        if not flavor:
            flavor_problems.append(
                'source flavor %s (%s) of %s no longer exists'
                % (spec.source_flavor, spec.source_flavor_id, spec.name))
        elif spec.source_flavor and flavor.get('name') != spec.source_flavor:
            flavor_problems.append('source flavor %s of %s was renamed to %s'
                                   % (spec.source_flavor_id, spec.name,
                                      flavor.get('name')))
    if flavor_problems:
        problems.append('the plan no longer matches the cloud: %s; '
                        'nothing was written: make the plan again '
                        '("openstack vfio plan")' % '; '.join(flavor_problems))
    gone = gone_providers(cloud.placement, provider_names) \
        if provider_names else []
    if gone:
        problems.append(
            'the plan no longer matches the cloud: %d provider(s) it '
            'was made from are gone from Placement (%s); nothing was '
            'written: make the plan again ("openstack vfio plan")'
            % (len(gone), ', '.join(gone[:5])
               + (', ...' if len(gone) > 5 else '')))
    if problems:
        raise DriftError('; '.join(problems))
