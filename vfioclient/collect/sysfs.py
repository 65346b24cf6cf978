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

"""A host's report as model objects, read by the host collector.

:mod:`vfioclient.collect.hostscan` reads the host (it is also the
collector ``openstack vfio host collector`` prints for hosts without OSC);
this module turns its plain documents into the model's records, the model
checking them against the schema (``HostReport.from_json``).  Entry
point: :func:`collect_host_report`.
"""

from vfioclient.collect import hostscan
from vfioclient.model import host as model

MDEVCTL_DEFINITIONS = hostscan.MDEVCTL_DEFINITIONS
utc_now = hostscan.utc_now


def collect_host_report(root='/', hostname=None, collected_at=None,
                        libvirt_version=None, qemu_version=None, arch=None):
    """Read the host under ``root`` into a :class:`HostReport`.

    The arguments are those of :func:`hostscan.collect`.
    """
    doc = hostscan.collect(root, hostname=hostname,
                           collected_at=collected_at,
                           libvirt_version=libvirt_version,
                           qemu_version=qemu_version, arch=arch)
    return model.HostReport.from_json(
        doc, source='host report of %s' % doc['sysfs_root'])


def collect_mdev_definitions(root='/'):
    """Persisted mdevs under ``root``: ``(definitions, warnings)`` as
    :class:`MdevDefinition` and :class:`ReportWarning` tuples
    (:func:`hostscan.read_mdev_definitions`)."""
    definitions, warnings = hostscan.read_mdev_definitions(root)
    return (tuple(model.MdevDefinition(**d) for d in definitions),
            tuple(model.ReportWarning(**w) for w in warnings))
