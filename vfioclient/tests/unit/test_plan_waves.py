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

"""Waves (issue 19): hosts converted together, the drain simulation per
wave, the default wave size, --group-by, the plan document and the
runbook's waves table."""

import dataclasses
import json
import os
import types

import fixtures
import testtools

from vfioclient.model import plan as plan_model
from vfioclient.render import decisions
from vfioclient.rules import plan as rules
from vfioclient.rules.plan import capacity
from vfioclient.rules.plan import gpus as plan_gpus
from vfioclient.tests import base
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit import builders

RC = 'CUSTOM_NVIDIA_A40_2Q'


def gpu_plan(in_use, vfs=4, legacy_total=4):
    return plan_model.GpuPlan(
        address='0000:41:00.0', board='A40', product_id='2235',
        legacy_type='nvidia-558', legacy_name='NVIDIA A40-2Q',
        vf_type_id=558, vf_type_name='NVIDIA A40-2Q', resource_class=RC,
        vf_count=vfs, vfs=tuple('0000:41:01.%d' % i for i in range(vfs)),
        vfs_source='host-report', legacy_total=legacy_total,
        legacy_in_use=in_use, providers_before=(),
        provider_after=plan_model.ProviderRef('p', RC, vfs, 0))


def simulation_inputs(**in_use):
    """``(by_host, moves)``: one 4-vGPU GPU per host, ``in_use`` servers
    on it (one vGPU each)."""
    by_host = {host: [plan_gpus.Conversion(None, None, gpu_plan(n))]
               for host, n in in_use.items()}
    moves = [capacity.Move(
        types.SimpleNamespace(id='id-%s-%d' % (host, i),
                              name='%s-vm%d' % (host, i), host=host,
                              flavor_name='vgpu.a40-2q'),
        host, by_host[host][0].plan, 1)
        for host, n in in_use.items() for i in range(n)]
    return by_host, moves


def free(vfs, legacy):
    return {RC: {'vfs': vfs, 'legacy': legacy}}


def fleet(used, zones=None, aggregates=None, order=None):
    """A builder estate: host ``cmpNN`` has one 8-vGPU A40 with
    ``used[NN]`` servers; ``zones`` / ``aggregates``: ``{host: value}``
    for its compute service / root provider."""
    b = builders.PlanEstateBuilder()
    f = builders.a40_flavor(b)
    names = ['cmp%02d' % i for i in range(len(used))]
    for i in order or range(len(used)):
        b.host(names[i])
        providers = b.legacy_gpu(names[i], used=used[i])
        b.servers_on('vm%02d' % i, names[i], f, providers, used[i])
    if zones is not None:
        b.services = [dataclasses.replace(s, zone=zones.get(s.host, ''))
                      for s in b.services]
    if aggregates is not None:
        b.providers = [
            dataclasses.replace(p, aggregates=aggregates[p.name])
            if p.is_root and p.name in aggregates else p
            for p in b.providers]
    return b


def refusal_for(plan, subject):
    return [r.reason for r in plan.refusals if r.subject == subject]


