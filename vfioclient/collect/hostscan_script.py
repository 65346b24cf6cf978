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

"""The host collector as one runnable file (``openstack vfio host
collector``).

:func:`render_script` bundles :mod:`vfioclient.collect.hostscan` with the
vfioclient modules it imports, found by reading their ``import``
statements (at any depth, their package ``__init__`` modules included),
into a single python3 script.  Each module's source is embedded verbatim
and loaded, in dependency order, under its own name in ``sys.modules``;
then the script runs :func:`hostscan.main`.  So the collector has one
implementation, and NVIDIA's and Nova's concepts keep their one home in
``nvidia/`` and ``nova/``.

Building the bundle refuses (:class:`BundleError`) a module that imports
anything but the standard library and bundled vfioclient modules, or
whose syntax is newer than :data:`MIN_PYTHON`: the script runs with the
host's ``python3`` alone.
"""

import ast
import importlib.metadata
import importlib.util
import sys
import textwrap

ENTRY_MODULE = 'vfioclient.collect.hostscan'
PROG = 'vfio-host-report'
# The oldest python3 of the hosts the collector supports (Ubuntu 20.04).
MIN_PYTHON = (3, 8)

_LICENSE = """\
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
"""

_HEAD = '''\
#!/usr/bin/env python3
%(license)s
"""%(prog)s: write this GPU host's vfio host report (JSON) to stdout.

Printed by "openstack vfio host collector" (vfioclient %(version)s).
It needs python3 (%(min_python)s or later) and nothing else; it reads
files and changes nothing.  As root (libvirt's capabilities cache is
readable by root only):

    python3 %(prog)s --hostname NAME > report.json
    python3 %(prog)s --help

NAME is the host's name as nova-compute reports it (default: this
machine's name).  The report is what
"openstack vfio host report -f json" writes on the same host; pass it to
"openstack vfio audit/plan --host-report".

Below are vfioclient's own modules, their source embedded verbatim; they
are run in this process, in this order:

%(modules)s

then %(entry)s.main() writes the report.
"""

import linecache
import sys
import types

if sys.version_info < %(min_python_tuple)r:
    sys.exit('%(prog)s needs Python %(min_python)s or later, not %%s'
             %% sys.version.split()[0])

# (module name, is a package, source)
MODULES = (
'''

_TAIL = '''\
)


def load(modules):
    """Run each module's source as that module, in order."""
    for name, package, source in modules:
        filename = '%(prog)s/%%s%%s' %% (
            name.replace('.', '/'), '/__init__.py' if package else '.py')
        module = types.ModuleType(name)
        module.__file__ = filename
        if package:
            module.__path__ = []
        # Tracebacks show the lines of the embedded source.
        linecache.cache[filename] = (len(source), None,
                                     source.splitlines(True), filename)
        sys.modules[name] = module
        parent, _dot, child = name.rpartition('.')
        if parent:
            setattr(sys.modules[parent], child, module)
        exec(compile(source, filename, 'exec'), module.__dict__)


if __name__ == '__main__':
    load(MODULES)
    sys.exit(sys.modules[%(entry)r].main())
'''


class BundleError(Exception):
    """The collector's modules cannot make a standalone script."""


def _is_stdlib(name):
    return name.split('.')[0] in sys.stdlib_module_names


def _is_vfioclient(name):
    return name == 'vfioclient' or name.startswith('vfioclient.')


def _spec(name):
    try:
        return importlib.util.find_spec(name)
    except ModuleNotFoundError:
        return None


def _read_module(name):
    """``(source, is a package)`` of a vfioclient module."""
    spec = _spec(name)
    if spec is None or not spec.has_location:
        raise BundleError('%s: no source file' % name)
    with open(spec.origin, encoding='utf-8') as f:
        return f.read(), spec.submodule_search_locations is not None


def _imported_names(name, source, package):
    """The modules ``source`` imports, as absolute dotted names.

    ``from a.b import c`` names ``a.b.c`` when that is a module, else
    ``a.b``.
    """
    names = []
    base = name if package else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split('.')
                parts = parts[:len(parts) - node.level + 1]
                module = '.'.join(parts + ([node.module] if node.module
                                           else []))
            else:
                module = node.module
            for alias in node.names:
                full = '%s.%s' % (module, alias.name)
                if _is_vfioclient(full) and _spec(full) is not None:
                    names.append(full)
                else:
                    names.append(module)
    return names


def _check_syntax(name, source):
    try:
        ast.parse(source, feature_version=MIN_PYTHON)
    except SyntaxError as e:
        raise BundleError(
            '%s line %s: not Python %s syntax (%s): the host collector '
            'must run on the hosts\' python3'
            % (name, e.lineno, dotted_version(MIN_PYTHON), e.msg))


def dotted_version(version):
    """``(3, 8)`` -> ``'3.8'``."""
    return '.'.join(map(str, version))


def bundled_modules(entry=ENTRY_MODULE):
    """``[(name, is a package, source)]`` of ``entry`` and every
    vfioclient module it needs, each after the modules it needs.

    :raises BundleError: an import of neither the standard library nor
        vfioclient, an import cycle, or syntax newer than MIN_PYTHON.
    """
    ordered = []
    state = {}   # name -> 'loading' | 'done'

    def visit(name):
        if state.get(name) == 'done':
            return
        if state.get(name) == 'loading':
            raise BundleError('import cycle through %s' % name)
        state[name] = 'loading'
        parent = name.rpartition('.')[0]
        if parent:
            visit(parent)
        source, package = _read_module(name)
        _check_syntax(name, source)
        for imported in _imported_names(name, source, package):
            if _is_vfioclient(imported):
                visit(imported)
            elif not _is_stdlib(imported):
                raise BundleError(
                    '%s imports %s: the host collector may import only '
                    'the standard library and vfioclient modules that do'
                    % (name, imported))
        state[name] = 'done'
        ordered.append((name, package, source))

    visit(entry)
    return ordered


def _literal(name, source):
    """``source`` as a readable raw string literal."""
    literal = "r'''%s'''" % source
    try:
        same = ast.literal_eval(literal) == source
    except SyntaxError:
        same = False
    if not same:
        raise BundleError('%s cannot be embedded as a raw string (it '
                          'holds \'\'\' or ends with a backslash)' % name)
    return literal


def _version():
    try:
        return importlib.metadata.version('vfioclient')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown version'


def render_script(entry=ENTRY_MODULE):
    """The text of the standalone collector script."""
    modules = bundled_modules(entry)
    values = {'license': _LICENSE, 'prog': PROG, 'entry': entry,
              'version': _version(), 'min_python': dotted_version(MIN_PYTHON),
              'min_python_tuple': MIN_PYTHON,
              'modules': textwrap.fill(
                  ', '.join(name for name, _package, _source in modules),
                  72, initial_indent='    ', subsequent_indent='    ')}
    parts = [_HEAD % values]
    for name, package, source in modules:
        parts.append('(%r, %r, %s),\n' % (name, package,
                                         _literal(name, source)))
    parts.append(_TAIL % values)
    return ''.join(parts)
