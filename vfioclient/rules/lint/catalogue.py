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

"""The config lint's finding catalogue (codes VFIO-C1xx)."""


from vfioclient.rules import findings as f
from vfioclient.rules.findings import define

E, W, INFO = f.ERROR, f.WARNING, f.INFO


define('VFIO-C101', E, 'device_spec is not strict JSON',
       'Nova reads each [pci] device_spec value with json.loads: unquoted '
       'keys, single quotes, trailing commas or Python literals make '
       'nova-compute refuse to start ("Invalid [pci]device_spec config: '
       'Invalid entry").',
       'Quote every key and string with double quotes; the finding shows '
       'the repaired line when a repair is possible.')
define('VFIO-C102', E, 'device_spec is not an object or list of objects',
       'A device_spec value must be a JSON object or a JSON list of '
       'objects; anything else is refused at start-up.',
       'Write one {...} object per device_spec line.')
define('VFIO-C103', E, 'device_spec field refused',
       'vendor_id/product_id must be hex up to FFFF, the address must be '
       'a valid glob ([[[[dom]:]bus]:][slot][.[func]]) or regex dict, '
       'devname and address cannot be combined; Nova refuses the '
       'configuration otherwise.',
       'Fix the field as the message says.')
define('VFIO-C104', E, 'device_spec boolean tag cannot be parsed',
       'managed, live_migratable and one_time_use are parsed with oslo '
       'strutils strict booleans; any other value is refused at start-up.',
       'Use "yes" or "no" (or true/false).')
define('VFIO-C105', E, 'one_time_use without report_in_placement',
       'one_time_use=true requires [pci] report_in_placement = True.',
       'Enable [pci] report_in_placement or drop one_time_use.')
define('VFIO-C106', E, 'devname with PCI in Placement',
       'With [pci] report_in_placement Nova refuses device_spec entries '
       'that use devname.',
       'Use the PCI address instead of devname.')
define('VFIO-C107', E, 'resource class refused by Placement',
       'Nova only upper-cases a resource_class that already starts with '
       'CUSTOM_ and does not check it; Placement refuses names outside '
       '^CUSTOM_[A-Z0-9_]+$ (max 255), so nova-compute fails to report '
       'the device. A non-string value makes nova-compute crash.',
       'Use a name made of A-Z, 0-9 and _ (the finding suggests one).')
define('VFIO-C108', E, 'trait refused by Placement',
       'Traits are split on "," without stripping and normalised like '
       'resource classes; a CUSTOM_ trait with other characters, an empty '
       'item (CUSTOM_) or a non-string value is refused.',
       'Use comma separated names without spaces, made of A-Z, 0-9, _.')
define('VFIO-C110', E, 'alias is not strict JSON',
       'Each [pci] alias value is read with json.loads; nova-api and '
       'nova-compute refuse to start on invalid JSON.',
       'Quote every key and string with double quotes.')
define('VFIO-C111', E, 'alias refused by the alias schema',
       'Aliases are checked against Nova\'s JSON schema: only name, '
       'vendor_id, product_id (4 hex digits), device_type (type-PCI, '
       'type-PF, type-VF), numa_policy, resource_class, traits, '
       'live_migratable and capability_type are allowed (managed is a '
       'device_spec tag).',
       'Remove or fix the key the message names.')
define('VFIO-C112', E, 'alias live_migratable cannot be parsed',
       'live_migratable in an alias is a strict boolean string.',
       'Use "yes" or "no".')
define('VFIO-C113', E, 'alias entries with one name disagree',
       'Entries sharing a name must have the same numa_policy and must all '
       'set the same device_type (a missing device_type on either entry '
       'fails with the bare message \'dev_type\').',
       'Give every entry of the name the same numa_policy and device_type.')
define('VFIO-C114', E, 'repeated alias name with pci_in_placement',
       'With [filter_scheduler] pci_in_placement an alias name may have '
       'only one entry.',
       'Use one entry and give the devices one resource_class in '
       'device_spec.')
define('VFIO-C115', E, 'alias without device IDs',
       'Without pci_in_placement every alias needs vendor_id and '
       'product_id; with it, both IDs or a resource_class.',
       'Add vendor_id and product_id (or resource_class with '
       'pci_in_placement).')
define('VFIO-C116', E, 'alias asks Placement for a refused name',
       'With pci_in_placement the alias resource class and traits are '
       'normalised like device_spec ones and sent to Placement.',
       'Use names made of A-Z, 0-9 and _.')
define('VFIO-C117', E, 'option value refused by oslo.config',
       'An option has a value of the wrong type or outside its pattern '
       '(for example mdev_class must match ^(VGPU|CUSTOM_[A-Z0-9_]+)$); '
       'Nova fails when it reads it.',
       'Fix the value as the message says.')
define('VFIO-C118', E, 'one GPU address under two mdev types',
       'The libvirt driver refuses the same device_addresses entry under '
       'two enabled mdev types.',
       'List each address under one [mdev_<type>] only.')
