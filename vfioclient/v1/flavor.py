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

"""``openstack vfio flavor create``."""

import dataclasses

from openstack import exceptions as sdk_exceptions
from osc_lib.cli import format_columns
from osc_lib.cli import identity
from osc_lib.cli import parseractions
from osc_lib import exceptions

from vfioclient.apply import drift as apply_drift
from vfioclient.apply import flavors as apply_flavors
from vfioclient.apply import planfile
from vfioclient.nova import errors as nova_errors
from vfioclient.nova import flavor_request
from vfioclient.v1 import base


class CreateFlavor(base.ApplyLister):
    """Create VF flavors that request vGPU VFs through a PCI alias.

    Ad hoc (<flavor-name> with --vcpus/--ram and --resource-class or
    --vgpu-type) or every flavor of a plan (--from-plan). Sets
    pci_passthrough:alias (checked as Nova's API does) and shows the [pci]
    alias line for controllers and computes and a device_spec hint.
    Conflicts with Placement (class not provided anywhere, provided by
    legacy vGPU providers or other devices, alias name used for another
    class) are reported before anything is written. An existing flavor with
    the same definition is "exists"; one with another definition is a
    "conflict" and is never changed (--update-extra-specs may update its
    extra specs only). Exit 1 when a flavor conflicted or failed; running
    again finishes the rest.
    """

    auth_required = False  # argument errors are reported without a cloud

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            'name', metavar='<flavor-name>', nargs='?',
            help='New flavor name (ad hoc mode).')
        base.add_file_option(
            parser, '--from-plan', 'Create every flavor a plan lists '
            '("openstack vfio plan --output <file>").')
        parser.add_argument('--vcpus', metavar='<vcpus>', type=int,
                            help='Number of vCPUs')
        parser.add_argument('--ram', metavar='<size-mb>', type=int,
                            help='Memory size in MB')
        parser.add_argument('--disk', metavar='<size-gb>', type=int,
                            default=0, help='Disk size in GB (default 0)')
        parser.add_argument('--ephemeral', metavar='<size-gb>', type=int,
                            default=0,
                            help='Ephemeral disk size in GB (default 0)')
        parser.add_argument('--swap', metavar='<size-mb>', type=int,
                            default=0, help='Swap space size in MB '
                                            '(default 0)')
        rc = parser.add_mutually_exclusive_group()
        rc.add_argument(
            '--resource-class', metavar='<resource-class>',
            help='Resource class the VFs are reported as (normalised as Nova '
                 'does).')
        rc.add_argument(
            '--vgpu-type', metavar='<type-name>',
            help='vGPU type name, e.g. "NVIDIA A40-2Q" (-> '
                 'CUSTOM_NVIDIA_A40_2Q, as the plan names it).')
        parser.add_argument(
            '--alias', metavar='<alias-name>',
            help='[pci] alias name (default: derived from the class, e.g. '
                 'nvidia-a40-2q).')
        parser.add_argument('--count', metavar='<n>', type=int, default=1,
                            help='VFs per server (default 1)')
        parser.add_argument(
            '--vendor-id', metavar='<hex4>',
            help='Vendor ID to put in the alias (optional).')
        parser.add_argument(
            '--product-id', metavar='<hex4>',
            help='VF product ID to put in the alias (optional).')
        parser.add_argument(
            '--property', metavar='<key=value>',
            action=parseractions.KeyValueAction,
            help='Extra spec to set (repeat option to set multiple '
                 'properties)')
        public = parser.add_mutually_exclusive_group()
        public.add_argument('--public', dest='public', action='store_true',
                            default=True,
                            help='Flavor is available to other projects '
                                 '(default)')
        public.add_argument('--private', dest='public',
                            action='store_false',
                            help='Flavor is not available to other projects')
        parser.add_argument(
            '--project', metavar='<project>', action='append',
            default=[],
            help='Allow <project> to access a private flavor (name or ID; '
                 'repeat option for several projects)')
        parser.add_argument(
            '--project-domain', metavar='<project-domain>',
            help='Domain the projects belong to (name or ID). This can be '
                 'used in case collisions between project names exist.')
        parser.add_argument('--description', metavar='<description>',
                            help='Description for the flavor')
        parser.add_argument(
            '--known-alias', metavar='<json>', action='append', default=[],
            help='An existing [pci] alias value from the controllers (may be '
                 'repeated): an alias name reused for another class is a '
                 'conflict.')
        base.add_dry_run(parser)
        parser.add_argument(
            '--update-extra-specs', action='store_true',
            help='When a flavor exists with the same definition but other '
                 'extra specs, update its extra specs (only those).')
        base.add_cloud_arguments(parser)
        return parser

    def _specs(self, args):
        if args.from_plan:
            adhoc = [n for n in ('name', 'vcpus', 'ram', 'resource_class',
                                 'vgpu_type', 'alias', 'description')
                     if getattr(args, n) is not None]
            adhoc += [n for n in ('property', 'project', 'project_domain')
                      if getattr(args, n)]
            if adhoc:
                raise exceptions.CommandError(
                    '--from-plan cannot be combined with ad hoc flavor '
                    'options (%s)' % ', '.join(adhoc))
            plan = planfile.load_plan(args.from_plan)
            self._plan = plan
            known = {a.name: a.resource_class for a in plan.aliases}
            return apply_flavors.specs_from_plan(plan), known, True
        if not args.name:
            raise exceptions.CommandError(
                'give a flavor name (with --vcpus, --ram and --resource-class'
                ' or --vgpu-type) or --from-plan <file>')
        if args.project_domain and not args.project:
            raise exceptions.CommandError('--project-domain needs --project')
        spec = apply_flavors.adhoc_spec(
            args.name, args.vcpus, args.ram, disk=args.disk,
            resource_class=args.resource_class, vgpu_type=args.vgpu_type,
            alias=args.alias, count=args.count,
            properties=args.property,
            is_public=args.public, projects=args.project,
            description=args.description, vendor_id=args.vendor_id,
            product_id=args.product_id, ephemeral=args.ephemeral,
            swap=args.swap)
        return [spec], {}, False

    def take_action(self, parsed_args):
        try:
            specs, known, from_plan = self._specs(parsed_args)
            for line in parsed_args.known_alias:
                for name, alias in flavor_request.aliases_from_lines(
                        [line]).items():
                    known.setdefault(
                        name, alias.specs[0].placement_resource_class())
        except (apply_flavors.SpecError, nova_errors.NovaConfigError) as e:
            raise exceptions.CommandError(str(e))
        cloud = base.connect(self, parsed_args)
        if parsed_args.project:
            specs = [dataclasses.replace(
                spec, projects=self._project_ids(parsed_args))
                for spec in specs]
        try:
            if from_plan:
                # Providers gone as well as source flavors (the apply
                # below checks source flavors again, which is cheap).
                apply_drift.check_drift(
                    cloud, specs, planfile.plan_provider_names(self._plan))
            results = apply_flavors.apply(
                cloud, specs, dry_run=parsed_args.dry_run,
                update_extra_specs=parsed_args.update_extra_specs,
                known_aliases=known, check_plan_drift=from_plan)
        except (apply_flavors.SpecError, apply_drift.DriftError) as e:
            raise exceptions.CommandError(str(e))
        self._results = results
        rows = []
        for r in results:
            row = list(r.row())
            row[apply_flavors.COLUMNS.index('extra_specs')] = \
                format_columns.DictColumn(r.extra_specs)
            rows.append(tuple(row))
        return apply_flavors.COLUMNS, rows

    def _project_ids(self, parsed_args):
        """IDs of the --project names or IDs, looked up as OSC does."""
        conn = self.app.client_manager.sdk_connection
        try:
            return tuple(identity.find_project(
                conn, project, parsed_args.project_domain).id
                for project in parsed_args.project)
        except sdk_exceptions.SDKException as e:
            raise exceptions.CommandError('--project: %s' % e)

    def summarize(self, results):
        return 'flavor create: %s' % apply_flavors.summary(results)
