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

"""The Ansible inventory of a plan (``openstack vfio playbook inventory``).

The playbooks shipped in ``vfioclient/playbooks`` install a host's boot
script and unit and undefine its persisted mdevs; this module gives them
each host's files and checksums, from the plan.  The inventory is JSON,
which Ansible's ``yaml`` inventory plugin reads (``.json`` is one of its
extensions: https://docs.ansible.com/ansible/latest/collections/ansible/builtin/yaml_inventory.html)::

    vfio_hosts                 every host the plan converts
      vars: vfio_artifacts_dir, vfio_boot_script_path, vfio_unit_path,
            vfio_unit_name
      hosts: <host>: vfio_wave, vfio_order, vfio_kind,
             vfio_boot_script, vfio_boot_script_sha256,
             vfio_unit, vfio_unit_sha256,
             vfio_undefine_mdevs_script, vfio_undefine_mdevs_script_sha256,
             vfio_mdev_definitions (how many; null: no host report lists
             them)
      children: vfio_wave_<N>  the hosts of wave N

The boot scripts and units are the files ``vfio plan --artifacts`` writes
(:func:`vfioclient.render.fleet.build`, same names and bytes), so that
directory can hold the inventory too.  The texts are rendered from the
plan here, never from the plan's fields, so they follow the renderers.

Each host gets an undefine script (:func:`vfioclient.render.mdevs.
render_script`): with the definitions its host report listed, or none
when it listed none or the plan has no report of it.  A script that
lists none only checks that no definition is left (it fails naming each
one it finds), so a host whose report is missing or out of date stops
the playbook instead of starting nova-compute into VFIO-A119.  Hosts
without definitions share one such script.
"""

import dataclasses
import hashlib
import json

from vfioclient.render import bootscript
from vfioclient.render import fleet
from vfioclient.render import mdevs

GROUP = 'vfio_hosts'
WAVE_GROUP = 'vfio_wave_%d'
INVENTORY_NAME = 'inventory.json'
UNDEFINE_SOURCE = 'the plan'


@dataclasses.dataclass(frozen=True)
class Inventory:
    text: str                    # the inventory document (JSON)
    files: dict                  # name: fleet.Artifact the hosts need
    hosts: tuple                 # host names, in plan order


def _undefine_script(host, files):
    definitions = host.mdev_definitions or ()
    text = mdevs.render_script(
        definitions, hostname=host.host if definitions else None,
        source=UNDEFINE_SOURCE)
    digest = hashlib.sha256(text.encode('utf-8')).hexdigest()
    name = '%s-%s.sh' % (mdevs.SCRIPT_NAME, digest[:fleet.DIGEST_LENGTH])
    files[name] = fleet.Artifact(name, text, fleet.SCRIPT_MODE)
    return files[name]


def _wave_of(plan):
    return {h: w.number for w in plan.waves for h in w.hosts}


def _selected(plan, wave):
    """The hosts the plan converts (all, or those of ``wave``), in plan
    order."""
    converted = sorted((h for h in plan.hosts if h.order is not None),
                       key=lambda h: (h.order, h.host))
    if wave is None:
        return converted
    numbers = [w.number for w in plan.waves]
    if wave not in numbers:
        if numbers:
            known = 'waves %d to %d' % (min(numbers), max(numbers))
        else:
            known = ('it has no waves: plan again with this version of '
                     '"openstack vfio plan"')
        raise ValueError('the plan has no wave %d (%s)' % (wave, known))
    members = set(plan.waves[numbers.index(wave)].hosts)
    return [h for h in converted if h.host in members]


def build(plan, artifacts_dir, wave=None, bundle=None):
    """The :class:`Inventory` of ``plan``'s converted hosts (those of
    ``wave`` only, when given).

    :param artifacts_dir: the absolute directory the files will be in,
        as the playbooks find them on the controller.
    :param bundle: ``fleet.build(plan)`` when the caller has it.
    :raises ValueError: an unknown wave, a value the renderers refuse.
    """
    bundle = bundle or fleet.build(plan)
    wave_of = _wave_of(plan)
    files = {}
    host_vars = {}
    wave_hosts = {}
    hosts = _selected(plan, wave)
    for host in hosts:
        shared = bundle.hosts[host.host]
        undefine = _undefine_script(host, files)
        for artifact in (shared.boot_script, shared.unit):
            files[artifact.name] = artifact
        number = wave_of.get(host.host)
        definitions = host.mdev_definitions
        host_vars[host.host] = {
            'vfio_wave': number,
            'vfio_order': host.order,
            'vfio_kind': host.kind,
            'vfio_boot_script': shared.boot_script.name,
            'vfio_boot_script_sha256': shared.boot_script.sha256,
            'vfio_unit': shared.unit.name,
            'vfio_unit_sha256': shared.unit.sha256,
            'vfio_undefine_mdevs_script': undefine.name,
            'vfio_undefine_mdevs_script_sha256': undefine.sha256,
            'vfio_mdev_definitions': (None if definitions is None
                                      else len(definitions)),
        }
        if number is not None:
            wave_hosts.setdefault(number, []).append(host.host)
    group = {
        'vars': {
            'vfio_artifacts_dir': artifacts_dir,
            'vfio_boot_script_path': bootscript.DEFAULT_SCRIPT_PATH,
            'vfio_unit_path': bootscript.DEFAULT_UNIT_PATH,
            'vfio_unit_name': bootscript.UNIT_NAME,
        },
        'hosts': host_vars,
    }
    if wave_hosts:
        group['children'] = {
            WAVE_GROUP % number: {'hosts': {h: None for h in members}}
            for number, members in sorted(wave_hosts.items())}
    document = {'all': {'children': {GROUP: group}}}
    return Inventory(json.dumps(document, indent=2) + '\n',
                     dict(sorted(files.items())),
                     tuple(h.host for h in hosts))
