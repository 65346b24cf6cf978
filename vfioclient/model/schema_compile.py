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

"""A quick test for valid documents: a JSON Schema compiled to Python.

jsonschema takes milliseconds per host report; 10,000 of them (a fleet's
plan) took half a minute.  The schemas use a few keywords, so each schema is
compiled once to the source of plain Python functions (``if`` and ``for``,
leaf tests such as ``type(x) is str`` written in line, one function per
``$defs`` entry that is more than a leaf test) and ``exec``-ed.

The test is stricter than the schema where that is simpler (exact JSON
types, const and enum of scalars only): a document it refuses goes to
jsonschema, which decides and words the error.  So it never accepts what
jsonschema refuses, and messages are jsonschema's.
"""

import math
import re

# Keywords that do not constrain the instance.
_ANNOTATIONS = frozenset(('$schema', '$id', '$defs', '$comment', 'title',
                          'description', 'examples', 'default'))
# Keywords a test can write as one expression (no loop over a container).
_LEAF_KEYWORDS = frozenset(('type', 'const', 'enum', 'pattern', 'minimum',
                            'maximum', 'anyOf', '$ref'))
_JSON_TYPES = {'string': (str,), 'integer': (int,), 'number': (int, float),
               'boolean': (bool,), 'object': (dict,), 'array': (list,),
               'null': (type(None),)}
# The Python types of JSON values, in the names the generated code uses.
_TYPE_NAMES = {str: 'str', int: 'int', float: 'float', bool: 'bool',
               dict: 'dict', list: 'list', type(None): '_NoneType'}
_SCALARS = (str, int, float, bool, type(None))
_REF_PREFIX = '#/$defs/'
# Deeper containers get a function of their own (Python limits how many
# blocks nest in one function).
_MAX_DEPTH = 8


class _Unsupported(Exception):
    pass


def _type_test(kinds, var, negate=False):
    """``type(var) is str`` (``is not`` when ``negate``)."""
    if kinds == (type(None),):
        return '%s is %sNone' % (var, 'not ' if negate else '')
    if len(kinds) == 1:
        return 'type(%s) %s %s' % (var, 'is not' if negate else 'is',
                                   _TYPE_NAMES[kinds[0]])
    return 'type(%s) %s (%s)' % (var, 'not in' if negate else 'in',
                                 ', '.join(_TYPE_NAMES[k] for k in kinds))


