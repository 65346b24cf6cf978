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

"""Nova data of a seeded estate, written with Nova's own objects.

This is the ONLY module of vfioclient that imports ``nova``.  It runs in
its own process (``python -m vfioclient.sandbox.nova_db --config-file
<state>/nova/nova.conf PLAN.json``) because Nova's config and objects are
process-global.  The plan is plain JSON built by
:mod:`vfioclient.sandbox.seed` from an estate:

``{"project_id", "user_id", "controller",
   "hosts": [{"host", "hypervisor_hostname", "uuid", "vcpus", "memory_mb",
              "disk_gb", "vcpus_used", "memory_mb_used", "disk_gb_used",
              "running_vms", "host_ip"}],
   "flavors": [{"name", "flavorid", "vcpus", "memory_mb", "root_gb",
                "extra_specs"}],
   "servers": [{"uuid", "name", "host", "node", "flavor"}]}``

What goes where (see the sandbox recipe): Service, ComputeNode and
Instance in the cell1 database; HostMapping, InstanceMapping, RequestSpec
and Flavor in the API database.  Every write is get-or-create on fixed
ids, so running it twice changes nothing.  A JSON summary of what was
created is printed on stdout.
"""

import argparse
import json
import sys

CELL = 'cell1'


def _no_fsync_per_commit():
    """``PRAGMA synchronous=NORMAL`` on this process's SQLite connections:
    in WAL mode (the sandbox's) a commit then waits for no fsync, and a
    crash of this process still loses nothing committed.  Seeding makes
    a few transactions per server; with an fsync each, thousands of hosts
    took minutes."""
    import sqlalchemy

    @sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, 'connect')
    def _pragma(dbapi_conn, record):
        if type(dbapi_conn).__module__.startswith('sqlite3'):
            dbapi_conn.execute('PRAGMA synchronous=NORMAL')


def _load_nova(config_file):
    _no_fsync_per_commit()
    from nova import config
    from nova import objects
    objects.register_all()
    config.parse_args(['vfio-sandbox-seed', '--config-file', config_file])


def _uptime():
    return ' 10:00:00 up 30 days,  2:03,  0 users,  load average: ' \
           '0.10, 0.20, 0.30'


