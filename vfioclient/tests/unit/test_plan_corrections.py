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

"""Issue 18 item 5: ways a plan could be wrong.

MIG-backed types are refused, the A16 and the A2 (one product id) are told
apart or refused, and private flavors and NUMA flavors are planned with
their access and their notes.
"""

import dataclasses
import json
import tempfile

import testtools

from vfioclient.cloud import client
from vfioclient.collect import cloud as collect_cloud
from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import cloud as cloud_model
from vfioclient.model import host as host_model
from vfioclient.model import plan as plan_model
from vfioclient.nova import alias as nova_alias
from vfioclient.nova import flavors as nova_flavors
from vfioclient.nvidia import pci_ids
from vfioclient.nvidia import profiles
from vfioclient.render import decisions
from vfioclient.render import runbook
from vfioclient.rules import plan as rules
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests.unit import builders

A16_IDS = ('10de', '14a9')
A2_IDS = ('10de', '157e')


def refusal_for(plan, subject):
    return [r.reason for r in plan.refusals if r.subject == subject]


def gpu_subject(host, address=builders.A40_PF):
    return 'gpu %s on %s' % (address, host)


class TestMigBackedTypes(testtools.TestCase):

    def test_naming_rule(self):
        for name in ('GRID A100-1-5C', 'NVIDIA A30-2-12C', 'A30-1-6CME',
                     'NVIDIA H100-1-10C', 'GRID A100D-7-80C'):
            self.assertTrue(profiles.is_mig_backed(name), name)
        for name in ('GRID A100-4C', 'NVIDIA A30-24C', 'NVIDIA A40-2Q',
                     'NVIDIA RTX6000-Ada-1Q', 'NVIDIA A16-16A', '', None):
            self.assertFalse(profiles.is_mig_backed(name), name)

    def test_table_marks_agree_with_the_names(self):
        marked = {p.name for p in profiles.PROFILES if p.mig_backed}
        self.assertEqual(
            {p.name for p in profiles.PROFILES
             if profiles.is_mig_backed(p.name)}, marked)
        self.assertIn('NVIDIA A30-1-6C', marked)
        self.assertIn('GRID A100-7-40C', marked)
        self.assertEqual('A100', profiles.board_of_profile('A100-1-5CME'))

    def _a30(self, rc='CUSTOM_NVIDIA_689'):
        b = builders.PlanEstateBuilder()
        b.host('a30')
        b.legacy_gpu('a30', rc=rc, vfs=4)
        return b

    def test_mig_backed_legacy_type_is_refused(self):
        plan = rules.make_plan(self._a30().snapshot())
        (reason,) = refusal_for(plan, gpu_subject('a30'))
        self.assertIn('NVIDIA A30-1-6C is a MIG-backed vGPU type', reason)
        self.assertIn('nvidia-smi mig -cgi', reason)
        self.assertIn('--map nvidia-689=', reason)
        self.assertIn('A30-6C', reason)
        self.assertEqual((), plan.hosts)

    def test_map_to_a_mig_backed_type_is_refused(self):
        plan = rules.make_plan(
            self._a30('CUSTOM_NVIDIA_685').snapshot(),
            options=rules.Options(maps=(('nvidia-685',
                                         'NVIDIA A30-2-12C'),)))
        (reason,) = refusal_for(plan, gpu_subject('a30'))
        self.assertIn('NVIDIA A30-2-12C is a MIG-backed', reason)

    def test_mig_backed_type_offered_by_a_host_report_is_refused(self):
        spec = fake_sysfs.preset('l40s-fresh')
        spec['hostname'] = 'a100-var'
        spec['gpus'][0].update(
            product_id='20b7', creatable=[(689, 'NVIDIA A30-1-6C'),
                                          (685, 'NVIDIA A30-6C')])
        root = tempfile.mkdtemp()
        fake_sysfs.build_host(root, spec)
        report = collect_sysfs.collect_host_report(
            root, hostname='a100-var', collected_at='x')
        plan = rules.make_plan(self._a30().snapshot(), [report])
        (reason,) = refusal_for(plan, gpu_subject('a30'))
        self.assertIn('MIG-backed', reason)

    def test_map_from_mig_backed_to_time_sliced_notes_mig_mode(self):
        plan = rules.make_plan(
            self._a30().snapshot(),
            options=rules.Options(maps=(('nvidia-689', 'NVIDIA A30-4C'),)))
        self.assertEqual([], list(plan.refusals))
        host = plan.host('a30')
        self.assertEqual(('NVIDIA A30-4C',), host.vf_types)
        (note,) = [n for n in host.notes if 'MIG mode' in n]
        self.assertIn('nvidia-smi -i %s -mig 0' % builders.A40_PF, note)


