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


"""libvirt / QEMU versions in the host report: read from libvirt's QEMU
capabilities cache, or given with ``host report --libvirt-version
--qemu-version``."""

import json
import os

import fixtures
from oslotest import base

from vfioclient.collect import hostscan
from vfioclient.collect import libvirt_cache
from vfioclient.model import host as model
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests import base as tests_base
from vfioclient.tests.shell import run_shell


def caps_xml(selfvers, version, arch='x86_64'):
    """The top of a cache file as virQEMUCapsFormatCache writes it."""
    return ('<qemuCaps>\n'
            '  <emulator>/usr/bin/qemu-system-%s</emulator>\n'
            '  <qemuctime>1700000000</qemuctime>\n'
            '  <selfctime>1700000000</selfctime>\n'
            '  <selfvers>%d</selfvers>\n'
            "  <flag name='kvm'/>\n"
            '  <version>%d</version>\n'
            '  <kvmVersion>0</kvmVersion>\n'
            '  <arch>%s</arch>\n'
            '</qemuCaps>\n' % (arch, selfvers, version, arch))


class CacheTestCase(base.BaseTestCase):

    def setUp(self):
        super().setUp()
        self.root = self.useFixture(fixtures.TempDir()).path

    def cache(self, name, text):
        directory = os.path.join(self.root, libvirt_cache.CAPABILITIES_DIR)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        with open(path, 'w') as f:
            f.write(text)
        return path


class TestReadVersions(CacheTestCase):

    def test_numbers(self):
        self.assertEqual('8.2.2', libvirt_cache.version_from_number(8002002))
        self.assertEqual('10.0.0', libvirt_cache.version_from_number(10000000))
        self.assertEqual('9.10.11', libvirt_cache.version_from_number(9010011))

    def test_one_file(self):
        self.cache('a.xml', caps_xml(10000000, 8002002))
        self.assertEqual(libvirt_cache.Versions('10.0.0', '8.2.2'),
                         libvirt_cache.read_versions(self.root, 'x86_64'))

    def test_newest_libvirt_host_arch_and_lowest_qemu(self):
        self.cache('old.xml', caps_xml(9000000, 6002000))     # left-over
        self.cache('kvm.xml', caps_xml(10000000, 8002002))
        self.cache('sys.xml', caps_xml(10000000, 9000000))
        self.cache('arm.xml', caps_xml(10000000, 7000000, 'aarch64'))
        self.cache('notes.txt', 'not a cache file')
        self.assertEqual(libvirt_cache.Versions('10.0.0', '8.2.2'),
                         libvirt_cache.read_versions(self.root, 'x86_64'))

    def test_no_cache_is_no_finding(self):
        self.assertEqual(libvirt_cache.Versions(),
                         libvirt_cache.read_versions(self.root, 'x86_64'))

    def test_garbled_and_other_arch_files(self):
        self.cache('a.xml', '<qemuCaps><version>x</version>')
        self.cache('b.xml', caps_xml(10000000, 8002002, 'aarch64'))
        self.assertEqual(libvirt_cache.Versions('10.0.0', None),
                         libvirt_cache.read_versions(self.root, 'x86_64'))
        # libvirt's own test data writes selfvers 0: not a version.
        self.cache('b.xml', caps_xml(0, 8002002))
        self.assertEqual(libvirt_cache.Versions(None, '8.2.2'),
                         libvirt_cache.read_versions(self.root, 'x86_64'))

    def test_unreadable_file_is_a_warning(self):
        path = self.cache('a.xml', caps_xml(10000000, 8002002))
        self.useFixture(fixtures.MonkeyPatch(
            'builtins.open', _refuse(path)))
        found = libvirt_cache.read_versions(self.root, 'x86_64')
        self.assertEqual((None, None), (found.libvirt, found.qemu))
        ((path, message),) = found.warnings
        self.assertEqual('/%s/a.xml' % libvirt_cache.CAPABILITIES_DIR, path)
        self.assertIn('--libvirt-version', message)

    def test_given_versions_win(self):
        self.cache('a.xml', caps_xml(9000000, 8000000))
        found = hostscan.collect(self.root, hostname='h',
                                 libvirt_version='10.1.0', arch='x86_64')
        self.assertEqual(('10.1.0', '8.0.0'),
                         (found['libvirt_version'], found['qemu_version']))
        both = hostscan.collect(self.root, hostname='h',
                                libvirt_version='10.1.0',
                                qemu_version='9.0.0', arch='x86_64')
        self.assertEqual(('10.1.0', '9.0.0'),
                         (both['libvirt_version'], both['qemu_version']))


def _refuse(path):
    real_open = open

    def fake_open(name, *args, **kwargs):
        if name == path:
            raise PermissionError(13, 'Permission denied')
        return real_open(name, *args, **kwargs)
    return fake_open


class TestDocument(base.BaseTestCase):

    def doc(self, **extra):
        doc = {'schema_version': 1, 'kind': 'vfio-host-report',
               'hostname': 'h', 'collected_at': '2026-01-01T00:00:00Z',
               'sysfs_root': '/', 'devices': [], 'gpus': [],
               'warnings': []}
        doc.update(extra)
        return doc

    def test_versions_are_optional_keys(self):
        report = model.HostReport.from_json(self.doc())
        self.assertEqual((None, None),
                         (report.libvirt_version, report.qemu_version))
        self.assertNotIn('libvirt_version', report.to_json())
        report = model.HostReport.from_json(self.doc(
            libvirt_version='10.0.0', qemu_version='8.2.2'))
        self.assertEqual(('10.0.0', '8.2.2'),
                         (report.libvirt_version, report.qemu_version))
        self.assertEqual(self.doc(libvirt_version='10.0.0',
                                  qemu_version='8.2.2'), report.to_json())

    def test_bad_version_is_refused(self):
        for bad in ('10', 'ten', 10, '10.0.0-1ubuntu'):
            self.assertRaises(model.HostReportError,
                              model.HostReport.from_json,
                              self.doc(qemu_version=bad))


class TestReportCommand(CacheTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(tests_base.CleanOsEnvironment())
        fake_sysfs.build_host(self.root, fake_sysfs.preset('a10'))

    def report(self, *extra):
        rc, out, err = run_shell(('vfio', 'host', 'report', '--sysfs-root',
                                  self.root, '-f', 'json') + extra, self)
        self.assertEqual(0, rc, err)
        return json.loads(out)

    def test_options(self):
        doc = self.report('--libvirt-version', '10.0.0',
                          '--qemu-version', '8.2.2')
        self.assertEqual(('10.0.0', '8.2.2'),
                         (doc['libvirt_version'], doc['qemu_version']))

    def test_read_from_the_cache(self):
        self.cache('a.xml', caps_xml(10002000, 9001000,
                                     os.uname().machine))
        doc = self.report()
        self.assertEqual(('10.2.0', '9.1.0'),
                         (doc['libvirt_version'], doc['qemu_version']))

    def test_neither(self):
        doc = self.report()
        self.assertNotIn('libvirt_version', doc)
        self.assertNotIn('qemu_version', doc)

    def test_bad_option_value(self):
        rc, _out, err = run_shell(('vfio', 'host', 'report', '--sysfs-root',
                                   self.root, '--qemu-version', '8.2'), self)
        self.assertEqual(2, rc)
        self.assertIn("'8.2' is not a version like 10.0.0", err)
