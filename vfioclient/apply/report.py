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

"""What every apply command reports: its actions and the one-line summary
it prints after its rows."""

# The action of one row; the first three are the same for every command.
CREATED = 'created'
EXISTS = 'exists'
WOULD_CREATE = 'would-create'
UPDATED = 'updated'
WOULD_UPDATE = 'would-update'
REFUSED = 'refused'
CONFLICT = 'conflict'
FAILED = 'failed'
# Deleting (``vfio provider cleanup``): ``absent`` is already gone.
DELETED = 'deleted'
WOULD_DELETE = 'would-delete'
ABSENT = 'absent'


def summary(results, actions, hint=''):
    """Counts by action (in ``actions`` order) and the items not done.

    ``results`` have ``action``, ``ok`` and a ``label`` (what to name when
    an item was not done); ``hint`` says how to finish the rest.
    """
    counts = {}
    for r in results:
        counts[r.action] = counts.get(r.action, 0) + 1
    text = ', '.join('%d %s' % (counts[a], a) for a in actions
                     if a in counts)
    bad = [r.label for r in results if not r.ok]
    if bad:
        text += '; not done: %s%s' % (', '.join(bad), hint)
    return text
