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

"""Create custom resource classes in Placement, idempotently.

Names are normalised exactly as Nova does (``a40-2q`` ->
``CUSTOM_A40_2Q``), names Placement would refuse and standard classes are
refused with a reason before any write, and each class is created with the
idempotent ``PUT /resource_classes/{name}`` (Placement >= 1.7: 201 created,
204 already there).  Nothing to journal: re-running after any failure or a
crash finishes the rest and reports what is there as ``exists``.
"""

import dataclasses
import logging

from vfioclient.apply import report
from vfioclient.apply.report import CREATED, EXISTS, FAILED, REFUSED
from vfioclient.apply.report import WOULD_CREATE
from vfioclient.cloud import client
from vfioclient.cloud import placement as placement_api
from vfioclient.nova import names

LOG = logging.getLogger(__name__)

ACTIONS = (CREATED, EXISTS, WOULD_CREATE, REFUSED, FAILED)

COLUMNS = ('requested', 'name', 'action', 'reason')


@dataclasses.dataclass(frozen=True)
class Item:
    """One requested name, normalised, with why it is refused (or None)."""

    requested: str
    name: str
    problem: str = None


@dataclasses.dataclass(frozen=True)
class Result:
    requested: str
    name: str
    action: str
    reason: str = ''

    def row(self):
        return (self.requested, self.name, self.action, self.reason)

    @property
    def label(self):
        return self.name or self.requested

    @property
    def ok(self):
        return self.action in (CREATED, EXISTS, WOULD_CREATE)


def check_name(requested):
    """Normalise like Nova and say why Placement/Nova would refuse it."""
    text = requested if isinstance(requested, str) else ''
    if not text.strip():
        return Item(requested, text, 'empty resource class name')
    name = names.normalize_resource_class(text)
    if names.is_standard_resource_class(name):
        return Item(requested, name,
                    '%s is a standard resource class: it cannot be created, '
                    'and VF flavors need a custom class of their own (e.g. '
                    '%s)' % (name, 'CUSTOM_NVIDIA_A40_2Q'))
    problem = names.resource_class_problem(name)
    if problem:
        return Item(requested, name,
                    'Placement would refuse %s: it %s; use e.g. %s'
                    % (name, problem, names.suggest_custom_name(text)))
    return Item(requested, name)


def check_names(requested_names):
    """Items in input order, one per distinct normalised name."""
    items = []
    seen = set()
    for requested in requested_names:
        item = check_name(requested)
        key = item.name if item.problem is None else ('?', requested)
        if key in seen:
            continue
        seen.add(key)
        items.append(item)
    return items


def exists(placement, name):
    """Is the resource class there?  (``GET``, 404 means no.)"""
    return placement_api.get_resource_class(placement, name) is not None


def create_one(placement, item, dry_run=False):
    """Create (or check) one valid item; never raises for API errors.

    Reads first so that the row says ``exists`` or ``created`` truthfully;
    the ``PUT`` itself is idempotent, so a class created by someone else
    between the read and the write is harmless.
    """
    try:
        if exists(placement, item.name):
            return Result(item.requested, item.name, EXISTS)
        if dry_run:
            return Result(item.requested, item.name, WOULD_CREATE)
        try:
            placement_api.create_resource_class(placement, item.name)
        except client.ApiError as e:
            if e.status != 409:
                raise
            # A concurrent writer: read back rather than guess.
            LOG.debug('PUT resource class %s: 409, reading back', item.name)
            if exists(placement, item.name):
                return Result(item.requested, item.name, EXISTS,
                              'created concurrently by another client')
            # Not there: the PUT is idempotent, so one retry is safe.
            try:
                placement_api.create_resource_class(placement, item.name)
            except client.ApiError as again:
                if again.status != 409:
                    raise
                return Result(item.requested, item.name, FAILED,
                              '%s (still 409 after a re-read and one '
                              'retry; nothing else was changed: run the '
                              'command again)' % again)
            return Result(item.requested, item.name, CREATED,
                          'created on retry after a 409 conflict')
        return Result(item.requested, item.name, CREATED)
    except client.ApiError as e:
        return Result(item.requested, item.name, FAILED, str(e))


def create_resource_classes(placement, requested_names, dry_run=False):
    """Check every name, then create the valid ones.

    ``placement`` is a :class:`vfioclient.cloud.client.ServiceClient`.  Refused
    names are reported before any write; one failure does not stop the
    others.  Returns a list of :class:`Result` in input order.
    """
    items = check_names(requested_names)
    results = []
    for item in items:
        if item.problem is not None:
            results.append(Result(item.requested, item.name, REFUSED,
                                  item.problem))
        else:
            results.append(create_one(placement, item, dry_run=dry_run))
    return results


def summary(results):
    """One line: counts by action, and the names that were not done."""
    return report.summary(results, ACTIONS)
