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

"""Config lint: nova.conf PCI / vGPU options judged with Nova's semantics.

:func:`lint` is pure: a :class:`vfioclient.model.conf.ConfSnapshot` (and
optionally a :class:`vfioclient.model.host.HostReport`) in, findings out.
Errors are exactly what makes Nova (the target release, a
:class:`vfioclient.nova.releases.NovaRelease`) refuse the configuration,
what makes every request an alias is meant for fail, or what Placement
refuses once ``[pci] report_in_placement`` / ``[filter_scheduler]
pci_in_placement`` is on; warnings are accepted configurations that do not
do what they seem to.
"""

import dataclasses

from vfioclient.nova import releases
from vfioclient.rules import findings as f
from vfioclient.rules.lint import aliases
from vfioclient.rules.lint import common
from vfioclient.rules.lint import device_specs
from vfioclient.rules.lint import host
from vfioclient.rules.lint import mdev

# The parsed view, for ``config show`` and the audit.
parse_spec_items = common.parse_spec_items
parse_alias_items = common.parse_alias_items
valid_aliases = common.valid_aliases
spec_resource_class = aliases.spec_resource_class


def _check_options(snapshot):
    out = []
    for err in snapshot.option_errors:
        out.append(f.make('VFIO-C117', err.source.label(),
                          'value %s is refused: %s'
                          % (common.quote(err.value), err.message)))
    for entry in snapshot.unknown_pci_options:
        out.append(f.make(
            'VFIO-C150', entry.source.label(),
            '[pci] %s is not a Nova option; oslo.config ignores %s, so '
            'these devices are not configured' % (
                entry.source.option, common.quote(entry.text)),
            'device_spec = %s'
            % (common.repair_json(entry.text) or entry.text)))
    for entry in snapshot.device_specs + snapshot.aliases:
        key = (entry.source.section, entry.source.option)
        if key in common.DEPRECATED_NAMES:
            out.append(f.make('VFIO-C162', entry.subject,
                              '[%s] %s is deprecated; Nova still reads it'
                              % key, 'use %s' % common.DEPRECATED_NAMES[key]))
    return out


def lint(snapshot, host_report=None, release=releases.DEFAULT):
    """All config findings for a :class:`ConfSnapshot`.

    ``host_report`` is a :class:`vfioclient.model.host.HostReport` (or its
    JSON dict); with it, entries are also checked against real devices.
    ``release`` is the :class:`~vfioclient.nova.releases.NovaRelease` the
    configuration is for (what it parses, which tags and traits exist).
    """
    out = _check_options(snapshot)
    spec_items = common.parse_spec_items(snapshot, release)
    for item in spec_items:
        if item.error is not None:
            out.append(device_specs.spec_error_finding(item, snapshot))
        else:
            out += device_specs.check_spec(item, snapshot, release)
    out += device_specs.overlaps([s for s in spec_items if s.spec is not None])
    alias_items = common.parse_alias_items(snapshot)
    for item in alias_items:
        if item.error is not None:
            out.append(aliases.alias_error_finding(item))
    out += aliases.check_aliases(alias_items, spec_items, snapshot)
    out += mdev.check_mdev(snapshot, spec_items)
    if host_report is not None:
        out += host.check_host(snapshot, spec_items, host_report, release)
    return f.sort_findings(_clip(x) for x in out)


MAX_MESSAGE = 1000


def _clip(finding):
    """Keep huge quoted values (fuzzed or pasted files) readable."""
    message = finding.message
    if len(message) <= MAX_MESSAGE:
        return finding
    return dataclasses.replace(finding, message='%s... (%d more characters)'
                               % (message[:MAX_MESSAGE],
                                  len(message) - MAX_MESSAGE))
