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

"""``openstack vfio resource class create``."""

from osc_lib import exceptions

from vfioclient.apply import drift as apply_drift
from vfioclient.apply import flavors as apply_flavors
from vfioclient.apply import planfile
from vfioclient.apply import resource_classes as apply_rc
from vfioclient.v1 import base


class CreateResourceClass(base.ApplyLister):
    """Create the custom resource classes VF flavors need.

    Each name is normalised exactly as Nova does it (so "a40-2q" becomes
    CUSTOM_A40_2Q) and the final name is printed. Standard classes (VGPU,
    PCI_DEVICE, ...) and names Placement would refuse are refused with a
    reason before anything is written. Classes are created with Placement's
    idempotent PUT (microversion >= 1.7): running again reports them as
    "exists". Exit 1 when a name was refused or a request failed.
    """

    auth_required = False  # refused names need no cloud

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument('names', metavar='<name>', nargs='*', help=(
            'Resource class to create (normalised as Nova does).'))
        base.add_file_option(
            parser, '--from-plan', 'Create every resource class a plan '
            '("openstack vfio plan --output <file>") lists.')
        base.add_dry_run(parser, 'Show what would be created; write nothing.')
        base.add_cloud_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        requested = list(parsed_args.names)
        plan = None
        if parsed_args.from_plan:
            plan = planfile.load_plan(parsed_args.from_plan)
            requested += list(plan.resource_classes)
        if not requested:
            raise exceptions.CommandError(
                'give resource class names or --from-plan <file>')
        items = apply_rc.check_names(requested)
        if any(i.problem is None for i in items):
            cloud = base.connect(self, parsed_args)
            if plan is not None:
                try:
                    apply_drift.check_drift(
                        cloud, apply_flavors.specs_from_plan(plan),
                        planfile.plan_provider_names(plan))
                except apply_drift.DriftError as e:
                    raise exceptions.CommandError(str(e))
            results = apply_rc.create_resource_classes(
                cloud.placement, requested, dry_run=parsed_args.dry_run)
        else:
            results = [apply_rc.Result(i.requested, i.name, apply_rc.REFUSED,
                                       i.problem) for i in items]
        self._results = results
        return apply_rc.COLUMNS, [r.row() for r in results]

    def summarize(self, results):
        return 'resource class create: %s' % apply_rc.summary(results)