def a16_report(subsystem=A16_IDS, names=True, type_id=711,
               type_name='NVIDIA A16-1Q', hostname='a16-host'):
    """A legacy A16/A2 host (VFs are mdev parents), from fake sysfs."""
    vfs = 4
    spec = {'hostname': hostname, 'gpus': [{
        'address': builders.A40_PF, 'product_id': '25b6',
        'sriov_totalvfs': 16, 'vfs': vfs, 'vf_mode': 'legacy',
        'subsystem': subsystem,
        'vf_mdev_types': [(type_id, type_name, 8)],
        'vf_mdevs': {0: (fake_sysfs.mdev_uuid(builders.A40_PF, 0),
                         type_id)}}]}
    if not names:
        spec['breakage'] = [
            {'path': 'sys/bus/pci/devices/%s/mdev_supported_types/'
                     'nvidia-%d/name' % (vf, type_id), 'op': 'remove'}
            for vf in (fake_sysfs.vf_address(builders.A40_PF, i)
                       for i in range(vfs))]
    root = tempfile.mkdtemp()
    fake_sysfs.build_host(root, spec)
    return collect_sysfs.collect_host_report(root, hostname=hostname,
                                             collected_at='x')


def a16_snapshot(hostname='a16-host'):
    b = builders.PlanEstateBuilder()
    b.host(hostname)
    b.legacy_gpu(hostname, rc='VGPU', vfs=4)
    return b.snapshot()


class TestSharedProductId(testtools.TestCase):

    def test_board_of_shared_product(self):
        decide = pci_ids.board_of_shared_product
        self.assertEqual('A16', decide('25b6', A16_IDS).board)
        self.assertEqual('A2', decide('25b6', A2_IDS, ['NVIDIA A2-4Q']).board)
        self.assertEqual('A16', decide('25b6', None,
                                       ['NVIDIA A16-2Q']).board)
        self.assertEqual('A2', decide('25b6', (None, None),
                                      ['A2-1B', 'x']).board)
        for found in (decide('25b6', A2_IDS, ['NVIDIA A16-2Q']),
                      decide('25b6', None, []),
                      decide('25b6', None, ['A16-1B', 'A2-1B']),
                      decide('25b6', ('10de', 'ffff'), [])):
            self.assertIsNone(found.board, found)
        self.assertIn('is the A2, but type names say A16',
                      decide('25b6', A2_IDS, ['NVIDIA A16-2Q']).evidence)

    def test_gpu_model(self):
        self.assertEqual('A2', pci_ids.gpu_model('25b6', (), A2_IDS))
        self.assertEqual('A16', pci_ids.gpu_model('25b6', ['NVIDIA A16-1Q']))
        self.assertEqual('A16/A2', pci_ids.gpu_model('25b6'))

    def test_collector_reads_subsystem_ids(self):
        report = a16_report(subsystem=A2_IDS, type_id=745,
                            type_name='NVIDIA A2-2Q')
        pf = report.device(builders.A40_PF)
        self.assertEqual(A2_IDS, pf.subsystem)
        self.assertEqual('A2', report.gpu(builders.A40_PF).model)
        again = host_model.HostReport.from_json(report.to_json())
        self.assertEqual(report, again)
        # Reports of earlier versions have no subsystem keys.
        doc = report.to_json()
        for d in doc['devices']:
            del d['subsystem_vendor_id'], d['subsystem_device_id']
        old = host_model.HostReport.from_json(doc)
        self.assertIsNone(old.device(builders.A40_PF).subsystem)
        # A tree without the files: null, and no warning.
        report = builders.report('a40')
        self.assertIsNone(report.devices[0].subsystem)
        self.assertEqual((), report.warnings)

    def test_subsystem_id_decides(self):
        plan = rules.make_plan(a16_snapshot(), [a16_report()])
        self.assertEqual([], list(plan.refusals))
        (gpu,) = plan.host('a16-host').gpus
        self.assertEqual(('A16', '25b6', 'NVIDIA A16-1Q'),
                         (gpu.board, gpu.product_id, gpu.vf_type_name))

    def test_type_names_decide_without_subsystem_id(self):
        plan = rules.make_plan(
            a16_snapshot(), [a16_report(subsystem=None, type_id=742,
                                        type_name='NVIDIA A2-1B')])
        self.assertEqual([], list(plan.refusals))
        self.assertEqual('A2', plan.host('a16-host').gpus[0].board)

    def test_disagreement_is_refused(self):
        plan = rules.make_plan(a16_snapshot(),
                               [a16_report(subsystem=A2_IDS)])
        (reason,) = refusal_for(plan, gpu_subject('a16-host'))
        self.assertIn('subsystem 10de:157e is the A2, but type names say '
                      'A16', reason)
        self.assertEqual((), plan.hosts)

    def test_neither_tells_is_refused_naming_what_to_check(self):
        # 712 (A16-2Q) is not in the built-in table either.
        plan = rules.make_plan(a16_snapshot(), [a16_report(
            subsystem=None, names=False, type_id=712,
            type_name='NVIDIA A16-2Q')])
        (reason,) = refusal_for(plan, gpu_subject('a16-host'))
        self.assertIn('25b6 is shared by the A16 and A2', reason)
        self.assertIn('/sys/bus/pci/devices/%s/subsystem_device'
                      % builders.A40_PF, reason)
        self.assertIn('A16: 0x10de 0x14a9', reason)
        self.assertIn('A2: 0x10de 0x157e', reason)
        self.assertEqual((), plan.hosts)


