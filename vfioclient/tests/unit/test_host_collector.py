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

"""``openstack vfio host collector``: the printed collector script.

It runs with ``python3 -I -S`` (standard library only) and writes, for
every fixture host and for broken trees, the document ``openstack vfio
host report -f json`` writes (``collected_at`` aside).
"""

import ast
import importlib.util
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import sys

import fixtures
from oslotest import base

from vfioclient.collect import hostscan_script
from vfioclient.collect import libvirt_cache
from vfioclient.sandbox import estates
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.sandbox import hosts as sandbox_hosts
from vfioclient.tests import base as tests_base
from vfioclient.tests import collector_run
from vfioclient.tests.shell import run_shell

COLLECTED_AT = '2026-01-01T00:00:00Z'


def fixture_hosts():
    """``[(label, host spec)]``: every preset, then the GPU hosts of every
    sandbox estate, one per distinct tree (hosts whose specs differ only
    by name make the same tree)."""
    found = [('preset %s' % name, fake_sysfs.preset(name))
             for name in sorted(fake_sysfs.PRESETS)]
    for estate in sorted(estates.ESTATES):
        seen = set()
        specs = sandbox_hosts.host_specs(estates.get(estate))
        for hostname, spec in sorted(specs.items()):
            shape = json.dumps(dict(spec, hostname=None), sort_keys=True,
                               default=str)
            if shape not in seen:
                seen.add(shape)
                found.append(('estate %s host %s' % (estate, hostname),
                              spec))
    return found


def caps_xml(selfvers, version):
    """A libvirt QEMU capabilities cache file (virQEMUCapsFormatCache)."""
    return ('<qemuCaps>\n  <selfvers>%d</selfvers>\n'
            '  <version>%d</version>\n  <arch>%s</arch>\n</qemuCaps>\n'
            % (selfvers, version, os.uname().machine))


class CollectorTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tests_base.CleanOsEnvironment())
        self.dir = self.useFixture(fixtures.TempDir()).path
        rc, out, err = run_shell(('vfio', 'host', 'collector'), self)
        self.assertEqual((0, ''), (rc, err))
        self.script_text = out
        self.script = os.path.join(self.dir, 'vfio-host-report')
        with open(self.script, 'w') as f:
            f.write(out)

    def tree(self, spec, name='host'):
        root = os.path.join(self.dir, name)
        os.makedirs(root)
        fake_sysfs.build_host(root, spec)
        return root

    def from_script(self, root, *args):
        """The script's document; its stdout is exactly json.dumps(doc,
        indent=2) and a newline."""
        result = collector_run.run(self.script, ('--sysfs-root', root)
                                   + args, cwd=self.dir)
        self.assertEqual((0, ''), (result.returncode, result.stderr))
        doc = json.loads(result.stdout)
        self.assertEqual(json.dumps(doc, indent=2) + '\n', result.stdout)
        return doc

    def from_command(self, root, *args):
        rc, out, err = run_shell(('vfio', 'host', 'report', '-f', 'json',
                                  '--sysfs-root', root) + args, self)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def assertSameReport(self, root, *args):
        """Both documents, ``collected_at`` set aside, are the same JSON
        text (keys in the same order)."""
        script_doc = self.from_script(root, *args)
        command_doc = self.from_command(root, *args)
        for doc in (script_doc, command_doc):
            self.assertRegex(doc.pop('collected_at'),
                             r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')
        self.assertEqual(json.dumps(command_doc, indent=2),
                         json.dumps(script_doc, indent=2))
        return script_doc


class TestSameReportAsHostReport(CollectorTestCase):

    def test_every_fixture_host(self):
        hosts = fixture_hosts()
        self.assertGreater(len(hosts), len(fake_sysfs.PRESETS) + 5)
        gpus = 0
        for index, (label, spec) in enumerate(hosts):
            root = self.tree(spec, 'host%d' % index)
            hostname = spec.get('hostname') or 'host%d' % index
            try:
                doc = self.assertSameReport(root, '--hostname', hostname)
            except Exception as e:
                raise AssertionError('%s: %s' % (label, e))
            self.assertEqual(hostname, doc['hostname'])
            gpus += len(doc['gpus'])
        self.assertGreater(gpus, 20)

    def test_versions_from_the_cache_and_given(self):
        root = self.tree(fake_sysfs.preset('a10'))
        directory = os.path.join(root, libvirt_cache.CAPABILITIES_DIR)
        os.makedirs(directory)
        with open(os.path.join(directory, 'a.xml'), 'w') as f:
            f.write(caps_xml(10002000, 9001000))
        doc = self.assertSameReport(root, '--hostname', 'h')
        self.assertEqual(('10.2.0', '9.1.0'),
                         (doc['libvirt_version'], doc['qemu_version']))
        doc = self.assertSameReport(root, '--hostname', 'h',
                                    '--libvirt-version', '10.0.0',
                                    '--qemu-version', '8.2.2')
        self.assertEqual(('10.0.0', '8.2.2'),
                         (doc['libvirt_version'], doc['qemu_version']))

    def test_default_hostname_is_this_machine(self):
        root = self.tree(fake_sysfs.preset('t4'))
        doc = self.assertSameReport(root)
        self.assertEqual(socket.gethostname(), doc['hostname'])


# Edits of a tree, as test_loader_fuzz makes them at random: each replaces
# one entry (a file, directory or link) under sys/ or etc/.
GARBAGE = (b'', b'\n', b'0x10de\n', b'0x030000\n', b'-1\n', b'0x\n',
           b'\xff\xfe\n', b'ID    : vGPU Name\n', b'593 \n', b'abc : def\n',
           b'99999999999999999999\n', b'{"mdev_type": 7}\n')
EDITS = ('garbage', 'empty', 'dangle', 'loop', 'unreadable', 'remove',
         'dir-for-file')


def _entries(root):
    found = []
    for top in ('sys', 'etc'):
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            found.extend(os.path.join(dirpath, n)
                         for n in dirnames + filenames)
    return sorted(found)


def _clear(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def break_tree(root, rng, count):
    """Apply ``count`` random edits; return them, for messages."""
    done = []
    for _ in range(count):
        path = rng.choice(_entries(root))
        op = rng.choice(EDITS)
        _clear(path)
        if op in ('garbage', 'empty'):
            with open(path, 'wb') as f:
                f.write(rng.choice(GARBAGE) if op == 'garbage' else b'')
        elif op == 'dangle':
            os.symlink('../does-not-exist/' + os.path.basename(path), path)
        elif op == 'loop':
            os.symlink(os.path.basename(path), path)
        elif op == 'unreadable':
            # Root reads through chmod 000: a directory stands in (EISDIR).
            if os.geteuid() == 0:
                os.makedirs(path)
            else:
                with open(path, 'wb') as f:
                    f.write(b'1\n')
                os.chmod(path, 0)
        elif op == 'dir-for-file':
            os.makedirs(os.path.join(path, 'x'))
        done.append('%s %s' % (op, os.path.relpath(path, root)))
    return done


class TestBrokenTrees(CollectorTestCase):

    def test_broken_preset_gives_the_same_warnings(self):
        root = self.tree(fake_sysfs.preset('broken'))
        doc = self.assertSameReport(root, '--hostname', 'broken-host')
        self.assertGreater(len(doc['warnings']), 5)

    def test_no_sysfs(self):
        os.makedirs(os.path.join(self.dir, 'empty'))
        doc = self.assertSameReport(os.path.join(self.dir, 'empty'))
        self.assertEqual([{'path': '/sys/bus/pci/devices',
                           'message': 'missing: no PCI devices could be '
                                      'read'}], doc['warnings'])

    def test_random_edits_give_the_same_warnings(self):
        with_warnings = 0
        presets = ('a40', 't4', 'l40s', 'a10')
        for seed in range(16):
            rng = random.Random(seed)
            spec = fake_sysfs.preset(presets[seed % len(presets)])
            root = self.tree(spec, 'case%d' % seed)
            edits = break_tree(root, rng, rng.randint(1, 4))
            try:
                doc = self.assertSameReport(root, '--hostname', 'h')
            except Exception as e:
                raise AssertionError('seed %d (%s): %s'
                                     % (seed, '; '.join(edits), e))
            with_warnings += bool(doc['warnings'])
        self.assertGreater(with_warnings, 8)


class TestScriptSource(CollectorTestCase):
    """What the printed file holds, read without running it."""

    def embedded(self):
        """``[(name, is a package, source)]`` of the printed MODULES."""
        tree = ast.parse(self.script_text)
        (node,) = [n for n in tree.body if isinstance(n, ast.Assign)
                   and n.targets[0].id == 'MODULES']
        return ast.literal_eval(node.value)

    def test_imports_only_the_standard_library(self):
        modules = self.embedded()
        bundled = {name for name, _package, _source in modules}
        sources = [('script', self.script_text)] + [
            (name, source) for name, _package, source in modules]
        for name, source in sources:
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    imported = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    self.assertEqual(0, node.level, name)
                    imported = [node.module]
                else:
                    continue
                for module in imported:
                    self.assertTrue(
                        module in bundled
                        or module.split('.')[0] in sys.stdlib_module_names,
                        '%s imports %s' % (name, module))

    def test_modules_are_the_package_sources_in_order(self):
        modules = self.embedded()
        names = [name for name, _package, _source in modules]
        self.assertEqual(hostscan_script.ENTRY_MODULE, names[-1])
        for owner in ('vfioclient.nova.pci_address',
                      'vfioclient.nvidia.classify',
                      'vfioclient.nvidia.pci_ids',
                      'vfioclient.nvidia.profiles',
                      'vfioclient.nvidia.vgpu_types'):
            self.assertIn(owner, names)
        # vgpu_types before the modules that import it.
        self.assertLess(names.index('vfioclient.nvidia.vgpu_types'),
                        names.index('vfioclient.nvidia.profiles'))
        for name, package, source in modules:
            spec = importlib.util.find_spec(name)
            self.assertEqual(package,
                             spec.submodule_search_locations is not None)
            with open(spec.origin, encoding='utf-8') as f:
                self.assertEqual(f.read(), source, name)

    def test_runs_with_the_standard_library_alone(self):
        root = self.tree(fake_sysfs.preset('a40'))
        result, loaded = collector_run.loaded_modules(
            self.script, ('--sysfs-root', root), cwd=self.dir)
        self.assertEqual(0, result.returncode, result.stderr)
        bundled = {name for name, _package, _source in self.embedded()}
        self.assertTrue(bundled <= set(loaded))
        self.assertEqual([], collector_run.not_stdlib(loaded, bundled))
        self.assertEqual(['yaml'],
                         collector_run.not_stdlib(['yaml', 'os.path']))


class TestBundle(base.BaseTestCase):
    """Building the script refuses what a bare python3 cannot run."""

    def bundle_with(self, sources):
        real = hostscan_script._read_module

        def read(name):
            return sources[name] if name in sources else real(name)
        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.collect.hostscan_script._read_module', read))
        self.useFixture(fixtures.MonkeyPatch(
            'vfioclient.collect.hostscan_script._spec',
            lambda name: object() if name in sources
            else importlib.util.find_spec(name)))
        return hostscan_script.render_script('vfioclient.collect.fake')

    def assertRefused(self, sources, message):
        e = self.assertRaises(hostscan_script.BundleError,
                              self.bundle_with, sources)
        self.assertIn(message, str(e))

    def test_third_party_import(self):
        self.assertRefused(
            {'vfioclient.collect.fake': ('import yaml\n', False)},
            'vfioclient.collect.fake imports yaml')

    def test_module_importing_outside_the_standard_library(self):
        self.assertRefused(
            {'vfioclient.collect.fake': (
                'from vfioclient.model import host\n', False)},
            'vfioclient.model.schema imports jsonschema')

    def test_newer_syntax(self):
        self.assertRefused(
            {'vfioclient.collect.fake': (
                'match 1:\n    case 1:\n        pass\n', False)},
            'not Python 3.8 syntax')

    def test_cycle(self):
        self.assertRefused(
            {'vfioclient.collect.fake': (
                'from vfioclient.collect import fake2\n', False),
             'vfioclient.collect.fake2': (
                 'from vfioclient.collect import fake\n', False)},
            'import cycle through vfioclient.collect.fake')

    def test_source_that_cannot_be_embedded(self):
        self.assertRefused(
            {'vfioclient.collect.fake': ("x = '''a'''\n", False)},
            'cannot be embedded')

    def test_relative_and_stdlib_imports_are_followed(self):
        script = self.bundle_with(
            {'vfioclient.collect.fake': (
                'import os.path\nfrom . import hostscan\n', False)})
        self.assertIn("('vfioclient.collect.hostscan', False", script)
        self.assertLess(script.index("('vfioclient.collect.hostscan'"),
                        script.index("('vfioclient.collect.fake'"))


class TestCommand(CollectorTestCase):

    def test_output_file_is_an_executable_script(self):
        path = os.path.join(self.dir, 'out', 'collector')
        os.makedirs(os.path.dirname(path))
        rc, out, err = run_shell(('vfio', 'host', 'collector', '--output',
                                  path), self)
        self.assertEqual((0, '', ''), (rc, out, err))
        self.assertEqual(0o755, stat.S_IMODE(os.stat(path).st_mode))
        with open(path) as f:
            self.assertEqual(self.script_text, f.read())
        self.assertTrue(self.script_text.startswith(
            '#!/usr/bin/env python3\n'))
        # Its shebang runs it.
        root = self.tree(fake_sysfs.preset('a10'))
        result = subprocess.run([path, '--sysfs-root', root, '--hostname',
                                 'a10-host'], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                timeout=120, check=False)
        self.assertEqual(0, result.returncode, result.stderr)
        self.assertEqual('a10-host', json.loads(result.stdout)['hostname'])

    def test_output_in_a_missing_directory(self):
        path = os.path.join(self.dir, 'nowhere', 'collector')
        rc, _out, err = run_shell(('vfio', 'host', 'collector', '--output',
                                   path), self)
        self.assertEqual(1, rc)
        self.assertIn('cannot write %s' % path, err)

    def test_bad_root(self):
        missing = os.path.join(self.dir, 'missing')
        result = collector_run.run(self.script, ('--sysfs-root', missing))
        self.assertEqual((1, ''), (result.returncode, result.stdout))
        self.assertEqual('vfio-host-report: --sysfs-root %s is not a '
                         'directory\n' % missing, result.stderr)
        rc, _out, err = run_shell(('vfio', 'host', 'report',
                                   '--sysfs-root', missing), self)
        self.assertEqual(1, rc)
        self.assertIn('--sysfs-root %s is not a directory' % missing, err)

    def test_bad_version(self):
        result = collector_run.run(self.script, ('--qemu-version', '8.2'))
        self.assertEqual(2, result.returncode)
        self.assertIn("argument --qemu-version: '8.2' is not a version "
                      "like 10.0.0", result.stderr)

    def test_help(self):
        result = collector_run.run(self.script, ('--help',))
        self.assertEqual(0, result.returncode, result.stderr)
        for option in ('--sysfs-root DIR', '--hostname NAME',
                       '--libvirt-version X.Y.Z', '--qemu-version X.Y.Z'):
            self.assertIn(option, result.stdout)
