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

"""``openstack vfio playbook list`` and ``playbook inventory``.

Thin: the playbooks are package data (:mod:`vfioclient.playbooks`), the
inventory is rendered by :mod:`vfioclient.render.inventory`.  Neither
command needs a cloud.
"""

import os

from osc_lib.command import command
from osc_lib import exceptions

from vfioclient.apply import planfile
from vfioclient import fileio
from vfioclient import playbooks
from vfioclient.render import inventory
from vfioclient.v1 import base

LIST_COLUMNS = ('name', 'path', 'description')


class ListPlaybook(command.Lister):
    """List the Ansible playbooks shipped with vfioclient and their paths.

    Run them with ansible-playbook; each one's header comment lists its
    variables.  install-boot-setup.yml and undefine-mdevs.yml read the
    inventory "openstack vfio playbook inventory" writes from a plan.
    """

    auth_required = False

    def take_action(self, parsed_args):
        return LIST_COLUMNS, [
            (name, playbooks.path(name), description)
            for name, description in playbooks.PLAYBOOKS]


class InventoryPlaybook(command.Command):
    """Write the Ansible inventory of a plan's hosts and their files.

    Writes to <directory>: inventory.json (group vfio_hosts with each
    host's boot script, unit and undefine script and their sha256, and a
    group vfio_wave_<n> per wave) and those files, the boot scripts and
    units under the names "plan --artifacts" gives them.  Prints the
    inventory's path.
    """

    auth_required = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        base.add_file_option(
            parser, '--from-plan', 'The plan ("openstack vfio plan '
            '--output <file>") whose converted hosts to write.',
            required=True)
        parser.add_argument(
            '--wave', metavar='<n>', type=int,
            help='Only the hosts of wave <n> (default: every host the '
                 'plan converts; "--limit vfio_wave_<n>" selects a wave '
                 'in ansible-playbook too).')
        base.add_file_option(
            parser, '--output-dir', 'Write the inventory and files into '
            '<directory> (made if missing; may be the directory of "plan '
            '--artifacts").', metavar='<directory>', required=True)
        return parser

    def take_action(self, parsed_args):
        plan = planfile.load_plan(parsed_args.from_plan)
        directory = os.path.abspath(parsed_args.output_dir)
        try:
            result = inventory.build(plan, directory,
                                     wave=parsed_args.wave)
        except ValueError as e:
            raise exceptions.CommandError('%s: %s'
                                          % (parsed_args.from_plan, e))
        if not result.hosts:
            self.app.stderr.write('%s: no host to convert: the inventory '
                                  'is empty\n' % parsed_args.from_plan)
        path = os.path.join(directory, inventory.INVENTORY_NAME)
        try:
            os.makedirs(directory, exist_ok=True)
            for name, artifact in result.files.items():
                fileio.write_file(os.path.join(directory, name),
                                  artifact.text, artifact.mode)
            fileio.write_file(path, result.text, 0o644)
        except OSError as e:
            raise exceptions.CommandError('cannot write the inventory to '
                                          '%s: %s' % (directory, e))
        self.app.stdout.write('%s\n' % path)
        return 0
