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

"""How Nova names the resource providers it creates under a compute node.

* Legacy pGPU providers (libvirt driver, mdev): ``<nodename>_<libvirt
  node-device name>``, e.g. ``cmp1_pci_0000_41_00_4``: lower case, ``_``
  separators.  On SR-IOV GPUs (Ampere and later) there is one per VF.
* PCI-in-Placement providers: ``<nodename>_<ADDRESS>`` with the address
  upper-cased and its ``:``/``.`` kept, e.g. ``cmp1_0000:41:00.0``: one per
  PF (VFs are counted as inventory of their PF's provider).
"""

import collections
import re

LEGACY = 'legacy-vgpu'
PCI = 'pci'

ProviderName = collections.namedtuple('ProviderName', 'kind address')

_LEGACY_RE = re.compile(
    r'pci_(?P<d>[0-9a-f]{4})_(?P<b>[0-9a-f]{2})_(?P<s>[0-9a-f]{2})_'
    r'(?P<f>[0-7])$')
_PCI_RE = re.compile(
    r'(?P<d>[0-9A-F]{4}):(?P<b>[0-9A-F]{2}):(?P<s>[0-9A-F]{2})\.'
    r'(?P<f>[0-7])$')


def format_address(domain, bus, slot, function):
    """Canonical lower-case ``dddd:bb:ss.f``."""
    return '%s:%s:%s.%s' % (domain.lower(), bus.lower(), slot.lower(),
                            function)


def parse_provider_name(name, root_name):
    """Return ``ProviderName(kind, address)`` or None.

    ``root_name`` is the compute node's provider name (the hypervisor
    hostname); Nova prefixes child names with it and one ``_``.
    """
    if not name or not root_name or not name.startswith(root_name + '_'):
        return None
    rest = name[len(root_name) + 1:]
    m = _LEGACY_RE.match(rest)
    if m:
        return ProviderName(LEGACY, format_address(*m.group('d', 'b', 's',
                                                             'f')))
    m = _PCI_RE.match(rest)
    if m:
        return ProviderName(PCI, format_address(*m.group('d', 'b', 's',
                                                          'f')))
    return None


def legacy_provider_name(nodename, address):
    """The name Nova gives the pGPU provider of ``address``."""
    return '%s_pci_%s' % (nodename, address.lower().replace(':', '_')
                          .replace('.', '_'))


def pci_provider_name(nodename, address):
    """The name Nova gives the PCI provider of the device at ``address``."""
    return '%s_%s' % (nodename, address.upper())


def guess_physical_function(address, total):
    """Best guess of the PF of a legacy provider's device without a host
    report.

    A provider on an SR-IOV GPU's VF has total 1 (one vGPU per VF) and the
    NVIDIA PF is function 0 of slot 0 on the same bus (``0000:41:00.0`` for
    VF ``0000:41:00.4``); otherwise the device is its own GPU (T4-style
    mdev on the PF).  A host report replaces this guess with the real
    ``physfn`` link.
    """
    domain_bus = address.rsplit(':', 1)[0]
    pf = '%s:00.0' % domain_bus
    if total == 1 and address != pf:
        return pf
    return address
