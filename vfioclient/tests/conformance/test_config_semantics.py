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

"""Differential test: vfioclient.nova against Nova itself.

Runs only where ``nova`` is importable (the conformance environment); the
whole module is skipped otherwise.  Nova is the oracle: every generated
device_spec / alias line must be accepted or refused by both, and accepted
ones must give the same IDs, tags, resource classes and traits.

Host lookups Nova does (sysfs ``sriov_totalvfs``, ``/sys/class/net``) are
patched to "no such device", and our parser is told the same.
"""

import importlib.metadata
import json
import string

import fixtures
from hypothesis import given
from hypothesis import HealthCheck
from hypothesis import settings
from hypothesis import strategies as st
import testtools

from vfioclient.nova import alias as our_alias
from vfioclient.nova import devspec as our_devspec
from vfioclient.nova import errors as our_errors
from vfioclient.nova import names as our_names
from vfioclient.nova import releases

try:
    import nova.conf
    from nova.compute import pci_placement_translator as nova_translator
    from nova.pci import request as nova_request
    from nova.pci import whitelist as nova_whitelist
    NOVA = True
    # Our semantics of the installed Nova's release (34.0.0: 2026.2).
    RELEASE = releases.for_version(importlib.metadata.version('nova'))
except ImportError:  # not the conformance environment
    NOVA = False

EXAMPLES = 2500
SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                    suppress_health_check=list(HealthCheck))

# -- generators ------------------------------------------------------------
HEX = st.text('0123456789abcdefABCDEF', min_size=1, max_size=5)
ODD = st.sampled_from(['*', '', ' ', 'zz', '0x10de', ' 10de ', '1_0', '-1',
                       '+f', '10DE', 'ffff', '10000', '1ffff', '٣'])
ID = st.one_of(HEX, ODD, st.integers(-2, 70000), st.none())
FIELD = st.one_of(HEX.map(lambda s: s[:3]), st.sampled_from(
    ['*', '', ' 0a', '20', '1f', '8', '7', 'g', ' ']))
GLOB = st.one_of(
    st.builds(lambda d, b, s, f: '%s:%s:%s.%s' % (d, b, s, f),
              FIELD, FIELD, FIELD, FIELD),
    st.builds(lambda b, s, f: '%s:%s.%s' % (b, s, f), FIELD, FIELD, FIELD),
    st.builds(lambda s, f: '%s.%s' % (s, f), FIELD, FIELD),
    st.sampled_from(['*:0a:00.*', ':0a:00.', '0000:25:00.4', '1:2:3:4.5',
                     '0000:41:00.0', '..', '0000:41:00', '', '*']))
REGEX_VALUE = st.one_of(st.sampled_from(
    ['.*', '4', '0000', '[0-2]', '(', '[', '41', 'a|b', '0+']),
    st.integers(0, 9), st.none())
REGEX = st.dictionaries(st.sampled_from(['domain', 'bus', 'slot',
                                         'function', 'other']),
                        REGEX_VALUE, max_size=4)
ADDRESS = st.one_of(GLOB, REGEX, st.integers(0, 2), st.none(),
                    st.just([]))
BOOL = st.one_of(st.sampled_from(
    ['yes', 'no', 'Yes', ' no ', 'true', 'False', '1', '0', 't', 'f', 'on',
     'off', 'y', 'n', 'maybe', '', '2', 'tru']),
    st.booleans(), st.integers(-1, 2), st.none(), st.just(1.0))
NAME_CHARS = string.ascii_letters + string.digits + '_- .:/'
RC = st.one_of(
    st.text(NAME_CHARS, max_size=20),
    st.builds(lambda p, s: p + s,
              st.sampled_from(['CUSTOM_', 'custom_', 'Custom_', '']),
              st.text(NAME_CHARS, max_size=12)),
    st.sampled_from(['VGPU', 'vgpu', 'PGPU', 'a16-16a', 'custom_a16-16a',
                     'CUSTOM_a b', 'x' * 260, 'a__b']))
TRAITS = st.one_of(
    st.lists(st.one_of(RC, st.sampled_from(
        ['HW_GPU_API_VULKAN', 'hw_gpu_api_vulkan', ' big', 'blue ',
         'COMPUTE_MANAGED_PCI_DEVICE', ''])), max_size=4).map(
        lambda items: ','.join(items)),
    st.sampled_from(['blue, big', 'HW_GPU_API_VULKAN, my-awesome-gpu',
                     'custom_foo-bar', 'a,']))
TAG_VALUE = st.one_of(st.text(max_size=5), st.integers(), st.none(),
                      st.booleans())


# "Sane" examples lean towards values Nova accepts, so that the corpus
# exercises accepted specs (IDs, tags, names) as much as refusals.
SANE_ID = st.one_of(st.text('0123456789abcdefABCDEF', min_size=1,
                            max_size=4), st.just('*'))
