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

"""Every Nova (compute API) read and write vfioclient makes, one named
function each, and the one pager for Nova's paged lists.

Each function declares, with :func:`vfioclient.cloud.client.microversion`
right above it, the least microversion it needs and the one it asks for;
the versions cited are those of the Compute API reference
(https://docs.openstack.org/api-ref/compute/).  ``compute`` is a
:class:`vfioclient.cloud.client.ServiceClient`.
"""

from vfioclient.cloud import client

# Items per page asked of Nova's paged lists (``limit``); Nova caps it at
# its ``[api] max_limit`` (default 1000).
PAGE_SIZE = 1000


def paged(compute, version, path, key, params=None):
    """The items of a Nova list, following ``limit``/``marker``.

    A generator: the next page is read only when the previous one has been
    consumed, so a caller that converts items as they come holds one page
    of raw JSON at a time.  The list ends at a short page or at a page
    without ``<key>_links`` (Nova adds the "next" link only when there may
    be more).
    """
    marker = None
    while True:
        query = dict(params or {}, limit=PAGE_SIZE)
        if marker:
            query['marker'] = marker
        body = compute.get(path, version, params=query) or {}
        page = body.get(key) or []
        yield from page
        if len(page) < PAGE_SIZE or not body.get('%s_links' % key):
            return
        marker = page[-1]['id']


# 2.55: flavor description; 2.61: extra specs in flavor lists.
@client.microversion('2.61', '2.61')
def list_flavors(compute, version):
    """``GET /flavors/detail?is_public=None``: every flavor, public and
    private (a generator, see :func:`paged`)."""
    return paged(compute, version, '/flavors/detail', 'flavors',
                 params={'is_public': 'None'})


# 2.53: hypervisor and service uuids as ids; 2.61 as the other reads of a
# snapshot.
@client.microversion('2.53', '2.61')
def list_hypervisors(compute, version):
    """``GET /os-hypervisors/detail`` (a generator, see :func:`paged`)."""
    return paged(compute, version, '/os-hypervisors/detail', 'hypervisors')


# 2.47: the flavor (with extra specs) embedded in each server.
@client.microversion('2.47', '2.61')
def list_servers(compute, version):
    """``GET /servers/detail?all_tenants=1`` (a generator, see
    :func:`paged`)."""
    return paged(compute, version, '/servers/detail', 'servers',
                 params={'all_tenants': '1'})


# 2.53: service uuids as ids.
@client.microversion('2.53', '2.61')
def list_compute_services(compute, version):
    """``GET /os-services?binary=nova-compute``."""
    return compute.get('/os-services', version,
                       params={'binary': 'nova-compute'})['services']


# 2.1: the base API (a server's name, by its id).
@client.microversion('2.1')
def get_server(compute, version, server_id):
    """``GET /servers/{id}``: the server dict, or None (404: no server of
    that id, e.g. the consumer of an allocation is a migration)."""
    body = compute.get('/servers/%s' % server_id, version, expected=(404,))
    return (body or {}).get('server')


# Flavor reads and writes of ``vfio flavor create``: 2.55 description,
# 2.61 extra specs in the flavor body, 2.86 Nova validates extra specs
# (asked for whenever the server has it).
FLAVOR_WRITE_MIN = '2.61'
FLAVOR_WRITE_WANTED = '2.86'


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def get_flavor(compute, version, flavor_id):
    """``GET /flavors/{id}``: the flavor dict, or None (404)."""
    body = compute.get('/flavors/%s' % flavor_id, version, expected=(404,))
    return (body or {}).get('flavor')


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def create_flavor(compute, version, flavor):
    """``POST /flavors`` with ``{'flavor': flavor}``: the new flavor."""
    return compute.post('/flavors', version, {'flavor': flavor})['flavor']


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def set_flavor_description(compute, version, flavor_id, description):
    """``PUT /flavors/{id}`` (only the description can change)."""
    compute.put('/flavors/%s' % flavor_id, version,
                {'flavor': {'description': description}})


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def delete_flavor(compute, version, flavor_id):
    """``DELETE /flavors/{id}``; a flavor already gone is fine."""
    compute.delete('/flavors/%s' % flavor_id, version, expected=(404,))


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def set_flavor_extra_specs(compute, version, flavor_id, extra_specs):
    """``POST /flavors/{id}/os-extra_specs`` (adds or overwrites keys)."""
    compute.post('/flavors/%s/os-extra_specs' % flavor_id, version,
                 {'extra_specs': dict(extra_specs)})


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def delete_flavor_extra_spec(compute, version, flavor_id, key):
    """``DELETE /flavors/{id}/os-extra_specs/{key}``; a key already gone
    is fine."""
    compute.delete('/flavors/%s/os-extra_specs/%s' % (flavor_id, key),
                   version, expected=(404,))


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def list_flavor_access(compute, version, flavor_id):
    """``GET /flavors/{id}/os-flavor-access``: the project ids."""
    body = compute.get('/flavors/%s/os-flavor-access' % flavor_id,
                       version) or {}
    return [a.get('tenant_id') for a in body.get('flavor_access', [])]


@client.microversion(FLAVOR_WRITE_MIN, FLAVOR_WRITE_WANTED)
def add_flavor_access(compute, version, flavor_id, project_id):
    """``POST /flavors/{id}/action`` ``addTenantAccess``; access already
    granted (409) is fine."""
    compute.post('/flavors/%s/action' % flavor_id, version,
                 {'addTenantAccess': {'tenant': project_id}},
                 expected=(409,))
