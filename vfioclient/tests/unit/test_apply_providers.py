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

"""apply/providers.py: which providers go, refusals, drift, the re-read
before each delete."""

import dataclasses

import testtools

from vfioclient.apply import drift
from vfioclient.apply import providers as cleanup
from vfioclient.cloud import client
from vfioclient.model import cloud as model
from vfioclient.rules import plan as plan_rules
from vfioclient.tests.unit import builders

PCI_TRAIT = 'COMPUTE_MANAGED_PCI_DEVICE'


def _tree(b, host, allocations=None):
    """The HostTree of ``host`` in builder ``b``."""
    root = builders.uid(host)
    providers = tuple(p for p in b.providers if p.root_uuid == root)
    uuids = {p.uuid for p in providers}
    held = tuple(a for a in (b.allocations if allocations is None
                             else allocations)
                 if a.provider_uuid in uuids)
    return cleanup.HostTree(host, providers, held)


def _estate():
    """cmp1: 4 legacy VF providers of an A40, a PCI provider and a NIC
    provider; cmp2: 4 legacy providers, one holding a server."""
    b = builders.PlanEstateBuilder()
    b.host('cmp1')
    b.host('cmp2')
    b.legacy_gpu('cmp1', vfs=4)
    b.pci('cmp1', '0000:81:00.0', 'CUSTOM_NVIDIA_A40_2Q', 8)
    b.child('cmp1', 'cmp1:Open vSwitch agent',
            {'NET_BW_EGR_KILOBIT_PER_SEC': 1000})
    in_use = b.legacy_gpu('cmp2', vfs=4, used=1)
    b.servers_on('vm', 'cmp2', builders.a40_flavor(b), in_use, 1)
    return b


def _names(results):
    return [(r.provider, r.action) for r in results]


