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

"""Legacy ``[devices]`` / ``[mdev_*]`` checks."""


from vfioclient.nova import devspec
from vfioclient.nova import errors
from vfioclient.nova import mdev as mdev_mod
from vfioclient.nova import pci_address
from vfioclient.nvidia import pci_ids
from vfioclient.rules import findings as f

from vfioclient.rules.lint import common

def check_mdev(snapshot, spec_items):
    out = []
    seen = {}
    default = None
    for group in snapshot.mdev_groups:
        subject = (group.addresses_source or group.source).label()
        if not group.device_addresses:
            if default is None:
                default = group.mdev_type
            else:
                out.append(f.make(
                    'VFIO-C160', group.source.label(),
                    'mdev type %s has no device_addresses but %s is '
                    'already the default type: Nova drops %s with a warning'
                    % (group.mdev_type, default, group.mdev_type)))
            continue
        for address in group.device_addresses:
            if address in seen:
                out.append(f.make(
                    'VFIO-C118', subject,
                    'address %s is listed for mdev types %s and %s; '
                    'nova-compute refuses to start: duplicate types for PCI '
                    'ID %s' % (address, seen[address], group.mdev_type,
                               address)))
                continue
            problem = mdev_mod.pci_address_problem(address)
            if problem:
                out.append(f.make(
                    'VFIO-C119', subject,
                    'device_addresses item %s: nova-compute refuses to '
                    'start (%s) unless /sys/devices/virtual/%s exists'
                    % (common.quote(address), problem,
                       address.replace('_', '/'))))
            seen[address] = group.mdev_type
    for source in snapshot.stray_mdev_sections:
        out.append(f.make(
            'VFIO-C158', source.label(),
            'section [%s] is ignored: %s is not in [devices] '
            'enabled_mdev_types (%s)' % (
                source.section, source.section.split('_', 1)[1],
                ', '.join(snapshot.enabled_mdev_types) or 'empty')))
    if snapshot.enabled_mdev_types:
        out += _mdev_vs_specs(snapshot, spec_items, default, seen)
    return out


def _mdev_vs_specs(snapshot, spec_items, default, by_address):
    out = []
    nvidia_specs = [s for s in spec_items if s.spec and
                    s.spec.vendor_id in (pci_ids.VENDOR_ID, devspec.ANY)]
    for address, mdev_type in by_address.items():
        try:
            addr = pci_address.parse_physical_address(address)
        except errors.NovaConfigError:
            continue
        for s in nvidia_specs:
            if s.spec.address is not None and s.spec.address.match(addr):
                out.append(f.make(
                    'VFIO-C157', s.subject,
                    '%s matches %s, which [mdev_%s] device_addresses also '
                    'uses for legacy mdev vGPU' % (
                        common.quote(common.dump(s.raw)), address, mdev_type)))
                break
    if default:
        for s in nvidia_specs:
            if s.spec.vendor_id == pci_ids.VENDOR_ID:
                out.append(f.make(
                    'VFIO-C157', s.subject,
                    'NVIDIA device_spec %s while mdev type %s is the '
                    'default for every GPU with mdev support: a GPU may '
                    'be configured for both models' % (
                        common.quote(common.dump(s.raw)), default)))
    return out


