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

"""The bench's offline plan part (``tox -e bench -- --only plan``) at a
tiny size, so that it cannot rot: what it measures and writes, not how
fast."""

import contextlib
import io
import json
import os

import fixtures
import testtools

from vfioclient.tests.bench import __main__ as bench
from vfioclient.tests.bench import bench_plan

PAGE = """\
===========
Performance
===========

Results
-------

Kept as it is.

How to reproduce
----------------

Also kept.
"""


class TestBenchPlan(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def test_inputs(self):
        inputs = bench_plan.make_inputs(6, self.dir)
        self.assertEqual(6, inputs['report_files'])
        names = sorted(os.listdir(inputs['reports']))
        self.assertEqual(['lg-%04d.sandbox.test.json' % i
                          for i in range(1, 7)], names)
        # host shapes: with servers and a converted PF, without servers,
        # with servers only
        self.assertEqual(3, inputs['shapes'])
        with open(os.path.join(inputs['reports'], names[1])) as f:
            self.assertEqual('lg-0002.sandbox.test', json.load(f)['hostname'])
        with open(inputs['snapshot']) as f:
            snapshot = json.load(f)
        self.assertEqual(6, len(snapshot['hypervisors']))

    def test_only_plan_writes_its_section_and_keeps_the_page(self):
        page = os.path.join(self.dir, 'performance.rst')
        with open(page, 'w') as f:
            f.write(PAGE)
        saved = os.path.join(self.dir, 'results.json')
        out = io.StringIO()
        with contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(io.StringIO()):
            self.assertEqual(0, bench.main([
                '--only', 'plan', '--plan-sizes', '4,8', '--plan-runs', '2',
                '--write-doc', page, '--json', saved, '--workdir',
                self.dir]))
        with open(saved) as f:
            results = json.load(f)
        self.assertEqual([], results['rows'])          # no audit part
        self.assertEqual([4, 8], [r['hosts'] for r in results['plan']])
        for row in results['plan']:
            cli = row['cli']
            self.assertEqual((0, 2), (cli['rc'], cli['runs']))
            self.assertLessEqual(cli['wall'], cli['worst'])
            self.assertEqual((row['hosts'], 0),
                             (cli['planned'], cli['refusals']))
            self.assertGreater(cli['rss_mib'], 0)
            self.assertGreater(cli['runbook_lines'], 0)
            self.assertIn('hosts.csv', os.listdir(os.path.join(
                self.dir, 'plan-%d' % row['hosts'], 'out', 'artifacts')))
            self.assertEqual(len(os.listdir(os.path.join(
                self.dir, 'plan-%d' % row['hosts'], 'out', 'artifacts'))),
                cli['artifacts'])
            self.assertEqual(['load reports', 'load snapshot', 'make_plan',
                              'artifacts + runbook', 'plan JSON'],
                             list(row['steps']))
        printed = out.getvalue()
        self.assertIn('runbook lines', printed)
        self.assertIn('worst s', printed)
        self.assertIn('plan --artifacts of 10000 hosts < 10 s (largest N '
                      'here: 8)', printed)
        with open(page) as f:
            text = f.read()
        self.assertTrue(text.startswith(PAGE.split('How to reproduce')[0]
                                         + bench.PLAN_TITLE + '\n---'))
        self.assertIn('runs as a subprocess 2 times', text)
        self.assertTrue(text.endswith('How to reproduce\n----------------'
                                      '\n\nAlso kept.\n'))
        # a second run replaces the section, it does not add one
        with open(page, 'w') as f:
            f.write(bench.replace_plan_section(text, 'Offline plan at fleet '
                                               'scale\n-------------------'
                                               '--------\n\nnew\n'))
        with open(page) as f:
            again = f.read()
        self.assertEqual(1, again.count(bench.PLAN_TITLE))
        self.assertIn('\nnew\n\nHow to reproduce\n', again)
        self.assertNotIn('runbook lines', again)

    def test_a_page_without_the_sections_gets_it_appended(self):
        self.assertEqual('Title\n=====\n\nS\n-\n', bench.replace_plan_section(
            'Title\n=====\n', 'S\n-\n'))

    def test_the_page_shows_no_local_paths(self):
        self.assertEqual(
            'tox -e bench -- --only plan --json FILE --workdir DIR '
            '--write-doc doc/source/reference/performance.rst '
            '--state-dir=DIR --sizes 10',
            bench.shown_command([
                '--only', 'plan', '--json', '/tmp/a/r.json', '--workdir',
                '/tmp/a/w', '--write-doc',
                'doc/source/reference/performance.rst',
                '--state-dir=/var/tmp/s', '--sizes', '10']))
        self.assertEqual('tox -e bench', bench.shown_command([]))
