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

"""The quick schema test (``schema.compile_schema``) never accepts what
jsonschema refuses, and accepts the documents the code writes (else the
fast path would never be taken)."""

import collections

import fixtures
from hypothesis import given
from hypothesis import strategies as st
import testtools

from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import documents
from vfioclient.model import schema
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import doc_mutations as fuzz

KINDS = {documents.SNAPSHOT: fuzz.SNAPSHOT_DOC,
         documents.HOST_REPORT: fuzz.HOST_DOC,
         documents.PLAN: fuzz.PLAN_DOC}


def jsonschema_valid(kind, doc):
    spec = documents.document(kind)
    return next(spec.validator.iter_errors(doc), None) is None


class TestQuickSchemaTest(testtools.TestCase):

    def test_every_shipped_schema_compiles(self):
        for kind in KINDS:
            self.assertIsNotNone(documents.document(kind).accepts, kind)

    def test_documents_the_code_writes_are_accepted(self):
        for kind, doc in KINDS.items():
            self.assertTrue(documents.document(kind).accepts(doc), kind)
        accepts = documents.document(documents.HOST_REPORT).accepts
        for name in sorted(fake_sysfs.PRESETS):
            root = self.useFixture(fixtures.TempDir()).path
            spec = fake_sysfs.preset(name)
            fake_sysfs.build_host(root, spec)
            report = collect_sysfs.collect_host_report(
                root, hostname=spec['hostname'])
            self.assertTrue(accepts(report.to_json()), name)

    def test_unknown_keywords_leave_it_to_jsonschema(self):
        for bad in ({'type': 'array', 'minItems': 1},
                    {'items': [{'type': 'string'}]},
                    {'$ref': 'other.json#/x'},
                    {'properties': {'a': {'format': 'date'}}}):
            self.assertIsNone(schema.compile_schema(bad), bad)

    def test_exact_json_types(self):
        accepts = schema.compile_schema({
            'type': 'object', 'required': ['n'], 'additionalProperties':
            False, 'properties': {
                'n': {'type': 'integer', 'minimum': 1},
                'k': {'enum': ['a', None]}, 'c': {'const': 1},
                'p': {'type': 'string', 'pattern': '^[0-9a-f]{4}$'},
                'o': {'anyOf': [{'type': 'null'},
                                {'$ref': '#/$defs/list'}]}},
            '$defs': {'list': {'type': 'array',
                               'items': {'type': 'number'}}}})
        self.assertTrue(accepts({'n': 1, 'k': None, 'c': 1, 'p': '10de',
                                 'o': [1, 2.5]}))
        for doc in ({'n': True}, {'n': 1.0}, {'n': 0}, {}, {'n': 1, 'x': 1},
                    {'n': 1, 'k': 'b'}, {'n': 1, 'c': True},
                    {'n': 1, 'c': 1.0}, {'n': 1, 'p': '10DE'},
                    {'n': 1, 'o': ['1']}, {'n': 1, 'o': {}}, []):
            self.assertFalse(accepts(doc), doc)

    def setUp(self):
        super().setUp()
        self.outcomes = collections.Counter()

    @given(st.sampled_from(sorted(KINDS)), st.data())
    @fuzz.fuzz_settings(300)
    def test_never_accepts_what_jsonschema_refuses(self, kind, data):
        doc, edits = data.draw(fuzz.mutated(KINDS[kind]))
        accepted = documents.document(kind).accepts(doc)
        if accepted:
            self.assertTrue(jsonschema_valid(kind, doc), (kind, edits))
        self.outcomes[(kind, accepted)] += 1

    def test_mutations_reach_both_answers(self):
        # the property above is only worth something if the mutations
        # give both accepted and refused documents of every kind
        self.test_never_accepts_what_jsonschema_refuses()
        for kind in KINDS:
            self.assertGreater(self.outcomes[(kind, True)], 0, kind)
            self.assertGreater(self.outcomes[(kind, False)], 0, kind)
