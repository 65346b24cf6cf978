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

"""``openstack vfio audit`` against real Keystone, Placement and Nova API.

Three estates seeded the way Nova's libvirt driver leaves them: the
``small`` one (half converted, with every trouble case), a purely legacy
healthy one and a fully converted healthy one.  Findings are asserted by
code and subject; healthy estates give no warning.
"""

import json

from vfioclient.model import plan as plan_model
from vfioclient.render import novaconf
from vfioclient.sandbox import estates
from vfioclient.tests.functional import sandbox

CONTROLLER_CONF = """\
[pci]
alias = {"name": "%s", "device_type": "type-VF", \
"resource_class": "%s"}

[filter_scheduler]
pci_in_placement = True
""" % (estates.PCI_ALIAS, estates.A40_VF_RC)


def by_code(rows):
    found = {}
    for row in rows:
        found.setdefault(row['code'], []).append(row)
    return found


def provider_subject(expected, name):
    return 'provider %s (%s)' % (name, expected['providers'][name]['uuid'])


def server_subject(expected, name):
    return 'server %s (%s)' % (name, expected['servers'][name]['id'])


class TestAuditSmallEstate(sandbox.SandboxTestCase):

    ESTATE = 'small'

    def test_findings_snapshot_and_summary(self):
        expected = estates.get('small').expected()
        snapshot = self.tmp_path('estate.json')
        r = self.osc('vfio', 'audit', '--save-snapshot', snapshot, ok=(2,))
        found = by_code(r.json)

        # Trouble planted in the estate, each by code and subject.
        stale = {s['reason']: s for s in
                 expected['trouble']['stale_pgpu_providers']}
        gone = stale['compute-service-gone']['provider']
        self.assertEqual([provider_subject(expected, gone)],
                         [f['subject'] for f in found['VFIO-A104']])
        orphans = [o['consumer'] for o in
                   expected['trouble']['orphan_allocations']]
        self.assertEqual(['consumer %s' % c for c in orphans],
                         [f['subject'] for f in found['VFIO-A106']])
        misplaced = expected['trouble']['misplaced_servers'][0]
        self.assertEqual([server_subject(expected, 'vgpu-misplaced-1')],
                         [f['subject'] for f in found['VFIO-A107']])
        self.assertIn(misplaced['allocated_on'],
                      found['VFIO-A107'][0]['message'])
        mixed = expected['trouble']['mixed_pfs'][0]
        self.assertEqual(['gpu %s on a40-04.sandbox.test' % mixed['pf']],
                         [f['subject'] for f in found['VFIO-A108']])
        # Every server holding a legacy vGPU is listed, and only those.
        legacy_servers = sorted(
            server_subject(expected, name)
            for name, s in expected['servers'].items()
            if not expected['flavors'][s['flavor']]['extra_specs'].get(
                'pci_passthrough:alias'))
        self.assertEqual(legacy_servers,
                         sorted(f['subject'] for f in found['VFIO-A103']))
        self.assertEqual(
            ['flavor %s (%s)' % (name, f['id'])
             for name, f in sorted(expected['flavors'].items())
             if 'pci_passthrough:alias' not in f['extra_specs']],
            sorted(f['subject'] for f in found['VFIO-A102']))
        # Nothing else is reported as a problem.
        self.assertEqual(
            {'VFIO-A101', 'VFIO-A102', 'VFIO-A103', 'VFIO-A104',
             'VFIO-A106', 'VFIO-A107', 'VFIO-A108', 'VFIO-A117'},
            set(found))

        # Offline from the snapshot: the same output, byte for byte, and the
        # snapshot is private.
        import os
        import stat
        self.assertEqual(0o600, stat.S_IMODE(os.stat(snapshot).st_mode))
        live = self.osc('vfio', 'audit', ok=(2,)).stdout
        offline = self.osc('vfio', 'audit', '--from-snapshot', snapshot,
                           ok=(2,)).stdout
        self.assertEqual(live, offline)
        with open(snapshot) as f:
            doc = json.load(f)
        self.assertEqual({'placement': '1.39', 'compute': '2.61'},
                         doc['microversions'])
        self.assertEqual(len(expected['providers']), len(doc['providers']))

        # The summary view exits 2 too: the exit code follows the findings.
        summary = {row['host']: row for row in self.osc(
            'vfio', 'audit', '--summary', '--from-snapshot', snapshot,
            ok=(2,)).json}
        self.assertEqual(8, summary['a40-01.sandbox.test'][
            'legacy_vgpu_total'])
        self.assertEqual({estates.A40_VF_RC: 8},
                         summary['a40-03.sandbox.test']['vf_total'])
        self.assertEqual(3, summary['t4-01.sandbox.test']['servers_to_move'])

    def test_host_reports_and_nova_conf(self):
        # With the controllers' alias config the flavor's alias is mapped to
        # its resource class: no "aliases unknown" note, no false finding.
        conf = self.tmp_path('controller.conf')
        with open(conf, 'w') as f:
            f.write(CONTROLLER_CONF)
        r = self.osc('vfio', 'audit', '--nova-conf', 'controller=%s' % conf,
                     ok=(2,))
        found = by_code(r.json)
        self.assertNotIn('VFIO-A117', found)
        self.assertNotIn('VFIO-A111', found)
        self.assertNotIn('VFIO-A112', found)


