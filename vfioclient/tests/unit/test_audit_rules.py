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

"""Audit rules on hand-built snapshots: every finding by code and subject."""

import json

import testtools

from vfioclient.model import cloud as model
from vfioclient.nova import alias as nova_alias
from vfioclient.rules import audit
from vfioclient.rules import findings as F
from vfioclient.sandbox import estates
from vfioclient.tests.unit import builders


def codes(found):
    return sorted({(f.code, f.subject) for f in found})


def by_code(found, code):
    return [f for f in found if f.code == code]


class TestRecognise(testtools.TestCase):

    def test_legacy_vf_and_pci_pf_are_the_same_gpu(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        vf = b.legacy('cmp1', '0000:41:00.4')
        pf = b.pci('cmp1', '0000:41:00.0', 'CUSTOM_NVIDIA_A40_2Q', 3)
        estate = audit.recognise(b.snapshot())
        self.assertEqual(1, len(estate.gpus))
        gpu = estate.gpus[0]
        self.assertEqual(('cmp1', '0000:41:00.0'), (gpu.host, gpu.address))
        self.assertEqual((vf.uuid,), tuple(p.uuid for p in gpu.legacy))
        self.assertEqual((pf.uuid,), tuple(p.uuid for p in gpu.pci))

    def test_t4_provider_on_pf_is_its_own_gpu(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.legacy('cmp1', '0000:3b:00.0', total=16)
        b.legacy('cmp1', '0000:d8:00.0', total=16)
        estate = audit.recognise(b.snapshot())
        self.assertEqual(['0000:3b:00.0', '0000:d8:00.0'],
                         [g.address for g in estate.gpus])

    def test_custom_mdev_class_is_recognised(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.legacy('cmp1', '0000:41:00.4', rc='CUSTOM_NVIDIA_558')
        estate = audit.recognise(b.snapshot())
        self.assertEqual(frozenset({'CUSTOM_NVIDIA_558'}),
                         estate.mdev_classes)


class TestFindings(testtools.TestCase):

    def test_pure_legacy_estate(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        p1 = b.legacy('cmp1', '0000:41:00.4', used=1)
        b.legacy('cmp1', '0000:41:00.5')
        flavor = b.flavor('vgpu.small', **{'resources:VGPU': '1'})
        s = b.server('vm1', 'cmp1', flavor, p1)
        found = audit.audit(b.snapshot())
        self.assertEqual([
            ('VFIO-A101', 'host cmp1'),
            ('VFIO-A102', 'flavor vgpu.small (%s)' % flavor.id),
            ('VFIO-A103', 'server vm1 (%s)' % s.id),
        ], codes(found))
        self.assertEqual('1 of 2 VGPU in use on 2 legacy provider(s)',
                         by_code(found, 'VFIO-A101')[0].message)
        self.assertIn('1 server(s) use it',
                      by_code(found, 'VFIO-A102')[0].message)
        self.assertEqual(0, F.exit_code(found))

    def test_stale_provider_without_and_with_allocations(self):
        b = builders.EstateBuilder()
        b.host('gone', in_nova=False)
        idle = b.legacy('gone', '0000:41:00.4')
        busy = b.legacy('gone', '0000:41:00.5', used=1)
        b.allocate(builders.uid('orphan'), busy)
        found = audit.audit(b.snapshot())
        self.assertIn(('VFIO-A104', 'provider %s (%s)' % (idle.name,
                                                         idle.uuid)),
                      codes(found))
        self.assertIn(('VFIO-A105', 'provider %s (%s)' % (busy.name,
                                                         busy.uuid)),
                      codes(found))
        self.assertIn('Nova has no compute node or service named gone',
                      by_code(found, 'VFIO-A104')[0].message)
        self.assertEqual(2, F.exit_code(found))

    def test_converted_host_keeps_schedulable_legacy_providers(self):
        # nova.conf of cmp1 enables no mdev type: its idle legacy providers
        # are one error naming the host and every provider; a provider with
        # an allocation stays VFIO-A105.
        b = builders.EstateBuilder()
        b.host('cmp1.example.org')
        idle1 = b.legacy('cmp1.example.org', '0000:41:00.4')
        idle2 = b.legacy('cmp1.example.org', '0000:41:00.5')
        busy = b.legacy('cmp1.example.org', '0000:41:00.6', used=1)
        b.allocate(builders.uid('vm'), busy)
        found = audit.audit(b.snapshot(),
                            mdev_types_by_host={'cmp1': ()})
        converted = by_code(found, 'VFIO-A118')
        self.assertEqual(['host cmp1.example.org'],
                         [f.subject for f in converted])
        self.assertEqual('error', converted[0].severity)
        for p in (idle1, idle2):
            self.assertIn('%s (%s)' % (p.name, p.uuid), converted[0].message)
        self.assertNotIn(busy.uuid, converted[0].message)
        self.assertIn('nova.conf of cmp1.example.org enables no mdev type',
                      converted[0].message)
        self.assertIn(('VFIO-A105', 'provider %s (%s)' % (busy.name,
                                                         busy.uuid)),
                      codes(found))
        self.assertEqual([], by_code(found, 'VFIO-A104'))
        self.assertEqual(2, F.exit_code(found))

    def test_host_that_still_enables_its_type_is_not_converted(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.legacy('cmp1', '0000:41:00.4')
        for types in ({'cmp1': ('nvidia-558',)}, {'other': ()}, None):
            found = audit.audit(b.snapshot(), mdev_types_by_host=types)
            self.assertEqual([], by_code(found, 'VFIO-A118'), types)

    def test_host_report_without_mdev_support_is_converted(self):
        b = builders.EstateBuilder()
        host = 'a40-host'
        b.host(host)
        vfs = estates.vf_addresses(builders.A40_PF, 2)
        providers = [b.legacy(host, vf) for vf in vfs]
        report = builders.report('l40s', hostname=host,
                                 address=builders.A40_PF)
        found = audit.audit(b.snapshot(), host_reports=[report])
        converted = by_code(found, 'VFIO-A118')
        self.assertEqual(['host %s' % host], [f.subject for f in converted])
        self.assertIn('host report of %s shows no mdev support' % host,
                      converted[0].message)
        for p in providers:
            self.assertIn(p.uuid, converted[0].message)

    def test_orphan_allocation(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        p = b.legacy('cmp1', '0000:41:00.4', used=1)
        b.allocate(builders.uid('ghost'), p)
        found = audit.audit(b.snapshot())
        orphan = by_code(found, 'VFIO-A106')
        self.assertEqual(['consumer %s' % builders.uid('ghost')],
                         [f.subject for f in orphan])
        self.assertIn('VGPU=1 on cmp1_pci_0000_41_00_4', orphan[0].message)

    def test_allocation_on_another_host(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.host('cmp2')
        p = b.legacy('cmp2', '0000:41:00.4', used=1)
        flavor = b.flavor('vgpu', **{'resources:VGPU': '1'})
        s = b.server('vm1', 'cmp1', flavor, p)
        found = by_code(audit.audit(b.snapshot()), 'VFIO-A107')
        self.assertEqual(['server vm1 (%s)' % s.id],
                         [f.subject for f in found])
        self.assertIn('but the server is on cmp1', found[0].message)

    def test_same_gpu_twice_and_mixed_vfs(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.legacy('cmp1', '0000:41:00.4', rc='VGPU')
        b.legacy('cmp1', '0000:41:00.5', rc='CUSTOM_NVIDIA_558')
        b.pci('cmp1', '0000:41:00.0', 'CUSTOM_NVIDIA_A40_2Q', 2)
        found = audit.audit(b.snapshot())
        self.assertEqual(['gpu 0000:41:00.0 on cmp1'],
                         [f.subject for f in by_code(found, 'VFIO-A108')])
        self.assertEqual(['gpu 0000:41:00.0 on cmp1'],
                         [f.subject for f in by_code(found, 'VFIO-A109')])

    def test_pci_provider_with_two_classes(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        p = b.child('cmp1', 'cmp1_0000:41:00.0',
                    {'CUSTOM_A': 2, 'CUSTOM_B': 2},
                    traits=('COMPUTE_MANAGED_PCI_DEVICE',))
        found = by_code(audit.audit(b.snapshot()), 'VFIO-A110')
        self.assertEqual(['provider %s (%s)' % (p.name, p.uuid)],
                         [f.subject for f in found])

    def test_pci_class_unused_and_alias_class_missing(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.pci('cmp1', '0000:41:00.0', 'CUSTOM_NVIDIA_A40_2Q', 4)
        flavor = b.flavor('a40-4q', **{'pci_passthrough:alias': 'a40-4q:1'})
        snap = b.snapshot()
        # Without alias config: an info finding, no guess.
        found = audit.audit(snap)
        self.assertEqual(['flavors'],
                         [f.subject for f in by_code(found, 'VFIO-A117')])
        self.assertEqual([], by_code(found, 'VFIO-A111'))
        aliases = nova_alias.parse_aliases(
            ['{"name": "a40-4q", "device_type": "type-VF", '
             '"resource_class": "CUSTOM_NVIDIA_A40_4Q"}'],
            pci_in_placement=True)
        found = audit.audit(snap, aliases=aliases)
        self.assertEqual(['resource class CUSTOM_NVIDIA_A40_2Q'],
                         [f.subject for f in by_code(found, 'VFIO-A111')])
        missing = by_code(found, 'VFIO-A112')
        self.assertEqual(['flavor a40-4q (%s)' % flavor.id],
                         [f.subject for f in missing])
        self.assertIn('CUSTOM_NVIDIA_A40_4Q', missing[0].message)

    def test_clean_converted_estate_has_no_warnings(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        pf = b.pci('cmp1', '0000:41:00.0', 'CUSTOM_NVIDIA_A40_2Q', 4,
                   used=1)
        flavor = b.flavor('a40-2q', **{'pci_passthrough:alias': 'a40-2q:1'})
        b.server('vm1', 'cmp1', flavor, pf, rc='CUSTOM_NVIDIA_A40_2Q')
        aliases = nova_alias.parse_aliases(
            ['{"name": "a40-2q", "device_type": "type-VF", '
             '"resource_class": "CUSTOM_NVIDIA_A40_2Q"}'],
            pci_in_placement=True)
        found = audit.audit(b.snapshot(), aliases=aliases)
        self.assertEqual([], found)

    def test_flavor_asks_for_missing_and_invalid_classes(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.legacy('cmp1', '0000:41:00.4')
        bad = b.flavor('bad', **{'resources:CUSTOM_a-b': '1'})
        gone = b.flavor('gone', **{'resources:CUSTOM_NVIDIA_999': '1'})
        found = audit.audit(b.snapshot())
        self.assertEqual(['flavor bad (%s)' % bad.id],
                         [f.subject for f in by_code(found, 'VFIO-A113')])
        self.assertEqual(['flavor gone (%s)' % gone.id],
                         [f.subject for f in by_code(found, 'VFIO-A112')])

    def test_wide_tree_risk(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        for i in range(8):
            b.legacy('cmp1', '0000:41:0%d.%d' % (i // 4, 4 + i % 4))
        b.flavor('two', **{'resources1:VGPU': '1', 'resources2:VGPU': '1'})
        b.flavor('one', **{'resources:VGPU': '1'})
        found = by_code(audit.audit(b.snapshot()), 'VFIO-A114')
        self.assertEqual(['flavor two (%s)' % builders.uid('flavortwo')],
                         [f.subject for f in found])
        self.assertIn('max_allocation_candidates', found[0].remedy)

    def test_old_services(self):
        b = builders.EstateBuilder()
        b.placement_max = '1.30'
        b.compute_max = '2.96'
        found = audit.audit(b.snapshot())
        self.assertEqual([('VFIO-A115', 'placement'),
                          ('VFIO-A116', 'compute')], codes(found))
        self.assertIn('2.96', by_code(found, 'VFIO-A116')[0].message)

    def test_output_is_deterministic(self):
        def build(order):
            b = builders.EstateBuilder()
            for host in order:
                b.host(host, in_nova=False)
                b.legacy(host, '0000:41:00.4', used=1)
            return audit.audit(b.snapshot())
        self.assertEqual(build(['a', 'b', 'c']), build(['c', 'a', 'b']))


class TestSummary(testtools.TestCase):

    def test_rows(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        p = b.legacy('cmp1', '0000:3b:00.0', total=16, used=1)
        b.pci('cmp1', '0000:41:00.0', 'CUSTOM_X', 4, used=2)
        flavor = b.flavor('vgpu', **{'resources:VGPU': '1'})
        b.server('vm1', 'cmp1', flavor, p)
        rows = audit.summary(b.snapshot())
        self.assertEqual([{
            'host': 'cmp1', 'gpus': 2, 'legacy_vgpu_total': 16,
            'legacy_vgpu_used': 1, 'vf_total': {'CUSTOM_X': 4},
            'vf_used': {'CUSTOM_X': 2}, 'servers_to_move': 1}], rows)


class TestSnapshotModel(testtools.TestCase):

    def test_round_trip_is_identical(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        p = b.legacy('cmp1', '0000:41:00.4', used=1)
        flavor = b.flavor('vgpu', **{'resources:VGPU': '1'})
        b.server('vm1', 'cmp1', flavor, p)
        snap = b.snapshot()
        text = snap.to_json()
        again = model.Snapshot.from_json(text)
        self.assertEqual(snap, again)
        self.assertEqual(text, again.to_json())

    def test_streamed_text_is_to_json(self):
        # --save-snapshot writes iter_json's pieces: the same bytes
        b = builders.EstateBuilder()
        empty = b.snapshot()
        self.assertEqual(empty.to_json(), ''.join(empty.iter_json()))
        b.host('cmp1')
        b.host('cmp2')
        p = b.legacy('cmp1', '0000:41:00.4', used=1)
        b.legacy('cmp2', '0000:41:00.5')
        flavor = b.flavor('vgpu', **{'resources:VGPU': '1'})
        b.server('vm1', 'cmp1', flavor, p)
        b.server('vm2', 'cmp1', flavor, p)
        snap = b.snapshot()
        text = ''.join(snap.iter_json())
        self.assertEqual(snap.to_json(), text)
        self.assertEqual(snap, model.Snapshot.from_json(text))
        self.assertGreater(len(list(snap.iter_json())),
                           len(snap.providers) + len(snap.servers))

    def test_wrong_version_and_truncation(self):
        b = builders.EstateBuilder()
        text = b.snapshot().to_json()
        doc = json.loads(text)
        doc['schema_version'] = 99
        err = self.assertRaises(model.SnapshotError,
                                model.Snapshot.from_dict, doc, 's.json')
        self.assertIn('schema_version 99', str(err))
        err = self.assertRaises(model.SnapshotError,
                                model.Snapshot.from_json, text[:40],
                                's.json')
        self.assertIn('not valid JSON', str(err))
        doc = json.loads(text)
        del doc['providers']
        err = self.assertRaises(model.SnapshotError,
                                model.Snapshot.from_dict, doc, 's.json')
        self.assertIn('damaged or hand-edited', str(err))
