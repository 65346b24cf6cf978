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

"""``.. vfio-findings::`` renders every finding code from the code itself.

The catalogue lives in ``vfioclient/rules/findings.json``; documenting it
from there means a code cannot exist without its documentation (tests check
the text is there) and the page cannot drift from the code.  The page
depends on that file, so an incremental build re-reads it when a code is
added or changed.
"""

from docutils import nodes
from docutils import statemachine
from sphinx.util.docutils import SphinxDirective

from vfioclient.rules import findings


class FindingsDirective(SphinxDirective):
    has_content = False

    def run(self):
        self.env.note_dependency(findings.CATALOG_FILE)
        text = statemachine.StringList(findings.catalog_rst(),
                                       source='vfio-findings')
        section = nodes.section()
        section.document = self.state.document
        self.state.nested_parse(text, 0, section, match_titles=True)
        return section.children


def setup(app):
    app.add_directive('vfio-findings', FindingsDirective)
    return {'parallel_read_safe': True}