class TestDefaultWaveSize(testtools.TestCase):

    def test_rule(self):
        # 5 % of the hosts the plan converts, at least 1, at most 50.
        self.assertEqual(
            [1, 1, 1, 2, 2, 15, 50, 50, 50],
            [rules.default_wave_size(n)
             for n in (0, 1, 39, 40, 59, 300, 1000, 1001, 10000)])

    def test_small_estates_convert_host_by_host(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        self.assertEqual([('cmp2',), ('cmp1',)],
                         [w.hosts for w in plan.waves])
        self.assertEqual((None, 'kind'),
                         (plan.inputs.options['wave_size'],
                          plan.inputs.options['group_by']))

    def test_default_for_forty_hosts_is_two(self):
        plan = rules.make_plan(fleet([0] * 40).snapshot())
        self.assertEqual([2] * 20, [len(w.hosts) for w in plan.waves])

    def test_bad_options(self):
        snapshot = builders.two_host_estate().snapshot()
        e = self.assertRaises(ValueError, rules.make_plan, snapshot,
                              options=rules.Options(wave_size=0))
        self.assertIn('--wave-size must be at least 1', str(e))
        e = self.assertRaises(ValueError, rules.make_plan, snapshot,
                              options=rules.Options(group_by='rack'))
        self.assertIn('--group-by must be one of none, kind, aggregate, az',
                      str(e))


class TestWaveSimulation(testtools.TestCase):

    def test_groups_are_waved_apart(self):
        by_host, moves = simulation_inputs(a1=0, b1=0, a2=0, b2=0)
        drain = capacity.simulate(
            by_host, moves, {}, wave_size=3,
            group_of={'a1': 'A', 'a2': 'A', 'b1': 'B', 'b2': 'B'})
        self.assertEqual([(('a1', 'a2'), 'A'), (('b1', 'b2'), 'B')],
                         [(w.hosts, w.group) for w in drain.waves])
        self.assertEqual(('a1', 'a2', 'b1', 'b2'), drain.order)

    def test_servers_fit_outside_their_wave(self):
        # e has nothing to move and starts; f's 3 servers would need 3
        # free vGPUs outside a wave {e, f}, and g has only 1.
        by_host, moves = simulation_inputs(e=0, f=3, g=3)
        drain = capacity.simulate(by_host, moves, {}, wave_size=3)
        self.assertEqual([('e',), ('f',), ('g',)],
                         [w.hosts for w in drain.waves])
        first, second, third = drain.waves
        self.assertEqual(
            '1 of at most 3 hosts: with f too, 2 %s would have no place '
            'outside the wave' % RC, first.note)
        self.assertEqual((free(0, 6), free(4, 2), 0),
                         (first.capacity_before, first.capacity_after,
                          first.servers_to_move))
        # f's servers are resized onto e, g's onto e and f.
        self.assertEqual((free(4, 2), free(5, 1), 3),
                         (second.capacity_before, second.capacity_after,
                          second.servers_to_move))
        self.assertEqual({('resize', 'e')},
                         {(d.action, d.to_host) for d in drain.drains['f']})
        self.assertEqual((free(5, 1), free(6, 0), 3),
                         (third.capacity_before, third.capacity_after,
                          third.servers_to_move))
        self.assertEqual(['e', 'f', 'f'],
                         [d.to_host for d in drain.drains['g']])
        self.assertEqual(({}, {}, None), (drain.blocked, drain.shortfall,
                                          drain.blocked_wave))

    def test_waves_grow_with_converted_capacity(self):
        # Only a wave's first host may send servers to legacy hosts (they
        # would move twice): p, q and r wait for e's VFs.
        by_host, moves = simulation_inputs(e=0, p=1, q=1, r=1)
        drain = capacity.simulate(by_host, moves, {}, wave_size=3)
        self.assertEqual([('e',), ('p', 'q', 'r')],
                         [w.hosts for w in drain.waves])
        self.assertIn('with p too, 1 %s more free VFs would be needed on '
                      'converted hosts' % RC, drain.waves[0].note)
        self.assertEqual({'resize'}, {d.action for h in 'pqr'
                                      for d in drain.drains[h]})
        self.assertIsNone(drain.waves[1].note)

    def test_first_host_of_a_wave_may_migrate(self):
        by_host, moves = simulation_inputs(p=1, q=1)
        drain = capacity.simulate(by_host, moves, {}, wave_size=2)
        self.assertEqual([('p',), ('q',)], [w.hosts for w in drain.waves])
        self.assertEqual([('migrate', 'q')],
                         [(d.action, d.to_host) for d in drain.drains['p']])
        # q then holds its own server and p's, both resized onto p.
        self.assertEqual(2, drain.waves[1].servers_to_move)

    def test_wave_that_cannot_drain_is_refused(self):
        by_host, moves = simulation_inputs(f=3, g=3)
        drain = capacity.simulate(by_host, moves, {}, wave_size=2)
        self.assertEqual(((), ()), (drain.order, drain.waves))
        self.assertEqual({RC: 2}, drain.shortfall)
        self.assertEqual(
            'cannot be drained, so 2 host(s) stay legacy (f, g): even '
            'alone, f needs 2 %s more than the free VFs on converted hosts '
            'and free legacy vGPUs elsewhere offer; add capacity, or free '
            'some (delete or shelve servers) first' % RC,
            drain.blocked_wave)
        self.assertEqual(['f', 'g'], sorted(drain.blocked))
        # Host by host, each host's refusal says it all.
        self.assertIsNone(capacity.simulate(by_host, moves, {}).blocked_wave)

    def test_existing_vfs_count_before_the_first_wave(self):
        by_host, moves = simulation_inputs(p=2, q=2)
        drain = capacity.simulate(by_host, moves, {'done': {RC: (4, 1)}},
                                  wave_size=2)
        self.assertEqual([('p',), ('q',)], [w.hosts for w in drain.waves])
        self.assertEqual(free(3, 4), drain.waves[0].capacity_before)
        self.assertEqual({'done'}, {d.to_host for d in drain.drains['p']})

    def test_same_result_whatever_the_input_order(self):
        used = dict(e=0, f=3, g=1, h=2, i=0, j=1)
        one = capacity.simulate(*simulation_inputs(**used), {}, 3)
        two = capacity.simulate(*simulation_inputs(
            **dict(reversed(list(used.items())))), {}, 3)
        self.assertEqual([w.hosts for w in one.waves],
                         [w.hosts for w in two.waves])
        self.assertEqual(
            {h: [(d.action, d.server.name, d.to_host) for d in ds]
             for h, ds in one.drains.items()},
            {h: [(d.action, d.server.name, d.to_host) for d in ds]
             for h, ds in two.drains.items()})


class TestPlanWaves(testtools.TestCase):

    def test_plan_records_the_waves(self):
        plan = rules.make_plan(fleet([0, 2, 0, 1, 3]).snapshot(),
                               options=rules.Options(wave_size=2))
        self.assertEqual([('cmp00', 'cmp02'), ('cmp03', 'cmp01'),
                          ('cmp04',)], [w.hosts for w in plan.waves])
        self.assertEqual([1, 2, 3], [w.number for w in plan.waves])
        self.assertEqual(tuple(h for w in plan.waves for h in w.hosts),
                         plan.order)
        self.assertEqual([1, 2, 3, 4, 5], [plan.host(h).order
                                           for h in plan.order])
        self.assertEqual([0, 3, 3], [w.servers_to_move for w in plan.waves])
        self.assertEqual({RC: {'vfs': 0, 'legacy': 34}},
                         plan.waves[0].capacity_before)
        self.assertEqual({RC: {'vfs': 16, 'legacy': 18}},
                         plan.waves[0].capacity_after)
        self.assertEqual((2, 'kind'), (plan.inputs.options['wave_size'],
                                       plan.inputs.options['group_by']))
        doc = json.loads(plan.to_json())
        self.assertEqual(
            {'number': 1, 'hosts': ['cmp00', 'cmp02'],
             'group': '1 x A40 nvidia-558 -> NVIDIA A40-2Q '
                      '(CUSTOM_NVIDIA_A40_2Q, 8 VFs)',
             'servers_to_move': 0,
             'capacity_before': {RC: {'vfs': 0, 'legacy': 34}},
             'capacity_after': {RC: {'vfs': 16, 'legacy': 18}},
             'note': None}, doc['waves'][0])
        self.assertEqual(plan, plan_model.Plan.from_json(plan.to_json()))

    def test_deterministic(self):
        used = [3, 0, 2, 1, 0, 2, 1]
        zones = {'cmp%02d' % i: 'az%d' % (i % 2) for i in range(7)}
        options = rules.Options(wave_size=2, group_by='az')
        one = rules.make_plan(fleet(used, zones).snapshot(), options=options)
        two = rules.make_plan(fleet(used, zones, order=range(6, -1, -1))
                              .snapshot(), options=options)
        self.assertEqual(one.to_json(), two.to_json())
        self.assertEqual([('az1', ('cmp01',)), ('az0', ('cmp04', 'cmp06')),
                          ('az1', ('cmp03', 'cmp05')),
                          ('az0', ('cmp02', 'cmp00'))],
                         [(w.group, w.hosts) for w in one.waves])

    def test_group_by_az_refuses_hosts_without_a_zone(self):
        b = fleet([1, 0, 0], zones={'cmp00': 'az1', 'cmp01': 'az1'})
        plan = rules.make_plan(b.snapshot(),
                               options=rules.Options(group_by='az'))
        self.assertIn('--group-by az: no availability zone is known for it',
                      refusal_for(plan, 'host cmp02')[0])
        self.assertEqual(['cmp00', 'cmp01'], sorted(plan.order))
        self.assertIsNone(plan.host('cmp02'))

    def test_group_by_az_needs_zones(self):
        e = self.assertRaises(
            ValueError, rules.make_plan, fleet([0, 0]).snapshot(),
            options=rules.Options(group_by='az'))
        self.assertIn('names no availability zone', str(e))

    def test_group_by_aggregate(self):
        aggregates = {'cmp00': ('agg-1',), 'cmp01': ('agg-1', 'agg-2'),
                      'cmp02': ('agg-1',), 'cmp03': ()}
        plan = rules.make_plan(
            fleet([0, 0, 0, 0, 0], aggregates=aggregates).snapshot(),
            options=rules.Options(wave_size=3, group_by='aggregate'))
        self.assertEqual(
            [('agg-1', ('cmp00', 'cmp02')), ('agg-1,agg-2', ('cmp01',)),
             ('(no aggregate)', ('cmp03',))],
            [(w.group, w.hosts) for w in plan.waves])
        self.assertIn('collect the snapshot again with --aggregates',
                      refusal_for(plan, 'host cmp04')[0])
        e = self.assertRaises(
            ValueError, rules.make_plan, fleet([0]).snapshot(),
            options=rules.Options(group_by='aggregate'))
        self.assertIn('collected without --aggregates', str(e))

    def test_blocked_wave_is_a_refusal(self):
        plan = rules.make_plan(fleet([7, 7]).snapshot(),
                               options=rules.Options(wave_size=2))
        self.assertEqual((), plan.waves)
        self.assertIn('cannot be drained, so 2 host(s) stay legacy '
                      '(cmp00, cmp01): even alone, cmp00 needs 6 %s more'
                      % RC, refusal_for(plan, 'wave 1')[0])
        self.assertIn('cannot be drained: its servers need 6 %s more' % RC,
                      refusal_for(plan, 'host cmp00')[0])


class TestWavesDocument(testtools.TestCase):

    def setUp(self):
        super().setUp()
        plan = rules.make_plan(fleet([0, 1, 0]).snapshot(),
                               options=rules.Options(wave_size=2))
        self.doc = json.loads(plan.to_json())

    def assertProblem(self, text):
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, self.doc, 'p.json')
        self.assertIn(text, str(e))

    def test_older_plans_have_no_waves(self):
        del self.doc['waves']
        self.assertEqual((), plan_model.Plan.from_dict(self.doc).waves)

    def test_wave_names_a_host_the_plan_does_not_convert(self):
        self.doc['waves'][0]['hosts'].append('elsewhere')
        self.assertProblem('wave 1 names elsewhere, which is not a '
                           'converted host of the plan')

    def test_host_in_two_waves(self):
        self.doc['waves'][1]['hosts'].append(self.doc['waves'][0]['hosts'][0])
        self.assertProblem('is in two waves')

    def test_waves_and_order_disagree(self):
        self.doc['order'].reverse()
        self.assertProblem("the hosts of the waves are not the plan's order")

    def test_numbering(self):
        self.doc['waves'][1]['number'] = 5
        self.assertProblem('wave 2 is numbered 5')

    def test_schema(self):
        self.doc['waves'][0]['capacity_before'][RC] = 3
        self.assertProblem('waves[0]')