class Seeder:
    def __init__(self, plan):
        from nova import context
        from nova import objects
        self.plan = plan
        self.ctxt = context.get_admin_context()
        cells = [c for c in objects.CellMappingList.get_all(self.ctxt)
                 if c.name == CELL]
        if not cells:
            raise SystemExit('cell %r is not mapped; was `vfio-sandbox up` '
                             'run?' % CELL)
        self.cell = cells[0]
        self.created = {}
        self.existing = {}

    def _count(self, kind, created):
        d = self.created if created else self.existing
        d[kind] = d.get(kind, 0) + 1

    # -- cell database --------------------------------------------------
    def service(self, cctxt, host, binary, topic):
        from nova import objects
        from oslo_utils import timeutils
        svc = self._known('services', (host, binary))
        if svc is not None:
            return svc
        svc = objects.Service(context=cctxt, host=host, binary=binary,
                              topic=topic, report_count=1, disabled=False)
        svc.create()
        # updated_at is only set by save(); "Updated At" shows it
        svc.last_seen_up = timeutils.utcnow()
        svc.report_count = 2
        svc.save()
        self._count('services', True)
        return svc

    def _existing(self, kind, missing, lookup, *args):
        """The object ``lookup(*args)`` finds (counted as kept), or None
        when it raises ``missing``: seeding is idempotent."""
        try:
            found = lookup(*args)
        except missing:
            return None
        self._count(kind, False)
        return found

    def _known(self, kind, key):
        """What :meth:`load_existing` found of ``kind`` under ``key``
        (counted as kept), or None."""
        found = self.known[kind].get(key)
        if found is not None:
            self._count(kind, False)
        return found

    def load_existing(self, cctxt):
        """Everything this seed could find already there, a list per
        kind (a lookup per object made growing 10,000 hosts take
        minutes)."""
        from nova.db.api import api as api_db
        from nova.db.api import models as api_models
        from nova.db.main import api as main_db
        from nova.db.main import models as main_models
        from nova import objects

        def uuids(manager, ctxt, column, *where):
            with manager.reader.using(ctxt) as session:
                return {u: True for (u,) in
                        session.query(column).filter(*where)}

        self.known = {
            'services': {(svc.host, svc.binary): svc for svc in
                         objects.ServiceList.get_all(cctxt)},
            'compute_nodes': {cn.uuid: cn for cn in
                              objects.ComputeNodeList.get_all(cctxt)},
            'instances': uuids(main_db.get_context_manager(cctxt), cctxt,
                               main_models.Instance.uuid,
                               main_models.Instance.deleted == 0),
            'host_mappings': {hm.host: True for hm in
                              objects.HostMappingList.get_all(self.ctxt)},
            'instance_mappings': uuids(
                api_db.context_manager, self.ctxt,
                api_models.InstanceMapping.instance_uuid),
            'request_specs': uuids(api_db.context_manager, self.ctxt,
                                   api_models.RequestSpec.instance_uuid),
        }

    def compute_node(self, cctxt, h, service):
        from nova import objects
        cn = self._known('compute_nodes', h['uuid'])
        if cn is not None:
            return cn
        cpu_info = {'arch': 'x86_64', 'model': 'Icelake-Server',
                    'vendor': 'Intel',
                    'topology': {'cells': 2, 'sockets': 1,
                                 'cores': h['vcpus'] // 4, 'threads': 2},
                    'features': ['avx2', 'sse4.2']}
        cn = objects.ComputeNode(
            context=cctxt, uuid=h['uuid'], host=h['host'],
            hypervisor_hostname=h['hypervisor_hostname'],
            service_id=service.id,
            vcpus=h['vcpus'], memory_mb=h['memory_mb'],
            local_gb=h['disk_gb'],
            vcpus_used=h['vcpus_used'], memory_mb_used=h['memory_mb_used'],
            local_gb_used=h['disk_gb_used'],
            free_ram_mb=h['memory_mb'] - h['memory_mb_used'],
            free_disk_gb=h['disk_gb'] - h['disk_gb_used'],
            current_workload=0, running_vms=h['running_vms'],
            disk_available_least=h['disk_gb'] - h['disk_gb_used'],
            hypervisor_type='QEMU', hypervisor_version=8002002,
            cpu_info=json.dumps(cpu_info), host_ip=h['host_ip'],
            supported_hv_specs=[], metrics='[]',
            # uptime must be there, or hypervisor list makes an RPC call
            # to the (absent) compute service and times out
            stats={'uptime': _uptime(),
                   'num_instances': str(h['running_vms'])},
            pci_device_pools=objects.PciDevicePoolList(objects=[]),
            extra_resources=None, numa_topology=None,
            cpu_allocation_ratio=4.0, ram_allocation_ratio=1.0,
            disk_allocation_ratio=1.0, mapped=1)
        cn.create()
        self._count('compute_nodes', True)
        return cn

    def instance(self, cctxt, s, flavor, node):
        from nova.network import model as network_model
        from nova import objects
        from oslo_utils import timeutils
        if self._known('instances', s['uuid']):
            return
        now = timeutils.utcnow()
        octet = 10 + int(s['uuid'][:4], 16) % 200
        vif = network_model.VIF(
            id=s['uuid'], address='fa:16:3e:00:%02x:%02x' % (
                octet // 256, octet % 256),
            network=network_model.Network(
                id='00000000-0000-0000-0000-00000000d3e0',
                label='demo-net', bridge='br-int',
                subnets=[network_model.Subnet(
                    cidr='192.0.2.0/24',
                    ips=[network_model.FixedIP(address='192.0.2.%d'
                                               % octet)])]))
        inst = objects.Instance(
            context=cctxt, uuid=s['uuid'], display_name=s['name'],
            hostname=s['name'], project_id=self.plan['project_id'],
            user_id=self.plan['user_id'], host=s['host'], node=s['node'],
            compute_id=node.id, launched_on=s['host'],
            availability_zone='nova', vm_state='active', power_state=1,
            task_state=None, flavor=flavor, old_flavor=None,
            new_flavor=None, instance_type_id=flavor.id,
            vcpus=flavor.vcpus, memory_mb=flavor.memory_mb,
            root_gb=flavor.root_gb, ephemeral_gb=flavor.ephemeral_gb,
            image_ref='', kernel_id='', ramdisk_id='',
            launched_at=now, scheduled_at=now, launch_index=0,
            root_device_name='/dev/vda', config_drive='', locked=False,
            metadata={}, system_metadata={},
            security_groups=objects.SecurityGroupList(objects=[]),
            info_cache=objects.InstanceInfoCache(
                network_info=network_model.NetworkInfo([vif])))
        inst.create()
        self._count('instances', True)

    # -- API database ---------------------------------------------------
    def host_mapping(self, host):
        from nova import objects
        if self._known('host_mappings', host) is None:
            objects.HostMapping(self.ctxt, host=host,
                                cell_mapping=self.cell).create()
            self._count('host_mappings', True)

    def flavor(self, f):
        from nova import exception
        from nova import objects
        fl = self._existing('flavors', exception.FlavorNotFound,
                            objects.Flavor.get_by_flavor_id, self.ctxt,
                            f['flavorid'])
        if fl is not None:
            return fl
        fl = objects.Flavor(
            context=self.ctxt, name=f['name'], flavorid=f['flavorid'],
            vcpus=f['vcpus'], memory_mb=f['memory_mb'],
            root_gb=f['root_gb'], ephemeral_gb=0, swap=0,
            rxtx_factor=1.0, vcpu_weight=0, disabled=False,
            is_public=True, extra_specs=dict(f['extra_specs']),
            description=None)
        fl.create()
        self._count('flavors', True)
        return objects.Flavor.get_by_flavor_id(self.ctxt, f['flavorid'])

    def instance_mapping(self, s):
        from nova import objects
        if self._known('instance_mappings', s['uuid']) is None:
            objects.InstanceMapping(
                self.ctxt, instance_uuid=s['uuid'], cell_mapping=self.cell,
                project_id=self.plan['project_id'],
                user_id=self.plan['user_id'],
                queued_for_delete=False).create()
            self._count('instance_mappings', True)

    def request_spec(self, s, flavor):
        from nova import objects
        if self._known('request_specs', s['uuid']) is None:
            # without it, 2.100 returns scheduler_hints: null and nova
            # logs a response schema error on every server list
            objects.RequestSpec.from_components(
                self.ctxt, s['uuid'], objects.ImageMeta.from_dict({}),
                flavor, None, objects.InstancePCIRequests(requests=[]),
                {'scheduler_hints': {}}, None, None,
                project_id=self.plan['project_id'],
                user_id=self.plan['user_id']).create()
            self._count('request_specs', True)

    # -- all ----------------------------------------------------------------
    def run(self):
        from nova import context
        from nova.db.api import api as api_db
        from nova.db.main import api as main_db
        flavors = {f['name']: self.flavor(f) for f in self.plan['flavors']}
        nodes = {}
        # One transaction per database (Nova's objects join the one open
        # on their context): a transaction, and a new SQLite connection,
        # per object made thousands of hosts take half an hour.
        with context.target_cell(self.ctxt, self.cell) as cctxt:
            # Instance.create makes the default security group in a
            # transaction of its own, which would wait for ours forever
            # (SQLite: one writer): make it first.
            main_db.security_group_ensure_default(cctxt)
            self.load_existing(cctxt)
        with context.target_cell(self.ctxt, self.cell) as cctxt, \
                main_db.get_context_manager(cctxt).writer.using(cctxt):
            ctl = self.plan.get('controller', 'sandbox-controller')
            self.service(cctxt, ctl, 'nova-conductor', 'conductor')
            self.service(cctxt, ctl, 'nova-scheduler', 'scheduler')
            for h in self.plan['hosts']:
                svc = self.service(cctxt, h['host'], 'nova-compute',
                                   'compute')
                nodes[h['host']] = self.compute_node(cctxt, h, svc)
            for s in self.plan['servers']:
                self.instance(cctxt, s, flavors[s['flavor']],
                              nodes[s['host']])
        with api_db.context_manager.writer.using(self.ctxt):
            for h in self.plan['hosts']:
                self.host_mapping(h['host'])
            for s in self.plan['servers']:
                self.instance_mapping(s)
                self.request_spec(s, flavors[s['flavor']])
        return {'created': self.created, 'existing': self.existing}


def main(argv=None):
    p = argparse.ArgumentParser(prog='vfioclient.sandbox.nova_db')
    p.add_argument('--config-file', required=True)
    p.add_argument('plan')
    args = p.parse_args(argv)
    with open(args.plan) as f:
        plan = json.load(f)
    _load_nova(args.config_file)
    result = Seeder(plan).run()
    sys.stdout.write(json.dumps(result) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
