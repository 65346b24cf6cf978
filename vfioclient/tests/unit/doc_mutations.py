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

"""Valid documents made by the real code, and hypothesis strategies that
hand-edit them: shared by the loader fuzz tests and the tests of the quick
schema test and the JSON writer."""

import copy
import shutil
import tempfile

from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st

from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.rules import plan as plan_rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders


def fuzz_settings(n):
    return settings(max_examples=n, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


# -- valid documents made by the real code ------------------------------------

def valid_snapshot():
    b = builders.two_host_estate()
    b.host('a40-host')
    b.legacy_gpu('a40-host', rc='VGPU')
    # A host whose GPUs get different VF types (a per-GPU boot setup).
    b.host('mixed-host')
    b.legacy_gpu('mixed-host')
    b.legacy_gpu('mixed-host', pf='0000:81:00.0', vfs=2,
                 rc='CUSTOM_NVIDIA_555')
    return b.snapshot()


def valid_host_report():
    spec = fake_sysfs.preset('a40')
    spec['gpus'][0]['address'] = builders.A40_PF
    root = tempfile.mkdtemp()
    try:
        fake_sysfs.build_host(root, spec)
        return collect_sysfs.collect_host_report(
            root, hostname=spec['hostname'],
            collected_at='2026-11-25T00:00:00Z')
    finally:
        shutil.rmtree(root)


def valid_plan():
    return plan_rules.make_plan(valid_snapshot(), [valid_host_report()])


SNAPSHOT_DOC = valid_snapshot().to_dict()
HOST_DOC = valid_host_report().to_json()
PLAN_DOC = valid_plan().to_dict()


# -- mutations ----------------------------------------------------------------

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2 ** 70,
                                          max_value=2 ** 70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3)),
    max_leaves=6)
def wrong_versions(version):
    """Values that are not the integer ``version``."""
    return st.one_of(
        st.integers().filter(lambda v: v != version), st.just(True),
        st.just(float(version)), st.just(str(version)), st.none(),
        st.floats(allow_nan=False), st.text(),
        st.lists(st.integers(), max_size=2))


def all_paths(doc, prefix=()):
    """Every (path, value) in a JSON tree, the root excluded."""
    found = []
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return found
    for key, value in items:
        path = prefix + (key,)
        found.append(path)
        found.extend(all_paths(value, path))
    return found


def container(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


OPS = ('delete', 'retype', 'null', 'extra-key')


@st.composite
def mutated(draw, doc):
    """``(new document, [(op, path)])`` with 1-3 hand edits."""
    doc = copy.deepcopy(doc)
    edits = []
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = all_paths(doc)
        if not paths:
            break
        path = paths[draw(st.integers(min_value=0,
                                      max_value=len(paths) - 1))]
        op = draw(st.sampled_from(OPS))
        parent = container(doc, path)
        key = path[-1]
        if op == 'delete':
            del parent[key]
        elif op == 'retype':
            parent[key] = draw(JSON_VALUES)
        elif op == 'null':
            parent[key] = None
        else:
            target = parent[key]
            if not isinstance(target, dict):
                target = parent
            if not isinstance(target, dict):
                op = 'retype'
                target = {}
                parent[key] = draw(JSON_VALUES)
            target[draw(st.text(min_size=1, max_size=10))] = draw(
                JSON_VALUES)
        edits.append((op, path))
    return doc, edits
