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

"""``openstack vfio config check`` / ``config show``: nova.conf, no cloud.

Thin commands: reading is :mod:`vfioclient.collect.conf`, judging is
:mod:`vfioclient.rules.lint`, Nova's semantics are :mod:`vfioclient.nova`.
"""

import dataclasses
import os

from osc_lib.cli import format_columns
from osc_lib.command import command
from osc_lib import exceptions

from vfioclient.collect import conf as conf_reader
from vfioclient.model import conf as conf_model
from vfioclient.nova import devspec
from vfioclient.nova import mdev as nova_mdev
from vfioclient.nova import names
from vfioclient.rules import lint
from vfioclient.v1 import base

SHOW_COLUMNS = ('kind', 'entry', 'vendor_id', 'product_id', 'address',
                'device_type', 'name', 'numa_policy', 'managed',
                'resource_class', 'traits', 'valid')


def _add_conf_argument(parser):
    parser.add_argument(
        'nova_conf', metavar='<nova-conf>', nargs='+',
        help='nova.conf file(s), combined in order like nova-compute '
             '--config-file A --config-file B.')


def _read(paths):
    try:
        return conf_reader.read_conf(paths)
    except conf_model.ConfReadError as e:
        raise exceptions.CommandError(str(e))


class CheckConfig(base.FindingsLister):
    """Lint nova.conf PCI / vGPU options with Nova's exact semantics.

    Errors are what makes Nova (the --nova-release series) refuse the
    configuration, or fail every request it is meant for (or Placement
    refuse a resource class or trait Nova derives); warnings are accepted
    configurations that do not do what they seem to.  Needs no cloud.
    """

    auth_required = False
    _epilog = """
Examples::

  openstack vfio config check /etc/nova/nova.conf
  openstack vfio config check /etc/nova/nova.conf \\
      /etc/nova/nova.conf.d/pci.conf --fail-on warning
  openstack vfio config check --host-report host.json -f json nova.conf
  openstack vfio config check --host-report reports/ nova.conf
  openstack vfio config check --nova-release 2026.1 nova.conf

Exit codes: 0 no error (no warning with --fail-on warning), 2 findings at
or above --fail-on, 1 the command failed (missing or non-INI file).
"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.epilog = self._epilog
        base.add_file_option(
            parser, '--host-report', 'JSON from "openstack vfio host report '
            '-f json": also check entries against the real devices (and '
            'its libvirt/QEMU versions against live_migratable). A '
            'directory means every file in it whose name ends in .json: '
            'the files are checked against each host, and findings about '
            'a host name it.', metavar='<path>')
        base.add_nova_release_option(parser)
        _add_conf_argument(parser)
        return parser

    def find(self, parsed_args):
        snapshot = self._snapshot = _read(parsed_args.nova_conf)
        reports = base.load_host_reports(
            [parsed_args.host_report] if parsed_args.host_report else [])
        if not os.path.isdir(parsed_args.host_report or ''):
            return lint.lint(snapshot, reports[0] if reports else None,
                             parsed_args.nova_release)
        return _lint_each_host(snapshot, reports, parsed_args.nova_release)

    def nothing_found(self, parsed_args):
        return 'checked %s (%d device_spec, %d alias entries)' % (
            ', '.join(parsed_args.nova_conf),
            len(lint.parse_spec_items(self._snapshot)),
            len(lint.parse_alias_items(self._snapshot)))


def _lint_each_host(snapshot, reports, release):
    """The findings of the files alone, then those each host adds (their
    subject names the host)."""
    common = lint.lint(snapshot, None, release)
    seen = set(common)
    out = list(common)
    for report in reports:
        out += [dataclasses.replace(
            finding, subject='host %s: %s' % (report.hostname,
                                              finding.subject))
            for finding in lint.lint(snapshot, report, release)
            if finding not in seen]
    return out


def _traits(raw):
    if not raw or not isinstance(raw, str):
        return format_columns.ListColumn([])
    return format_columns.ListColumn(sorted(names.get_traits(raw)))


def _spec_row(item):
    spec = item.spec
    if spec is None:
        raw = item.raw if isinstance(item.raw, dict) else {}
        return ('device_spec', item.subject, raw.get('vendor_id'),
                raw.get('product_id'), _text(raw.get('address')), None,
                None, None, None, None, format_columns.ListColumn([]),
                False)
    address = None
    if spec.address is not None:
        address = str(spec.address)
    elif spec.devname:
        address = 'devname:%s' % spec.devname
    rc = lint.spec_resource_class(spec)
    traits = spec.traits if isinstance(spec.traits, str) else None
    return ('device_spec', item.subject, spec.vendor_id, spec.product_id,
            address, None, None, None, spec.managed, rc, _traits(traits),
            True)


def _text(value):
    if value is None or isinstance(value, str):
        return value
    return devspec.json.dumps(value)


def _alias_row(item):
    spec = item.spec
    if spec is None:
        return ('alias', item.subject, None, None, None, None, None, None,
                None, None, format_columns.ListColumn([]), False)
    rc = None
    if spec.resource_class or (spec.vendor_id and spec.product_id):
        rc = spec.placement_resource_class()
    return ('alias', item.subject, spec.vendor_id, spec.product_id, None,
            spec.device_type, spec.name, spec.numa_policy, None, rc,
            _traits(spec.traits), True)


def _mdev_rows(snapshot):
    rows = []
    for group in snapshot.mdev_groups:
        addresses = ','.join(group.device_addresses) or None
        valid = True
        rc = nova_mdev.reported_class(group.mdev_class,
                                      group.device_addresses)
        rows.append(('mdev_type', group.source.label(), None, None,
                     addresses, None, group.mdev_type, None, None, rc,
                     format_columns.ListColumn([]), valid))
    return rows


class ShowConfig(command.Lister):
    """Show device_spec, alias and mdev entries as Nova would hold them.

    ``resource_class`` is the exact name Nova reports (device_spec) or
    requests (alias), e.g. CUSTOM_PCI_10DE_25B6 by default; ``traits`` are
    the names Nova derives from the ``traits`` value (the automatic
    COMPUTE_MANAGED_PCI_DEVICE is not listed).  Needs no cloud.
    """

    auth_required = False
    _epilog = """
Examples::

  openstack vfio config show /etc/nova/nova.conf
  openstack vfio config show -f json nova.conf nova-compute.conf
"""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.epilog = self._epilog
        _add_conf_argument(parser)
        return parser

    def take_action(self, parsed_args):
        snapshot = _read(parsed_args.nova_conf)
        rows = [_spec_row(i) for i in lint.parse_spec_items(snapshot)]
        rows += [_alias_row(i) for i in lint.parse_alias_items(snapshot)]
        rows += _mdev_rows(snapshot)
        return SHOW_COLUMNS, rows
