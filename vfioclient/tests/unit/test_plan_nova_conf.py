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

"""``vfio plan --nova-conf PATTERN=FILE`` (issue 19): legacy vGPU types
from nova.conf, read with Nova's rules, for hosts without a host report."""

import hashlib
import json
import os
import tempfile

import fixtures
import testtools

from vfioclient.collect import conf as conf_reader
from vfioclient.collect import sysfs as collect_sysfs
from vfioclient.model import plan as plan_model
from vfioclient.render import fleet
from vfioclient.render import runbook
from vfioclient.rules import plan as rules
from vfioclient.sandbox import estates
from vfioclient.sandbox import fakesysfs
from vfioclient.tests import base
from vfioclient.tests.shell import run_shell
from vfioclient.tests.unit import builders

A40 = builders.A40_PF
OTHER_PF = '0000:81:00.0'
DEFAULT_558 = '[devices]\nenabled_mdev_types = nvidia-558\n'


def vfs(pf=A40, count=8):
    return estates.vf_addresses(pf, count)


def listed(*groups, enabled=None, extra=''):
    """``[devices]`` and one ``[mdev_<type>]`` per ``(type, addresses)``."""
    names = enabled or [t for t, _a in groups]
    text = '[devices]\nenabled_mdev_types = %s\n' % ', '.join(names)
    for mdev_type, addresses in groups:
        text += '\n[mdev_%s]\ndevice_addresses = %s\n' % (
            mdev_type, ','.join(addresses))
    return text + extra


class ConfCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def write(self, text, name='nova.conf'):
        path = os.path.join(self.dir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def conf(self, text, pattern='*', name='nova.conf'):
        path = self.write(text, name)
        return rules.nova_conf(pattern, conf_reader.read_conf([path]))

    def plan(self, builder, *confs, reports=(), options=None):
        return rules.make_plan(builder.snapshot(), list(reports),
                               options or rules.Options(), confs)

    @staticmethod
    def gpu(plan, host, address=A40):
        h = plan.host(host)
        return next(g for g in h.gpus if g.address == address) if h else None

    @staticmethod
    def refusal(plan, subject):
        return next((r.reason for r in plan.refusals
                     if r.subject == subject), None)


def vgpu_hosts(*hosts, pf=A40, rc='VGPU'):
    """Hosts with one legacy A40 of 8 VF providers each, class ``rc``, no
    class or trait naming the type (today refused without a report)."""
    b = builders.PlanEstateBuilder()
    for host in hosts:
        b.host(host)
        b.legacy_gpu(host, pf=pf, rc=rc)
    return b


class TestReading(ConfCase):
    """The file as nova-compute reads it; what it refuses is an error."""

    def test_one_type_without_section_is_every_gpus(self):
        c = self.conf(DEFAULT_558, pattern='a40-*')
        self.assertEqual(('a40-*', 'nvidia-558', ('nvidia-558',)),
                         (c.pattern, c.layout.default_type, c.enabled))
        with open(c.file, 'rb') as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(), c.sha256)
        self.assertEqual('nvidia-558', c.layout.type_for('0000:41:00.4'))

    def test_deprecated_names_are_read(self):
        c = self.conf('[devices]\nenabled_vgpu_types = nvidia-558, '
                      'nvidia-555\n\n[vgpu_nvidia-555]\ndevice_addresses = '
                      '0000:81:00.4\n')
        self.assertEqual(('nvidia-558', 'nvidia-555'),
                         (c.layout.type_for('0000:41:00.4'),
                          c.layout.type_for('0000:81:00.4')))

    def test_address_under_two_types_names_file_and_line(self):
        text = listed(('nvidia-558', ['0000:41:00.4', '0000:41:00.5']),
                      ('nvidia-555', ['0000:41:00.5']))
        e = self.assertRaises(ValueError, self.conf, text, 'a40-*')
        path = os.path.join(self.dir, 'nova.conf')
        self.assertIn('--nova-conf a40-*=%s: %s:8 [mdev_nvidia-555] '
                      'device_addresses: duplicate types for PCI ID '
                      '0000:41:00.5 (also listed for nvidia-558)' % (
                          path, path), str(e))
        self.assertIn('nova-compute refuses to start', str(e))

    def test_type_enabled_twice_with_addresses(self):
        # Nova reads the list as written: the addresses come twice.
        text = listed(('nvidia-558', ['0000:41:00.4']),
                      enabled=['nvidia-558', 'nvidia-558'])
        e = self.assertRaises(ValueError, self.conf, text)
        self.assertIn('duplicate types for PCI ID 0000:41:00.4', str(e))

    def test_bad_address(self):
        e = self.assertRaises(ValueError, self.conf,
                              listed(('nvidia-558', ['41:00.4'])))
        self.assertIn(':5 [mdev_nvidia-558] device_addresses: incorrect '
                      'device address: 41:00.4', str(e))

    def test_value_oslo_refuses_names_the_line(self):
        e = self.assertRaises(ValueError, self.conf, DEFAULT_558 + (
            '\n[mdev_nvidia-558]\nmdev_class = custom_lower\n'))
        self.assertIn('nova.conf:5 [mdev_nvidia-558] mdev_class = '
                      "'custom_lower'", str(e))

    def test_other_sections_are_not_the_plans_business(self):
        c = self.conf(DEFAULT_558 + '[pci]\nreport_in_placement = maybe\n')
        self.assertEqual('nvidia-558', c.layout.default_type)


