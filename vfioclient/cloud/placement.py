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

"""Every Placement read and write vfioclient makes, one named function each.

Each function declares, with :func:`vfioclient.cloud.client.microversion`
right above it, the least microversion it needs and the one it asks for
(as osc-placement declares them per command); the versions cited are
those of the Placement API reference
(https://docs.openstack.org/api-ref/placement/).  ``placement`` is a
:class:`vfioclient.cloud.client.ServiceClient`.  Functions return the
parts of the answer callers use, as Placement sends them.
"""

from vfioclient.cloud import client

# The reads of a snapshot ask for up to 1.39; every field they use exists
# from the minimum each declares.
SNAPSHOT_WANTED = '1.39'


# 1.14: parent_provider_uuid and root_provider_uuid (nested providers).
# ``resources=`` filters exist from 1.4.
@client.microversion('1.14', SNAPSHOT_WANTED)
def list_resource_providers(placement, version, resources=None):
    """``GET /resource_providers`` (all, or those that can take
    ``resources``, e.g. ``'VGPU:1'``): a list of provider dicts."""
    params = {'resources': resources} if resources else None
    return placement.get('/resource_providers', version,
                         params=params)['resource_providers']


# 1.14: parent_provider_uuid and root_provider_uuid; ``name=`` filters
# exist from 1.0.
@client.microversion('1.14')
def find_resource_provider(placement, version, name):
    """``GET /resource_providers?name={name}``: the provider dict, or None
    (names are unique in Placement)."""
    found = placement.get('/resource_providers', version,
                          params={'name': name})['resource_providers']
    return found[0] if found else None


# 1.14: ``in_tree=`` (nested providers).
@client.microversion('1.14')
def list_provider_tree(placement, version, root_uuid):
    """``GET /resource_providers?in_tree={uuid}``: the root and every
    provider under it."""
    return placement.get('/resource_providers', version,
                         params={'in_tree': root_uuid})['resource_providers']


# 1.14: parent_provider_uuid and root_provider_uuid in the answer.
@client.microversion('1.14')
def get_resource_provider(placement, version, provider_uuid):
    """``GET /resource_providers/{uuid}``: the provider dict, or None
    (404)."""
    body = placement.get('/resource_providers/%s' % provider_uuid, version,
                         expected=(404,))
    if isinstance(body, dict) and body.get('uuid') == provider_uuid:
        return body
    return None


# 1.0: ``DELETE /resource_providers/{uuid}``: 204, 404 when there is no such
# provider, 409 when it has allocations or child providers (Placement's
# handlers/resource_provider.py delete_resource_provider).
@client.microversion('1.0')
def delete_resource_provider(placement, version, provider_uuid):
    """Delete a provider: True when deleted, False when it was already
    gone; a 409 raises :class:`vfioclient.cloud.client.ApiError`."""
    try:
        placement.delete('/resource_providers/%s' % provider_uuid, version)
    except client.ApiError as e:
        if e.status == 404:
            return False
        raise
    return True


# 1.18: ``required=`` trait filter on provider lists.
@client.microversion('1.18', SNAPSHOT_WANTED)
def list_resource_providers_with_trait(placement, version, trait,
                                       resources=None):
    """``GET /resource_providers?required=TRAIT`` (and ``resources=``)."""
    params = {'required': trait}
    if resources:
        params = {'resources': resources, 'required': trait}
    return (placement.get('/resource_providers', version, params=params)
            or {}).get('resource_providers', [])


# 1.22: forbidden traits (``required=!TRAIT``).
@client.microversion('1.22')
def list_resource_providers_without_trait(placement, version, trait,
                                          resources=None):
    """``GET /resource_providers?required=!TRAIT`` (and ``resources=``)."""
    params = {'required': '!' + trait}
    if resources:
        params = {'resources': resources, 'required': '!' + trait}
    return (placement.get('/resource_providers', version, params=params)
            or {}).get('resource_providers', [])


# 1.2: resource classes.
@client.microversion('1.2', SNAPSHOT_WANTED)
def list_resource_classes(placement, version):
    """``GET /resource_classes``: the names."""
    return [rc['name'] for rc in placement.get(
        '/resource_classes', version)['resource_classes']]


# 1.7: ``PUT /resource_classes/{name}`` creates (201) or finds (204).
@client.microversion('1.7')
def get_resource_class(placement, version, name):
    """``GET /resource_classes/{name}``: its dict, or None (404)."""
    body = placement.get('/resource_classes/%s' % name, version,
                         expected=(404,))
    if isinstance(body, dict) and body.get('name') == name:
        return body
    return None


@client.microversion('1.7')
def create_resource_class(placement, version, name):
    """``PUT /resource_classes/{name}``: idempotent (201 or 204)."""
    placement.put('/resource_classes/%s' % name, version,
                  expected=(201, 204))


# 1.6: traits.
@client.microversion('1.6', SNAPSHOT_WANTED)
def list_associated_traits(placement, version):
    """``GET /traits?associated=true``: names of traits some provider
    has."""
    return placement.get('/traits', version,
                         params={'associated': 'true'})['traits']


@client.microversion('1.6', SNAPSHOT_WANTED)
def get_provider_traits(placement, version, provider_uuid):
    """``GET /resource_providers/{uuid}/traits``: the names."""
    return placement.get('/resource_providers/%s/traits' % provider_uuid,
                         version)['traits']


# 1.0: inventories, usages and allocations of a provider.
@client.microversion('1.0', SNAPSHOT_WANTED)
def get_inventories(placement, version, provider_uuid):
    """``GET /resource_providers/{uuid}/inventories``: class -> dict."""
    return placement.get(
        '/resource_providers/%s/inventories' % provider_uuid,
        version)['inventories']


@client.microversion('1.0', SNAPSHOT_WANTED)
def get_usages(placement, version, provider_uuid):
    """``GET /resource_providers/{uuid}/usages``: class -> amount."""
    return placement.get('/resource_providers/%s/usages' % provider_uuid,
                         version)['usages']


@client.microversion('1.0', SNAPSHOT_WANTED)
def get_provider_allocations(placement, version, provider_uuid):
    """``GET /resource_providers/{uuid}/allocations``: consumer -> dict
    with ``resources``."""
    return placement.get(
        '/resource_providers/%s/allocations' % provider_uuid,
        version)['allocations']


# 1.1: provider aggregates.
@client.microversion('1.1', SNAPSHOT_WANTED)
def get_aggregates(placement, version, provider_uuid):
    """``GET /resource_providers/{uuid}/aggregates``: aggregate uuids."""
    return placement.get(
        '/resource_providers/%s/aggregates' % provider_uuid,
        version)['aggregates']


# 1.33: string request group suffixes; 1.35: ``root_required`` (the
# disabled-compute filter Nova applies); 1.36 is what Nova's scheduler
# itself sends (nova/scheduler/client/report.py, 2024.1).
@client.microversion('1.33', '1.36')
def list_allocation_candidates(placement, version, query, limit):
    """``GET /allocation_candidates``: the whole answer.

    ``query(version, limit=limit)`` gives the query parameters for the
    negotiated version as a ``(major, minor)`` tuple (a
    :class:`vfioclient.nova.flavor_request` request's ``query``).
    """
    return placement.get('/allocation_candidates', version,
                         params=query(client.parse_version(version),
                                      limit=limit))
