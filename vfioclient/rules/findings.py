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

"""Finding codes, severities and the Finding record shared by every rule.

Every finding code is defined once, as data: ``findings.json`` beside
this module (code -> severity, title, cause, remedy).  Rules raise codes by
name through :func:`make`; ``doc/`` renders the same catalogue, and the
tests check that every code is documented, raised somewhere, and that no
rule raises a code the catalogue lacks.
"""

import dataclasses
import json
import os

ERROR = 'error'
WARNING = 'warning'
INFO = 'info'
SEVERITIES = (ERROR, WARNING, INFO)
_SEVERITY_RANK = {ERROR: 0, WARNING: 1, INFO: 2}

# Exit codes of the checking commands (config check, audit, verify).
EXIT_OK = 0
EXIT_COMMAND_FAILED = 1
EXIT_FINDINGS = 2

# Column names of every findings table; they are the ``-f json`` keys.
COLUMNS = ('code', 'severity', 'subject', 'message', 'remedy')


@dataclasses.dataclass(frozen=True)
class FindingCode:
    """Documentation of one stable finding code."""

    code: str
    severity: str
    title: str
    cause: str
    remedy: str


@dataclasses.dataclass(frozen=True, order=True)
class Finding:
    """One thing a rule found.  ``subject`` names what it is about."""

    code: str
    severity: str
    subject: str
    message: str
    remedy: str = ''

    def row(self):
        return (self.code, self.severity, self.subject, self.message,
                self.remedy)

    def to_dict(self):
        return dict(zip(COLUMNS, self.row()))


CATALOG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'findings.json')


def _load_catalog(path=CATALOG_FILE):
    with open(path, encoding='utf-8') as f:
        entries = json.load(f)
    catalog = {}
    for code, entry in entries.items():
        if entry['severity'] not in SEVERITIES:
            raise ValueError('unknown severity %r for %s in %s'
                             % (entry['severity'], code, path))
        catalog[code] = FindingCode(code=code, **entry)
    return catalog


CATALOG = _load_catalog()


def make(code, subject, message, remedy=None, severity=None):
    """Build a :class:`Finding` for a defined code.

    ``remedy`` defaults to the catalogue's generic remedy; ``severity``
    may only be given to downgrade or upgrade a code whose catalogue entry
    says so in its cause text (rare; prefer a separate code).
    """
    entry = CATALOG[code]
    return Finding(code=code,
                   severity=severity or entry.severity,
                   subject=subject,
                   message=message,
                   remedy=entry.remedy if remedy is None else remedy)


def sort_findings(findings):
    """Deterministic order: severity, then code, subject, message."""
    return sorted(
        findings,
        key=lambda f: (_SEVERITY_RANK[f.severity], f.code, f.subject,
                       f.message, f.remedy))


def exit_code(findings, fail_on=ERROR):
    """Exit code for a checking command given its findings."""
    failing = {ERROR} if fail_on == ERROR else {ERROR, WARNING}
    if any(f.severity in failing for f in findings):
        return EXIT_FINDINGS
    return EXIT_OK


def load_all_codes():
    """The whole catalogue (code -> :class:`FindingCode`)."""
    return dict(CATALOG)


def _rst_escape(text):
    """Plain text into RST: names like CUSTOM_X or [A-Z0-9_] stay text."""
    for char in '\\`*_|[]':
        text = text.replace(char, '\\' + char)
    return text


def catalog_rst():
    """The findings reference as RST lines (rendered by ``doc/``)."""
    lines = []
    catalog = load_all_codes()
    for code in sorted(catalog):
        entry = catalog[code]
        title = '%s: %s' % (code, _rst_escape(entry.title))
        lines += [
            '.. _%s:' % code.lower(),
            '',
            title,
            '-' * len(title),
            '',
            ':Severity: %s' % entry.severity,
            '',
            '**Cause.** %s' % _rst_escape(entry.cause),
            '',
            '**Remedy.** %s' % _rst_escape(entry.remedy),
            '',
        ]
    return lines
