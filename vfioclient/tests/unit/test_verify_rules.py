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

"""rules/verify.py and nova/flavor_request.py: translation and analysis."""

import testtools

from vfioclient.nova import flavor_request
from vfioclient.rules import verify

RC = 'CUSTOM_NVIDIA_A40_2Q'
ALIASES = flavor_request.aliases_from_lines([
    '{"name": "a40", "resource_class": "%s", "device_type": "type-VF"}'
    % RC,
    '{"name": "t", "resource_class": "nvidia-x", "traits": "blue,big"}'])


def target(count=1, expected=None, **specs):
    extra = {'pci_passthrough:alias': 'a40:%d' % count}
    extra.update(specs)
    return verify.Target('f', 4, 8192, 20, extra, swap=1500,
                         expected=expected)


class TestTranslate(testtools.TestCase):

    def test_groups_like_nova(self):
        req, problem = verify.translate(target(count=2), ALIASES)
        self.assertIsNone(problem)
        self.assertEqual({'VCPU': 4, 'MEMORY_MB': 8192, 'DISK_GB': 22},
                         req.unnumbered.resources)
        self.assertEqual(['pci0', 'pci1'], sorted(req.groups))
        self.assertEqual('none', req.group_policy)
        query = dict(req.query((1, 36), limit=10))
        self.assertEqual('%s:1' % RC, query['resourcespci0'])
        self.assertEqual('!COMPUTE_STATUS_DISABLED', query['root_required'])
        self.assertEqual('10', query['limit'])
        self.assertNotIn('root_required', dict(req.query((1, 33))))
        self.assertRaises(ValueError, req.query, (1, 29))

    def test_traits_normalised_and_overrides(self):
        t = verify.Target('f', 2, 1024, 0, {
            'pci_passthrough:alias': 't:1', 'resources:VCPU': '0',
            'hw:cpu_policy': 'dedicated', 'group_policy': 'isolate',
            'trait:HW_CPU_X86_AVX2': 'required'})
        req, _ = verify.translate(t, ALIASES)
        self.assertEqual({'PCPU': 2, 'MEMORY_MB': 1024},
                         req.unnumbered.resources)
        self.assertEqual({'CUSTOM_BLUE', 'CUSTOM_BIG'},
                         req.groups['pci0'].required)
        self.assertEqual({'CUSTOM_NVIDIA_X': 1}, req.groups['pci0'].resources)
        self.assertEqual('isolate', req.group_policy)

    def test_untranslatable(self):
        for specs in ({'pci_passthrough:alias': 'nope:1'},
                      {'pci_passthrough:alias': 'a40'}):
            t = verify.Target('f', 1, 1, 0, specs)
            req, problem = verify.translate(t, ALIASES)
            self.assertIsNone(req)
            self.assertEqual('VFIO-V104', problem.code)


def answer(hosts):
    """``hosts``: {root: {rp: (capacity, used)}} -> a candidates body with
    one request per free device provider."""
    requests, summaries = [], {}
    for root, rps in hosts.items():
        summaries[root] = {'root_provider_uuid': root, 'resources': {}}
        for rp, (cap, used) in rps.items():
            summaries[rp] = {'root_provider_uuid': root, 'resources': {
                RC: {'capacity': cap, 'used': used}}}
            if cap > used:
                requests.append({'allocations': {
                    root: {'resources': {'VCPU': 4}},
                    rp: {'resources': {RC: 1}}}})
    return {'allocation_requests': requests,
            'provider_summaries': summaries}