SANE_FIELD = st.one_of(st.text('0123456789abcdef', min_size=1, max_size=2),
                       st.sampled_from(['*', '']))
SANE_GLOB = st.builds(lambda d, b, s, f: '%s:%s:%s.%s' % (d, b, s, f),
                      st.sampled_from(['0000', '*', '']), SANE_FIELD,
                      st.sampled_from(['00', '01', '1f', '*']),
                      st.sampled_from(['0', '4', '7', '*', '']))
SANE_REGEX = st.dictionaries(st.sampled_from(['domain', 'bus', 'slot',
                                              'function']),
                             st.sampled_from(['.*', '4', '0000', '[0-2]',
                                              '41', 'a|b']), max_size=4)
SANE_BOOL = st.one_of(st.sampled_from(
    ['yes', 'no', 'Yes', ' no ', 'true', 'False', '1', '0', 't', 'off']),
    st.booleans(), st.none())


@st.composite
def device_spec_objects(draw, sane=False):
    obj = {}
    if draw(st.booleans()):
        obj['vendor_id'] = draw(SANE_ID if sane else ID)
    if draw(st.booleans()):
        obj['product_id'] = draw(SANE_ID if sane else ID)
    if draw(st.integers(0, 3)) == 0:
        obj['devname'] = draw(st.sampled_from(
            ['nonexistent-vf0', '', 'nonexistent-pf1']))
    if draw(st.integers(0, 3)):
        obj['address'] = draw(st.one_of(SANE_GLOB, SANE_REGEX) if sane
                              else ADDRESS)
    for tag in ('managed', 'live_migratable', 'one_time_use'):
        if draw(st.integers(0, 2)) == 0:
            obj[tag] = draw(SANE_BOOL if sane else BOOL)
    if draw(st.booleans()):
        obj['resource_class'] = draw(RC)
    if draw(st.booleans()):
        obj['traits'] = draw(TRAITS)
    if draw(st.integers(0, 4)) == 0:
        obj[draw(st.sampled_from(['physical_network', 'trusted', 'foo',
                                  'remote_managed']))] = draw(TAG_VALUE)
    return obj


def _break_json(text, how):
    if how == 1:  # unquote the first key
        return text.replace('"', '', 2)
    if how == 2:
        return text.replace('"', "'")
    if how == 3:
        return text[:-1] + ',' + text[-1:]
    return text


@st.composite
def device_spec_lines(draw):
    sane = draw(st.integers(0, 2)) > 0
    objs = draw(st.lists(device_spec_objects(sane), min_size=1,
                         max_size=2 if sane else 3))
    value = objs[0] if len(objs) == 1 and draw(st.booleans()) else objs
    if not sane and draw(st.integers(0, 9)) == 0:
        value = draw(st.sampled_from([1, 'x', None, [1], [[{}]]]))
    text = json.dumps(value)
    return text if sane else _break_json(text, draw(st.integers(0, 8)))


@st.composite
def sane_alias_lines(draw):
    obj = {'name': draw(st.sampled_from(['a', 'b', ' a ']))}
    if draw(st.integers(0, 3)):
        obj['vendor_id'] = draw(st.sampled_from(['10de', '10DE', '8086']))
        obj['product_id'] = draw(st.sampled_from(['25b6', '25B6', '0001']))
    if draw(st.booleans()):
        obj['resource_class'] = draw(RC)
    if draw(st.booleans()):
        obj['traits'] = draw(TRAITS)
    if draw(st.integers(0, 3)):
        obj['device_type'] = draw(st.sampled_from(['type-VF', 'type-PF']))
    if draw(st.integers(0, 3)) == 0:
        obj['numa_policy'] = draw(st.sampled_from(['legacy', 'required']))
    if draw(st.integers(0, 3)) == 0:
        obj['live_migratable'] = draw(st.sampled_from(['yes', 'no']))
    return json.dumps(obj)


@st.composite
def alias_lines(draw, name=None):
    if draw(st.integers(0, 2)):
        return draw(sane_alias_lines())
    obj = {}
    if draw(st.integers(0, 9)):
        obj['name'] = name or draw(st.sampled_from(
            ['a', 'b', ' a ', '', 'x' * 257]))
    for key, values in (
            ('vendor_id', st.one_of(st.sampled_from(
                ['10de', '10DE', '10d', '10de\n', 'zzzz']), st.integers())),
            ('product_id', st.sampled_from(['25b6', '25B6', '0001'])),
            ('device_type', st.sampled_from(
                ['type-VF', 'type-PF', 'type-PCI', 'vdpa'])),
            ('numa_policy', st.sampled_from(
                ['legacy', 'required', 'preferred', 'socket', 'x'])),
            ('resource_class', RC),
            ('traits', TRAITS),
            ('live_migratable', st.one_of(BOOL, st.just('yes'))),
            ('managed', st.just('no')),
            ('capability_type', st.sampled_from(['pci', 'x']))):
        if draw(st.integers(0, 3 if key != 'managed' else 15)) == 0 or (
                key in ('vendor_id', 'product_id', 'device_type')
                and draw(st.booleans())):
            obj[key] = draw(values)
    text = json.dumps(obj)
    return _break_json(text, draw(st.integers(0, 15)))


