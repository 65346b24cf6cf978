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

"""``openstack vfio provider cleanup``."""

from osc_lib import exceptions

from vfioclient.apply import drift as apply_drift
from vfioclient.apply import planfile
from vfioclient.apply import providers as apply_providers
from vfioclient.v1 import base


class CleanupProvider(base.ApplyLister):
    """Delete the legacy vGPU (mdev) resource providers of converted hosts.

    Deletes only the providers the audit recognises as the host's legacy
    pGPU providers (VGPU or mdev class inventory, under its compute node),
    never the compute node itself nor the PCI providers of its VFs. A host
    whose legacy providers hold any allocation, or have child providers, is
    refused as a whole and the consumers are listed. Each provider is read
    again right before it is deleted; one already gone is "absent", so
    running again finishes an interrupted run and otherwise changes
    nothing. With --from-plan each host must be one the plan converts, and
    Placement must still have only the legacy providers the plan was made
    from. Stop nova-compute on the host first and start it afterwards. Exit
    1 when a provider was refused or a request failed.
    """

    auth_required = False  # an unreadable plan is reported without a cloud

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            '--host', metavar='<host>', dest='hosts', action='append',
            required=True,
            help='Compute node whose legacy vGPU providers to delete, named '
                 'as Placement, the audit and the plan name it (repeat '
                 'option for several hosts).')
        base.add_file_option(
            parser, '--from-plan', 'Check each host against a plan '
            '("openstack vfio plan --output <file>"): it must be a host '
            'the plan converts, with the legacy providers the plan was '
            'made from.')
        base.add_dry_run(parser, 'Show what would be deleted; delete '
                                 'nothing.')
        base.add_cloud_arguments(parser)
        return parser

    def take_action(self, parsed_args):
        plan = None
        if parsed_args.from_plan:
            plan = planfile.load_plan(parsed_args.from_plan)
        cloud = base.connect(self, parsed_args)
        names = apply_providers.ServerNames(cloud.compute)
        try:
            results = apply_providers.cleanup(
                cloud, parsed_args.hosts, plan=plan,
                dry_run=parsed_args.dry_run, names=names)
        except apply_drift.DriftError as e:
            raise exceptions.CommandError(str(e))
        if names.problem:
            self.app.stderr.write('%s\n' % names.problem)
        cleaned = list(dict.fromkeys(
            r.host for r in results
            if r.action in (apply_providers.DELETED,
                            apply_providers.WOULD_DELETE)))
        if cleaned:
            self.app.stderr.write(
                'nova-compute on %s must be stopped while its legacy '
                'providers are deleted, and started only afterwards: a '
                'running nova-compute keeps them in its cached provider tree '
                'and its periodic task fails '
                '(ResourceProviderAllocationRetrievalFailed) until it '
                'restarts.\n' % ', '.join(cleaned))
        self._results = results
        return apply_providers.COLUMNS, [r.row() for r in results]

    def summarize(self, results):
        return 'provider cleanup: %s' % apply_providers.summary(results)