class TestWavesSection(testtools.TestCase):

    def test_table(self):
        # a1 and a2 convert (to A40-2Q); b1 and b2 cannot drain: their
        # A40-24A servers need 3 VFs and a converted GPU has 2.
        b = builders.PlanEstateBuilder()
        f = builders.a40_flavor(b)
        for host, used in (('a1', 0), ('a2', 2)):
            b.host(host)
            b.servers_on(host, host, f, b.legacy_gpu(host, used=used), used)
        big = b.flavor('a40-24a', **{'resources:CUSTOM_NVIDIA_575': '1'})
        for host in ('b1', 'b2'):
            b.host(host)
            b.servers_on(host, host, big, b.legacy_gpu(
                host, rc='CUSTOM_NVIDIA_575', vfs=4, used=3), 3,
                rc='CUSTOM_NVIDIA_575')
        plan = rules.make_plan(b.snapshot(),
                               options=rules.Options(wave_size=2))
        lines = decisions.waves_section(plan)
        self.assertEqual('### Waves', lines[0])
        text = '\n'.join(lines)
        self.assertIn('The plan converts 2 host(s) in 2 wave(s) of at most '
                      '2 hosts (`--wave-size 2`), each of one kind of host',
                      text)
        rows = [[c.strip() for c in line.strip('|').split('|')]
                for line in text.splitlines() if line.startswith('| ')]
        big_rc = 'CUSTOM_NVIDIA_A40_24A'
        self.assertEqual(
            ['wave', 'group', 'hosts', 'servers to move', big_rc + ' VFs',
             big_rc + ' legacy', RC + ' VFs', RC + ' legacy', 'note'],
            rows[0])
        self.assertEqual(
            [['1', '1 x A40 nvidia-558 -> NVIDIA A40-2Q (%s, 8 VFs)' % RC,
              'a1', '0', '0 -> 0', '2 -> 2', '0 -> 8', '14 -> 6',
              '1 of at most 2 hosts: with a2 too, 2 %s would have no place '
              'outside the wave' % RC],
             ['2', '1 x A40 nvidia-558 -> NVIDIA A40-2Q (%s, 8 VFs)' % RC,
              'a2', '2', '0 -> 0', '2 -> 2', '8 -> 14', '6 -> 0', '-']],
            rows[1:])
        self.assertIn('2 host(s) are in no wave, they cannot be drained: '
                      'b1, b2 (see the refusals).', text)
        self.assertIn('even alone, b1 needs 2 %s more' % big_rc,
                      refusal_for(plan, 'wave 3')[0])

    def test_default_size_and_no_group(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot(),
                               options=rules.Options(group_by='none'))
        text = '\n'.join(decisions.waves_section(plan))
        self.assertIn('in 2 wave(s) of at most 1 hosts (the default for 2 '
                      'hosts: 5 % of them, at least 1, at most 50).', text)
        self.assertNotIn('| group', text)

    def test_plan_without_waves(self):
        plan = rules.make_plan(builders.two_host_estate().snapshot())
        self.assertEqual([], decisions.waves_section(
            dataclasses.replace(plan, waves=())))


