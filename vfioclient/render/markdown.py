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

"""Markdown pieces the runbook's parts share (pure text out): quoting for
shell blocks, tables and code fences."""

import shlex

import tabulate

FENCE = '```'


def quote(value):
    """A value inside a shell block: quoted when it is not a plain word
    (host, flavor and server names come from the cloud and host reports,
    and operators paste these blocks)."""
    return shlex.quote(str(value))


def comment(value):
    """Text after ``#`` in a shell block: one line, always."""
    return ' '.join(str(value).split())


def table(headers, rows):
    """A GitHub markdown table, as ``tabulate``'s ``github`` format
    writes it (strings, left-aligned)."""
    if not rows:
        return '_none_\n'
    cells = [[cell(c) for c in row] for row in rows]
    if not _plain(headers, cells):
        return tabulate.tabulate(cells, headers=headers, tablefmt='github',
                                 disable_numparse=True) + '\n'
    # Plain ASCII: a character is a column, so the same table is written
    # directly; tabulate's type guessing per cell took seconds for the
    # host tables of a 10,000-host runbook.
    cells = [[c.strip() for c in row] for row in cells]
    widths = [len(h) + 2 for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            if len(c) > widths[i]:
                widths[i] = len(c)
    lines = ['| %s |' % ' | '.join(h.ljust(w)
                                   for h, w in zip(headers, widths)),
             '|%s|' % '|'.join('-' * (w + 2) for w in widths)]
    lines += ['| %s |' % ' | '.join(c.ljust(w) for c, w in zip(row, widths))
              for row in cells]
    return '\n'.join(lines) + '\n'


def _plain(headers, cells):
    """Every header and cell printable ASCII (no escape sequences, no
    wide characters), every row as long as the headers."""
    width = len(headers)
    if not all(h.isascii() and h.isprintable() and h == h.strip()
               for h in headers):
        return False
    return all(len(row) == width and all(c.isascii() and c.isprintable()
                                         for c in row) for row in cells)


def cell(value):
    if value is None:
        return '-'
    return str(value).replace('|', '\\|').replace('\n', ' ')


def code(text, lang=''):
    return '%s%s\n%s%s%s\n' % (FENCE, lang, text,
                               '' if text.endswith('\n') else '\n', FENCE)
