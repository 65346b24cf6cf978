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

"""The JSON Schemas of the three documents, and checking a document with one.

The snapshot, the host report and the plan are versioned JSON documents that
one command writes and others (and operators' scripts) read.  Each has a JSON
Schema (draft 2020-12) shipped in ``vfioclient/model/schemas/`` and published
in the reference docs.  :class:`Document` reads, parses and checks one of
them and raises the document's own error class with a message that names the
file, the field (``hosts[3].gpus[0].address``) and what is wrong, so a
truncated or hand-edited file never ends in a traceback.

Two rules are stricter than a generic JSON Schema validator: an integer is
a JSON number written without a fraction (``1.0`` is not ``1``, ``true`` is
not ``1``), and ``kind`` / ``schema_version`` are checked first so that an
other document or version gets a message saying so rather than a list of
differences.
"""

import functools
import hashlib
import importlib.resources
import json
import re

import jsonschema

from vfioclient.model import schema_compile

_BASE = jsonschema.Draft202012Validator
# Python's json reads 1.0 as a float: refuse it where the schema says
# integer (a generic validator accepts it; Python code would then compute
# with floats).  bool is an int subclass and is never an integer here.
_TYPE_CHECKER = _BASE.TYPE_CHECKER.redefine(
    'integer', lambda checker, value: (isinstance(value, int)
                                       and not isinstance(value, bool)))
Validator = jsonschema.validators.extend(_BASE, type_checker=_TYPE_CHECKER)

SCHEMA_FILES = ('snapshot.schema.json', 'host-report.schema.json',
                'plan.schema.json')

_TYPE_NAMES = {'string': 'a string', 'integer': 'an integer',
               'number': 'a number', 'boolean': 'true or false',
               'object': 'an object', 'array': 'a list', 'null': 'null'}


def schema_text(name):
    """The text of the packaged schema file ``name``."""
    resource = importlib.resources.files('vfioclient.model') / 'schemas'
    return (resource / name).read_text(encoding='utf-8')


@functools.lru_cache(maxsize=None)
def load_schema(name):
    """The packaged schema ``name`` as a dict (read once)."""
    return json.loads(schema_text(name))


_PLAIN_KEY_RE = re.compile(r'^[A-Za-z0-9_:.\-]+$')


def field_path(path):
    """``('hosts', 3, 'address')`` -> ``'hosts[3].address'``; a key that is
    not a plain word (a hand-edited extra spec with a line break, say) is
    quoted, so a message stays one line."""
    text = ''
    for key in path:
        if isinstance(key, int):
            text += '[%d]' % key
        elif _PLAIN_KEY_RE.match(str(key)):
            text += ('.' if text else '') + str(key)
        else:
            text += '[%s]' % json.dumps(str(key))
    return text


def _value(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _expected_type(types):
    if isinstance(types, str):
        types = [types]
    return ' or '.join(_TYPE_NAMES.get(t, t) for t in types)


def describe(error):
    """``(field path, what is wrong)`` for a jsonschema ValidationError."""
    path = list(error.absolute_path)
    instance = error.instance
    kind = error.validator
    if kind == 'required':
        missing = next(k for k in error.validator_value
                       if k not in instance)
        return (field_path(path),
                'missing key %r (truncated or hand-edited?)' % missing)
    if kind == 'additionalProperties':
        allowed = error.schema.get('properties', {})
        extra = sorted(k for k in instance if k not in allowed)
        return field_path(path), 'unexpected key %s (expected %s)' % (
            ', '.join(map(repr, extra)), ', '.join(allowed))
    if kind == 'type':
        problem = 'expected %s' % _expected_type(error.validator_value)
    elif kind == 'enum':
        # JSON spelling: an enum may hold null (e.g. an unset numa_policy).
        problem = 'expected one of %s' % ', '.join(
            v if isinstance(v, str) else json.dumps(v)
            for v in error.validator_value)
    elif kind == 'const':
        problem = 'expected %r' % (error.validator_value,)
    elif kind == 'pattern':
        problem = 'expected a value matching %s' % error.validator_value
    elif kind == 'minimum':
        problem = 'expected at least %r' % (error.validator_value,)
    else:
        return field_path(path), error.message
    return field_path(path), '%s, got %s' % (problem, _value(instance))


class Document:
    """One kind of document: its schema, its error class and its words.

    :param schema_file: name of the schema in ``model/schemas/``.
    :param noun: what the commands call it ("snapshot", "plan").
    :param title: what it is ("vfio cloud snapshot").
    :param error: the exception class raised for a bad document.
    :param remedy: how to get a document this version reads.
    """

    def __init__(self, schema_file, noun, title, error, remedy):
        self.schema_file = schema_file
        self.noun = noun
        self.title = title
        self.error = error
        self.remedy = remedy

    @functools.cached_property
    def schema(self):
        return load_schema(self.schema_file)

    @functools.cached_property
    def validator(self):
        return Validator(self.schema)

    @functools.cached_property
    def accepts(self):
        """A quick test that a document is valid (see
        :func:`schema_compile.compile_schema`), or None when the schema uses
        a keyword it does not know."""
        return schema_compile.compile_schema(self.schema)

    @property
    def kind(self):
        return self.schema['properties']['kind']['const']

    @property
    def version(self):
        return self.schema['properties']['schema_version']['const']

    def read(self, path):
        """``(parsed JSON, sha256 of the bytes)`` of the file at ``path``
        (not checked yet)."""
        try:
            with open(path, 'rb') as f:
                data = f.read()
            digest = hashlib.sha256(data).hexdigest()
            text = data.decode('utf-8')
        except FileNotFoundError:
            raise self.error('%s file %s does not exist' % (self.noun, path))
        except (OSError, UnicodeDecodeError) as e:
            raise self.error('cannot read %s file %s: %s'
                             % (self.noun, path, e))
        del data        # a 10,000-host snapshot: 50 MB not kept while parsing
        return self.parse(text, path), digest

    def parse(self, text, source):
        """The parsed JSON of ``text`` (not checked yet)."""
        try:
            return json.loads(text)
        except ValueError as e:
            raise self.error('%s is not valid JSON (truncated?): %s'
                             % (source, e))

    def check(self, doc, source):
        """Raise :attr:`error` unless ``doc`` is valid against the schema.

        ``source`` (a file name) starts every message.
        """
        if not isinstance(doc, dict):
            raise self.error('%s is not a %s (expected a JSON object)'
                             % (source, self.title))
        if doc.get('kind') != self.kind:
            raise self.error('%s is not a %s (kind %r)'
                             % (source, self.title, doc.get('kind')))
        version = doc.get('schema_version')
        if type(version) is not int or version != self.version:
            raise self.error(
                '%s has schema_version %s; this vfioclient reads version %d '
                '(%s)' % (source, _value(version), self.version,
                          self.remedy))
        if self.accepts is not None and self.accepts(doc):
            return
        # invalid (or beyond the quick test): jsonschema finds the error
        error = jsonschema.exceptions.best_match(
            self.validator.iter_errors(doc))
        if error is not None:
            where, problem = describe(error)
            raise self.error('%s is damaged or hand-edited: %s%s'
                             % (source, where + ': ' if where else '',
                                problem))
