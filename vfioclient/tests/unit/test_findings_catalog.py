"""Every finding code is documented, and the docs render all of them."""

import os
import re

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

    def test_redefining_a_code_differently_is_refused(self):
        code = next(iter(self.catalog))
        entry = self.catalog[code]
        self.assertRaises(ValueError, findings.define, code, entry.severity,
                          entry.title + ' changed', entry.cause,
                          entry.remedy)
