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

"""Checks of the configuration against a host report (real devices)."""


from vfioclient.nova import devspec
from vfioclient.nova import releases
from vfioclient.rules import findings as f

from vfioclient.rules.lint import common

def _host_devices(host_report):
    """(device records, pf address set) from a HostReport or a dict."""
    devices = getattr(host_report, 'devices', None)
    if devices is None and isinstance(host_report, dict):
        devices = host_report.get('devices') or []
    result = []
    for d in devices:
        get = (d.get if isinstance(d, dict)
               else lambda k, default=None, d=d: getattr(d, k, default))
        result.append(dict(
            address=get('address'), vendor_id=get('vendor_id'),
            product_id=get('product_id'), driver=get('driver'),
            physfn=get('physfn'), virtfns=tuple(get('virtfns') or ()),
            sriov_totalvfs=get('sriov_totalvfs'),
            mdev_types=tuple(
                (t.get('id') if isinstance(t, dict) else t.id)
                for t in (get('mdev_supported_types') or ()))))
    pfs = frozenset(d['address'] for d in result
                    if (d['sriov_totalvfs'] or 0) > 0)
    return result, pfs


def _report_value(host_report, key):
    if isinstance(host_report, dict):
        return host_report.get(key)
    return getattr(host_report, key, None)


def hypervisor_versions(specs, host_report):
    """C177 when a device_spec carries live_migratable and the host
    report shows libvirt or QEMU below Nova's minimum for it."""
    tagged = [s for s in specs
              if s.spec.tags.get('live_migratable') is not None]
    if not tagged:
        return []
    problems = releases.live_migratable_version_problems(
        _report_value(host_report, 'libvirt_version'),
        _report_value(host_report, 'qemu_version'))
    if not problems:
        return []
    return [f.make(
        'VFIO-C177', tagged[0].subject,
        '%s carries live_migratable and the host has %s: nova-compute '
        'refuses to start: %s' % (
            common.quote(common.dump(tagged[0].raw)), ', '.join(problems),
            releases.LIVE_MIGRATABLE_TOO_OLD))]


def check_host(snapshot, spec_items, host_report,
               release=releases.DEFAULT):
    devices, pfs = _host_devices(host_report)
    specs = [s for s in spec_items if s.spec]
    out = hypervisor_versions(specs, host_report)
    matched = {}  # spec index -> [device]
    owner = {}    # address -> (index, spec item)
    for dev in devices:
        pci = devspec.PciDevice(dev['address'], dev['vendor_id'],
                                dev['product_id'], dev['physfn'])
        hit = devspec.first_match([s.spec for s in specs], pci, pfs)
        if hit:
            matched.setdefault(hit[0], []).append(dev)
            owner[dev['address']] = (hit[0], specs[hit[0]])
    rip = snapshot.report_in_placement
    for index, item in enumerate(specs):
        devs = matched.get(index, [])
        if not devs:
            out.append(f.make('VFIO-C170', item.subject,
                              '%s matches no device of the host report'
                              % common.quote(common.dump(item.raw))))
            continue
        out.append(f.make('VFIO-C171', item.subject, '%s matches %s' % (
            common.quote(common.dump(item.raw)),
            ', '.join(d['address'] for d in devs))))
        if item.spec.is_pf_spec(pfs):
            out.append(f.make(
                'VFIO-C152', item.subject,
                '%s is a PF with SR-IOV (sriov_totalvfs > 0): Nova matches '
                'it and all its VFs' % item.spec.single_address))
        bad = [d['address'] for d in devs if d['physfn'] and
               d['driver'] == 'nvidia' and item.spec.managed is not False]
        if bad:
            fixed = dict(item.raw)
            fixed['managed'] = 'no'
            out.append(f.make(
                'VFIO-C173', item.subject,
                'VFs %s are bound to the nvidia driver but managed is not '
                '"no": libvirt would detach the driver' % ', '.join(bad),
                'device_spec = %s' % common.dump(fixed)))
        vfs = [d['address'] for d in devs if d['physfn']]
        if (rip and vfs and 'one_time_use' in item.spec.tags
                and release.knows_tag('one_time_use')):
            out.append(f.make(
                'VFIO-C120', item.subject,
                'one_time_use is set but the entry matches VFs %s; Nova '
                'refuses it with PCI in Placement' % ', '.join(vfs)))
    # PF and VFs both matched; VFs of one PF with different RC / traits.
    by_pf = {}
    for dev in devices:
        if dev['physfn'] and dev['address'] in owner:
            by_pf.setdefault(dev['physfn'], []).append(dev)
    for pf, vfs in sorted(by_pf.items()):
        if pf in owner:
            code = 'VFIO-C121' if rip else 'VFIO-C172'
            out.append(f.make(
                code, owner[pf][1].subject,
                'PF %s (matched by %s) and its VFs %s (matched by %s) are '
                'both configured%s' % (
                    pf, owner[pf][1].subject,
                    ', '.join(v['address'] for v in vfs),
                    ', '.join(sorted({owner[v['address']][1].subject
                                      for v in vfs})),
                    '; Nova refuses to report them to Placement' if rip
                    else '')))
        if not rip:
            continue
        kinds = {}
        for v in vfs:
            spec = owner[v['address']][1].spec
            key = (spec.placement_resource_class(v['vendor_id'],
                                                 v['product_id']),
                   spec.placement_traits(release))
            kinds.setdefault(key, []).append(v['address'])
        if len(kinds) > 1:
            detail = '; '.join('%s %s for %s' % (
                rc, sorted(traits or ()), ', '.join(addrs))
                for (rc, traits), addrs in kinds.items())
            out.append(f.make(
                'VFIO-C122', 'PF %s' % pf,
                'VFs of PF %s get different resource classes or traits (%s);'
                ' Nova refuses to report them to Placement' % (pf, detail)))
    out += _host_mdev(snapshot, devices)
    return out


def _host_mdev(snapshot, devices):
    out = []
    by_address = {d['address']: d for d in devices}
    layout_default = None
    listed = set()
    for group in snapshot.mdev_groups:
        if not group.device_addresses and layout_default is None:
            layout_default = group.mdev_type
        for address in group.device_addresses:
            listed.add(address)
            dev = by_address.get(address)
            subject = (group.addresses_source or group.source).label()
            if dev is None:
                out.append(f.make(
                    'VFIO-C175', subject,
                    '[mdev_%s] device_addresses names %s, which the host '
                    'report does not have' % (group.mdev_type, address)))
            elif group.mdev_type not in dev['mdev_types']:
                out.append(f.make(
                    'VFIO-C174', subject,
                    '%s does not offer mdev type %s (it offers %s)' % (
                        address, group.mdev_type,
                        ', '.join(dev['mdev_types']) or 'none')))
    if layout_default:
        parents = [d for d in devices if d['mdev_types']
                   and d['address'] not in listed]
        if parents and not any(layout_default in d['mdev_types']
                               for d in parents):
            source = snapshot.enabled_mdev_types_source
            out.append(f.make(
                'VFIO-C174',
                source.label() if source else 'enabled_mdev_types',
                'default mdev type %s is offered by none of the GPUs %s'
                % (layout_default, ', '.join(d['address'] for d in parents))))
    return out


