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

"""The inventory reuse decision of ``vfio audit --reuse-snapshot``.

:func:`reuse_inventories` is pure; the collector and the command around it
are tested against real Placement in
``vfioclient/tests/functional/test_audit_reuse.py``.
"""

import dataclasses

import testtools

from vfioclient.collect import cloud as collect_cloud
from vfioclient.model import cloud as model
from vfioclient.nova import providers as nova_providers

ROOT = '11111111-1111-4111-8111-111111111111'
CHILD = '22222222-2222-4222-8222-222222222222'
OTHER_ROOT = '33333333-3333-4333-8333-333333333333'
CLASSES = ('VCPU', 'VGPU', 'SRIOV_NET_VF', 'NET_BW_EGR_KILOBIT_PER_SEC',
           'CUSTOM_NVIDIA_558')
LEGACY_NAME = nova_providers.legacy_provider_name('cmp1', '0000:41:00.4')


def bare(name=LEGACY_NAME, generation=3, parent=ROOT, root=ROOT,
         rp_uuid=CHILD):
    return model.Provider(uuid=rp_uuid, name=name, generation=generation,
                          parent_uuid=parent, root_uuid=root)


def kept(inventories, **kwargs):
    """A provider as an earlier snapshot holds one that mattered."""
    return dataclasses.replace(
        bare(**kwargs), inventories=inventories,
        usages={rc: 0 for rc in inventories}, traits=(), aggregates=None)


def decide(provider, earlier, root_name='cmp1', traits=None,
           classes=CLASSES):
    return collect_cloud.reuse_inventories(provider, earlier, root_name,
                                           traits, classes)


class TestReuseInventories(testtools.TestCase):

    INV = {'CUSTOM_NVIDIA_558': model.Inventory(total=1, max_unit=1)}

    def test_unchanged_provider_that_mattered_is_reused(self):
        verdict, inv = decide(bare(), kept(self.INV))
        self.assertEqual(collect_cloud.REUSE, verdict)
        self.assertEqual(self.INV, inv)

    def test_empty_inventories_that_mattered_are_reused(self):
        # Mattered by its name alone: {} is a known (empty) inventory.
        self.assertEqual((collect_cloud.REUSE, {}),
                         decide(bare(), kept({})))

    def test_new_provider_is_read(self):
        self.assertEqual((collect_cloud.READ, None), decide(bare(), None))

    def test_any_difference_is_read(self):
        for changed in (dict(generation=4), dict(generation=2),
                        dict(name=LEGACY_NAME + 'x'),
                        dict(parent=OTHER_ROOT, root=OTHER_ROOT),
                        dict(root=OTHER_ROOT),
                        dict(parent=None)):
            for earlier in (kept(self.INV, **changed), bare(**changed)):
                self.assertEqual((collect_cloud.READ, None),
                                 decide(bare(), earlier), changed)

    def test_root_is_never_reused(self):
        # Roots are never read by bulk; the decision says "read" so a
        # caller that asked would not be told anything made up.
        root = bare(parent=None, root=CHILD)
        self.assertEqual((collect_cloud.READ, None),
                         decide(root, kept({}, parent=None, root=CHILD)))

    def test_renamed_resource_class_is_read(self):
        # Custom classes can be renamed (1.2-1.6) without a generation
        # change: a reused class that no longer exists means a rename.
        classes = tuple(c for c in CLASSES if c != 'CUSTOM_NVIDIA_558')
        self.assertEqual((collect_cloud.READ, None),
                         decide(bare(), kept(self.INV), classes=classes))

    def test_bare_provider_that_still_does_not_matter_is_skipped(self):
        ovs = bare(name='cmp1:Open vSwitch agent')
        self.assertEqual((collect_cloud.IRRELEVANT, None),
                         decide(ovs, bare(name='cmp1:Open vSwitch agent'),
                                traits={'CUSTOM_PHYSNET_A'}))

    def test_bare_provider_now_a_pci_provider_is_read(self):
        # A trait write changes the generation, but decide from the fresh
        # traits anyway: they are read every time.
        ovs = bare(name='cmp1:Open vSwitch agent')
        self.assertEqual((collect_cloud.READ, None),
                         decide(ovs, bare(name='cmp1:Open vSwitch agent'),
                                traits={collect_cloud.PCI_PROVIDER_TRAIT}))

    def test_bare_provider_matching_a_renamed_root_is_read(self):
        # Renaming the root changes no generation of the child, but the
        # child's name now parses as Nova's: it matters, read it.
        self.assertIsNone(nova_providers.parse_provider_name(
            LEGACY_NAME, 'cmp1-old'))
        self.assertEqual((collect_cloud.READ, None),
                         decide(bare(), bare(), root_name='cmp1'))
        self.assertEqual((collect_cloud.IRRELEVANT, None),
                         decide(bare(), bare(), root_name='cmp1-old'))

    def test_skipped_provider_is_bare_as_a_fresh_read_would_give(self):
        # Whatever its (standard, unchanged) inventories are, a provider
        # the decision skips does not matter with them.
        ovs = bare(name='cmp1:Open vSwitch agent')
        verdict, _ = decide(ovs, bare(name='cmp1:Open vSwitch agent'))
        self.assertEqual(collect_cloud.IRRELEVANT, verdict)
        for standard in ({}, {'NET_BW_EGR_KILOBIT_PER_SEC':
                              model.Inventory(total=10)}):
            self.assertFalse(collect_cloud.provider_matters(
                ovs, 'cmp1', standard, set()))


class TestCollectorArguments(testtools.TestCase):

    def test_reuse_needs_bulk(self):
        earlier = model.build('2024-01-01T00:00:00Z', {}, '1.39', '2.96',
                              [], [], [], [], [], [], [])
        self.assertRaises(ValueError, collect_cloud.Collector, None,
                          strategy='per-provider', reuse=earlier)
        collector = collect_cloud.Collector(None, reuse=earlier)
        self.assertIs(earlier, collector.reuse)
        self.assertEqual((0, 0), (collector.inventories_reused,
                                  collector.inventory_children))