define('VFIO-C119', E, 'mdev device address is not a PCI address',
       'device_addresses items must be dddd:bb:ss.f (or a virtual mdev '
       'parent that exists on the host, e.g. mtty).',
       'Write full PCI addresses such as 0000:41:00.4.')
define('VFIO-C120', E, 'one_time_use on a VF',
       'With PCI in Placement only type-PCI and type-PF devices may carry '
       'one_time_use (any value).',
       'Remove one_time_use from the spec that matches VFs.')
define('VFIO-C121', E, 'PF and its VFs both matched',
       'With [pci] report_in_placement Nova refuses to report a PF and its '
       'VFs together (one Placement provider per PF).',
       'Match either the PF or its VFs.')
define('VFIO-C122', E, 'VFs of one PF differ in resource class or traits',
       'With [pci] report_in_placement all VFs of one PF land on one '
       'resource provider and must share one resource class and one trait '
       'set; Nova refuses otherwise.',
       'Give all VFs of a PF the same resource_class and traits.')

define('VFIO-C150', W, 'option name Nova does not have',
       'oslo.config silently ignores unknown options such as dev_spec (a '
       'name used in the upstream live-migration docs).',
       'Rename it to device_spec.')
define('VFIO-C151', W, 'overlapping device_spec entries',
       'Nova uses the first device_spec that matches a device; tags of '
       'later overlapping entries never apply to those devices.',
       'Make the entries disjoint or order them from specific to general.')
define('VFIO-C152', W, 'device_spec names a PF address',
       'An exact address of a PF with SR-IOV enabled (sriov_totalvfs > 0) '
       'also matches every VF of that PF.',
       'Name VF addresses (or a glob of them) instead of the PF.')
define('VFIO-C153', W, 'traits with spaces',
       'Trait items are not stripped: "blue, big" gives CUSTOM_BLUE and '
       'CUSTOM__BIG; aliases must then spell them the same way.',
       'Remove the spaces after the commas.')
define('VFIO-C154', W, 'NVIDIA VF spec without managed "no"',
       'VFs of NVIDIA vGPU (vendor-specific VFIO) stay bound to the nvidia '
       'driver; without "managed": "no" libvirt detaches that driver and '
       'the guest fails or the host crashes.',
       'Add "managed": "no" to the entry.')
define('VFIO-C155', W, 'alias resource class nobody provides',
       'No device_spec produces the resource class this alias requests, '
       'so scheduling with pci_in_placement finds no host.',
       'Use the resource class of a device_spec entry.')
define('VFIO-C156', W, 'vendor/product alias for a device with a '
       'resource_class',
       'An alias with only vendor_id/product_id asks Placement for '
       'CUSTOM_PCI_<V>_<P>, but the matching device_spec reports another '
       'class.',
       'Put the device_spec resource_class in the alias.')
define('VFIO-C157', W, 'legacy mdev and SR-IOV specs on one GPU',
       'The same GPU is configured both for legacy mdev vGPU '
       '(enabled_mdev_types) and as PCI devices in device_spec.',
       'Use one model per GPU.')
define('VFIO-C158', W, '[mdev_*] section for a type not enabled',
       'Nova only reads [mdev_<type>] groups of types listed in [devices] '
       'enabled_mdev_types; others are ignored.',
       'Add the type to enabled_mdev_types or remove the section.')
define('VFIO-C159', W, 'unknown device_spec key',
       'Nova keeps unknown device_spec keys silently as tags (they even '
       'split PCI pools); a typo therefore has no effect.',
       'Fix the key name or remove it.')
define('VFIO-C160', W, 'mdev type dropped',
       'Only the first enabled mdev type without device_addresses becomes '
       'the default; later ones are dropped.',
       'Give the type device_addresses or remove it.')
define('VFIO-C161', W, 'Placement would refuse once enabled',
       'resource_class/traits that Placement refuses are harmless while '
       'PCI in Placement is off, but break nova-compute when it is '
       'switched on.',
       'Fix the name now.')
define('VFIO-C162', W, 'deprecated option name',
       'The option still works under its deprecated name.',
       'Use the current option name.')
define('VFIO-C170', W, 'device_spec matches no device',
       'No device in the host report matches this entry.',
       'Check vendor_id, product_id and address against the host.')
define('VFIO-C171', INFO, 'devices matched by device_spec',
       'Which host devices this entry gives to Nova (first match wins).',
       'None needed.')
define('VFIO-C172', W, 'PF and its VFs both matched',
       'A PF and its VFs are both assignable; using one makes the others '
       'unavailable (with PCI in Placement this is refused).',
       'Match either the PF or its VFs.')
define('VFIO-C173', W, 'nvidia-bound VFs not managed "no"',
       'The entry matches VFs bound to the nvidia driver without '
       '"managed": "no"; libvirt would detach the driver.',
       'Add "managed": "no".')
define('VFIO-C174', W, 'enabled mdev type not offered',
       'The GPU does not list the enabled type in mdev_supported_types, '
       'so Nova reports no vGPU inventory for it.',
       'Enable a type the GPU offers.')
define('VFIO-C175', W, 'mdev device address not on the host',
       'device_addresses names a device the host report does not have.',
       'Fix the address.')