class TestDecision(ConfCase):
    """Which type each GPU gets, and when the file is refused for it."""

    def test_hosts_without_report_or_vgpu_in_use_are_planned(self):
        b = vgpu_hosts('lg-1', 'lg-2')
        before = rules.make_plan(b.snapshot())
        self.assertIn('legacy vGPU type unknown', self.refusal(
            before, 'gpu %s on lg-1' % A40))
        self.assertIn('--nova-conf lg-1=<its nova.conf>', self.refusal(
            before, 'gpu %s on lg-1' % A40))
        c = self.conf(DEFAULT_558, pattern='lg-*')
        plan = self.plan(b, c)
        self.assertEqual((), plan.refusals)
        for host in ('lg-1', 'lg-2'):
            g = self.gpu(plan, host)
            self.assertEqual(
                ('nvidia-558', 'NVIDIA A40-2Q', 'nova-conf', c.file,
                 'legacy-providers', 8),
                (g.legacy_type, g.legacy_name, g.legacy_source,
                 g.legacy_source_file, g.vfs_source, g.vf_count))
        self.assertEqual((plan_model.NovaConfRef('lg-*', c.file, c.sha256,
                                                 ('lg-1', 'lg-2')),),
                         plan.inputs.nova_confs)

    def test_several_types_follow_device_addresses(self):
        b = vgpu_hosts('h1')
        b.host('h2')
        b.legacy_gpu('h2', pf=OTHER_PF, rc='VGPU')
        c = self.conf(listed(('nvidia-558', vfs()),
                             ('nvidia-555', vfs(OTHER_PF))))
        plan = self.plan(b, c)
        self.assertEqual((), plan.refusals)
        self.assertEqual('nvidia-558', self.gpu(plan, 'h1').legacy_type)
        self.assertEqual(('nvidia-555', 'NVIDIA A40-1B'),
                         (self.gpu(plan, 'h2', OTHER_PF).legacy_type,
                          self.gpu(plan, 'h2', OTHER_PF).legacy_name))

    def test_type_without_addresses_is_the_default_for_the_rest(self):
        b = vgpu_hosts('h1')
        b.host('h2')
        b.legacy_gpu('h2', pf=OTHER_PF, rc='VGPU')
        c = self.conf(listed(('nvidia-555', vfs(OTHER_PF)), extra=(
            '\n[mdev_nvidia-558]\n')).replace(
                'nvidia-555\n', 'nvidia-555, nvidia-558\n', 1))
        plan = self.plan(b, c)
        self.assertEqual((), plan.refusals)
        self.assertEqual(('nvidia-558', 'nvidia-555'),
                         (self.gpu(plan, 'h1').legacy_type,
                          self.gpu(plan, 'h2', OTHER_PF).legacy_type))

    def test_gpu_the_file_gives_no_type_is_refused(self):
        b = vgpu_hosts('h1')
        c = self.conf(listed(('nvidia-558', vfs(OTHER_PF))))
        reason = self.refusal(self.plan(b, c), 'gpu %s on h1' % A40)
        self.assertIn('%s gives no mdev type to 0000:41:00.4 '
                      '(enabled_mdev_types: nvidia-558; not in any '
                      'device_addresses and no type without them), yet '
                      'provider h1_pci_0000_41_00_4 stands for it: the file '
                      'is not what nova-compute on h1 runs' % c.label(),
                      reason)

    def test_upper_case_address_is_not_the_gpu_for_nova(self):
        pf = '0000:af:00.0'
        b = vgpu_hosts('h1', pf=pf)
        c = self.conf(listed(('nvidia-558', [a.upper() for a in vfs(pf)])))
        reason = self.refusal(self.plan(b, c), 'gpu %s on h1' % pf)
        self.assertIn('it lists 0000:AF:00.4, but Nova compares '
                      'device_addresses as written', reason)

    def test_class_must_be_the_one_in_placement(self):
        # Listed addresses report their mdev_class; the providers have VGPU.
        b = vgpu_hosts('h1')
        c = self.conf(listed(('nvidia-558', vfs()), extra=(
            'mdev_class = CUSTOM_NVIDIA_558\n')))
        reason = self.refusal(self.plan(b, c), 'gpu %s on h1' % A40)
        self.assertIn('gives 0000:41:00.4 type nvidia-558 with resource '
                      'class CUSTOM_NVIDIA_558, but its provider '
                      'h1_pci_0000_41_00_4 has VGPU', reason)

    def test_default_type_reports_vgpu_whatever_its_class(self):
        # Nova's quirk: mdev_class is recorded per listed address only.
        b = vgpu_hosts('h1')
        c = self.conf(DEFAULT_558 + '\n[mdev_nvidia-558]\nmdev_class = '
                      'CUSTOM_NVIDIA_558\n')
        plan = self.plan(b, c)
        self.assertEqual((), plan.refusals)
        self.assertEqual('nova-conf', self.gpu(plan, 'h1').legacy_source)

    def test_custom_class_of_listed_addresses(self):
        b = vgpu_hosts('h1', rc='CUSTOM_NVIDIA_558')
        c = self.conf(listed(('nvidia-558', vfs()), extra=(
            'mdev_class = CUSTOM_NVIDIA_558\n')))
        plan = self.plan(b, c)
        self.assertEqual((), plan.refusals)
        # The class names the same type: the file is the source recorded.
        self.assertEqual('nova-conf', self.gpu(plan, 'h1').legacy_source)
        without = rules.make_plan(b.snapshot())
        self.assertEqual('class-or-trait',
                         self.gpu(without, 'h1').legacy_source)

    def test_file_naming_another_type_than_the_classes_is_refused(self):
        b = vgpu_hosts('h1', rc='CUSTOM_NVIDIA_555')
        c = self.conf(listed(('nvidia-558', vfs()), extra=(
            'mdev_class = CUSTOM_NVIDIA_555\n')))
        reason = self.refusal(self.plan(b, c), 'gpu %s on h1' % A40)
        self.assertEqual('%s gives it nvidia-558, but its providers, traits '
                         'and flavors name nvidia-555: pass --host-report '
                         'for h1 to tell which is true' % c.label(), reason)

    def test_one_gpu_two_types(self):
        b = vgpu_hosts('h1')
        c = self.conf(listed(('nvidia-558', vfs()[:4]),
                             ('nvidia-555', vfs()[4:])))
        reason = self.refusal(self.plan(b, c), 'gpu %s on h1' % A40)
        self.assertIn('one PF would need two VF types: %s gives its mdev '
                      'parents nvidia-555 to 0000:41:01.0' % c.label(),
                      reason)

    def test_not_an_nvidia_type(self):
        b = vgpu_hosts('h1')
        c = self.conf('[devices]\nenabled_mdev_types = mtty-2\n')
        reason = self.refusal(self.plan(b, c), 'gpu %s on h1' % A40)
        self.assertIn('gives it mdev type mtty-2, which is not an NVIDIA '
                      'vGPU type', reason)

    def test_map_of_the_type_applies_and_of_the_class_does_not(self):
        b = vgpu_hosts('h1')
        c = self.conf(DEFAULT_558)
        by_type = self.plan(b, c, options=rules.Options(
            maps=(('nvidia-558', 'NVIDIA A40-1B'),)))
        self.assertEqual('NVIDIA A40-1B',
                         self.gpu(by_type, 'h1').vf_type_name)
        by_class = self.plan(b, c, options=rules.Options(
            maps=(('VGPU', 'NVIDIA A40-1B'),)))
        g = self.gpu(by_class, 'h1')
        self.assertEqual(('NVIDIA A40-2Q', 'nova-conf'),
                         (g.vf_type_name, g.legacy_source))
        # Without the file the class map decides, and no type is known.
        g = self.gpu(self.plan(b, options=rules.Options(
            maps=(('VGPU', 'NVIDIA A40-1B'),))), 'h1')
        self.assertEqual((None, None, 'NVIDIA A40-1B'),
                         (g.legacy_type, g.legacy_source, g.vf_type_name))