class TestPlanCommandWaves(base.TestCase):

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.snapshot = os.path.join(tmp, 'snap.json')
        with open(self.snapshot, 'w') as f:
            f.write(fleet([0, 2, 0, 1]).snapshot().to_json())

    def test_options(self):
        rc, out, err = run_shell(
            ['vfio', 'plan', '--from-snapshot', self.snapshot,
             '--wave-size', '2', '--group-by', 'none', '-f', 'json'], self)
        self.assertEqual(0, rc, err)
        doc = json.loads(out)
        self.assertEqual([['cmp00', 'cmp02'], ['cmp03', 'cmp01']],
                         [w['hosts'] for w in doc['waves']])
        self.assertEqual([None, None], [w['group'] for w in doc['waves']])
        self.assertEqual((2, 'none'), (doc['inputs']['options']['wave_size'],
                                       doc['inputs']['options']['group_by']))
        rc, out, err = run_shell(
            ['vfio', 'plan', '--from-snapshot', self.snapshot,
             '--wave-size', '2', '-f', 'value', '-c', 'host', '-c', 'wave'],
            self)
        self.assertEqual(0, rc, err)
        self.assertEqual(['cmp00 1', 'cmp02 1', 'cmp03 2', 'cmp01 2'],
                         out.splitlines())

    def test_help(self):
        rc, out, err = run_shell(['vfio', 'plan', '--help'], self)
        self.assertEqual(0, rc, err)
        self.assertIn('5% of the hosts', ' '.join(out.split()))
        self.assertIn('{none,kind,aggregate,az}', out)

    def test_bad_values(self):
        for value in ('0', '-1', 'two'):
            rc, out, err = run_shell(
                ['vfio', 'plan', '--from-snapshot', self.snapshot,
                 '--wave-size', value], self)
            self.assertEqual(2, rc)
            self.assertIn('expected a whole number of at least 1', err)
        rc, out, err = run_shell(
            ['vfio', 'plan', '--from-snapshot', self.snapshot,
             '--group-by', 'az'], self)
        self.assertEqual(1, rc)
        self.assertIn('names no availability zone', err)