class _Compiler:
    """Writes the source of ``accepts`` for one schema.

    Each test is written for a variable (``var``) that holds the value;
    ``known`` is the Python type the value is known to have there (tested
    already), so keywords that apply to one type only skip their guard.
    """

    def __init__(self, schema):
        self.schema = schema
        self.names = {'_NoneType': type(None)}   # the exec namespace
        self.functions = []                      # lines of each def
        self.refs = {}                           # $defs name -> function
        self.inlining = set()                    # $defs written in line
        self.patterns = {}                       # regex -> its name
        self.counter = 0

    def fresh(self, prefix):
        self.counter += 1
        return '%s%d' % (prefix, self.counter)

    def constant(self, value, prefix='_k'):
        """The name the generated code gives ``value``."""
        name = self.fresh(prefix)
        self.names[name] = value
        return name

    # -- a node ---------------------------------------------------------------

    def keywords(self, sub):
        if isinstance(sub, bool):
            return sub
        if not isinstance(sub, dict):
            raise _Unsupported(sub)
        return {k: v for k, v in sub.items() if k not in _ANNOTATIONS}

    def is_leaf(self, sub):
        words = self.keywords(sub)
        return isinstance(words, bool) or words.keys() <= _LEAF_KEYWORDS

    def function(self, sub, name=None):
        """The name of a new function testing ``sub``."""
        name = name or self.fresh('_f')
        self.functions.append(None)
        index = len(self.functions) - 1
        lines = ['def %s(v):' % name]
        lines += self.statements(sub, 'v', 1) + ['    return True']
        self.functions[index] = lines
        return name

    def ref(self, target):
        """The function testing the ``$defs`` entry ``target``."""
        if not isinstance(target, str) or not target.startswith(
                _REF_PREFIX):
            raise _Unsupported(target)
        name = target[len(_REF_PREFIX):]
        if name not in self.refs:
            # named before its body is written: a cycle calls it by name
            self.refs[name] = self.fresh('_r')
            self.function(self.schema['$defs'][name], self.refs[name])
        return self.refs[name]

    def expression(self, sub, var):
        """A Python expression true when ``var`` passes ``sub``."""
        words = self.keywords(sub)
        if words is True or words is False:
            return repr(words)
        if not self.is_leaf(sub):      # loops: a function of its own
            return '%s(%s)' % (self.function(sub), var)
        tests, known = [], None
        if 'type' in words:     # first: the other tests may then skip theirs
            kinds = self.kinds(words['type'])
            tests.append(_type_test(kinds, var))
            known = kinds[0] if len(kinds) == 1 else kinds
        for key, arg in words.items():
            if key != 'type':
                tests.append(self.leaf(key, arg, var, known))
        tests = [t for t in tests if t != 'True']
        if not tests:
            return 'True'
        return '(%s)' % ' and '.join(tests) if len(tests) > 1 else tests[0]

    def statements(self, sub, var, depth):
        """Lines (indented ``depth`` levels) that return False unless
        ``var`` passes ``sub``."""
        pad = '    ' * depth
        words = self.keywords(sub)
        if words is True:
            return []
        if words is False or self.is_leaf(sub) or depth > _MAX_DEPTH:
            test = self.expression(sub, var)
            return [] if test == 'True' else [
                pad + 'if not %s:' % test, pad + '    return False']
        lines = []
        known = None
        if 'type' in words:
            kinds = self.kinds(words['type'])
            lines += [pad + 'if %s:' % _type_test(kinds, var, negate=True),
                      pad + '    return False']
            known = kinds[0] if len(kinds) == 1 else kinds
        lines += self.guarded(dict, known, var, depth, lambda d: [
            line for key in ('required', 'properties', 'additionalProperties')
            if key in words
            for line in self.object_keyword(key, words, var, d)])
        if 'items' in words:
            lines += self.guarded(list, known, var, depth, lambda d: (
                self.items(words, var, d)))
        for key, arg in words.items():
            if key in _LEAF_KEYWORDS - {'type'}:
                test = self.leaf(key, arg, var, known)
                if test != 'True':
                    lines += [pad + 'if not %s:' % test,
                              pad + '    return False']
            elif key not in ('type', 'required', 'properties',
                             'additionalProperties', 'items'):
                raise _Unsupported(key)
        return lines

    def guarded(self, kind, known, var, depth, write):
        """The lines ``write`` gives, run only when ``var`` is a ``kind``
        (these keywords ignore other values)."""
        if known is kind:
            return write(depth)
        body = write(depth + 1)
        if not body:
            return []
        return ['    ' * depth + 'if type(%s) is %s:' % (
            var, _TYPE_NAMES[kind])] + body

    def kinds(self, arg):
        names = [arg] if isinstance(arg, str) else arg
        if not isinstance(names, list) or not names:
            raise _Unsupported(arg)
        kinds = []
        for name in names:
            for kind in _JSON_TYPES[name]:
                if kind not in kinds:
                    kinds.append(kind)
        return tuple(kinds)

    # -- keywords -------------------------------------------------------------

    def object_keyword(self, key, words, var, depth):
        pad = '    ' * depth
        if key == 'required':
            names = words['required']
            if not isinstance(names, list):
                raise _Unsupported(key)
            if not names:
                return []
            return [pad + 'if not %s <= %s.keys():' % (
                self.constant(frozenset(names), '_req'), var),
                pad + '    return False']
        if key == 'properties':
            props = words['properties']
            if not isinstance(props, dict):
                raise _Unsupported(key)
            required = frozenset(words.get('required', ()))
            lines = []
            for name, sub in props.items():
                item = self.fresh('x')
                if name in required:      # present: tested above
                    body = self.statements(sub, item, depth)
                    if body:
                        lines.append(pad + '%s = %s[%r]' % (item, var, name))
                        lines += body
                    continue
                body = self.statements(sub, item, depth + 1)
                if body:
                    lines.append(pad + 'if %r in %s:' % (name, var))
                    lines.append(pad + '    %s = %s[%r]' % (item, var, name))
                    lines += body
            return lines
        # additionalProperties
        if 'patternProperties' in words:
            raise _Unsupported(key)
        props = words.get('properties', {})
        if not isinstance(props, dict):
            raise _Unsupported(key)
        known = self.constant(frozenset(props), '_props')
        extra = words['additionalProperties']
        if self.keywords(extra) is False:
            return [pad + 'if not %s.keys() <= %s:' % (var, known),
                    pad + '    return False']
        key_var, item = self.fresh('k'), self.fresh('x')
        body = self.statements(extra, item, depth + 2)
        if not body:
            return []
        return [pad + 'for %s, %s in %s.items():' % (key_var, item, var),
                pad + '    if %s not in %s:' % (key_var, known)] + body

    def items(self, words, var, depth):
        arg = words['items']
        if not isinstance(arg, (dict, bool)) or 'prefixItems' in words:
            raise _Unsupported('items')
        item = self.fresh('x')
        body = self.statements(arg, item, depth + 1)
        if not body:
            return []
        return ['    ' * depth + 'for %s in %s:' % (item, var)] + body

    def leaf(self, key, arg, var, known):
        """The expression of one keyword that needs no loop."""
        if key == 'const':
            return self.equal_to_one_of([arg], var, known)
        if key == 'enum':
            if not isinstance(arg, list):
                raise _Unsupported(key)
            return self.equal_to_one_of(arg, var, known)
        if key == 'pattern':
            if arg not in self.patterns:   # one per regex, not per use
                self.patterns[arg] = self.constant(re.compile(arg).search,
                                                   '_pattern')
            search = self.patterns[arg]
            test = '%s(%s) is not None' % (search, var)
            if known is str:
                return test
            return '(type(%s) is not str or %s)' % (var, test)
        if key in ('minimum', 'maximum'):
            if type(arg) not in (int, float):
                raise _Unsupported(key)
            # not (x < bound): a NaN bound or value fails, as before
            test = '%s %s %r' % (var, '>=' if key == 'minimum' else '<=',
                                 arg) if math.isfinite(arg) else None
            if test is None:
                test = '%s %s %s' % (var, '>=' if key == 'minimum' else '<=',
                                     self.constant(arg))
            if known in (int, float, (int, float)):
                return test
            return '(type(%s) not in (int, float) or %s)' % (var, test)
        if key == 'anyOf':
            if not isinstance(arg, list) or not arg:
                raise _Unsupported(key)
            return '(%s)' % ' or '.join(self.expression(s, var)
                                        for s in arg)
        if key == '$ref':
            return self.ref_expression(arg, var)
        raise _Unsupported(key)

    def ref_expression(self, target, var):
        if not isinstance(target, str) or not target.startswith(
                _REF_PREFIX):
            raise _Unsupported(target)
        name = target[len(_REF_PREFIX):]
        sub = self.schema['$defs'][name]
        if self.is_leaf(sub) and name not in self.inlining:
            # a leaf test (a pattern, an enum) is written in line
            self.inlining.add(name)
            try:
                return self.expression(sub, var)
            finally:
                self.inlining.discard(name)
        return '%s(%s)' % (self.ref(target), var)

    def equal_to_one_of(self, values, var, known):
        """JSON equality with one of ``values`` by exact type (1 is not
        true, nor 1.0); a value that is not a scalar equals nothing."""
        tests = []
        if any(v is None for v in values):
            tests.append('%s is None' % var)
        for flag in (True, False):
            if any(v is flag for v in values):
                tests.append('%s is %r' % (var, flag))
        for kind in (str, int, float):
            # NaN equals nothing (and would be found in a set by identity)
            members = [v for v in values if type(v) is kind and v == v]
            if len(members) == 1 and kind is not float:
                test = '%s == %r' % (var, members[0])
            elif members:
                test = '%s in %s' % (var, self.constant(frozenset(members),
                                                        '_one_of'))
            else:
                continue
            if known is not kind:
                test = '(type(%s) is %s and %s)' % (var, kind.__name__, test)
            tests.append(test)
        if not tests:
            return 'False'
        return '(%s)' % ' or '.join(tests) if len(tests) > 1 else tests[0]

    def source(self):
        root = self.function(self.schema)
        lines = [line for f in self.functions for line in f]
        return root, '\n'.join(lines) + '\n'


def compile_schema(schema):
    """``accepts(doc) -> bool`` for a draft 2020-12 ``schema`` using only
    type, properties, required, additionalProperties, items, $ref (to
    ``#/$defs/``), const, enum, pattern, anyOf, minimum and maximum (and
    annotations); None if it uses any other keyword."""
    compiler = _Compiler(schema)
    try:
        root, source = compiler.source()
        code = compile(source, '<quick schema test>', 'exec')
    except (_Unsupported, KeyError, TypeError, AttributeError, re.error,
            SyntaxError, RecursionError):
        return None
    namespace = dict(compiler.names)
    # the source is written above from the packaged schema, not from input
    exec(code, namespace)  # noqa: S102
    accepts = namespace[root]
    accepts.source = source         # to read when a test fails
    return accepts
