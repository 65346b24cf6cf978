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

"""Legacy mdev options: ``nova/conf/devices.py`` and the libvirt driver's
``_get_supported_vgpu_types`` (Nova 34.0.0)."""

import testtools

from vfioclient.nova import errors
from vfioclient.nova import mdev


class TestMdev(testtools.TestCase):

    def test_first_type_without_addresses_is_default(self):
        layout = mdev.resolve_mdev_types([
            mdev.MdevType('nvidia-35'),
            mdev.MdevType('nvidia-36', ('0000:86:00.0',), 'CUSTOM_X'),
            mdev.MdevType('nvidia-37')])
        self.assertEqual('nvidia-35', layout.default_type)
        self.assertEqual(('nvidia-37',), layout.dropped)
        self.assertEqual('nvidia-36', layout.type_for('0000:86:00.0'))
        self.assertEqual('nvidia-35', layout.type_for('0000:84:00.0'))
        self.assertEqual('CUSTOM_X', layout.class_for('0000:86:00.0'))
        self.assertEqual('VGPU', layout.class_for('0000:84:00.0'))

    def test_duplicate_address(self):
        e = self.assertRaises(errors.InvalidMdevConfig,
                              mdev.resolve_mdev_types, [
                                  mdev.MdevType('a', ('0000:86:00.0',)),
                                  mdev.MdevType('b', ('0000:86:00.0',))])
        self.assertIn('duplicate types for PCI ID 0000:86:00.0', str(e))

    def test_bad_address(self):
        self.assertRaises(errors.InvalidMdevConfig, mdev.resolve_mdev_types,
                          [mdev.MdevType('a', ('86:00.0',))])

    def test_mdev_class(self):
        self.assertIsNone(mdev.mdev_class_problem('VGPU'))
        self.assertIsNone(mdev.mdev_class_problem('CUSTOM_NVIDIA_11'))
        self.assertIsNotNone(mdev.mdev_class_problem('custom_x'))
        self.assertIsNotNone(mdev.mdev_class_problem('PGPU'))