def a40_report(in_use):
    """The A40 legacy host report (hostname a40-host, GPU at A40) with
    ``in_use`` mdevs of nvidia-558 (the fixture has 4)."""
    spec = fakesysfs.preset('a40')
    spec['gpus'][0]['address'] = A40
    spec['gpus'][0]['vf_mdevs'] = dict(list(
        spec['gpus'][0]['vf_mdevs'].items())[:in_use])
    root = tempfile.mkdtemp()
    fakesysfs.build_host(root, spec)
    return collect_sysfs.collect_host_report(
        root, hostname=spec['hostname'],
        collected_at='2026-11-25T00:00:00Z')


class TestPrecedence(ConfCase):
    """Host report's mdevs in use > nova.conf > classes and traits >
    --map of the class; a file that disagrees refuses the GPU."""

    def setUp(self):
        super().setUp()
        self.b = vgpu_hosts('a40-host')

    def test_report_in_use_wins_and_an_agreeing_file_is_fine(self):
        c = self.conf(DEFAULT_558)
        g = self.gpu(self.plan(self.b, c, reports=[a40_report(4)]),
                     'a40-host')
        self.assertEqual(('nvidia-558', 'host-report', None, 'host-report'),
                         (g.legacy_type, g.legacy_source,
                          g.legacy_source_file, g.vfs_source))

    def test_file_naming_another_type_than_the_report_is_refused(self):
        c = self.conf('[devices]\nenabled_mdev_types = nvidia-555\n')
        plan = self.plan(self.b, c, reports=[a40_report(4)])
        self.assertEqual(
            'its host report shows nvidia-558 mdevs in use but %s gives it '
            'nvidia-555: the file is not what nova-compute on a40-host runs'
            ' (or it changed without a restart); fix the file or leave this'
            ' host out of the pattern' % c.label(),
            self.refusal(plan, 'gpu %s on a40-host' % A40))

    def test_report_without_mdevs_in_use_leaves_the_type_to_the_file(self):
        report = a40_report(0)
        plan = rules.make_plan(self.b.snapshot(), [report])
        self.assertIn('legacy vGPU type unknown', self.refusal(
            plan, 'gpu %s on a40-host' % A40))
        c = self.conf(DEFAULT_558)
        g = self.gpu(self.plan(self.b, c, reports=[report]), 'a40-host')
        # Type from the file, VFs (and the type's name) from the report.
        self.assertEqual(('nvidia-558', 'NVIDIA A40-2Q', 'nova-conf',
                          'host-report', 24),
                         (g.legacy_type, g.legacy_name, g.legacy_source,
                          g.vfs_source, g.vf_count))


