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

"""A small plan over fake GPU hosts, for the inventory and playbook tests.

Each host is an A40 host in the legacy model (``fakesysfs`` preset
``a40``) at ``builders.A40_PF`` with ``definitions`` persisted mdevs, its
fake tree in ``<directory>/<host>`` and its host report in the plan,
except the hosts named in ``unreported``: the plan has no report of them
(their mdev definitions are unknown to it).  One host per wave.
"""

import os

from vfioclient.collect import sysfs
from vfioclient.rules import plan as plan_rules
from vfioclient.sandbox import fakesysfs
from vfioclient.tests.unit import builders

COLLECTED_AT = '2026-01-01T00:00:00Z'
VF_TYPE = 'NVIDIA A40-2Q'
VFS = 8


def host_spec(hostname, definitions=2):
    spec = fakesysfs.preset('a40')
    spec['hostname'] = hostname
    gpu = spec['gpus'][0]
    gpu['address'] = builders.A40_PF
    # The 8 VFs the estate's legacy GPU has (fewer files to write).
    gpu['vfs'] = VFS
    # A uuid per host, so that no two trees share a definition.
    gpu['vf_mdevs'] = {
        i: (fakesysfs.mdev_uuid('%s/%s' % (hostname, builders.A40_PF), i),
            558) for i in range(definitions)}
    return spec


def make_plan(directory, hostnames=('cmp1', 'cmp2'), unreported=(),
              definitions=2):
    """``(plan, {host: fake root})``; the roots also hold the directories
    the boot script and unit are installed into."""
    b = builders.PlanEstateBuilder()
    reports = []
    roots = {}
    for name in hostnames:
        b.host(name)
        b.legacy_gpu(name, rc='VGPU', vfs=VFS)
        root = os.path.join(directory, name)
        fakesysfs.build_host(root, host_spec(name, definitions))
        for sub in ('usr/local/sbin', 'etc/systemd/system'):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        roots[name] = root
        if name not in unreported:
            reports.append(sysfs.collect_host_report(
                root, hostname=name, collected_at=COLLECTED_AT))
    plan = plan_rules.make_plan(
        b.snapshot(), reports,
        options=plan_rules.Options(maps=(('VGPU', VF_TYPE),), wave_size=1))
    return plan, roots