class TestAuditLegacyEstate(sandbox.SandboxTestCase):

    ESTATE = 'legacy'

    def test_every_legacy_object_found_and_nothing_wrong(self):
        expected = estates.get('legacy').expected()
        r = self.osc('vfio', 'audit', ok=(0,))
        found = by_code(r.json)
        self.assertEqual({'VFIO-A101', 'VFIO-A102', 'VFIO-A103'},
                         set(found))
        self.assertEqual(
            sorted(server_subject(expected, n)
                   for n in expected['servers']),
            sorted(f['subject'] for f in found['VFIO-A103']))
        self.assertEqual(['host a40-01.sandbox.test',
                          'host t4-01.sandbox.test'],
                         sorted(f['subject'] for f in found['VFIO-A101']))
        self.assertNotIn('warning', {f['severity'] for f in r.json})


class TestAuditConvertedEstate(sandbox.SandboxTestCase):

    ESTATE = 'converted'

    def test_clean(self):
        conf = self.tmp_path('controller.conf')
        with open(conf, 'w') as f:
            f.write(CONTROLLER_CONF)
        r = self.osc('vfio', 'audit', '--nova-conf', 'controller=%s' % conf,
                     '--fail-on', 'warning', ok=(0,))
        self.assertEqual([], r.json)
        summary = {row['host']: row for row in self.osc(
            'vfio', 'audit', '--summary').json}
        self.assertEqual({estates.A40_VF_RC: 2},
                         summary['a40-02.sandbox.test']['vf_used'])


class TestPlanFromSmallEstate(sandbox.SandboxTestCase):
    """Issue 8's acceptance: from the live ``small`` estate to a plan whose
    config lines pass ``config check`` and whose resource classes and
    flavors the apply commands accept."""

    ESTATE = 'small'

    def test_plan_lines_pass_lint_and_apply_accepts(self):
        import os

        from vfioclient.sandbox import hosts
        work = self.tmp_path('work')
        os.makedirs(work)
        reports = []
        for hostname, tree in sorted(hosts.write_trees(
                'small', os.path.join(work, 'sysfs')).items()):
            report = os.path.join(work, '%s.json' % hostname)
            r = self.osc('vfio', 'host', 'report', '--sysfs-root', tree,
                         '--hostname', hostname)
            with open(report, 'w') as f:
                json.dump(r.json, f)
            reports += ['--host-report', report]
        plan_path = os.path.join(work, 'plan.json')
        self.osc('vfio', 'plan', *reports, '--output', plan_path,
                 as_json=False)
        with open(plan_path) as f:
            plan = json.load(f)
        converted = sorted(h['host'] for h in plan['hosts']
                           if h['order'] is not None)
        self.assertEqual(['a40-01.sandbox.test', 'a40-02.sandbox.test'],
                         converted)
        self.assertEqual([estates.A40_VF_RC], plan['resource_classes'])
        with open(plan_path) as f:
            loaded = plan_model.from_json(f.read(), source=plan_path)
        confs = [novaconf.host_snippet(h) for h in loaded.hosts]
        confs.append(novaconf.controllers_snippet(loaded.controllers))
        for index, text in enumerate(confs):
            path = os.path.join(work, 'nova-%d.conf' % index)
            with open(path, 'w') as f:
                f.write(text)
            r = self.osc('vfio', 'config', 'check', '--fail-on', 'warning',
                         path)
            self.assertEqual([], [row for row in r.json
                                  if row['severity'] != 'info'], text)
        rows = self.osc('vfio', 'resource', 'class', 'create',
                        '--from-plan', plan_path, '--dry-run').json
        self.assertEqual({(estates.A40_VF_RC, 'exists')},
                         {(r['name'], r['action']) for r in rows})
        rows = self.osc('vfio', 'flavor', 'create', '--from-plan',
                        plan_path, '--dry-run').json
        self.assertEqual(sorted(f['name'] for f in plan['flavors']),
                         sorted(r['name'] for r in rows))
        self.assertEqual({'would-create'}, {r['action'] for r in rows})


class TestAuditEdgeEstate(sandbox.SandboxTestCase):
    """The trouble cases the ``small`` estate does not hold."""

    ESTATE = 'edge'

    def test_findings(self):
        expected = estates.get('edge').expected()

        def flavor(name):
            return 'flavor %s (%s)' % (name, expected['flavors'][name]['id'])
        r = self.osc('vfio', 'audit', ok=(2,))
        found = {(row['code'], row['subject']) for row in r.json
                 if row['severity'] != 'info'}
        self.assertEqual({
            ('VFIO-A109', 'gpu 0000:41:00.0 on a40-11.sandbox.test'),
            ('VFIO-A111', 'resource class CUSTOM_NVIDIA_A40_4Q'),
            ('VFIO-A112', flavor('vgpu.gone')),
            ('VFIO-A113', flavor('vgpu.badname')),
            ('VFIO-A114', flavor('vgpu.a40-2q.x2')),
        }, found)
        by = by_code(r.json)
        self.assertIn('max_allocation_candidates',
                      by['VFIO-A114'][0]['remedy'])
        self.assertIn('CUSTOM_A40_2Q', by['VFIO-A113'][0]['remedy'])