class TestAnalyse(testtools.TestCase):

    def run_analyse(self, t, body, **kwargs):
        req, _ = verify.translate(t, ALIASES)
        return verify.analyse(t, req, body, **kwargs)

    def test_counts(self):
        body = answer({'h1': {'p1': (8, 3), 'p2': (8, 0)},
                       'h2': {'p3': (4, 4)}, 'h3': {'p4': (2, 1)}})
        row, found = self.run_analyse(target(expected=14), body)
        self.assertEqual((2, 14, 14, 'ok'), (row.hosts, row.capacity,
                                             row.expected, row.status))
        self.assertEqual([], found)
        row, found = self.run_analyse(target(expected=15), body)
        self.assertEqual(['VFIO-V102'], [f.code for f in found])
        self.assertEqual('error', row.status)

    def test_nothing(self):
        row, found = self.run_analyse(target(expected=3), answer({}))
        self.assertEqual(['VFIO-V101'], [f.code for f in found])
        self.assertEqual(0, row.hosts)

    def test_limit_and_estimate(self):
        body = answer({'h1': {'p%d' % i: (8, 0) for i in range(8)}})
        _, found = self.run_analyse(target(), body, limit=8)
        self.assertEqual(['VFIO-V103'], [f.code for f in found])
        _, found = self.run_analyse(target(), body, limit=100)
        self.assertEqual([], found)
        # 8 PFs and 4 VFs per server: 8 ** 4 candidates on one host.
        _, found = self.run_analyse(target(count=4), body, limit=1000)
        self.assertEqual(['VFIO-V103'], [f.code for f in found])
        self.assertIn('4096', found[0].message)
        self.assertEqual(4096, verify.estimate_candidates(8, 4))
        self.assertEqual(1680, verify.estimate_candidates(8, 4, True))

    def test_a_host_with_two_classes_counts_each_flavors_own(self):
        # A host whose GPUs have different VF types: one PCI provider per
        # GPU, each with its class.  Placement's summaries list the whole
        # tree; a flavor of one class counts only its providers.
        other = 'CUSTOM_NVIDIA_A40_1B'
        aliases = flavor_request.aliases_from_lines([
            '{"name": "a40", "resource_class": "%s", "device_type": '
            '"type-VF"}' % RC,
            '{"name": "a40-1b", "resource_class": "%s", "device_type": '
            '"type-VF"}' % other])
        summaries = {
            'h1': {'root_provider_uuid': 'h1', 'resources': {}},
            'gpu-2q': {'root_provider_uuid': 'h1', 'resources': {
                RC: {'capacity': 8, 'used': 2}}},
            'gpu-1b': {'root_provider_uuid': 'h1', 'resources': {
                other: {'capacity': 4, 'used': 0}}}}
        for alias, rp, rc, capacity in (('a40', 'gpu-2q', RC, 6),
                                         ('a40-1b', 'gpu-1b', other, 4)):
            t = verify.Target('f', 4, 8192, 20,
                              {'pci_passthrough:alias': '%s:1' % alias})
            req, _ = verify.translate(t, aliases)
            body = {'allocation_requests': [{'allocations': {
                'h1': {'resources': {'VCPU': 4}},
                rp: {'resources': {rc: 1}}}}],
                'provider_summaries': summaries}
            row, found = verify.analyse(t, req, body)
            self.assertEqual((rc, 1, capacity, 'ok'),
                             (row.resource_class, row.hosts, row.capacity,
                              row.status))

    def test_names(self):
        self.assertEqual(RC, flavor_request.vgpu_type_resource_class(
            'NVIDIA A40-2Q'))
        self.assertEqual('nvidia-a40-2q',
                         flavor_request.default_alias_name(RC))


class TestVerdicts(testtools.TestCase):

    def test_nova_flavors_missing_ones_fail(self):
        nova = {'f': {'name': 'f', 'vcpus': 2, 'ram': 512, 'disk': 1,
                      'swap': '', 'extra_specs': {
                          'pci_passthrough:alias': 'a40:1'}}}
        targets, rows, found = verify.targets_from_nova_flavors(
            ['gone', 'f'], nova)
        self.assertEqual(['f'], [t.name for t in targets])
        self.assertEqual(0, targets[0].swap)
        self.assertEqual(['gone'], [r.flavor for r in rows])
        self.assertEqual(['VFIO-V104'], [f.code for f in found])
        self.assertIn('flavor gone does not exist in Nova',
                      found[0].message)

    def test_rows_and_findings_in_target_order(self):
        bad = verify.Target('bad', 1, 1, 0,
                            {'pci_passthrough:alias': 'nope:1'})
        translated = verify.translate_all([bad, target(expected=1)],
                                          ALIASES)
        self.assertEqual([None], [r for _, r, _ in translated[:1]])
        self.assertIsNotNone(translated[1][1])
        body = answer({'h1': {'p1': (8, 0)}})
        rows, found = verify.verdicts(translated, [None, body])
        self.assertEqual(['bad', 'f'], [r.flavor for r in rows])
        self.assertEqual(['error', 'ok'], [r.status for r in rows])
        self.assertEqual(['VFIO-V104'], [f.code for f in found])
        self.assertEqual(8, rows[1].capacity)
