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

"""Project access of private flavors (``os-flavor-access``): what a
private flavor lacks, and granting it, one project at a time, only the
missing ones (so a re-run adds nothing twice)."""

import dataclasses

from vfioclient.cloud import client
from vfioclient.cloud import compute as compute_api


def text(verb, projects):
    """``'granted access to p1, p2'``; empty without projects."""
    return '%s %s' % (verb, ', '.join(projects)) if projects else ''


@dataclasses.dataclass
class Grants:
    """What :func:`grant` did: projects added, and projects Nova refused
    (``(project, why)``: gone from Keystone)."""

    added: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)

    def reasons(self):
        out = [text('granted access to', self.added)] if self.added else []
        out += ['not granted to %s: %s' % s for s in self.skipped]
        return out


def missing(compute, flavor_id, projects, is_public):
    """The projects of ``projects`` the flavor does not give access to."""
    if is_public or not projects:
        return []
    have = set(compute_api.list_flavor_access(compute, flavor_id))
    return [p for p in projects if p not in have]


def grant(compute, flavor_id, projects, is_public):
    """Give ``projects`` access to a private flavor (only those it lacks).

    :returns: :class:`Grants`.
    """
    grants = Grants()
    for project in missing(compute, flavor_id, projects, is_public):
        try:
            compute_api.add_flavor_access(compute, flavor_id, project)
        except client.ApiError as e:
            # Nova checks the project in Keystone first (HTTP 400 "not a
            # valid project": identity.verify_project_id in
            # _add_tenant_access, nova/api/openstack/compute/
            # flavor_access.py, stable/2026.1): a project deleted since
            # keeps its entry on the source flavor but cannot be added to a
            # new one.  Already there (409) is fine.
            if e.status != 400:
                raise
            grants.skipped.append((project, e.detail or str(e)))
            continue
        grants.added.append(project)
    return grants