class TestHosts(ConfCase):
    """Which file a host gets."""

    def test_matches_service_host_short_name_and_any_case(self):
        b = builders.PlanEstateBuilder()
        b.host('A40-01.Example.Org')
        b.legacy_gpu('A40-01.Example.Org', rc='VGPU')
        for pattern in ('a40-0?', 'A40-01', '*.example.org',
                        'a40-01.example.org'):
            c = self.conf(DEFAULT_558, pattern=pattern)
            plan = self.plan(b, c)
            self.assertEqual(('A40-01.Example.Org',),
                             plan.inputs.nova_confs[0].hosts, pattern)
            self.assertEqual((), plan.refusals, pattern)

    def test_two_globs_with_different_files_are_an_error(self):
        b = vgpu_hosts('a40-01', 'a40-02')
        first = self.conf(DEFAULT_558, 'a40-*', 'a.conf')
        second = self.conf(DEFAULT_558, '*-02', 'b.conf')
        e = self.assertRaises(ValueError, self.plan, b, first, second)
        self.assertEqual(
            'host a40-02 matches %s and %s: which nova.conf does it run? '
            'Make the patterns not overlap, or name the host exactly '
            '(--nova-conf a40-02=FILE wins over patterns)' % (
                first.label(), second.label()), str(e))

    def test_same_file_twice_is_fine(self):
        b = vgpu_hosts('a40-01', 'a40-02')
        first = self.conf(DEFAULT_558, 'a40-*', 'a.conf')
        second = self.conf(DEFAULT_558, '*-02', 'a.conf')
        plan = self.plan(b, first, second)
        self.assertEqual((), plan.refusals)
        self.assertEqual([('a40-01', 'a40-02'), ('a40-02',)],
                         [r.hosts for r in plan.inputs.nova_confs])

    def test_exact_name_wins_over_globs(self):
        b = vgpu_hosts('a40-01', 'a40-02')
        glob = self.conf(DEFAULT_558, 'a40-*', 'a.conf')
        exact = self.conf('[devices]\nenabled_mdev_types = nvidia-555\n',
                          'a40-02', 'b.conf')
        plan = self.plan(b, glob, exact)
        self.assertEqual(
            [('nvidia-558', glob.file), ('nvidia-555', exact.file)],
            [(self.gpu(plan, h).legacy_type,
              self.gpu(plan, h).legacy_source_file)
             for h in ('a40-01', 'a40-02')])

    def test_pattern_matching_no_host_is_recorded_empty(self):
        b = vgpu_hosts('a40-01')
        plan = self.plan(b, self.conf(DEFAULT_558, 'l40s-*'))
        self.assertEqual((), plan.inputs.nova_confs[0].hosts)
        self.assertEqual(1, len(plan.refusals))


