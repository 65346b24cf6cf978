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

"""apply/flavors.py against an in-memory Nova/Placement double."""

import re
import uuid

import fixtures
import testtools

from vfioclient.apply import drift
from vfioclient.apply import flavors
from vfioclient.cloud import client


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


class FakeCompute:
    """Enough of Nova's flavor API (2.86 validation of ``hw:`` keys).

    ``addTenantAccess`` as ``flavor_access.py`` (stable/2026.1) answers it:
    400 for a project Keystone does not know (when ``projects`` is set),
    409 on a public flavor or for a project already there.
    """

    def __init__(self):
        self.flavors = {}
        self.access = {}
        self.writes = []
        self.fail_extra_specs = False
        self.projects = None     # known project ids; None: all

    def negotiate(self, minimum, wanted=None):
        return wanted or minimum

    def _err(self, method, path, status, detail):
        return client.ApiError('compute', method, path, status, detail)

    def get(self, path, version, params=None, expected=None):
        try:
            return self._get(path, version, params)
        except client.ApiError as e:
            if expected and e.status in expected:
                return {'itemNotFound': {'message': e.detail}}
            raise

    def _get(self, path, version, params=None):
        if path == '/flavors/detail':
            return {'flavors': [dict(f) for f in self.flavors.values()]}
        m = re.match(r'^/flavors/([^/]+)/os-flavor-access$', path)
        if m:
            return {'flavor_access': [{'tenant_id': t}
                                      for t in self.access.get(m.group(1),
                                                               [])]}
        m = re.match(r'^/flavors/([^/]+)$', path)
        if m and m.group(1) in self.flavors:
            return {'flavor': dict(self.flavors[m.group(1)])}
        raise self._err('GET', path, 404, 'not found')

    def post(self, path, version, body=None, expected=None):
        self.writes.append(('POST', path))
        if path == '/flavors':
            f = body['flavor']
            if any(x['name'] == f['name'] for x in self.flavors.values()):
                raise self._err('POST', path, 409, 'exists')
            fid = str(uuid.uuid4())
            self.flavors[fid] = dict(
                id=fid, name=f['name'], vcpus=f['vcpus'], ram=f['ram'],
                disk=f['disk'], swap=f['swap'],
                description=f['description'], extra_specs={},
                **{'OS-FLV-EXT-DATA:ephemeral':
                   f['OS-FLV-EXT-DATA:ephemeral'],
                   'os-flavor-access:is_public':
                   f['os-flavor-access:is_public']})
            return {'flavor': dict(self.flavors[fid])}
        m = re.match(r'^/flavors/([^/]+)/os-extra_specs$', path)
        if m:
            specs = body['extra_specs']
            if self.fail_extra_specs or any(k.startswith('hw:foo')
                                            for k in specs):
                raise self._err('POST', path, 400, 'invalid extra spec')
            self.flavors[m.group(1)]['extra_specs'].update(specs)
            return body
        m = re.match(r'^/flavors/([^/]+)/action$', path)
        if m:
            try:
                return self._add_tenant_access(path, m.group(1),
                                               body['addTenantAccess'])
            except client.ApiError as e:
                if expected and e.status in expected:
                    return None
                raise
        raise AssertionError(path)

    def _add_tenant_access(self, path, fid, body):
        tenant = body['tenant']
        if self.projects is not None and tenant not in self.projects:
            raise self._err('POST', path, 400, 'Project ID %s is not a '
                            'valid project.' % tenant)
        if self.flavors[fid]['os-flavor-access:is_public']:
            raise self._err('POST', path, 409, 'Can not add access to a '
                            'public flavor.')
        if tenant in self.access.get(fid, []):
            raise self._err('POST', path, 409, 'Flavor access already '
                            'exists for flavor %s and project %s '
                            'combination.' % (fid, tenant))
        self.access.setdefault(fid, []).append(tenant)
        return {'flavor_access': [{'flavor_id': fid, 'tenant_id': t}
                                  for t in self.access[fid]]}

    def put(self, path, version, body=None, expected=None):
        self.writes.append(('PUT', path))
        fid = path.split('/')[2]
        self.flavors[fid]['description'] = body['flavor']['description']
        return {'flavor': dict(self.flavors[fid])}

    def delete(self, path, version, expected=None):
        self.writes.append(('DELETE', path))
        parts = path.split('/')
        if len(parts) == 3:
            self.flavors.pop(parts[2], None)
        else:
            self.flavors[parts[2]]['extra_specs'].pop(parts[4], None)


