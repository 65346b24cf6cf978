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

"""nova.conf snippets of a plan, as ini text (pure text out).

The plan holds the options a converted compute and the controllers set
(:class:`vfioclient.model.plan.ConfOption` values); this module writes
them as the ``[section]`` / ``option = value`` text an operator pastes
into ``/etc/nova/nova.conf``.
"""

import collections


def conf_text(options):
    """Options grouped by section, in first-seen order::

        [pci]
        report_in_placement = True
        device_spec = {...}

        [libvirt]
        live_migration_permit_post_copy = False

    Sections are separated by a blank line; the text ends with a newline
    (empty for no options).
    """
    sections = collections.OrderedDict()
    for opt in options:
        sections.setdefault(opt.section, []).append(
            '%s = %s' % (opt.option, opt.value))
    out = []
    for section, lines in sections.items():
        out.append('[%s]' % section)
        out.extend(lines)
        out.append('')
    return '\n'.join(out)


def host_snippet(host):
    """What a converted compute adds to nova.conf (a ``HostPlan``)."""
    return conf_text(host.conf_set)


def controllers_snippet(controllers):
    """What nova-api, -scheduler and -conductor set (``Controllers``)."""
    return conf_text(controllers.conf_set)
