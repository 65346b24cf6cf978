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

"""``openstack vfio audit``: the vGPU/PCI estate and its findings."""

import dataclasses
import logging

from osc_lib.cli import format_columns
from osc_lib import exceptions

from vfioclient.rules import audit as audit_rules
from vfioclient.v1 import base

LOG = logging.getLogger(__name__)


class Audit(base.FindingsLister):
    """Audit the legacy vGPU and PCI-in-Placement estate.

    Reads Placement and Nova (never writes) and reports findings with stable
    codes (see the findings reference); --summary shows one row per host
    instead. The exit code depends on the findings, in both views: 0 when
    no finding is an error, 2 when one is (or a warning, with --fail-on
    warning), 1 when the audit could not run.
    """

    auth_required = False  # --from-snapshot works offline
    summary_help = ('Show one row per host (GPUs, legacy vGPUs total/used, '
                    'VFs total/used by resource class, servers to move) '
                    'instead of the findings; the exit code still reflects '
                    'the findings.')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        base.add_snapshot_arguments(parser)
        base.add_file_option(
            parser, '--nova-conf', 'A host\'s nova.conf, checked with the '
            '"config check" rules and used to map flavor aliases to resource '
            'classes (may be repeated). Give controllers\' files for [pci] '
            'alias.', metavar='<host=file>', action='append', default=[])
        return parser

    def find(self, parsed_args):
        # Argument errors first, before any request.
        confs = parse_nova_conf_args(parsed_args.nova_conf)
        reports = base.load_host_reports(parsed_args.host_report)
        snapshot = base.collect_or_load(self, parsed_args)
        self._snapshot, self._reports = snapshot, reports
        aliases, extra, mdev_types = conf_findings(confs, reports)
        return audit_rules.audit(snapshot, reports, aliases=aliases,
                                 extra_findings=extra,
                                 mdev_types_by_host=mdev_types)

    def summary(self, parsed_args):
        rows = [tuple(_summary_value(row[c]) for c in
                      audit_rules.SUMMARY_COLUMNS)
                for row in audit_rules.summary(self._snapshot,
                                               self._reports)]
        return audit_rules.SUMMARY_COLUMNS, rows

    def nothing_found(self, parsed_args):
        return 'audited %d resource providers, %d allocations' % (
            len(self._snapshot.providers), len(self._snapshot.allocations))


def _summary_value(value):
    if isinstance(value, dict):
        return format_columns.DictColumn(value)
    return value


def parse_nova_conf_args(values):
    confs = []
    for value in values or ():
        host, sep, path = value.partition('=')
        if not sep or not host or not path:
            raise exceptions.CommandError(
                '--nova-conf takes <host>=<file>, got %r' % value)
        confs.append((host, path))
    return confs


def conf_findings(confs, reports):
    """Lint each host's config; collect the aliases controllers define and
    the mdev types each host enables.

    Returns ``(aliases or None, findings, {host: mdev types})``.
    """
    if not confs:
        return None, [], {}
    from vfioclient.collect import conf as collect_conf
    from vfioclient.model import conf as conf_model
    from vfioclient.rules import lint
    reports_by_host = {r.hostname: r for r in reports}
    aliases = {}
    found = []
    mdev_types = {}
    for host, path in confs:
        try:
            snapshot = collect_conf.read_conf([path])
        except conf_model.ConfReadError as e:
            raise exceptions.CommandError(str(e))
        for f in lint.lint(snapshot, reports_by_host.get(host)):
            found.append(dataclasses.replace(
                f, subject='%s: %s' % (host, f.subject)))
        aliases.update(lint.valid_aliases(snapshot))
        mdev_types[host] = (mdev_types.get(host, ())
                            + tuple(snapshot.enabled_mdev_types))
    return aliases, found, mdev_types
