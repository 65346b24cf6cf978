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

"""Structured records of the faults and bad input the tests tried.

When ``VFIO_RELIABILITY_REPORT=<path>`` is set, reliability tests append
one JSON object per line to ``<path>``; :mod:`reliability_report` turns the
file into ``doc/source/reference/reliability.rst``.  When it is not set,
:func:`record` does nothing, so ordinary test runs are unaffected.

A record::

    {"category": "fault" | "bad-input" | "security",
     "what": "409 on the first PUT /resource_classes/{name}",
     "where": "openstack vfio resource class create",
     "tried": 3,                       # examples, runs or kills
     "outcome": "re-read, reported as exists; exit 0",
     "lost": "none",                   # what was lost ("none" when nothing)
     "test": "vfioclient.tests....test_x"}

Appends are single ``write()`` calls on an ``O_APPEND`` descriptor, so
records from concurrent test workers never interleave.
"""

import json
import os

ENV = 'VFIO_RELIABILITY_REPORT'
CATEGORIES = ('fault', 'bad-input', 'security')


def enabled():
    return bool(os.environ.get(ENV))


def record(category, what, where, tried, outcome, lost='none', test=None):
    """Append one record (no-op unless :data:`ENV` is set)."""
    if category not in CATEGORIES:
        raise ValueError('unknown category %r' % category)
    path = os.environ.get(ENV)
    if not path:
        return None
    entry = {'category': category, 'what': what, 'where': where,
             'tried': int(tried), 'outcome': outcome, 'lost': lost,
             'test': test}
    line = (json.dumps(entry, sort_keys=True) + '\n').encode('utf-8')
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return entry


def read(path):
    """The records of a results file, skipping blank lines."""
    entries = []
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                entries.append(json.loads(line))
            except ValueError as e:
                raise ValueError('%s:%d: not a JSON record: %s'
                                 % (path, number, e))
    return entries