def private_estate(access=('proj-b', 'proj-a'), public=False, **specs):
    """cmp1 with 2 servers of the flavor vgpu.a40-2q (private or not)."""
    b = builders.PlanEstateBuilder()
    b.host('cmp1')
    b.host('cmp2')
    providers = b.legacy_gpu('cmp1', used=2)
    b.legacy_gpu('cmp2')
    flavor = builders.a40_flavor(b, **specs)
    flavor = dataclasses.replace(flavor, is_public=public,
                                 access_projects=access)
    b.flavors[-1] = flavor
    b.servers_on('vm', 'cmp1', flavor, providers, 2)
    return b


class TestPrivateFlavors(testtools.TestCase):

    def test_access_list_is_copied(self):
        plan = rules.make_plan(private_estate().snapshot())
        (f,) = plan.flavors
        self.assertEqual((False, ('proj-a', 'proj-b'), ()),
                         (f.is_public, f.access_projects, f.notes))
        again = plan_model.Plan.from_json(plan.to_json())
        self.assertEqual(('proj-a', 'proj-b'),
                         again.flavors[0].access_projects)

    def test_public_flavor_has_no_access_list(self):
        plan = rules.make_plan(private_estate(public=True,
                                              access=None).snapshot())
        (f,) = plan.flavors
        self.assertEqual((True, (), ()),
                         (f.is_public, f.access_projects, f.notes))

    def test_unknown_access_list_is_noted(self):
        plan = rules.make_plan(private_estate(access=None).snapshot())
        (f,) = plan.flavors
        self.assertEqual(((), False), (f.access_projects, f.is_public))
        (note,) = f.notes
        self.assertIn('private but the snapshot has no access list', note)

    def test_snapshot_carries_access_lists(self):
        snapshot = private_estate().snapshot()
        doc = snapshot.to_dict()
        self.assertEqual(['proj-b', 'proj-a'],
                         doc['flavors'][0]['access_projects'])
        self.assertEqual(snapshot, cloud_model.Snapshot.from_dict(doc))
        del doc['flavors'][0]['access_projects']
        self.assertIsNone(cloud_model.Snapshot.from_dict(
            doc).flavors[0].access_projects)


class FakeNova:
    """The two reads the collector makes of flavors."""

    def __init__(self, flavors, access):
        self.flavors = flavors
        self.access = access
        self.paths = []

    def negotiate(self, minimum, wanted=None):
        return wanted or minimum

    def get(self, path, version, params=None, expected=None):
        self.paths.append(path)
        if path == '/flavors/detail':
            return {'flavors': self.flavors}
        fid = path.split('/')[2]
        if fid not in self.access:
            raise client.ApiError('compute', 'GET', path, 404, 'gone')
        return {'flavor_access': [{'flavor_id': fid, 'tenant_id': t}
                                  for t in self.access[fid]]}


class SerialCloud:
    def __init__(self, compute):
        self.compute = compute

    def map(self, func, items, progress=None):
        return [func(i) for i in items]


class TestCollectFlavorAccess(testtools.TestCase):

    def test_access_read_for_private_flavors_only(self):
        def flavor(fid, public):
            return {'id': fid, 'name': fid, 'vcpus': 1, 'ram': 1,
                    'disk': 1, 'os-flavor-access:is_public': public}
        nova = FakeNova([flavor('pub', True), flavor('priv', False),
                         flavor('gone', False)],
                        {'priv': ['p2', 'p1', 'p2']})
        collector = collect_cloud.Collector(SerialCloud(nova))
        found = {f.id: f.access_projects for f in collector._flavors()}
        self.assertEqual({'pub': None, 'priv': ('p1', 'p2'), 'gone': None},
                         found)
        self.assertEqual(['/flavors/detail', '/flavors/priv/os-flavor-access',
                          '/flavors/gone/os-flavor-access'], nova.paths)


