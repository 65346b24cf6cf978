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

"""OSC conventions every ``openstack vfio`` command follows.

Descriptions whose first line is a sentence, ``<lower-case>`` metavars as
OSC writes them, snake_case column headers.
"""

import importlib.metadata
import re
from unittest import mock

import testtools

from vfioclient.apply import flavors as apply_flavors
from vfioclient.apply import providers as apply_providers
from vfioclient.apply import resource_classes as apply_rc
from vfioclient.rules import audit as audit_rules
from vfioclient.rules import findings
from vfioclient.rules import verify as verify_rules
from vfioclient.sandbox import cli as sandbox_cli
from vfioclient.v1 import config
from vfioclient.v1 import host
from vfioclient.v1 import plan

METAVAR = re.compile(r'^<[a-z][a-z0-9_.=-]*>$')
COLUMN = re.compile(r'^[a-z][a-z0-9_]*$')
# Options cliff adds to every Lister; their metavars are cliff's.
CLIFF_DESTS = {'columns', 'sort_columns', 'max_width', 'help'}


def commands():
    for ep in importlib.metadata.entry_points(group='openstack.vfio.v1'):
        yield ep.name, ep.load()


class TestConventions(testtools.TestCase):

    def test_commands_are_registered(self):
        self.assertEqual(13, len(list(commands())))

    def test_description_first_line_is_a_sentence(self):
        for name, cls in commands():
            first = cls.__doc__.strip().splitlines()[0]
            self.assertTrue(first.endswith('.'), '%s: %r' % (name, first))

    def test_metavars(self):
        for name, cls in commands():
            parser = cls(mock.Mock(), None).get_parser(name)
            for action in parser._actions:
                if action.dest in CLIFF_DESTS or action.metavar is None:
                    continue
                self.assertRegex(action.metavar, METAVAR,
                                 '%s %s' % (name, action.option_strings))

    def test_sandbox_metavars(self):
        parser = sandbox_cli.build_parser()
        subparsers = [a for a in parser._actions
                      if isinstance(a.choices, dict)][0]
        checked = 0
        for sub in [parser] + list(subparsers.choices.values()):
            for action in sub._actions:
                if action.option_strings and action.nargs == 0:
                    continue  # flags
                if action.choices is not None and action.metavar is None:
                    continue  # {a,b,c}
                if action.dest in ('help', 'command'):
                    continue
                checked += 1
                self.assertRegex(action.metavar or '', METAVAR,
                                 '%s %s' % (sub.prog, action.option_strings))
        self.assertGreater(checked, 8)

    def test_column_headers_are_snake_case(self):
        for columns in (host.REPORT_COLUMNS, plan.SUMMARY_COLUMNS,
                        config.SHOW_COLUMNS, findings.COLUMNS,
                        audit_rules.SUMMARY_COLUMNS, verify_rules.COLUMNS,
                        apply_flavors.COLUMNS, apply_rc.COLUMNS,
                        apply_providers.COLUMNS):
            for column in columns:
                self.assertRegex(column, COLUMN)
