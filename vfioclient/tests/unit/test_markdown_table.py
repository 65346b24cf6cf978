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

"""``render.markdown.table`` writes what tabulate's ``github`` format
writes, for any cells (its own plain-ASCII path and tabulate's)."""

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
import tabulate
import testtools

from vfioclient.render import markdown

ASCII = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126),
                max_size=12)
# wide and combining characters, tabs, escapes, line breaks, None
ANY = st.one_of(ASCII, st.text(max_size=8), st.none(), st.integers(),
                st.sampled_from(['\u4e2d\u6587', 'e\u0301', '\x1b[1mx',
                                 'a\tb', 'a\nb', ' pad ']))
HEADER = st.text(alphabet='abcxyz_ -', min_size=1, max_size=9).map(
    str.strip).filter(bool)


def tables(cells):
    return st.integers(1, 4).flatmap(lambda n: st.tuples(
        st.lists(HEADER, min_size=n, max_size=n),
        st.lists(st.lists(cells, min_size=n, max_size=n), min_size=1,
                 max_size=5)))


def tabulated(headers, rows):
    return tabulate.tabulate(
        [[markdown.cell(c) for c in row] for row in rows], headers=headers,
        tablefmt='github', disable_numparse=True) + '\n'


class TestTable(testtools.TestCase):

    @given(tables(ASCII))
    @settings(max_examples=500, deadline=None, database=None)
    def test_plain_ascii_as_tabulate(self, case):
        headers, rows = case
        self.assertEqual(tabulated(headers, rows),
                         markdown.table(headers, rows))

    @given(tables(ANY))
    @settings(max_examples=300, deadline=None, database=None)
    def test_any_cells_as_tabulate(self, case):
        headers, rows = case
        self.assertEqual(tabulated(headers, rows),
                         markdown.table(headers, rows))

    def test_known_table(self):
        self.assertEqual(
            '| host   | gpus   |\n|--------|--------|\n'
            '| cmp1   | 2      |\n| a\\|b   | -      |\n',
            markdown.table(['host', 'gpus'], [['cmp1', 2], ['a|b', None]]))

    def test_no_rows(self):
        self.assertEqual('_none_\n', markdown.table(['host'], []))
