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

"""Reading nova.conf files with oslo.config and finding their lines."""

import os

import fixtures
import testtools

from vfioclient.collect import conf
from vfioclient.model import conf as model


class ConfFiles(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def write(self, name, text, mode='w'):
        path = os.path.join(self.dir, name)
        with open(path, mode) as f:
            f.write(text)
        return path


class TestReadConf(ConfFiles):

    def test_combines_files_and_deprecated_names(self):
        a = self.write('a.conf', '[DEFAULT]\n'
                       'pci_passthrough_whitelist = {"a": 1}\n'
                       '[pci]\n'
                       'passthrough_whitelist = {"b": 2}\n'
                       'device_spec = {"c": 3}\n'
                       'device_spec = {"d":\n'
                       '  4}\n')
        b = self.write('b.conf', '[PCI]\ndevice_spec = {"e": 5}\n'
                       'report_in_placement = true\n'
                       '[filter_scheduler]\npci_in_placement = yes\n')
        snap = conf.read_conf([a, b])
        self.assertEqual(['{"a": 1}', '{"b": 2}', '{"c": 3}', '{"d":\n4}',
                          '{"e": 5}'],
                         [e.text for e in snap.device_specs])
        self.assertEqual([(a, 2), (a, 4), (a, 5), (a, 6), (b, 2)],
                         [(e.source.path, e.source.line)
                          for e in snap.device_specs])
        self.assertEqual('%s:6 [pci] device_spec #4' % a,
                         snap.device_specs[3].subject)
        self.assertTrue(snap.report_in_placement)
        self.assertTrue(snap.pci_in_placement)

    def test_later_file_overrides_scalar(self):
        a = self.write('a.conf', '[pci]\nreport_in_placement = true\n')
        b = self.write('b.conf', '[pci]\nreport_in_placement = false\n')
        self.assertFalse(conf.read_conf([a, b]).report_in_placement)
        self.assertTrue(conf.read_conf([b, a]).report_in_placement)

    def test_quotes_stripped_like_oslo(self):
        a = self.write('a.conf', "[pci]\nalias = '{\"name\": \"a\"}'\n")
        self.assertEqual('{"name": "a"}', conf.read_conf([a]).aliases[0].text)

    def test_mdev_groups(self):
        a = self.write('a.conf', '[devices]\n'
                       'enabled_vgpu_types = nvidia-35, nvidia-36\n'
                       '[vgpu_nvidia-35]\n'
                       'device_addresses = 0000:84:00.0, 0000:85:00.0\n'
                       '[mdev_nvidia-36]\nmdev_class = CUSTOM_X\n'
                       'max_instances = 4\n'
                       '[mdev_nvidia-99]\n')
        snap = conf.read_conf([a])
        self.assertEqual(('nvidia-35', 'nvidia-36'), snap.enabled_mdev_types)
        g35, g36 = snap.mdev_groups
        self.assertEqual(('0000:84:00.0', '0000:85:00.0'),
                         g35.device_addresses)
        self.assertEqual(4, g35.addresses_source.line)
        self.assertEqual(('CUSTOM_X', 4), (g36.mdev_class, g36.max_instances))
        self.assertEqual(['mdev_nvidia-99'],
                         [s.section for s in snap.stray_mdev_sections])

    def test_bad_values_are_option_errors(self):
        a = self.write('a.conf', '[pci]\nreport_in_placement = maybe\n'
                       '[devices]\nenabled_mdev_types = t\n'
                       '[mdev_t]\nmdev_class = custom_x\n'
                       'max_instances = 0\n')
        snap = conf.read_conf([a])
        messages = ' '.join(e.message for e in snap.option_errors)
        self.assertEqual(3, len(snap.option_errors), messages)
        self.assertIn("doesn't match regex", messages)
        self.assertFalse(snap.report_in_placement)

    def test_dev_spec_detected(self):
        a = self.write('a.conf', "[pci]\ndev_spec = {'vendor_id': '8086'}\n")
        snap = conf.read_conf([a])
        self.assertEqual((), snap.device_specs)
        self.assertEqual('dev_spec', snap.unknown_pci_options[0].source.option)
        self.assertEqual(2, snap.unknown_pci_options[0].source.line)


class TestReadErrors(ConfFiles):

    def assertReadError(self, paths, text):
        e = self.assertRaises(model.ConfReadError, conf.read_conf, paths)
        self.assertIn(text, str(e))

    def test_missing(self):
        self.assertReadError([os.path.join(self.dir, 'nope.conf')],
                             'does not exist')

    def test_directory(self):
        self.assertReadError([self.dir], 'is a directory')

    def test_not_ini(self):
        self.assertReadError([self.write('x.conf', 'hello world\n')],
                             'is not an INI file')
        self.assertReadError([self.write('y.conf', 'key = value\n')],
                             'is not an INI file')

    def test_binary(self):
        self.assertReadError([self.write('b.conf', b'\xff\xfe\x00junk',
                                         'wb')], 'is not a text file')
        self.assertReadError([self.write('n.conf', '[pci]\x00\n')],
                             'is not a text file')

    def test_unreadable(self):
        # Root reads mode-000 files, so make the OS refuse the open itself.
        path = self.write('u.conf', '[pci]\n')
        real_open = open

        def refusing_open(file, *args, **kwargs):
            if os.fspath(file) == path:
                raise PermissionError(13, 'Permission denied', path)
            return real_open(file, *args, **kwargs)
        self.useFixture(fixtures.MonkeyPatch('builtins.open',
                                             refusing_open))
        self.assertReadError([path], 'cannot read')

    def test_no_files(self):
        self.assertReadError([], 'no nova.conf')
