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

"""The Ansible playbooks shipped with vfioclient (package data).

``openstack vfio playbook list`` prints where they are; the operator runs
them with ``ansible-playbook``.  The plan's per-host variables come from
``openstack vfio playbook inventory`` (:mod:`vfioclient.render.inventory`).
Each playbook's header comment documents its variables; the user guide's
``ansible`` page shows them in use.
"""

import os

DIRECTORY = os.path.dirname(os.path.abspath(__file__))

# (file name, what it does), in the order they are used.
PLAYBOOKS = (
    ('collect-host-reports.yml',
     'Collect the host report of each GPU host into a directory on the '
     'controller (--host-report DIR), with the host collector: the hosts '
     'need python3 only.'),
    ('undefine-mdevs.yml',
     'Undefine Nova\'s persisted mdevs (the plan\'s mdev_definitions) '
     'before the driver switch; fails on a host where a definition the '
     'plan does not list is left.'),
    ('install-boot-setup.yml',
     'Install the plan\'s boot script and systemd unit on a wave\'s hosts '
     'and enable the unit (idempotent; --check and --diff show what would '
     'change).'),
)


def path(name):
    """The absolute path of a shipped playbook."""
    if name not in dict(PLAYBOOKS):
        raise ValueError('no playbook %r (playbooks: %s)'
                         % (name, ', '.join(n for n, _ in PLAYBOOKS)))
    return os.path.join(DIRECTORY, name)