class FakePlacement:
    def __init__(self, pci=None, legacy=None):
        self.pci = pci or {}
        self.legacy = legacy or {}

    def negotiate(self, minimum, wanted=None):
        return wanted or minimum

    def get(self, path, version, params=None):
        rc = params['resources'].split(':')[0]
        source = self.legacy if params['required'].startswith('!') \
            else self.pci
        return {'resource_providers': [{'name': n}
                                       for n in source.get(rc, [])]}


class Cloud:
    def __init__(self, compute, placement):
        self.compute = compute
        self.placement = placement


RC = 'CUSTOM_NVIDIA_A40_2Q'


def spec(name, **kwargs):
    args = dict(vcpus=4, ram=16384, disk=40, resource_class=RC)
    args.update(kwargs)
    return flavors.adhoc_spec(name, **args)


class TestAdhocSpec(testtools.TestCase):

    def test_vgpu_type_naming(self):
        s = flavors.adhoc_spec('f', 4, 1024, vgpu_type='NVIDIA A40-2Q',
                               count=2)
        self.assertEqual(RC, s.resource_class)
        self.assertEqual('nvidia-a40-2q', s.alias)
        self.assertEqual({'pci_passthrough:alias': 'nvidia-a40-2q:2'},
                         s.extra_specs)
        self.assertEqual('{"device_type": "type-VF", "name": '
                         '"nvidia-a40-2q", "resource_class": '
                         '"CUSTOM_NVIDIA_A40_2Q"}', s.alias_line)
        self.assertIn('"managed": "no"', s.device_spec_hint())

    def test_refusals(self):
        for kwargs, text in (
                (dict(resource_class='VGPU'), 'standard resource class'),
                (dict(resource_class='custom_a b'), 'CUSTOM_A_B'),
                (dict(alias='a:b'), 'is not of the format'),
                (dict(count=0), '--count'),
                (dict(projects=['p']), '--private'),
                (dict(resource_class=None), 'exactly one')):
            e = self.assertRaises(flavors.SpecError, spec, 'f', **kwargs)
            self.assertIn(text, str(e))

    def test_property_contradiction(self):
        self.assertRaises(flavors.SpecError, spec, 'f', properties={
            'pci_passthrough:alias': 'other:1'})


