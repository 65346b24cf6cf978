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

"""Undefining Nova's persisted mdevs before the driver switch (text out).

Why: since Nova 30.0.0 the libvirt driver defines every mdev it creates
(``_create_mdev``: ``nodeDeviceDefineXML`` and autostart), and its
``init_host`` starts every defined, inactive mdev with no error handling
(``_start_inactive_mediated_devices``; ``Host.device_start`` raises),
nova/virt/libvirt/driver.py and host.py, stable/2025.1 to master.  Once the
GPUs are on NVIDIA's variant driver the parents offer no mdev type, the
start fails and nova-compute does not start (VFIO-A119).

How: ``mdevctl undefine --uuid <uuid> --parent <parent>`` per definition.

* The definitions are mdevctl's files, ``/etc/mdevctl.d/<parent>/<uuid>``
  (mdevctl README, https://github.com/mdevctl/mdevctl): libvirt's
  node-device driver defines mdevs with ``mdevctl define`` and undefines
  them with ``mdevctl undefine --uuid`` (libvirt
  src/node_device/node_device_driver.c).
* ``undefine`` only removes that file (``MDev::undefine``, mdevctl
  src/mdev.rs): it works whatever the parent offers, before or after the
  switch, and without libvirt running.  ``--parent`` keeps it to this
  parent (one UUID may be defined on several parents, hence libvirt's
  ``mdev_<uuid>_<parent>`` names, Nova bug 1951656) and makes mdevctl read
  only that parent's directory.
* ``virsh nodedev-undefine mdev_<uuid>_<parent>`` (every character that is
  not a letter or digit written ``_``) does the same through libvirt, which
  must be running and have listed the definition; it runs ``mdevctl
  undefine --uuid`` for all parents.
* No ``mdevctl stop``: undefining leaves a running mdev running, as a
  transient one (mdevctl README), Nova starts only inactive definitions,
  and the driver switch removes the running mdevs with their parents.
  Stopping an mdev that a guest still uses blocks until the guest lets it
  go (libvirt node_device_driver.c, ``nodeDeviceDestroy``).

:func:`runbook_step` is the runbook's step for one host,
:func:`render_script` the standalone script (``openstack vfio host script
--undefine-mdevs``).  Every value placed in a command or the script is
validated here and shell-quoted.
"""

import functools
import importlib.resources
import re
import shlex

from vfioclient.render import markdown as md

SCRIPT_NAME = 'vfio-undefine-mdevs'
SCRIPT_TEMPLATE = 'vfio-undefine-mdevs.sh.in'
_PLACEHOLDER_RE = re.compile(r'@([A-Z_]+)@')

# The forms the host report and the plan allow (their JSON Schemas).
_UUID_RE = re.compile(r'^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$')
_PARENT_RE = re.compile(r'^[A-Za-z0-9._:-]+$')


def _checked(definition):
    """``(uuid, parent)`` of a definition, or ValueError."""
    uuid, parent = definition.uuid, definition.parent
    if not isinstance(uuid, str) or not _UUID_RE.match(uuid):
        raise ValueError('mdev uuid %r is not a UUID' % (uuid,))
    if not isinstance(parent, str) or not _PARENT_RE.match(parent):
        raise ValueError('mdev parent %r is not a device name' % (parent,))
    return uuid, parent


def undefine_command(definition):
    """The mdevctl command that undefines one persisted mdev."""
    uuid, parent = _checked(definition)
    return 'mdevctl undefine --uuid %s --parent %s' % (shlex.quote(uuid),
                                                      shlex.quote(parent))


def runbook_step(host, number, report_file=None):
    """The runbook's step that undefines a host's persisted mdevs.

    Markdown lines for one :class:`~vfioclient.model.plan.HostPlan`, to go
    right after nova-compute is stopped and before the driver switch;
    ``number`` is the step's number, ``report_file`` the host report file
    the script command should read (default ``<host>.json``).
    """
    name = shlex.quote(host.host)
    report = shlex.quote(report_file or host.host + '.json')
    definitions = host.mdev_definitions
    out = ['%d. Undefine Nova\'s persisted mdevs: Nova (30.0.0 and later) '
           'defines every mdev it creates, and nova-compute starts every '
           'defined mdev that is not running when it starts; after the '
           'switch their parents offer no mdev type and nova-compute would '
           'fail to start (VFIO-A119). As root on %s, with nova-compute '
           'stopped and no server left:' % (number, name), '']
    if definitions is None:
        out += ['   No host report lists them. List them and undefine each '
                '(`mdevctl list --defined` prints uuid, parent, type):', '',
                md.code('mdevctl list --defined\n'
                      '# then, for each definition it lists:\n'
                      '# mdevctl undefine --uuid UUID --parent PARENT',
                      'shell'),
                '   or let the script do it (run on the host, it reads '
                '`/etc/mdevctl.d`):', '',
                md.code('openstack vfio host script --undefine-mdevs --output '
                      '%s\nsh %s --dry-run\nsh %s'
                      % ((SCRIPT_NAME,) * 3), 'shell')]
    elif not definitions:
        out += ['   The host report shows none. Check: `mdevctl list '
                '--defined` prints nothing (an mdev Nova created after the '
                'report has a definition too: undefine it with `mdevctl '
                'undefine --uuid <uuid> --parent <parent>`).', '']
    else:
        out += ['   The host report lists %d definition(s):'
                % len(definitions), '',
                md.code('\n'.join(
                    ['mdevctl list --defined']
                    + [undefine_command(d) for d in definitions]
                    + ['mdevctl list --defined   # must print nothing']),
                    'shell'),
                '   or with the script, written where the host report is '
                'and run on the host (it skips what is already undefined and '
                'names any definition made after the report):', '',
                md.code('openstack vfio host script --undefine-mdevs '
                      '--host-report %s --output %s\nsh %s --dry-run\n'
                      'sh %s' % ((report,) + (SCRIPT_NAME,) * 3), 'shell')]
    out += ['   Undefining leaves a running mdev running until the driver '
            'switch removes it. With a containerised libvirt, run mdevctl '
            'in its container (the definitions are in that container\'s '
            '`/etc/mdevctl.d`). Rollback: nothing to undo; Nova defines a '
            'new mdev whenever it creates one.', '']
    return out


@functools.cache
def _script_template():
    return importlib.resources.files(__package__).joinpath(
        SCRIPT_TEMPLATE).read_text(encoding='utf-8')


def _comment(value):
    """A value made safe for a ``#`` comment line (no line breaks)."""
    return ''.join(c if c.isprintable() else '?' for c in str(value))


def render_script(definitions, hostname=None, source=None):
    """The POSIX sh script that undefines ``definitions``.

    :param definitions: records with ``uuid`` and ``parent`` (host report
        :class:`~vfioclient.model.host.MdevDefinition` or plan
        :class:`~vfioclient.model.plan.PersistedMdev`).
    :param hostname: the host, for the header.
    :param source: where the list comes from, for the header.
    :raises ValueError: a uuid or parent that is not safe or not valid.
    """
    pairs = []
    for d in definitions:
        uuid, parent = _checked(d)
        if '%s/%s' % (uuid, parent) not in pairs:
            pairs.append('%s/%s' % (uuid, parent))
    values = {
        'HOST_COMMENT': _comment(hostname or 'this host'),
        'SOURCE_COMMENT': _comment(
            '%d definition(s) from %s' % (len(pairs), source)
            if source else '%d definition(s)' % len(pairs)),
        'DEFINITIONS': shlex.quote(' '.join(pairs)),
    }
    # One pass: a value can never introduce a placeholder.
    return _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)],
                               _script_template())
