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

"""``jsontext.dumps`` writes exactly what ``json.dumps(indent=2)`` does."""

import json

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import testtools

from vfioclient.model import jsontext
from vfioclient.tests.unit import doc_mutations as fuzz

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2 ** 70,
                                          max_value=2 ** 70),
    st.floats(), st.text(max_size=12))      # NaN, infinities, non-ASCII
KEYS = st.one_of(st.text(max_size=8), st.integers(), st.booleans(),
                 st.none(), st.floats())
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=25)


class TestDumps(testtools.TestCase):

    @given(VALUES)
    @settings(max_examples=400, deadline=None, database=None)
    def test_same_text_as_json(self, value):
        self.assertEqual(json.dumps(value, indent=2), jsontext.dumps(value))

    def test_big_documents_come_in_chunks(self):
        chunks = []
        value = [{'a': [i, str(i)]} for i in range(5000)]
        jsontext.write(value, chunks.append)
        self.assertGreater(len(chunks), 2)
        self.assertEqual(json.dumps(value, indent=2), ''.join(chunks))

    def test_the_documents(self):
        for doc in (fuzz.SNAPSHOT_DOC, fuzz.HOST_DOC, fuzz.PLAN_DOC):
            self.assertEqual(json.dumps(doc, indent=2), jsontext.dumps(doc))

    def test_what_json_cannot_encode(self):
        for bad in ({'a': object()}, [{1, 2}], {(1, 2): 'tuple key'}):
            self.assertRaises(TypeError, json.dumps, bad, indent=2)
            self.assertRaises(TypeError, jsontext.dumps, bad)
