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

"""One loader for the three documents the commands exchange.

``load(path, kind)`` reads a file, parses it, checks it against the
document's JSON Schema (``vfioclient/model/schemas/``) and builds the
immutable record; ``loads`` does the same for text.  Every failure raises
the document's own error class (:class:`~vfioclient.model.cloud.
SnapshotError`, :class:`~vfioclient.model.host.HostReportError`,
:class:`~vfioclient.model.plan.PlanError`, all :class:`DocumentError`) with a
message naming the file and, for a bad document, the field.
"""

from vfioclient.model import cloud
from vfioclient.model import host
from vfioclient.model import plan

SNAPSHOT = 'snapshot'
HOST_REPORT = 'host-report'
PLAN = 'plan'

# kind -> (document description, builder from a parsed document, whether
# the record keeps the sha256 of its file: the plan records those of its
# inputs)
_KINDS = {
    SNAPSHOT: (cloud.DOCUMENT, cloud.Snapshot.from_dict, True),
    HOST_REPORT: (host.DOCUMENT, host.HostReport.from_json, True),
    PLAN: (plan.DOCUMENT, plan.Plan.from_dict, False),
}
KINDS = tuple(_KINDS)

# The error classes of the three documents (each is a ValueError).
DocumentError = (cloud.SnapshotError, host.HostReportError, plan.PlanError)


def document(kind):
    """The :class:`vfioclient.model.schema.Document` of ``kind``."""
    return _KINDS[kind][0]


def load(path, kind):
    """The document of ``kind`` in the file at ``path``.

    :param kind: one of :data:`KINDS`.
    :returns: a Snapshot, HostReport or Plan.
    """
    spec, build, keeps_digest = _KINDS[kind]
    doc, digest = spec.read(path)
    if keeps_digest:
        return build(doc, source=path, source_sha256=digest)
    return build(doc, source=path)


def loads(text, kind, source):
    """The document of ``kind`` in ``text``; ``source`` names it in
    messages."""
    spec, build, _keeps_digest = _KINDS[kind]
    return build(spec.parse(text, source), source=source)


def load_host_reports(paths):
    """The host reports in ``paths``, in order (the reports of
    ``--host-report FILE`` in audit, plan, config check and host script)."""
    return [load(path, HOST_REPORT) for path in paths or ()]