class TestNumaFlavors(testtools.TestCase):

    def test_topology_reasons(self):
        reasons = nova_flavors.numa_topology_reasons
        self.assertEqual([], reasons({'hw:cpu_policy': 'shared',
                                      'resources:VGPU': '1'}))
        self.assertEqual(['hw:numa_nodes=2'], reasons({'hw:numa_nodes': '2'}))
        self.assertEqual(['hw:cpu_policy=dedicated'],
                         reasons({'hw:cpu_policy': 'dedicated'}))
        self.assertEqual(['hw:mem_page_size=large', 'resources1:PCPU=4'],
                         reasons({'hw:mem_page_size': 'large',
                                  'resources1:PCPU': '4'}))
        self.assertEqual('preferred', nova_flavors.pci_numa_policy(
            {'hw:pci_numa_affinity_policy': 'preferred'}))
        self.assertIsNone(nova_flavors.pci_numa_policy({}))

    def plan(self, policy=None, **specs):
        b = private_estate(access=None, public=True, **specs)
        return rules.make_plan(b.snapshot(), options=rules.Options(
            alias_numa_policy=policy))

    def test_numa_flavor_is_noted_under_the_default_policy(self):
        plan = self.plan(**{'hw:numa_nodes': '1'})
        (note,) = plan.flavors[0].notes
        self.assertIn('hw:numa_nodes=1', note)
        self.assertIn("numa_policy legacy (Nova's default for the alias)",
                      note)
        self.assertIn('--alias-numa-policy preferred', note)
        for line in plan.controllers.alias + plan.hosts[0].alias:
            self.assertNotIn('numa_policy', json.loads(line))
        self.assertIsNone(plan.aliases[0].numa_policy)

    def test_plain_flavor_has_no_note(self):
        self.assertEqual((), self.plan().flavors[0].notes)
        self.assertEqual((), self.plan('preferred').flavors[0].notes)

    def test_alias_numa_policy_goes_on_every_alias_line(self):
        plan = self.plan('preferred', **{'hw:cpu_policy': 'dedicated'})
        lines = list(plan.controllers.alias) + [
            a for h in plan.hosts for a in h.alias]
        self.assertTrue(lines)
        for line in lines:
            self.assertEqual('preferred', json.loads(line)['numa_policy'])
        self.assertEqual('preferred', plan.aliases[0].numa_policy)
        self.assertEqual('preferred',
                         plan.inputs.options['alias_numa_policy'])
        (note,) = plan.flavors[0].notes
        self.assertIn('numa_policy preferred (the alias', note)
        self.assertIn('always schedules', note)
        # Nova's own parser takes the lines, all with one policy.
        parsed = nova_alias.parse_aliases(lines)
        self.assertEqual({'preferred'},
                         {a.numa_policy for a in parsed.values()})

    def test_flavor_policy_overrides_the_alias(self):
        plan = self.plan('preferred', **{
            'hw:cpu_policy': 'dedicated',
            'hw:pci_numa_affinity_policy': 'required'})
        (note,) = plan.flavors[0].notes
        self.assertIn("numa_policy required (the flavor's "
                      "hw:pci_numa_affinity_policy)", note)

    def test_unknown_policy_is_refused(self):
        self.assertRaises(ValueError, rules.make_plan,
                          builders.two_host_estate().snapshot(),
                          options=rules.Options(alias_numa_policy='near'))


class TestRunbookFlavorNotes(testtools.TestCase):

    def test_nothing_to_say(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        self.assertEqual([], decisions.flavor_notes(plan))

    def test_private_and_numa_flavors(self):
        plan = rules.make_plan(private_estate(
            **{'hw:numa_nodes': '2'}).snapshot())
        text = '\n'.join(decisions.flavor_notes(plan))
        self.assertIn('### Project access of private flavors', text)
        self.assertIn('| vgpu.a40-2q.vf | vgpu.a40-2q | proj-a, proj-b |',
                      text)
        self.assertIn('openstack flavor show vgpu.a40-2q.vf -c '
                      'access_project_ids', text)
        self.assertIn('### NUMA affinity of the VFs', text)
        self.assertIn("no `numa_policy` (Nova's default, legacy", text)
        self.assertIn('hw:numa_nodes=2', text)
        self.assertIn('private: 2 project(s)', runbook.render(plan))
        plan = rules.make_plan(
            private_estate(access=None, **{'hw:numa_nodes': '2'}).snapshot(),
            options=rules.Options(alias_numa_policy='required'))
        text = '\n'.join(decisions.flavor_notes(plan))
        self.assertIn('> Warning: ACCESS: the source flavor vgpu.a40-2q is '
                      'private but the snapshot has no access list', text)
        self.assertIn('set `numa_policy = required`', text)
