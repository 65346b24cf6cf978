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

"""Every finding code is documented, and the docs render all of them."""

import json
import os
import re

import fixtures
import testtools

from vfioclient.rules import findings

_EXT = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'doc',
                    'source', '_exts', 'findings_doc.py')


class TestCatalog(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.catalog = findings.load_all_codes()

    def test_codes_are_well_formed_and_documented(self):
        self.assertGreater(len(self.catalog), 40)
        for code, entry in self.catalog.items():
            self.assertRegex(code, r'^VFIO-[ACHV]\d{3}$')
            self.assertIn(entry.severity, findings.SEVERITIES, code)
            for field in ('title', 'cause', 'remedy'):
                text = getattr(entry, field)
                self.assertGreater(len(text.strip()), 10,
                                   '%s has no %s' % (code, field))

    def test_docs_page_lists_every_code(self):
        with open(_EXT) as f:
            self.assertIn('findings.catalog_rst()', f.read())
        text = '\n'.join(findings.catalog_rst())
        documented = set(re.findall(r'^(VFIO-[A-Z]\d{3}): ', text, re.M))
        self.assertEqual(set(self.catalog), documented)

    def test_every_code_is_raised_and_every_raised_code_exists(self):
        # Codes are raised by name (make('VFIO-C117', ...)) or through a
        # catalogue lookup (CATALOG['VFIO-V101']); both spell the code.
        package = os.path.dirname(os.path.dirname(findings.__file__))
        raised = set()
        for root, dirs, files in os.walk(package):
            dirs[:] = [d for d in dirs if d not in ('tests', '__pycache__')]
            for name in files:
                if name.endswith('.py'):
                    with open(os.path.join(root, name)) as f:
                        raised |= set(re.findall(r"'(VFIO-[A-Z]\d{3})'",
                                                 f.read()))
        self.assertEqual(set(), raised - set(self.catalog),
                         'codes raised but not in findings.json')
        self.assertEqual(set(), set(self.catalog) - raised,
                         'codes in findings.json that no rule raises')

    def test_unknown_severity_in_the_catalogue_is_refused(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'findings.json')
        with open(path, 'w') as f:
            json.dump({'VFIO-X999': {'severity': 'fatal', 'title': 't',
                                     'cause': 'c', 'remedy': 'r'}}, f)
        e = self.assertRaises(ValueError, findings._load_catalog, path)
        self.assertIn('fatal', str(e))
        self.assertIn('VFIO-X999', str(e))
