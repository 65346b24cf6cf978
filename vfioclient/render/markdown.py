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
    if not rows:
        return '_none_\n'
    return tabulate.tabulate(
        [[cell(c) for c in row] for row in rows], headers=headers,
        tablefmt='github', disable_numparse=True) + '\n'


def cell(value):
    if value is None:
        return '-'
    return str(value).replace('|', '\\|').replace('\n', ' ')


def code(text, lang=''):
    return '%s%s\n%s%s%s\n' % (FENCE, lang, text,
                               '' if text.endswith('\n') else '\n', FENCE)
