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

"""``openstack vfio verify``: can the new VF flavors be scheduled now?"""

import logging

from osc_lib import exceptions

from vfioclient.apply import planfile
from vfioclient.cloud import compute as compute_api
from vfioclient.cloud import placement as placement_api
from vfioclient.nova import errors as nova_errors
from vfioclient.nova import flavor_request
from vfioclient.rules import verify as verify_rules
from vfioclient.v1 import base

LOG = logging.getLogger(__name__)


class Verify(base.FindingsLister):
    """Check that the new VF flavors can be scheduled, and how many fit.

    For each flavor, builds the request Nova's scheduler would send to
    Placement (alias -> one request group per VF with its resource class and
    traits, group_policy, disabled computes excluded) and asks
    GET /allocation_candidates with a limit. Shows the findings; --summary
    shows one row per flavor instead: hosts that can take it now, total
    capacity, servers expected by the plan. The exit code depends on the
    findings, in both views: 0 without errors, 2 with (see --fail-on), 1
    when it could not run.
    """

    auth_required = False  # connects itself (clear message without a cloud)
    summary_help = ('Show one row per flavor (hosts, capacity, servers '
                    'expected, status) instead of the findings; the exit '
                    'code still reflects the findings.')

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        source = parser.add_mutually_exclusive_group(required=True)
        base.add_file_option(
            source, '--from-plan', 'Verify every flavor of a plan (its '
            'flavors and aliases; only Placement is read).')
        source.add_argument(
            '--flavor', metavar='<name>', action='append',
            help='Verify this Nova flavor (may be repeated); give the '
                 'aliases it uses with --alias.')
        parser.add_argument(
            '--alias', metavar='<json>', action='append', default=[],
            help='A [pci] alias value from the controllers\' nova.conf (may '
                 'be repeated; with --flavor).')
        parser.add_argument(
            '--limit', metavar='<n>', type=int,
            default=verify_rules.DEFAULT_LIMIT,
            help='limit sent with GET /allocation_candidates (default %d, '
                 'Nova\'s [scheduler] max_placement_results).'
                 % verify_rules.DEFAULT_LIMIT)
        parser.add_argument(
            '--max-allocation-candidates', metavar='<n>', type=int,
            help='The cloud\'s [placement] max_allocation_candidates, to '
                 'warn when a flavor produces more candidates.')
        parser.add_argument(
            '--devices-only', action='store_true',
            help='Ask only for the devices (ignore CPU, RAM and disk).')
        base.add_cloud_arguments(parser)
        return parser

    def find(self, parsed_args):
        if parsed_args.limit < 1:
            raise exceptions.CommandError('--limit must be at least 1')
        if parsed_args.from_plan:
            plan = planfile.load_plan(parsed_args.from_plan)
            targets = verify_rules.targets_from_plan(plan)
            try:
                aliases = verify_rules.aliases_from_plan(plan)
            except nova_errors.NovaConfigError as e:
                raise exceptions.CommandError(
                    'plan %s: its aliases are invalid: %s'
                    % (parsed_args.from_plan, e))
        else:
            try:
                aliases = flavor_request.aliases_from_lines(
                    parsed_args.alias)
            except nova_errors.NovaConfigError as e:
                raise exceptions.CommandError('--alias: %s' % e)
            targets = None
        cloud = base.connect(self, parsed_args)
        rows, found = [], []
        if targets is None:
            wanted = set(parsed_args.flavor)
            targets, rows, found = verify_rules.targets_from_nova_flavors(
                parsed_args.flavor,
                {f['name']: f for f in compute_api.list_flavors(cloud.compute)
                 if f.get('name') in wanted})
        translated = verify_rules.translate_all(
            targets, aliases,
            include_flavor_resources=not parsed_args.devices_only)
        answers = [
            placement_api.list_allocation_candidates(
                cloud.placement, request.query, parsed_args.limit)
            if request is not None else None
            for _target, request, _problem in translated]
        more_rows, more_found = verify_rules.verdicts(
            translated, answers, limit=parsed_args.limit,
            max_allocation_candidates=parsed_args.max_allocation_candidates)
        rows.extend(more_rows)
        found.extend(more_found)
        self._rows = rows
        return found

    def summary(self, parsed_args):
        return verify_rules.COLUMNS, [r.row() for r in self._rows]

    def nothing_found(self, parsed_args):
        return 'verified %d flavor(s)' % len(self._rows)
