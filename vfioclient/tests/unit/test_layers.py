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

"""The module map in doc/source/contributor/index.rst is what the imports do.

The contributor guide's table says which packages each package may import;
this test reads that table (one source of truth) and walks every product
module's imports, at any depth (an import inside a function counts too).
"""

import ast
import os
import re

import testtools

import vfioclient

PACKAGE_DIR = os.path.dirname(os.path.abspath(vfioclient.__file__))
REPO_DIR = os.path.dirname(PACKAGE_DIR)
MAP_DOC = os.path.join(REPO_DIR, 'doc', 'source', 'contributor', 'index.rst')

# Inside v1 a command may import only the shared bases.
V1_SHARED = frozenset({'v1.base'})


def parse_layer_map(text):
    """Return {package: frozenset(allowed)} from the doc's simple table.

    The table is the one whose header row starts with ``package``; its
    columns are delimited by the ``=`` rules, as RST simple tables are.
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if (re.match(r'^=+(\s+=+)+\s*$', line)
                and i + 1 < len(lines)
                and lines[i + 1].split()[:1] == ['package']):
            break
    else:
        raise ValueError('no module map table in %s' % MAP_DOC)
    spans = [m.span() for m in re.finditer(r'=+', lines[i])]
    rules = 0
    layers = {}
    for line in lines[i + 1:]:
        if re.match(r'^=+(\s+=+)+\s*$', line):
            rules += 1
            if rules == 2:
                break
            continue
        if rules != 1 or not line.strip():
            continue
        first = line[spans[0][0]:spans[1][0]].strip().strip('`')
        last = line[spans[-1][0]:].strip()
        allowed = frozenset(
            p.strip() for p in last.split(',')
            if p.strip() and p.strip() != '\\-')
        layers[first] = allowed
    return layers


def _component(dotted):
    """'vfioclient.rules.plan.options' -> 'rules'; None outside."""
    parts = dotted.split('.')
    if parts[0] != 'vfioclient' or len(parts) < 2:
        return None
    return parts[1]


def _v1_module(dotted):
    parts = dotted.split('.')
    if parts[:2] != ['vfioclient', 'v1'] or len(parts) < 3:
        return None
    return 'v1.' + parts[2]


def imported_modules(module, source):
    """Every vfioclient module ``module`` imports, as dotted names."""
    tree = ast.parse(source)
    package = module.rsplit('.', 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - (node.level - 1)]
                prefix = '.'.join(base + ([node.module] if node.module
                                          else []))
            else:
                prefix = node.module or ''
            # "from vfioclient import client" names a module, as does
            # "from vfioclient.v1 import base".
            for alias in node.names:
                found.append('%s.%s' % (prefix, alias.name))
    return [name for name in found if name.startswith('vfioclient.')
            or name == 'vfioclient']


def violations(module, source, layers):
    """Imports of ``module`` that run against the layer map."""
    own = _component(module)
    if own is None:
        return []
    problems = []
    if own not in layers:
        return ['%s: package %r is missing from the module map'
                % (module, own)]
    for target in imported_modules(module, source):
        other = _component(target)
        if other is None or other == own:
            if own == 'v1' and other == 'v1':
                name = _v1_module(target)
                if (name and name not in V1_SHARED
                        and name != _v1_module(module)):
                    problems.append(
                        '%s imports %s: commands import only %s inside v1'
                        % (module, target, ', '.join(sorted(V1_SHARED))))
            continue
        if other not in layers[own]:
            problems.append('%s imports %s: %s may import only %s'
                            % (module, target, own,
                               ', '.join(sorted(layers[own])) or 'nothing'))
    return problems


def product_modules():
    for root, dirs, files in os.walk(PACKAGE_DIR):
        rel = os.path.relpath(root, os.path.dirname(PACKAGE_DIR))
        if rel.split(os.sep)[:2] == ['vfioclient', 'tests']:
            dirs[:] = []
            continue
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            parts = rel.split(os.sep)
            if name != '__init__.py':
                parts.append(name[:-3])
            path = os.path.join(root, name)
            with open(path, encoding='utf-8') as f:
                yield '.'.join(parts), path, f.read()


def _load_layers():
    with open(MAP_DOC, encoding='utf-8') as f:
        return parse_layer_map(f.read())


class TestLayerMap(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.layers = _load_layers()

    def test_product_imports_follow_the_map(self):
        problems = []
        for module, _path, source in product_modules():
            problems.extend(violations(module, source, self.layers))
        self.assertEqual([], problems)

    def test_every_package_is_on_the_map(self):
        on_disk = set()
        for module, _path, _source in product_modules():
            comp = _component(module)
            if comp is not None:
                on_disk.add(comp)
        self.assertEqual(set(), on_disk - set(self.layers),
                         'packages missing from the module map')
        self.assertEqual(set(), set(self.layers) - on_disk,
                         'the module map names packages that do not exist')

    def test_map_names_only_known_packages(self):
        for package, allowed in self.layers.items():
            self.assertEqual(set(), allowed - set(self.layers),
                             'unknown package in the row of %s' % package)

    def test_map_has_no_cycles(self):
        # A layer order exists only if the "may import" graph is acyclic.
        seen, done = set(), set()

        def visit(node, path):
            self.assertNotIn(node, seen - done,
                             'cycle: %s' % ' -> '.join(path + [node]))
            if node in done:
                return
            seen.add(node)
            for nxt in sorted(self.layers[node]):
                visit(nxt, path + [node])
            done.add(node)

        for package in sorted(self.layers):
            visit(package, [])


class TestChecker(testtools.TestCase):
    """The checker itself fails on synthetic wrong-way imports."""

    def setUp(self):
        super().setUp()
        self.layers = _load_layers()

    def test_upward_import_fails(self):
        src = 'from vfioclient.v1 import base\n'
        problems = violations('vfioclient.nova.synthetic', src, self.layers)
        self.assertEqual(1, len(problems))
        self.assertIn('nova may import only nothing', problems[0])

    def test_upward_import_inside_function_fails(self):
        src = ('def f():\n'
               '    from vfioclient.render import bootscript\n'
               '    return bootscript\n')
        problems = violations('vfioclient.rules.synthetic', src, self.layers)
        self.assertEqual(1, len(problems))
        self.assertIn('vfioclient.render.bootscript', problems[0])

    def test_import_of_tests_fails(self):
        src = 'import vfioclient.tests.fixtures\n'
        problems = violations('vfioclient.sandbox.synthetic', src,
                              self.layers)
        self.assertEqual(1, len(problems))

    def test_relative_upward_import_fails(self):
        src = 'from ..apply import flavors\n'
        problems = violations('vfioclient.collect.synthetic', src,
                              self.layers)
        self.assertEqual(1, len(problems))
        self.assertIn('vfioclient.apply.flavors', problems[0])

    def test_command_importing_command_fails(self):
        src = 'from vfioclient.v1 import audit\n'
        problems = violations('vfioclient.v1.synthetic', src, self.layers)
        self.assertEqual(1, len(problems))
        self.assertIn('commands import only v1.base', problems[0])

    def test_allowed_imports_pass(self):
        src = ('from vfioclient.v1 import base\n'
               'from vfioclient.rules import audit\n'
               'import vfioclient.cloud.client\n')
        self.assertEqual(
            [], violations('vfioclient.v1.synthetic', src, self.layers))

    def test_unknown_package_fails(self):
        problems = violations('vfioclient.newthing.mod', '', self.layers)
        self.assertEqual(1, len(problems))
        self.assertIn('missing from the module map', problems[0])

    def test_table_parser_reads_columns(self):
        text = '\n'.join([
            '=====  ======  =========',
            'package  what  may import',
            '=====  ======  =========',
            '``a``  x y     \\-',
            '``b``  z       a, c',
            '=====  ======  =========',
        ])
        # The header row must start with "package" at the first column.
        layers = parse_layer_map(text)
        self.assertEqual({'a': frozenset(), 'b': frozenset({'a', 'c'})},
                         layers)


# -- tests import support modules, never other test modules -----------------

TESTS_DIR = os.path.join(PACKAGE_DIR, 'tests')


def suite_modules():
    """(dotted name, source) of every module under vfioclient/tests."""
    for root, dirs, files in os.walk(TESTS_DIR):
        dirs[:] = sorted(d for d in dirs if d != '__pycache__')
        parts = os.path.relpath(root, REPO_DIR).split(os.sep)
        for name in sorted(files):
            if not name.endswith('.py'):
                continue
            module = parts + ([] if name == '__init__.py' else [name[:-3]])
            with open(os.path.join(root, name), encoding='utf-8') as f:
                yield '.'.join(module), f.read()


def imports_of_test_modules(module, source):
    """Imports of ``test_*`` modules in ``module``: test modules are no
    libraries (a subclass of their test cases runs their tests again)."""
    return ['%s imports %s: move what it shares into a support module'
            % (module, target)
            for target in imported_modules(module, source)
            if any(part.startswith('test_') for part in target.split('.'))]


class TestNoTestModuleImports(testtools.TestCase):
    """Shared builders and bases live in support modules (names that do not
    start with ``test_``); no module imports a ``test_*`` module."""

    def test_suites_import_no_test_module(self):
        problems = []
        for module, source in suite_modules():
            problems.extend(imports_of_test_modules(module, source))
        self.assertEqual([], problems)

    def test_walk_covers_every_suite(self):
        modules = {module for module, _source in suite_modules()}
        for expected in ('vfioclient.tests.base',
                         'vfioclient.tests.unit.builders',
                         'vfioclient.tests.unit.test_layers',
                         'vfioclient.tests.functional.loopback',
                         'vfioclient.tests.functional.test_crash_resume',
                         'vfioclient.tests.conformance.scenario',
                         'vfioclient.tests.bench.bench_audit'):
            self.assertIn(expected, modules)

    def test_importing_a_test_module_fails(self):
        src = 'from vfioclient.tests.unit import test_plan_rules as helpers\n'
        problems = imports_of_test_modules('vfioclient.tests.unit.test_x', src)
        self.assertEqual(1, len(problems))
        self.assertIn('imports vfioclient.tests.unit.test_plan_rules',
                      problems[0])

    def test_every_import_form_fails(self):
        src = ('from . import test_sandbox\n'
               'from vfioclient.tests.functional.test_crash_resume import '
               'LoopbackCliTestCase\n'
               'def helper():\n'
               '    import vfioclient.tests.unit.test_audit_rules\n')
        problems = imports_of_test_modules(
            'vfioclient.tests.functional.synthetic', src)
        self.assertEqual(3, len(problems), problems)
        self.assertIn('vfioclient.tests.functional.test_sandbox',
                      problems[0])

    def test_support_modules_pass(self):
        src = ('from vfioclient.tests import base\n'
               'from vfioclient.tests.unit import builders\n'
               'from vfioclient.tests.functional import loopback\n'
               'import testtools\n')
        self.assertEqual([], imports_of_test_modules(
            'vfioclient.tests.unit.test_x', src))