class TestApply(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.nova = FakeCompute()
        self.cloud = Cloud(self.nova, FakePlacement(
            pci={RC: ['cmp1_0000:41:00.0']},
            legacy={'CUSTOM_NVIDIA_558': ['cmp2_pci_0000_41_00_4']}))

    def run_apply(self, specs, **kwargs):
        return {r.name: r for r in flavors.apply(self.cloud, specs,
                                                 **kwargs)}

    def test_created_then_exists(self):
        specs = [spec('a'), spec('b', is_public=False, projects=['p1'])]
        first = self.run_apply(specs)
        self.assertEqual(['created', 'created'],
                         [first[n].action for n in 'ab'])
        b = self.nova.flavors[first['b'].id]
        self.assertIsNone(b['description'])
        self.assertEqual(['p1'], self.nova.access[first['b'].id])
        writes = len(self.nova.writes)
        again = self.run_apply(specs)
        self.assertEqual(['exists', 'exists'],
                         [again[n].action for n in 'ab'])
        self.assertEqual(writes, len(self.nova.writes))

    def test_dry_run_writes_nothing(self):
        result = self.run_apply([spec('a')], dry_run=True)
        self.assertEqual('would-create', result['a'].action)
        self.assertEqual([], self.nova.writes)

    def test_conflicts_before_any_write(self):
        self.run_apply([spec('taken', ram=1024)])
        self.nova.writes.clear()
        result = self.run_apply([
            spec('legacy', resource_class='CUSTOM_NVIDIA_558'),
            spec('taken'),
            spec('ids', resource_class='CUSTOM_PCI_10DE_1234',
                 vendor_id='10de', product_id='2235'),
        ])
        clash = self.run_apply([
            spec('clash', alias='nvidia-a40-2q',
                 resource_class='CUSTOM_OTHER'),
            spec('fine', alias='a40-other')],
            known_aliases={'nvidia-a40-2q': RC}, dry_run=True)
        result['clash'] = clash['clash']
        self.assertEqual({'conflict'}, {r.action for r in result.values()})
        self.assertIn('legacy vGPU', result['legacy'].reason)
        self.assertIn('ram 1024 (want 16384)', result['taken'].reason)
        self.assertIn('10de:1234, not the 10de:2235', result['ids'].reason)
        self.assertIn('alias nvidia-a40-2q is already used for %s' % RC,
                      result['clash'].reason)
        self.assertEqual('would-create', clash['fine'].action)
        self.assertEqual([], self.nova.writes)

    def test_no_inventory_is_a_warning(self):
        result = self.run_apply([spec('x', resource_class='CUSTOM_NONE')])
        self.assertEqual('created', result['x'].action)
        self.assertIn('warning: no provider has free CUSTOM_NONE',
                      result['x'].reason)

    def test_rejected_extra_spec_is_undone_and_others_go_on(self):
        specs = [spec('a'), spec('b', properties={'hw:foo': 'x'}),
                 spec('c')]
        result = self.run_apply(specs)
        self.assertEqual(['created', 'failed', 'created'],
                         [result[n].action for n in 'abc'])
        self.assertIn('half-made flavor was deleted', result['b'].reason)
        self.assertNotIn('b', [f['name'] for f in
                               self.nova.flavors.values()])
        self.assertIn('not done: b', flavors.summary(result.values()))
        fixed = [specs[0], spec('b'), specs[2]]
        again = self.run_apply(fixed)
        self.assertEqual(['exists', 'created', 'exists'],
                         [again[n].action for n in 'abc'])

    def test_crash_at_each_step_then_resume(self):
        for step in ('create', 'extra_specs', 'access', 'finish'):
            nova = FakeCompute()
            self.cloud.compute = nova
            specs = [spec('a'), spec('b', is_public=False, projects=['p']),
                     spec('c')]

            def hook(at, s, step=step):
                if at == step and s.name == 'b':
                    raise Crash()
            self.assertRaises(Crash, flavors.apply, self.cloud, specs,
                              hook=hook)
            result = self.run_apply(specs)
            self.assertEqual('exists', result['a'].action, step)
            self.assertEqual('created', result['c'].action, step)
            self.assertEqual('created', result['b'].action, step)
            if step != 'create':
                self.assertIn('resumed', result['b'].reason)
            names = sorted(f['name'] for f in nova.flavors.values())
            self.assertEqual(['a', 'b', 'c'], names, step)
            b = [f for f in nova.flavors.values() if f['name'] == 'b'][0]
            self.assertEqual({'pci_passthrough:alias': 'nvidia-a40-2q:1'},
                             b['extra_specs'])
            self.assertIsNone(b['description'])
            self.assertEqual(['p'], nova.access[b['id']])
            final = self.run_apply(specs)
            self.assertEqual({'exists'},
                             {r.action for r in final.values()}, step)

    def test_update_extra_specs_only(self):
        first = self.run_apply([spec('a', properties={'hw:x': '1'})])
        fid = first['a'].id
        result = self.run_apply([spec('a')])
        self.assertEqual('conflict', result['a'].action)
        self.assertIn('hw:x=1 (not in the definition)', result['a'].reason)
        result = self.run_apply([spec('a')], update_extra_specs=True,
                                dry_run=True)
        self.assertEqual('would-update', result['a'].action)
        self.assertIn('hw:x', self.nova.flavors[fid]['extra_specs'])
        result = self.run_apply([spec('a')], update_extra_specs=True)
        self.assertEqual('updated', result['a'].action)
        self.assertEqual({'pci_passthrough:alias': 'nvidia-a40-2q:1'},
                         self.nova.flavors[fid]['extra_specs'])

    def test_concurrent_create_409_is_judged(self):
        orig = self.nova.post

        def racing_post(path, version, body=None, expected=None):
            if path == '/flavors':
                # Another run created the same flavor just now.
                f = orig(path, version, body)
                self.nova.flavors[f['flavor']['id']].update(
                    description=None,
                    extra_specs={'pci_passthrough:alias':
                                 'nvidia-a40-2q:1'})
                raise client.ApiError('compute', 'POST', path, 409, 'dup')
            return orig(path, version, body, expected)
        self.nova.post = racing_post
        result = self.run_apply([spec('a')])
        self.assertEqual('exists', result['a'].action)
        self.assertEqual(1, len(self.nova.flavors))

    def test_drift_stops_before_writing(self):
        src = self.nova.post('/flavors', None, spec('old').body(None))
        fid = src['flavor']['id']
        self.nova.writes.clear()
        drifted = flavors.FlavorSpec(
            name='new', vcpus=4, ram=1, extra_specs={
                'pci_passthrough:alias': 'a:1'},
            source_flavor='renamed', source_flavor_id=fid)
        gone = flavors.FlavorSpec(
            name='new2', vcpus=4, ram=1, extra_specs={
                'pci_passthrough:alias': 'a:1'},
            source_flavor='x', source_flavor_id='nope')
        e = self.assertRaises(drift.DriftError, flavors.apply, self.cloud,
                              [drifted, gone], check_plan_drift=True)
        self.assertIn('was renamed to old', str(e))
        self.assertIn('no longer exists', str(e))
        self.assertEqual([], self.nova.writes)


class TestPrivateFlavorAccess(testtools.TestCase):
    """A plan's private flavor gets its source flavor's projects, once."""

    def setUp(self):
        super().setUp()
        self.nova = FakeCompute()
        self.cloud = Cloud(self.nova, FakePlacement(
            pci={RC: ['cmp1_0000:41:00.0']}))

    def run_apply(self, specs, **kwargs):
        return {r.name: r for r in flavors.apply(self.cloud, specs,
                                                 **kwargs)}

    def private(self, projects=('p1', 'p2')):
        return spec('priv', is_public=False, projects=list(projects))

    def test_dry_run_shows_the_projects(self):
        (row,) = self.run_apply([self.private()], dry_run=True).values()
        self.assertEqual(('would-create', 'would grant access to p1, p2'),
                         (row.action, row.reason))
        self.assertEqual([], self.nova.writes)

    def test_created_private_with_access_then_exists(self):
        (row,) = self.run_apply([self.private()]).values()
        self.assertEqual(('created', 'granted access to p1, p2'),
                         (row.action, row.reason))
        created = self.nova.flavors[row.id]
        self.assertFalse(created['os-flavor-access:is_public'])
        self.assertEqual(['p1', 'p2'], self.nova.access[row.id])
        writes = len(self.nova.writes)
        (again,) = self.run_apply([self.private()]).values()
        self.assertEqual(('exists', ''), (again.action, again.reason))
        self.assertEqual(writes, len(self.nova.writes))

    def test_rerun_adds_only_the_missing_projects(self):
        (row,) = self.run_apply([self.private()]).values()
        self.nova.access[row.id].remove('p1')
        (dry,) = self.run_apply([self.private()], dry_run=True).values()
        self.assertEqual(('would-update', 'would grant access to p1'),
                         (dry.action, dry.reason))
        self.assertEqual(['p2'], self.nova.access[row.id])
        self.nova.writes.clear()
        (again,) = self.run_apply([self.private()]).values()
        self.assertEqual(('updated', 'granted access to p1'),
                         (again.action, again.reason))
        self.assertEqual([('POST', '/flavors/%s/action' % row.id)],
                         self.nova.writes)
        self.assertEqual(['p2', 'p1'], self.nova.access[row.id])

    def test_access_granted_meanwhile_409_is_fine(self):
        compute_list = flavors.compute_api.list_flavor_access

        def stale_list(compute, fid):
            # The list was read before another run added p1.
            have = compute_list(compute, fid)
            self.nova.access[fid] = ['p1']
            return have
        self.useFixture(fixtures.MockPatchObject(
            flavors.compute_api, 'list_flavor_access', stale_list))
        (row,) = self.run_apply([self.private()]).values()
        self.assertEqual('created', row.action)
        self.assertEqual(['p1', 'p2'], self.nova.access[row.id])

    def test_project_gone_from_keystone_is_reported_not_fatal(self):
        self.nova.projects = {'p2'}
        (row,) = self.run_apply([self.private()]).values()
        self.assertEqual('created', row.action)
        self.assertIn('granted access to p2', row.reason)
        self.assertIn('not granted to p1: Project ID p1 is not a valid '
                      'project.', row.reason)
        (again,) = self.run_apply([self.private()]).values()
        self.assertEqual('exists', again.action)
        self.assertIn('not granted to p1', again.reason)

    def test_specs_from_plan_carry_the_access_list(self):
        from vfioclient.apply import planfile
        from vfioclient.model import plan as plan_model
        doc = planfile.minimal_document(
            resource_classes=[RC],
            aliases=[{'name': 'nvidia-a40-2q', 'resource_class': RC}],
            flavors=[{'name': 'priv', 'vcpus': 4, 'ram': 1024,
                      'alias': 'nvidia-a40-2q', 'resource_class': RC,
                      'is_public': False,
                      'access_projects': ['p1', 'p2']}])
        (s,) = flavors.specs_from_plan(plan_model.Plan.from_dict(doc))
        self.assertEqual((False, ('p1', 'p2')), (s.is_public, s.projects))
        doc['flavors'][0]['is_public'] = True
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertIn('public but lists access_projects', str(e))


class TestVgpuTypeNaming(testtools.TestCase):

    def test_same_as_the_plan_default(self):
        from vfioclient.nova import flavor_request
        for name in ('NVIDIA A40-2Q', 'GRID T4-1Q', 'NVIDIA L40S-48Q'):
            rc, alias = flavors.vgpu_type_names(name)
            self.assertEqual(rc,
                             flavor_request.vgpu_type_resource_class(name))
            self.assertEqual(alias, flavor_request.default_alias_name(rc))
        self.assertEqual(('CUSTOM_NVIDIA_A40_2Q', 'nvidia-a40-2q'),
                         flavors.vgpu_type_names('NVIDIA A40-2Q'))


class TestProviderDrift(testtools.TestCase):
    """Providers of the plan that are gone, unless their host's PCI
    provider replaced them (the runbook's provider cleanup)."""

    def gone(self, names, have):
        class Listing:
            def negotiate(self, minimum, wanted=None):
                return wanted or minimum

            def get(self, path, version, params=None):
                return {'resource_providers': [{'name': n} for n in have]}
        return drift.gone_providers(Listing(), names)

    def test_replaced_provider_is_progress_not_drift(self):
        names = {'h_pci_0000_41_00_4': 'h_0000:41:00.0',
                 'g_pci_0000_42_00_4': 'g_0000:42:00.0'}
        self.assertEqual(['g_pci_0000_42_00_4'],
                         self.gone(names, ['h_0000:41:00.0']))
        self.assertEqual([], self.gone(names, ['h_0000:41:00.0',
                                               'g_pci_0000_42_00_4']))

    def test_plain_names_must_all_exist(self):
        self.assertEqual(['b'], self.gone(['a', 'b'], ['a']))