# -- oracles ---------------------------------------------------------------
def _nova_devspecs(lines):
    try:
        return nova_whitelist.Whitelist(lines).specs
    except Exception as e:  # any exception: Nova refuses to start
        return e


def _our_devspecs(lines, report_in_placement):
    try:
        return our_devspec.parse_device_specs(
            lines, report_in_placement, ifname_exists=lambda name: False,
            release=RELEASE)
    except our_errors.NovaConfigError as e:
        return e


def _nova_aliases():
    nova_request.get_alias_from_config.cache_clear()
    try:
        return nova_request.get_alias_from_config()
    except Exception as e:
        return e


@testtools.skipUnless(NOVA, 'nova is not importable (conformance env only)')
class TestConformance(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.conf = nova.conf.CONF
        self.useFixture(fixtures.MonkeyPatch(
            'nova.pci.utils.is_physical_function', lambda *a: False))
        self.useFixture(fixtures.MonkeyPatch(
            'nova.pci.utils.get_function_by_ifname',
            lambda name: (None, False)))
        self.addCleanup(self.conf.clear_override, 'report_in_placement',
                        group='pci')
        self.addCleanup(self.conf.clear_override, 'alias', group='pci')
        self.addCleanup(self.conf.clear_override, 'pci_in_placement',
                        group='filter_scheduler')
        self.addCleanup(nova_request.get_alias_from_config.cache_clear)

    # -- device_spec -----------------------------------------------------
    def check_device_specs(self, lines, rip):
        self.conf.set_override('report_in_placement', rip, group='pci')
        theirs = _nova_devspecs(list(lines))
        ours = _our_devspecs(lines, rip)
        context = '%r (report_in_placement=%s): nova=%r ours=%r' % (
            lines, rip, theirs, ours)
        self.assertEqual(isinstance(theirs, Exception),
                         isinstance(ours, Exception), context)
        if isinstance(theirs, Exception):
            return
        self.assertEqual(len(theirs), len(ours), context)
        for nspec, ospec in zip(theirs, ours):
            self.assertEqual((nspec.vendor_id, nspec.product_id),
                             (ospec.vendor_id, ospec.product_id), context)
            self.assertEqual(nspec.tags, ospec.tags, context)
            if nspec.address is not None:
                a = nspec.address.pci_address_spec
                self.assertEqual(
                    (a.domain, a.bus, a.slot, a.func),
                    ospec.address.fields(), context)
            self.check_names(ospec.tags.get('resource_class'),
                             ospec.tags.get('traits'),
                             ospec.vendor_id, ospec.product_id)
            self.check_provider_traits(nspec.tags, ospec, context)

    def check_provider_traits(self, tags, ospec, context):
        """Our release table's traits for a PCI provider: Nova's
        ``_get_traits_for_dev`` plus what ``add_parent`` (one-time-use)
        and ``update_provider_tree`` (OWNER_NOVA) add."""
        traits = tags.get('traits')
        if not (traits is None or isinstance(traits, str)):
            return
        theirs = set(nova_translator._get_traits_for_dev(tags))
        theirs.add('OWNER_NOVA')
        if tags.get('one_time_use') == 'true':
            theirs.add('HW_PCI_ONE_TIME_USE')
        self.assertEqual(theirs, set(ospec.placement_traits(RELEASE)),
                         context)

    def check_names(self, rc, traits, vendor, product):
        if isinstance(rc, str) or rc is None:
            self.assertEqual(
                nova_translator.get_resource_class(rc, vendor, product),
                our_names.get_resource_class(rc, vendor, product), rc)
        if isinstance(traits, str) or traits is None:
            self.assertEqual(nova_translator.get_traits(traits or ''),
                             our_names.get_traits(traits or ''), traits)

    @SETTINGS
    @given(st.lists(device_spec_lines(), min_size=1, max_size=3),
           st.booleans())
    def test_device_spec_corpus(self, lines, rip):
        self.check_device_specs(lines, rip)

    def test_device_spec_hand_written(self):
        cases = [
            '{ "vendor_id": "10de", "address": "0000:25:00.4", '
            'managed: "no" }',
            "{'vendor_id': '8086', 'product_id': '1520'}",
            '{"vendor_id": "10de", "product_id": "25b6", '
            '"address": "0000:25:00.4", "managed": "no", '
            '"resource_class": "CUSTOM_A16_16A"}',
            '{"managed": "maybe"}', '{"managed": false}',
            '{"managed": null}', '{"foo": "bar"}',
            '{"vendor_id": "zz"}', '{"vendor_id": "1ffff"}',
            '{"address": "0000:00:20.0"}', '{"address": "*:0a:00.*"}',
            '{"address": ":0a:00."}', '{"address": {"bus": "4"}}',
            '{"address": {"bus": "("}}', '{"address": "1:2:3:4.0"}',
            '{"devname": "eth0", "address": "0000:00:01.0"}',
            '{"one_time_use": "yes"}', '{"live_migratable": "no"}',
            '{"vendor_id": "10DE", "product_id": "b6"}',
            '[{"vendor_id": "10de"}, 1]', '"x"', '[]',
            '{"traits": "blue, big", "resource_class": "custom_a16-16a"}',
        ]
        for rip in (False, True):
            for line in cases:
                self.check_device_specs([line], rip)

    def test_names_hand_written(self):
        for rc in ('a16-16a', 'pgpu', 'vgpu', 'custom_a16-16a',
                   'CUSTOM_a b', 'x' * 260, 'a__b', '', None):
            self.check_names(rc, None, '10de', '25b6')
        for traits in ('blue, big', 'HW_GPU_API_VULKAN, my-awesome-gpu',
                       'hw_gpu_api_vulkan', 'custom_foo-bar', 'a,', ''):
            self.check_names(None, traits, '10de', '25b6')

    @SETTINGS
    @given(RC, TRAITS)
    def test_names_corpus(self, rc, traits):
        self.check_names(rc, traits, '10de', '25b6')

    # -- alias -----------------------------------------------------------
    def check_aliases(self, lines, pip):
        self.conf.set_override('alias', list(lines), group='pci')
        self.conf.set_override('pci_in_placement', pip,
                               group='filter_scheduler')
        theirs = _nova_aliases()
        try:
            ours = our_alias.parse_aliases(lines, pip)
        except our_errors.NovaConfigError as e:
            ours = e
        context = '%r (pci_in_placement=%s): nova=%r ours=%r' % (
            lines, pip, theirs, ours)
        self.assertEqual(isinstance(theirs, Exception),
                         isinstance(ours, Exception), context)
        if isinstance(theirs, Exception):
            self.assertEqual(str(theirs), str(ours), context)
            return
        self.assertEqual(sorted(theirs), sorted(ours), context)
        for name, (policy, specs) in theirs.items():
            mine = ours[name]
            self.assertEqual(policy, mine.numa_policy, context)
            self.assertEqual(specs, [s.spec for s in mine.specs], context)
            for spec, entry in zip(specs, mine.specs):
                self.assertEqual(
                    nova_translator.get_resource_class(
                        spec.get('resource_class'), spec.get('vendor_id'),
                        spec.get('product_id')),
                    entry.placement_resource_class(), context)
                self.assertEqual(
                    nova_translator.get_traits(spec.get('traits', '')),
                    entry.placement_traits(), context)

    @SETTINGS
    @given(st.lists(alias_lines(), min_size=1, max_size=3), st.booleans())
    def test_alias_corpus(self, lines, pip):
        self.check_aliases(lines, pip)

    def test_alias_hand_written(self):
        cases = [
            ['{"name": "a", "vendor_id": "10de", "product_id": "25b6", '
             '"managed": "no"}'],
            ['{"name": "a", vendor_id: "10de"}'],
            ['{"device_type": "type-VF", "resource_class": "CUSTOM_A16_16A",'
             ' "name": "A16_16A", "traits": "blue, big"}'],
            ['{"name": "a", "resource_class": "CUSTOM_X"}'],
            ['{"name": "a", "traits": "X"}'],
            ['{"name": "a", "vendor_id": "10de", "product_id": "0001", '
             '"device_type": "type-VF"}',
             '{"name": "a", "vendor_id": "10de", "product_id": "0002"}'],
            ['{"name": "a", "vendor_id": "10de", "product_id": "0001"}',
             '{"name": "a", "vendor_id": "10de", "product_id": "0002"}'],
            ['{"name": "a", "vendor_id": "10de", "product_id": "0001", '
             '"device_type": "type-VF"}',
             '{"name": "a", "vendor_id": "10de", "product_id": "0002", '
             '"device_type": "type-VF"}'],
            ['{"name": "a", "vendor_id": "10de", "product_id": "0001", '
             '"live_migratable": "maybe"}'],
            ['{"name": "a", "vendor_id": "10de\\n", "product_id": "0001"}'],
        ]
        for pip in (False, True):
            for lines in cases:
                self.check_aliases(lines, pip)