class TestDocumentAndRunbook(ConfCase):

    def test_round_trip_and_runbooks_name_the_file(self):
        b = vgpu_hosts('lg-1', 'lg-2')
        c = self.conf(DEFAULT_558, pattern='lg-*')
        plan = self.plan(b, c)
        text = plan.to_json()
        again = plan_model.Plan.from_json(text)
        self.assertEqual(plan, again)
        self.assertEqual(text, again.to_json())
        header = ('- nova.conf `%s` (sha256 `%s`) for the hosts matching '
                  '`lg-*`: 2 host(s); the legacy vGPU type of 2 planned '
                  'GPU(s) comes from it' % (c.file, c.sha256))
        book = runbook.render(plan)
        self.assertIn(header, book)
        self.assertEqual(2, book.count(
            '> Legacy vGPU type nvidia-558 comes from nova.conf `%s`'
            % c.file))
        self.assertIn(header, fleet.render(plan, fleet.build(plan), 'art'))

    def test_a_bad_source_is_refused_by_the_loader(self):
        b = vgpu_hosts('lg-1')
        doc = self.plan(b, self.conf(DEFAULT_558)).to_dict()
        doc['hosts'][0]['gpus'][0]['legacy_source'] = 'guess'
        e = self.assertRaises(plan_model.PlanError,
                              plan_model.Plan.from_dict, doc)
        self.assertIn('hosts[0].gpus[0].legacy_source', str(e))

    def test_older_plans_without_the_keys_load(self):
        b = vgpu_hosts('lg-1')
        doc = self.plan(b, self.conf(DEFAULT_558)).to_dict()
        del doc['inputs']['nova_confs']
        for g in doc['hosts'][0]['gpus']:
            del g['legacy_source'], g['legacy_source_file']
        plan = plan_model.Plan.from_dict(doc)
        self.assertEqual((), plan.inputs.nova_confs)
        self.assertIsNone(plan.hosts[0].gpus[0].legacy_source)


