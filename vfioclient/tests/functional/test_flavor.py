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

"""``openstack vfio flavor create`` (and ``verify --flavor``) against the
sandbox: real Keystone, Placement and Nova API on 127.0.0.1.

One sandbox for the class (it takes ~30 s to start), seeded with the
``small`` estate: PCI providers of CUSTOM_NVIDIA_A40_2Q on a40-03/a40-04,
legacy providers of VGPU and CUSTOM_NVIDIA_558, and the flavor
``vf.a40-2q``.  Every test uses its own flavor names.  Reads back through
the real ``openstack flavor`` commands.
"""

import json
import os
import tempfile


from vfioclient.apply import planfile
from vfioclient.sandbox import config
from vfioclient.tests.functional import sandbox

RC = 'CUSTOM_NVIDIA_A40_2Q'
ALIAS = 'nvidia-a40-2q'


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


class TestFlavorCreate(sandbox.SandboxTestCase):

    ESTATE = 'small'

    def rows(self, *args, ok=(0,)):
        r = self.osc('vfio', 'flavor', 'create', *args, ok=ok)
        return {row['name']: row for row in r.json}, r

    def flavor_names(self):
        return {f['Name'] for f in self.osc('flavor', 'list', '--all').json}

    def plan(self, flavors):
        doc = planfile.minimal_document(
            resource_classes=[RC],
            aliases=[{'name': ALIAS, 'resource_class': RC}],
            flavors=[dict({'vcpus': 4, 'ram': 16384, 'disk': 40,
                           'alias': ALIAS, 'resource_class': RC}, **f)
                     for f in flavors])
        fd, path = tempfile.mkstemp(suffix='.json')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            json.dump(doc, f)
        return path

    def cloud(self):
        import openstack
        from vfioclient.cloud import client
        os.environ['OS_CLIENT_CONFIG_FILE'] = self.layout.clouds_yaml
        conn = openstack.connect(cloud=config.CLOUD_NAME)
        return client.CloudClient(
            client.ServiceClient('placement', conn.placement),
            client.ServiceClient('compute', conn.compute), concurrency=1)

    # -- tests --------------------------------------------------------------
    def test_adhoc_created_then_exists(self):
        rows, r = self.rows('t1.vf', '--vcpus', '4', '--ram', '16384',
                            '--disk', '40', '--vgpu-type', 'NVIDIA A40-2Q',
                            '--property', 'hw:cpu_policy=dedicated',
                            '--description', 'A40-2Q VF')
        row = rows['t1.vf']
        self.assertEqual('created', row['action'])
        self.assertIn('"name": "nvidia-a40-2q"', row['alias_line'])
        self.assertIn('"managed": "no"', row['device_spec_hint'])
        show = self.osc('flavor', 'show', 't1.vf').json
        self.assertEqual({'pci_passthrough:alias': 'nvidia-a40-2q:1',
                          'hw:cpu_policy': 'dedicated'}, show['properties'])
        self.assertEqual('A40-2Q VF', show['description'])
        again, _ = self.rows('t1.vf', '--vcpus', '4', '--ram', '16384',
                             '--disk', '40', '--resource-class', RC,
                             '--property', 'hw:cpu_policy=dedicated',
                             '--description', 'A40-2Q VF')
        self.assertEqual('exists', again['t1.vf']['action'])
        self.assertEqual(row['id'], again['t1.vf']['id'])

    def test_private_flavor_access(self):
        project = self.osc('project', 'show', 'demo').json['id']
        rows, _ = self.rows('t2.vf', '--vcpus', '2', '--ram', '2048',
                            '--resource-class', RC, '--private',
                            '--project', project)
        self.assertEqual('created', rows['t2.vf']['action'])
        show = self.osc('flavor', 'show', 't2.vf').json
        self.assertFalse(show['os-flavor-access:is_public'])
        self.assertIn(project, str(show.get('access_project_ids')))

    def test_private_flavor_access_by_project_name(self):
        project = self.osc('project', 'show', 'demo').json['id']
        rows, _ = self.rows('t2n.vf', '--vcpus', '2', '--ram', '2048',
                            '--resource-class', RC, '--private',
                            '--project', 'demo', '--project-domain',
                            'Default')
        self.assertEqual('created', rows['t2n.vf']['action'])
        show = self.osc('flavor', 'show', 't2n.vf').json
        self.assertIn(project, str(show.get('access_project_ids')))
        r = self.osc('vfio', 'flavor', 'create', 't2x.vf', '--vcpus', '2',
                     '--ram', '2048', '--resource-class', RC, '--private',
                     '--project', 'no-such-project', ok=(1,))
        self.assertIn('--project:', r.stderr)
        self.assertNotIn('t2x.vf', self.flavor_names())

    def test_plan_private_flavor_gets_its_projects_once(self):
        service = self.osc('project', 'show', 'service').json['id']
        demo = self.osc('project', 'show', 'demo').json['id']
        gone = self.osc('project', 'create', 't7-gone').json['id']
        self.osc('project', 'delete', gone, as_json=False)
        path = self.plan([{'name': 't7.priv', 'is_public': False,
                           'access_projects': sorted([service, demo])}])
        rows, _ = self.rows('--dry-run', '--from-plan', path)
        self.assertEqual('would-create', rows['t7.priv']['action'])
        self.assertEqual('would grant access to %s' % ', '.join(
            sorted([service, demo])), rows['t7.priv']['reason'])
        self.assertNotIn('t7.priv', self.flavor_names())
        rows, _ = self.rows('--from-plan', path)
        self.assertEqual(('created', 'granted access to %s' % ', '.join(
            sorted([service, demo]))), (rows['t7.priv']['action'],
                                        rows['t7.priv']['reason']))
        show = self.osc('flavor', 'show', 't7.priv').json
        self.assertFalse(show['os-flavor-access:is_public'])
        self.assertEqual({service, demo}, set(show['access_project_ids']))
        # Access lost since: only that project is added again.
        self.osc('flavor', 'unset', '--project', demo, 't7.priv',
                 as_json=False)
        rows, _ = self.rows('--dry-run', '--from-plan', path)
        self.assertEqual(('would-update', 'would grant access to %s' % demo),
                         (rows['t7.priv']['action'],
                          rows['t7.priv']['reason']))
        rows, _ = self.rows('--from-plan', path)
        self.assertEqual(('updated', 'granted access to %s' % demo),
                         (rows['t7.priv']['action'],
                          rows['t7.priv']['reason']))
        rows, _ = self.rows('--from-plan', path)
        self.assertEqual('exists', rows['t7.priv']['action'])
        self.assertEqual({service, demo}, set(self.osc(
            'flavor', 'show', 't7.priv').json['access_project_ids']))
        # The snapshot a plan is made from carries the access list.
        snap = self.tmp_path('snapshot.json')
        self.osc('vfio', 'audit', '--save-snapshot', snap, ok=(0, 1, 2),
                 as_json=False)
        with open(snap) as f:
            saved = {x['name']: x for x in json.load(f)['flavors']}
        self.assertEqual(sorted([service, demo]),
                         saved['t7.priv']['access_projects'])
        self.assertIsNone(saved['vf.a40-2q']['access_projects'])
        # A project Keystone no longer knows: Nova answers 400, the row
        # says so and the flavor is still made.
        path = self.plan([{'name': 't7.gone', 'is_public': False,
                           'access_projects': sorted([demo, gone])}])
        rows, _ = self.rows('--from-plan', path)
        self.assertEqual('created', rows['t7.gone']['action'])
        self.assertIn('granted access to %s' % demo,
                      rows['t7.gone']['reason'])
        self.assertIn('not granted to %s' % gone, rows['t7.gone']['reason'])
        self.assertEqual([demo], self.osc(
            'flavor', 'show', 't7.gone').json['access_project_ids'])

    def test_conflicts_reported_without_writes(self):
        before = self.flavor_names()
        rows, r = self.rows(
            '--from-plan', self.plan([{'name': 'vf.a40-2q', 'ram': 1024}]),
            ok=(1,))
        self.assertEqual('conflict', rows['vf.a40-2q']['action'])
        self.assertIn('ram 16384 (want 1024)', rows['vf.a40-2q']['reason'])
        self.assertIn('not done: vf.a40-2q', r.stderr)
        rows, r = self.rows('t3.legacy', '--vcpus', '4', '--ram', '1024',
                            '--resource-class', 'CUSTOM_NVIDIA_558',
                            ok=(1,))
        self.assertEqual('conflict', rows['t3.legacy']['action'])
        self.assertIn('legacy vGPU', rows['t3.legacy']['reason'])
        self.assertEqual(before, self.flavor_names())
        self.assertEqual(16384,
                         self.osc('flavor', 'show', 'vf.a40-2q').json['ram'])

    def test_dry_run_writes_nothing(self):
        before = self.flavor_names()
        rows, _ = self.rows('--dry-run', '--from-plan', self.plan([
            {'name': 't4.a'}, {'name': 't4.b', 'count': 2},
            {'name': 'vf.a40-2q', 'ram': 16384}]))
        self.assertEqual({'t4.a': 'would-create', 't4.b': 'would-create',
                          'vf.a40-2q': 'exists'},
                         {n: r['action'] for n, r in rows.items()})
        self.assertEqual(before, self.flavor_names())

    def test_partial_failure_then_resume(self):
        bad = self.plan([{'name': 't5.a'},
                         {'name': 't5.b', 'extra_specs': {
                             'pci_passthrough:alias': '%s:1' % ALIAS,
                             'hw:no_such_spec': 'x'}},
                         {'name': 't5.c'}])
        rows, r = self.rows('--from-plan', bad, ok=(1,))
        self.assertEqual({'t5.a': 'created', 't5.b': 'failed',
                          't5.c': 'created'},
                         {n: x['action'] for n, x in rows.items()})
        self.assertIn('hw:no_such_spec', rows['t5.b']['reason'])
        self.assertIn('deleted again', rows['t5.b']['reason'])
        self.assertNotIn('t5.b', self.flavor_names())
        self.assertIn('not done: t5.b', r.stderr)
        good = self.plan([{'name': 't5.a'}, {'name': 't5.b'},
                          {'name': 't5.c'}])
        rows, _ = self.rows('--from-plan', good)
        self.assertEqual({'t5.a': 'exists', 't5.b': 'created',
                          't5.c': 'exists'},
                         {n: x['action'] for n, x in rows.items()})

    def test_crash_mid_run_then_rerun_completes(self):
        from vfioclient.apply import flavors
        path = self.plan([{'name': 't6.%d' % i} for i in range(4)])
        specs = flavors.specs_from_plan(planfile.load_plan(path))
        steps = ('create', 'extra_specs', 'access', 'finish')
        for i, step in enumerate(steps):
            def hook(at, spec, step=step, i=i):
                if at == step and spec.name == 't6.%d' % i:
                    raise Crash()
            self.assertRaises(Crash, flavors.apply, self.cloud(), specs,
                              hook=hook)
        rows, _ = self.rows('--from-plan', path)
        # Each killed run finished the flavor the previous one left.
        self.assertEqual({'t6.0': 'exists', 't6.1': 'exists',
                          't6.2': 'exists', 't6.3': 'created'},
                         {n: x['action'] for n, x in rows.items()})
        self.assertIn('resumed', rows['t6.3']['reason'])
        listed = [f['Name'] for f in self.osc('flavor', 'list',
                                              '--all').json]
        for i in range(4):
            name = 't6.%d' % i
            self.assertEqual(1, listed.count(name))
            show = self.osc('flavor', 'show', name).json
            self.assertEqual({'pci_passthrough:alias': '%s:1' % ALIAS},
                             show['properties'])
            self.assertFalse(str(show.get('description') or '')
                             .startswith('[vfioclient'))
        rows, _ = self.rows('--from-plan', path)
        self.assertEqual({'exists'}, {x['action'] for x in rows.values()})

    def test_verify_flavor_from_nova(self):
        r = self.osc('vfio', 'verify', '--summary', '--flavor', 'vf.a40-2q',
                     '--alias',
                     json.dumps({'name': ALIAS, 'resource_class': RC,
                                 'device_type': 'type-VF'}), ok=(0, 2))
        row = r.json[0]
        self.assertEqual(RC, row['resource_class'])
        # a40-03 has 8 VFs (1 used), a40-04 has 4 (1 used).
        self.assertEqual(2, row['hosts'])
        self.assertEqual(10, row['capacity'])
        missing = self.osc('vfio', 'verify', '--flavor', 'no.such',
                           ok=(2,))
        self.assertEqual(['VFIO-V104'], [f['code'] for f in missing.json])
