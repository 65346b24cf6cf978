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

"""The quick schema test (``schema_compile.compile_schema``) never accepts what
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
from vfioclient.model import schema_compile
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import doc_mutations as fuzz

KINDS = {documents.SNAPSHOT: fuzz.SNAPSHOT_DOC,
         documents.HOST_REPORT: fuzz.HOST_DOC,
         documents.PLAN: fuzz.PLAN_DOC}


def jsonschema_valid(kind, doc):
    spec = documents.document(kind)
    return next(spec.validator.iter_errors(doc), None) is None


# -- random schemas using every keyword the quick test knows -----------------

KEYS = ('a', 'b', 'children')
NO_FLOATS = dict(allow_nan=False, allow_infinity=False)


def scalars(floats):
    values = [st.none(), st.booleans(), st.integers(-3, 3),
              st.sampled_from(['', 'a', 'ab', 'b\n', '1'])]
    if floats:
        values.append(st.sampled_from([1.0, 0.5, -0.0, float('nan'),
                                       float('inf')]))
    return st.one_of(values)


def random_schemas(floats):
    """Schemas of the supported keywords; ``floats`` False keeps floats
    out of const and enum, where the quick test is stricter (1.0 is not
    1)."""
    type_names = st.sampled_from(['string', 'integer', 'number', 'boolean',
                                  'object', 'array', 'null'])
    bounds = st.one_of(st.integers(-2, 2), st.sampled_from([0.5, -1.5]))
    leaves = st.one_of(
        st.booleans(),
        st.fixed_dictionaries({}, optional={
            'type': st.one_of(type_names, st.lists(type_names, min_size=1,
                                                   max_size=3, unique=True)),
            'const': scalars(floats),
            'enum': st.lists(scalars(floats), min_size=1, max_size=4),
            'pattern': st.sampled_from(['^a', 'b$', '[0-9]', '^$', 'a|b']),
            'minimum': bounds, 'maximum': bounds,
            '$ref': st.sampled_from(['#/$defs/tree', '#/$defs/word']),
            'description': st.just('an annotation')}))

    def nodes(children):
        return st.fixed_dictionaries({}, optional={
            'type': type_names,
            'properties': st.dictionaries(st.sampled_from(KEYS), children,
                                          max_size=3),
            'required': st.lists(st.sampled_from(KEYS), max_size=2,
                                 unique=True),
            'additionalProperties': children,
            'items': children,
            'anyOf': st.lists(children, min_size=1, max_size=3),
            'minimum': bounds})

    return st.recursive(leaves, nodes, max_leaves=8)


# A recursive $defs entry (a tree of objects), to go through $ref cycles.
DEFS = {'tree': {'type': ['object', 'null'],
                 'properties': {'children': {'type': 'array', 'items': {
                     '$ref': '#/$defs/tree'}}},
                 'additionalProperties': {'type': 'integer', 'maximum': 2}},
        'word': {'type': 'string', 'pattern': '^[a-b]+$'}}


def random_documents(floats):
    base = scalars(floats)
    if floats:
        base = st.one_of(base, st.floats(-3, 3, **NO_FLOATS))
    return st.recursive(base, lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(KEYS + ('c',)), children,
                        max_size=4)), max_leaves=10)


def with_defs(spec):
    """``spec`` with :data:`DEFS` (and its own ``$defs``) at its root."""
    if not isinstance(spec, dict):
        return spec
    return dict(spec, **{'$defs': dict(DEFS, **spec.get('$defs', {}))})


def jsonschema_valid_against(spec, doc):
    validator = schema.Validator(spec)
    return next(validator.iter_errors(doc), None) is None


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
            self.assertIsNone(schema_compile.compile_schema(bad), bad)

    def test_exact_json_types(self):
        accepts = schema_compile.compile_schema({
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

    def test_edges(self):
        tree = dict(DEFS, tree=dict(DEFS['tree'], required=['children']))
        cases = [
            # (schema, accepted, refused)
            (True, [1, None, {}], []),
            (False, [], [1, None, {}]),
            ({'properties': {'a': False}}, [{}, {'b': 1}, [1], 'a'],
             [{'a': None}]),
            ({'items': {'type': 'integer'}}, [[], [1, -2], {'a': 'x'}, 'x'],
             [[1, True], [1.0]]),
            ({'additionalProperties': {'type': 'string'},
              'properties': {'a': {}}}, [{'a': 1, 'b': 'x'}, 7],
             [{'b': 1}]),
            ({'required': ['a', 'b']}, [{'a': 1, 'b': 2}, [], 'a'],
             [{'a': 1}, {}]),
            ({'type': ['integer', 'null'], 'minimum': 1, 'maximum': 2},
             [1, 2, None], [0, 3, 1.5, True, 'x']),
            ({'minimum': 1, 'maximum': 2.5}, [1, 2.5, 'a', True, None, []],
             [0, 3, 2.75, float('nan')]),
            ({'type': 'number'}, [1, 1.5], [True, '1', None]),
            ({'enum': [1, True, 'a', None, 0.5, float('nan')]},
             [1, True, 'a', None, 0.5], [1.0, False, 0, 'b', float('nan'),
                                          [1], {}]),
            ({'const': [1]}, [], [[1]]),
            ({'const': False}, [False], [0, None]),
            ({'type': 'string', 'pattern': 'b'}, ['abc', 'b'],
             ['a', 'B', 1]),
            ({'pattern': '^a$'}, ['a', 'a\n', 1, None], ['ab', 'ba']),
            ({'anyOf': [{'type': 'integer'}, {'$ref': '#/$defs/word'}]},
             [1, 'ab'], ['abc', None, 1.0]),
            ({'$ref': '#/$defs/tree', '$defs': tree},
             [None, {'children': [{'children': [], 'x': 2}]}],
             [{'children': [{'children': [{'x': 3, 'children': []}]}]},
              {'children': [{}]}, {'children': None}]),
        ]
        for spec, accepted, refused in cases:
            accepts = schema_compile.compile_schema(with_defs(spec))
            for doc in accepted:
                self.assertTrue(accepts(doc), (spec, doc, accepts.source))
            for doc in refused:
                self.assertFalse(accepts(doc), (spec, doc, accepts.source))

    def test_deep_schemas_compile(self):
        # Python limits the blocks nested in one function
        spec, doc = {'type': 'integer'}, 1
        for _ in range(40):
            spec, doc = {'type': 'array', 'items': spec}, [doc]
        accepts = schema_compile.compile_schema(spec)
        self.assertTrue(accepts(doc))
        self.assertFalse(accepts([[[['x']]]]))

    @given(random_schemas(floats=True), random_documents(floats=True))
    @fuzz.fuzz_settings(400)
    def test_random_schemas_never_accept_what_jsonschema_refuses(
            self, spec, doc):
        spec = with_defs(spec)
        accepts = schema_compile.compile_schema(spec)
        if accepts(doc):
            self.assertTrue(jsonschema_valid_against(spec, doc),
                            accepts.source)

    @given(random_schemas(floats=False), random_documents(floats=False))
    @fuzz.fuzz_settings(400)
    def test_random_schemas_agree_with_jsonschema_without_floats(
            self, spec, doc):
        # the quick test is stricter only on floats (1.0 is not 1) and on
        # const / enum of lists and objects: without them, it agrees
        spec = with_defs(spec)
        accepts = schema_compile.compile_schema(spec)
        self.assertEqual(jsonschema_valid_against(spec, doc), accepts(doc),
                         accepts.source)