class TestCommand(base.TestCase):
    """Through the real ``openstack`` shell, offline: the sandbox's
    ``large`` estate (VGPU providers only, no report) planned from one
    nova.conf."""

    def setUp(self):
        super().setUp()
        self.tmp = self.useFixture(fixtures.TempDir()).path
        self.snapshot = self.write('snap.json', builders.estate_snapshot(
            estates.large(6)).to_json())
        self.a40 = self.write('a40.conf', DEFAULT_558)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def plan(self, *args):
        return run_shell(('vfio', 'plan', '--from-snapshot', self.snapshot)
                         + args, self)

    def test_every_host_planned_from_the_file(self):
        rc, out, err = self.plan('-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertEqual(6, len(json.loads(out)['refusals']))
        rc, out, err = self.plan('--nova-conf', 'lg-*=%s' % self.a40,
                                 '-f', 'json')
        self.assertEqual(0, rc, err)
        self.assertNotIn('warning', err)
        doc = json.loads(out)
        self.assertEqual([], doc['refusals'])
        self.assertEqual(6, len(doc['hosts']))
        self.assertEqual(
            {('nvidia-558', 'nova-conf', self.a40)},
            {(g['legacy_type'], g['legacy_source'], g['legacy_source_file'])
             for h in doc['hosts'] for g in h['gpus']})
        ref = doc['inputs']['nova_confs'][0]
        self.assertEqual(('lg-*', self.a40, 6),
                         (ref['pattern'], ref['file'], len(ref['hosts'])))

    def test_runbook_names_the_file(self):
        rc, out, err = self.plan('--nova-conf', 'lg-*=%s' % self.a40,
                                 '-f', 'markdown')
        self.assertEqual(0, rc, err)
        self.assertIn('- nova.conf `%s` (sha256 `' % self.a40, out)
        self.assertEqual(6, out.count('> Legacy vGPU type nvidia-558 comes '
                                      'from nova.conf `%s`' % self.a40))

    def test_pattern_matching_no_host_warns(self):
        rc, out, err = self.plan('--nova-conf', 'lg-*=%s' % self.a40,
                                 '--nova-conf', 'l40s-*=%s' % self.a40,
                                 '-f', 'value', '-c', 'host')
        self.assertEqual(0, rc, err)
        self.assertIn('warning: --nova-conf l40s-*=%s matches no compute '
                      'host of the estate' % self.a40, err)
        self.assertNotIn('lg-*', err)
        self.assertEqual(6, len(out.split()))

    def test_bad_input_fails_naming_it(self):
        missing = os.path.join(self.tmp, 'nope.conf')
        duplicate = self.write('dup.conf', listed(
            ('nvidia-558', ['0000:41:00.4']),
            ('nvidia-555', ['0000:41:00.4'])))
        other = self.write('other.conf', DEFAULT_558)
        for args, message in (
                (('lg-*',), "--nova-conf takes PATTERN=FILE, a hostname "
                 "glob and a nova.conf (e.g. \"a40-*=/srv/nova/a40.conf\"), "
                 "got 'lg-*'"),
                (('=%s' % self.a40,), 'got \'=%s\'' % self.a40),
                (('lg-*=',), "got 'lg-*='"),
                (('lg-*=%s' % missing,), '--nova-conf lg-*=%s: nova.conf '
                 'file %s does not exist' % (missing, missing)),
                (('lg-*=%s' % self.tmp,), 'is a directory, not a file'),
                (('lg-*=%s' % duplicate,), '%s:8 [mdev_nvidia-555] '
                 'device_addresses: duplicate types for PCI ID '
                 '0000:41:00.4' % duplicate),
                (('lg-*=%s' % self.a40, 'LG-*=%s' % other),
                 '--nova-conf gives pattern LG-* twice'),
                (('lg-*=%s' % self.a40, '*-0001*=%s' % other),
                 'host lg-0001.sandbox.test matches --nova-conf lg-*=%s and '
                 '--nova-conf *-0001*=%s' % (self.a40, other))):
            argv = []
            for value in args:
                argv += ['--nova-conf', value]
            rc, out, err = self.plan(*argv)
            self.assertEqual(1, rc, args)
            self.assertIn(message, err, args)
            self.assertEqual('', out, args)