class TestWhichProviders(testtools.TestCase):

    def test_only_legacy_providers_never_root_pci_or_others(self):
        b = _estate()
        found = cleanup.legacy_providers(_tree(b, 'cmp1').providers)
        self.assertEqual(['cmp1_pci_0000_41_00_%d' % f for f in (4, 5, 6, 7)],
                         [p.name for p in found])

    def test_vgpu_inventory_on_an_unusual_name_is_legacy(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.child('cmp1', 'cmp1_gpu0', {'VGPU': 16})
        b.child('cmp1', 'cmp1_0000:41:00.0', {'CUSTOM_X': 4},
                traits=(PCI_TRAIT,))
        # A PCI provider named as one, with VGPU inventory, stays PCI.
        b.child('cmp1', 'cmp1_0000:42:00.0', {'VGPU': 4},
                traits=(PCI_TRAIT,))
        self.assertEqual(['cmp1_gpu0'], [
            p.name for p in cleanup.legacy_providers(
                _tree(b, 'cmp1').providers)])


class TestDecide(testtools.TestCase):

    def test_free_host_would_delete_every_legacy_provider(self):
        results = cleanup.decide(_tree(_estate(), 'cmp1'))
        self.assertEqual({cleanup.WOULD_DELETE},
                         {r.action for r in results})
        self.assertEqual(4, len(results))
        r = results[0]
        self.assertEqual(('cmp1', 'cmp1_pci_0000_41_00_4',
                          builders.uid('cmp1_pci_0000_41_00_4'),
                          'CUSTOM_NVIDIA_558', 1), r.row()[:5])
        self.assertTrue(r.ok)

    def test_one_allocation_refuses_the_whole_host(self):
        b = _estate()
        server = b.servers[0]
        names = {server.id: 'consumer %s (server vm-0)' % server.id}
        results = cleanup.decide(_tree(b, 'cmp2'), names.get)
        self.assertEqual({cleanup.REFUSED}, {r.action for r in results})
        used = results[0]
        self.assertEqual('cmp2_pci_0000_41_00_4', used.provider)
        self.assertIn('holds allocations of 1 consumer(s): consumer %s '
                      '(server vm-0)' % server.id, used.reason)
        for free in results[1:]:
            self.assertIn('kept with the rest of cmp2: '
                          'cmp2_pci_0000_41_00_4 cannot be deleted yet',
                          free.reason)
            self.assertFalse(free.ok)

    def test_a_provider_with_children_is_refused(self):
        b = _estate()
        parent = cleanup.legacy_providers(_tree(b, 'cmp1').providers)[0]
        b.providers.append(dataclasses.replace(
            parent, uuid=builders.uid('grandchild'), name='grandchild',
            parent_uuid=parent.uuid, inventories={}))
        results = {r.provider: r for r in cleanup.decide(_tree(b, 'cmp1'))}
        self.assertIn('has child provider(s) grandchild',
                      results[parent.name].reason)
        self.assertEqual({cleanup.REFUSED},
                         {r.action for r in results.values()})

    def test_nothing_left_is_one_absent_row(self):
        b = builders.EstateBuilder()
        b.host('cmp1')
        b.pci('cmp1', '0000:41:00.0', 'CUSTOM_NVIDIA_A40_2Q', 8)
        [row] = cleanup.decide(_tree(b, 'cmp1'))
        self.assertEqual(('cmp1', None, cleanup.ABSENT), (
            row.host, row.provider, row.action))
        self.assertIn('no legacy vGPU provider under cmp1', row.reason)
        self.assertTrue(row.ok)

    def test_planned_providers_already_gone_are_absent(self):
        b = _estate()
        plan = plan_rules.make_plan(b.snapshot())
        planned = cleanup.planned_providers(plan.host('cmp1')).values()
        # As if a first run deleted the first two and was killed.
        b.providers = [p for p in b.providers if p.name not in (
            'cmp1_pci_0000_41_00_4', 'cmp1_pci_0000_41_00_5')]
        results = cleanup.decide(_tree(b, 'cmp1'), planned=planned)
        self.assertEqual([('cmp1_pci_0000_41_00_4', cleanup.ABSENT),
                          ('cmp1_pci_0000_41_00_5', cleanup.ABSENT),
                          ('cmp1_pci_0000_41_00_6', cleanup.WOULD_DELETE),
                          ('cmp1_pci_0000_41_00_7', cleanup.WOULD_DELETE)],
                         _names(results))
        self.assertEqual(('CUSTOM_NVIDIA_558', 1),
                         (results[0].resource_class, results[0].total))

    def test_unknown_host_is_refused(self):
        tree = cleanup.HostTree('nope', problem='Placement has no x')
        [row] = cleanup.decide(tree)
        self.assertEqual((cleanup.REFUSED, 'Placement has no x'),
                         (row.action, row.reason))


class TestPlanProblems(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.b = _estate()
        self.plan = plan_rules.make_plan(self.b.snapshot())

    def test_matching_or_partly_deleted_is_fine(self):
        self.assertEqual([], cleanup.plan_problems(
            self.plan, [_tree(self.b, 'cmp1')]))
        self.b.providers = [p for p in self.b.providers
                            if p.name != 'cmp1_pci_0000_41_00_4']
        self.assertEqual([], cleanup.plan_problems(
            self.plan, [_tree(self.b, 'cmp1')]))

    def test_a_provider_not_in_the_plan(self):
        self.b.legacy('cmp1', '0000:42:00.4')
        [problem] = cleanup.plan_problems(self.plan,
                                          [_tree(self.b, 'cmp1')])
        self.assertIn('cmp1: legacy provider cmp1_pci_0000_42_00_4 (%s) is '
                      'not one the plan was made from'
                      % builders.uid('cmp1_pci_0000_42_00_4'), problem)

    def test_changed_inventory(self):
        self.b.providers = [
            dataclasses.replace(p, inventories={'VGPU': model.Inventory(2)})
            if p.name == 'cmp1_pci_0000_41_00_5' else p
            for p in self.b.providers]
        [problem] = cleanup.plan_problems(self.plan,
                                          [_tree(self.b, 'cmp1')])
        self.assertEqual('cmp1: provider cmp1_pci_0000_41_00_5 has VGPU '
                         'total 2, the plan CUSTOM_NVIDIA_558 total 1',
                         problem)

    def test_hosts_the_plan_does_not_convert(self):
        self.b.host('cmp3')
        blocked = dataclasses.replace(self.plan, hosts=tuple(
            dataclasses.replace(h, order=None) if h.host == 'cmp2' else h
            for h in self.plan.hosts))
        problems = cleanup.plan_problems(
            blocked, [_tree(self.b, 'cmp3'), _tree(self.b, 'cmp2')])
        self.assertEqual(
            ['the plan does not convert cmp3 (it converts cmp1)',
             'the plan leaves cmp2 blocked (see its refusals for host '
             'cmp2)'], problems)


class FakePlacement:
    """The Placement calls of the cleanup, on providers from a builder."""

    def __init__(self, b):
        self.providers = {p.uuid: p for p in b.providers}
        self.allocations = list(b.allocations)
        self.deletes = []
        self.on_delete = None      # called before a DELETE is answered
        self.fail = {}             # uuid -> status of its DELETE

    def negotiate(self, minimum, wanted=None):
        return minimum

    def _raw(self, p):
        return {'uuid': p.uuid, 'name': p.name, 'generation': p.generation,
                'parent_provider_uuid': p.parent_uuid,
                'root_provider_uuid': p.root_uuid}

    def _missing(self, method, path):
        raise client.ApiError('placement', method, path, 404, 'not found')

    def get(self, path, version, params=None, expected=None):
        parts = path.strip('/').split('/')
        if parts == ['resource_providers']:
            if 'name' in params:
                return {'resource_providers': [
                    self._raw(p) for p in self.providers.values()
                    if p.name == params['name']]}
            return {'resource_providers': [
                self._raw(p) for p in self.providers.values()
                if p.root_uuid == params['in_tree']]}
        p = self.providers.get(parts[1])
        if len(parts) == 2:
            if p is None:
                return {'errors': [{'detail': 'no provider'}]}
            return self._raw(p)
        if p is None:
            self._missing('GET', path)
        if parts[2] == 'inventories':
            return {'inventories': {
                rc: dataclasses.asdict(i)
                for rc, i in (p.inventories or {}).items()}}
        if parts[2] == 'traits':
            return {'traits': list(p.traits or ())}
        return {'allocations': {
            a.consumer_uuid: {'resources': a.resources}
            for a in self.allocations if a.provider_uuid == p.uuid}}

    def delete(self, path, version, expected=None):
        uuid = path.rsplit('/', 1)[1]
        self.deletes.append(uuid)
        if self.on_delete:
            self.on_delete(uuid)
        if uuid in self.fail:
            raise client.ApiError('placement', 'DELETE', path,
                                  self.fail[uuid], 'refused')
        if uuid not in self.providers:
            self._missing('DELETE', path)
        if any(a.provider_uuid == uuid for a in self.allocations):
            raise client.ApiError(
                'placement', 'DELETE', path, 409,
                'Unable to delete resource provider %s: Resource provider '
                'has allocations.' % uuid)
        del self.providers[uuid]

    def bump(self, uuid):
        p = self.providers[uuid]
        self.providers[uuid] = dataclasses.replace(
            p, generation=p.generation + 1)


class FakeCompute:
    """Nova knows the servers of a builder; ``broken`` fails every call."""

    def __init__(self, b, broken=False):
        self.servers = {s.id: s.name for s in b.servers}
        self.broken = broken
        self.asked = []

    def negotiate(self, minimum, wanted=None):
        if self.broken:
            raise client.MicroversionError('requires Compute >= 2.1, '
                                           'server supports 1.39')
        return minimum

    def get(self, path, version, params=None, expected=None):
        server = path.rsplit('/', 1)[1]
        self.asked.append(server)
        if server in self.servers:
            return {'server': {'id': server, 'name': self.servers[server]}}
        return {'itemNotFound': {'message': 'not found'}}


class FakeCloud:
    def __init__(self, b, broken_nova=False):
        self.placement = FakePlacement(b)
        self.compute = FakeCompute(b, broken_nova)

    def map(self, func, items):
        return [func(i) for i in items]


class TestCleanup(testtools.TestCase):

    def test_dry_run_deletes_nothing(self):
        cloud = FakeCloud(_estate())
        results = cleanup.cleanup(cloud, ['cmp1', 'cmp2'], dry_run=True)
        self.assertEqual([cleanup.WOULD_DELETE] * 4 + [cleanup.REFUSED] * 4,
                         [r.action for r in results])
        self.assertEqual([], cloud.placement.deletes)

    def test_deletes_free_hosts_only_and_names_servers(self):
        b = _estate()
        cloud = FakeCloud(b)
        results = cleanup.cleanup(cloud, ['cmp1', 'cmp2', 'cmp1'])
        self.assertEqual([cleanup.DELETED] * 4 + [cleanup.REFUSED] * 4,
                         [r.action for r in results])
        self.assertEqual(
            ['cmp1', 'cmp1:Open vSwitch agent', 'cmp1_0000:81:00.0', 'cmp2']
            + ['cmp2_pci_0000_41_00_%d' % f for f in (4, 5, 6, 7)],
            sorted(p.name for p in cloud.placement.providers.values()))
        self.assertIn('(server vm-0)', results[4].reason)
        self.assertIn('cleaned up as a whole', results[5].reason)
        again = cleanup.cleanup(cloud, ['cmp1'])
        self.assertEqual([(None, cleanup.ABSENT)], _names(again))
        self.assertEqual('1 absent', cleanup.summary(again))

    def test_consumers_nova_does_not_know_and_a_broken_nova(self):
        b = _estate()
        orphan = builders.uid('orphan')
        b.allocate(orphan, b.providers[-1], 'CUSTOM_NVIDIA_558')
        names = cleanup.ServerNames(FakeCompute(b))
        cleanup.cleanup(FakeCloud(b), ['cmp2'], dry_run=True, names=names)
        self.assertIn('Nova has no server of that id',
                      names.describe(orphan))
        self.assertIsNone(names.problem)
        broken = cleanup.ServerNames(FakeCompute(b, broken=True))
        results = cleanup.cleanup(FakeCloud(b), ['cmp2'], dry_run=True,
                                  names=broken)
        self.assertIn('server names not shown: requires Compute >= 2.1',
                      broken.problem)
        self.assertIn('consumer %s;' % b.servers[0].id, results[0].reason)

    def test_drift_stops_before_any_delete(self):
        b = _estate()
        plan = plan_rules.make_plan(b.snapshot())
        b.legacy('cmp1', '0000:42:00.4')
        cloud = FakeCloud(b)
        err = self.assertRaises(drift.DriftError, cleanup.cleanup, cloud,
                                ['cmp1'], plan=plan)
        self.assertIn('cmp1_pci_0000_42_00_4', str(err))
        self.assertIn('nothing was deleted', str(err))
        self.assertEqual([], cloud.placement.deletes)

    def test_from_plan_resumes_and_reruns_cleanly(self):
        b = _estate()
        plan = plan_rules.make_plan(b.snapshot())
        cloud = FakeCloud(b)
        # As if a first run was killed after one delete.
        del cloud.placement.providers[builders.uid('cmp1_pci_0000_41_00_4')]
        results = cleanup.cleanup(cloud, ['cmp1'], plan=plan)
        self.assertEqual([cleanup.ABSENT] + [cleanup.DELETED] * 3,
                         [r.action for r in results])
        again = cleanup.cleanup(cloud, ['cmp1'], plan=plan)
        self.assertEqual([cleanup.ABSENT] * 4, [r.action for r in again])
        self.assertTrue(all(r.ok for r in again))


class TestDeleteOne(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.b = _estate()
        self.cloud = FakeCloud(self.b)
        self.tree = cleanup.read_host(self.cloud, 'cmp1')
        self.legacy = cleanup.legacy_providers(self.tree.providers)
        self.names = cleanup.ServerNames(self.cloud.compute)

    def _delete(self, provider=None):
        return cleanup.delete_one(self.cloud.placement, 'cmp1',
                                  provider or self.legacy[0], self.names)

    def test_deleted(self):
        self.assertEqual(cleanup.DELETED, self._delete().action)
        self.assertNotIn(self.legacy[0].uuid, self.cloud.placement.providers)

    def test_gone_before_the_re_read(self):
        del self.cloud.placement.providers[self.legacy[0].uuid]
        r = self._delete()
        self.assertEqual((cleanup.ABSENT, 'already gone'),
                         (r.action, r.reason))
        self.assertEqual([], self.cloud.placement.deletes)

    def test_changed_since_read_is_refused(self):
        self.cloud.placement.bump(self.legacy[0].uuid)
        r = self._delete()
        self.assertEqual(cleanup.REFUSED, r.action)
        self.assertIn('its generation changed (1 -> 2', r.reason)
        self.assertIn('is nova-compute on cmp1 still running?', r.reason)
        self.assertEqual([], self.cloud.placement.deletes)

    def test_allocation_since_read_is_refused(self):
        self.cloud.placement.allocations.append(model.Allocation(
            self.b.servers[0].id, self.legacy[0].uuid,
            {'CUSTOM_NVIDIA_558': 1}))
        r = self._delete()
        self.assertEqual(cleanup.REFUSED, r.action)
        self.assertIn('allocations appeared since it was read: consumer %s '
                      '(server vm-0)' % self.b.servers[0].id, r.reason)
        self.assertEqual([], self.cloud.placement.deletes)

    def test_409_from_the_delete_is_refused_with_placement_reason(self):
        def race(uuid):
            self.cloud.placement.allocations.append(
                model.Allocation('c1', uuid, {'VGPU': 1}))
        self.cloud.placement.on_delete = race
        r = self._delete()
        self.assertEqual(cleanup.REFUSED, r.action)
        self.assertIn('Placement refused to delete it (HTTP 409: Unable to '
                      'delete resource provider', r.reason)
        self.assertIn(self.legacy[0].uuid, self.cloud.placement.providers)

    def test_404_from_the_delete_is_absent(self):
        self.cloud.placement.on_delete = \
            self.cloud.placement.providers.pop
        self.assertEqual(cleanup.ABSENT, self._delete().action)

    def test_other_errors_fail_and_stop_the_host(self):
        self.cloud.placement.fail[self.legacy[1].uuid] = 503
        decided = cleanup.decide(self.tree)
        results = cleanup._delete_host(self.cloud.placement, self.tree,
                                       decided, self.names)
        self.assertEqual([cleanup.DELETED, cleanup.FAILED, cleanup.REFUSED,
                          cleanup.REFUSED], [r.action for r in results])
        self.assertIn('HTTP 503', results[1].reason)
        self.assertIn('not attempted: the cleanup of cmp1 stopped at '
                      'cmp1_pci_0000_41_00_5 (failed)', results[2].reason)
        self.assertEqual(2, len(self.cloud.placement.deletes))
        self.assertIn('1 deleted, 2 refused, 1 failed; not done: '
                      'cmp1_pci_0000_41_00_5', cleanup.summary(results))

    def test_unknown_host_and_not_a_compute_node(self):
        [row] = cleanup.cleanup(self.cloud, ['cmp9'])
        self.assertIn('Placement has no resource provider named cmp9',
                      row.reason)
        [row] = cleanup.cleanup(self.cloud, ['cmp1_pci_0000_41_00_4'])
        self.assertIn('is not a compute node', row.reason)
        self.assertEqual(cleanup.REFUSED, row.action)
