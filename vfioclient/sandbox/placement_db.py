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

"""Placement data of a seeded estate, written into Placement's database.

The fast twin of :func:`vfioclient.sandbox.seed.seed_placement` (which
goes through the REST API, a few requests per provider): here the whole
estate is a handful of multi-row INSERTs on Placement's own tables
(``placement.db.sqlalchemy.models``) in one transaction of Placement's
own engine (``placement.db_api``).  Resource classes, traits, projects,
users and the consumer type go through Placement's own objects and
get-or-create helpers, as the API does.  What the API would have written
is written here too: ``root_provider_id`` and ``parent_provider_id``,
consumers with their project, user, type and generation 1, and each
provider's generation as the API seeder leaves it (1 for the inventory
write, 1 more for a trait write, 1 more per ``POST /allocations`` batch
that touches it).  The functional test ``test_seed_db`` seeds one estate
both ways and compares what Placement's API shows.

Like :mod:`vfioclient.sandbox.nova_db` it runs in its own process
(``python -m vfioclient.sandbox.placement_db --config-file
<state>/placement/placement.conf --estate large --hosts N --project-id ID
--user-id ID``), since Placement's configuration and engine are process
globals; it prints a JSON summary on stdout.  The Placement service may
run meanwhile: it reads resource classes and traits it does not know yet
from the database.

Providers and consumers already in the database are left as they are
(seeding again changes nothing; an estate grows in place), but one whose
name or parent differs from the estate is refused: ``vfio-sandbox seed``
without ``--via db`` compares and repairs through the API.
"""

import argparse
import json
import sys
import time

from vfioclient.sandbox import estates

# as the API seeder batches fresh consumers (seed.ALLOCATION_BATCH): the
# provider generations written here follow it
ALLOCATION_BATCH = 100
CONSUMER_TYPE = 'INSTANCE'
# rows per INSERT statement (SQLite's limit on bound variables is 32766)
CHUNK = 2000


class SeedConflict(Exception):
    pass


def load_placement(config_file):
    """Placement's configuration and engine from ``placement.conf``."""
    from oslo_config import cfg
    from placement import conf
    from placement import db_api
    opts = cfg.ConfigOpts()
    conf.register_opts(opts)
    opts(['--config-file', config_file], project='placement',
         default_config_files=[])
    db_api.configure(opts)
    return opts


def request_context():
    from placement import context
    return context.RequestContext(user_id='vfio-sandbox',
                                  project_id='vfio-sandbox', is_admin=True)


def ensure_names(ctx, estate, project_id, user_id):
    """Standard and custom resource classes and traits, project, user and
    consumer type, through Placement's own objects; {name: id} maps."""
    from placement import exception
    from placement.handlers import util
    from placement.objects import resource_class
    from placement.objects import trait
    trait.ensure_sync(ctx)
    resource_class.ensure_sync(ctx)
    for rc in estate.resource_classes:
        try:
            resource_class.ResourceClass(ctx, name=rc).create()
        except exception.ResourceClassExists:
            pass
    for name in estate.custom_traits:
        try:
            trait.Trait(ctx, name=name).create()
        except exception.TraitExists:
            pass
    ctx.rc_cache.clear()
    ctx.trait_cache.clear()
    rcs = {rc for p in estate.providers for rc in p.inventories}
    names = {rc: ctx.rc_cache.id_from_string(rc) for rc in sorted(rcs)}
    traits = {t: ctx.trait_cache.id_from_string(t)
              for t in sorted({t for p in estate.providers
                               for t in p.traits})}
    return {
        'resource_classes': names, 'traits': traits,
        'project': util._get_or_create_project(ctx, project_id).id,
        'user': util._get_or_create_user(ctx, user_id).id,
        'consumer_type': util.get_or_create_consumer_type_id(
            ctx, CONSUMER_TYPE),
    }


def generations(estate, new_uuids, fresh, updated):
    """{provider uuid: generation} the API seeder leaves on new providers
    (and the increments it makes on the others): 1 for the inventory PUT,
    1 for a traits PUT, 1 per allocation batch of ``fresh`` consumers and
    per ``updated`` consumer touching the provider."""
    gen = {}
    for p in estate.providers:
        if p.uuid in new_uuids:
            gen[p.uuid] = 1 + (1 if p.traits else 0)
        else:
            gen[p.uuid] = 0          # an increment on the stored one
    for i in range(0, len(fresh), ALLOCATION_BATCH):
        touched = {rp for c in fresh[i:i + ALLOCATION_BATCH]
                   for rp in c.allocations}
        for rp in touched:
            gen[rp] += 1
    for c in updated:
        for rp in c.allocations:
            gen[rp] += 1
    return gen


def _insert(session, table, rows):
    for i in range(0, len(rows), CHUNK):
        session.execute(table.insert(), rows[i:i + CHUNK])


def check_capacity(estate):
    """The API refuses an allocation beyond capacity; so does this."""
    by_uuid = {p.uuid: p for p in estate.providers}
    for rp_uuid, used in estate.usage().items():
        p = by_uuid[rp_uuid]
        for rc, n in used.items():
            inv = p.inventories.get(rc)
            if inv is None:
                raise SeedConflict('%s has no %s inventory for its '
                                   'allocations' % (p.name, rc))
            cap = (inv['total'] - inv['reserved']) * inv['allocation_ratio']
            if n > cap:
                raise SeedConflict('%s: %d %s allocated, capacity %g'
                                   % (p.name, n, rc, cap))


def write(ctx, estate, ids):
    """Insert what is missing of ``estate``; a dict of counts."""
    import sqlalchemy as sa
    from oslo_utils import timeutils
    from placement.db.sqlalchemy import models
    from placement import db_api

    rp_t = models.ResourceProvider.__table__
    inv_t = models.Inventory.__table__
    rpt_t = models.ResourceProviderTrait.__table__
    con_t = models.Consumer.__table__
    alloc_t = models.Allocation.__table__

    @db_api.placement_context_manager.writer
    def _write(ctx):
        s = ctx.session
        have = {r.uuid: r for r in s.execute(sa.select(
            rp_t.c.id, rp_t.c.uuid, rp_t.c.name, rp_t.c.parent_provider_id,
            rp_t.c.generation))}
        by_id = {r.id: r.uuid for r in have.values()}
        new = [p for p in estate.providers if p.uuid not in have]
        for p in estate.providers:
            r = have.get(p.uuid)
            if r is not None and (r.name != p.name or by_id.get(
                    r.parent_provider_id) != p.parent_uuid):
                raise SeedConflict(
                    'provider %s exists as %r under parent %s, the estate '
                    'has %r under %s; seed through the API to repair it'
                    % (p.uuid, r.name, by_id.get(r.parent_provider_id),
                       p.name, p.parent_uuid))
        taken = {r.name for r in have.values()}
        clash = sorted(p.name for p in new if p.name in taken)
        if clash:
            raise SeedConflict('provider name(s) %s already used by other '
                               'providers' % ', '.join(clash[:5]))
        have_consumers = {r.uuid for r in s.execute(sa.select(con_t.c.uuid))}
        new_uuids = {p.uuid for p in new}
        todo = [c for c in estate.consumers
                if c.allocations and c.uuid not in have_consumers]
        fresh = [c for c in todo if set(c.allocations) <= new_uuids]
        updated = [c for c in todo if not set(c.allocations) <= new_uuids]
        gen = generations(estate, new_uuids, fresh, updated)

        # ids are given here: a root is its own root_provider_id
        next_id = (s.execute(sa.select(sa.func.max(rp_t.c.id))).scalar()
                   or 0) + 1
        rp_id = {u: r.id for u, r in have.items()}
        for p in new:
            rp_id[p.uuid] = next_id
            next_id += 1
        root_of = {}
        for p in estate.providers:
            root_of[p.uuid] = (root_of[p.parent_uuid] if p.parent_uuid
                               else p.uuid)
        now = timeutils.utcnow()
        rcs, traits = ids['resource_classes'], ids['traits']
        _insert(s, rp_t, [
            {'id': rp_id[p.uuid], 'uuid': p.uuid, 'name': p.name,
             'generation': gen[p.uuid],
             'root_provider_id': rp_id[root_of[p.uuid]],
             'parent_provider_id': (rp_id[p.parent_uuid] if p.parent_uuid
                                    else None),
             'created_at': now, 'updated_at': now} for p in new])
        _insert(s, inv_t, [
            dict(inv, resource_provider_id=rp_id[p.uuid],
                 resource_class_id=rcs[rc], created_at=now)
            for p in new for rc, inv in sorted(p.inventories.items())])
        _insert(s, rpt_t, [
            {'resource_provider_id': rp_id[p.uuid], 'trait_id': traits[t],
             'created_at': now}
            for p in new for t in sorted(set(p.traits))])
        for u in {rp for c in updated for rp in c.allocations} - new_uuids:
            s.execute(rp_t.update().where(rp_t.c.id == rp_id[u]).values(
                generation=rp_t.c.generation + gen[u], updated_at=now))
        _insert(s, con_t, [
            {'uuid': c.uuid, 'project_id': ids['project'],
             'user_id': ids['user'], 'generation': 1,
             'consumer_type_id': ids['consumer_type'],
             'created_at': now, 'updated_at': now} for c in todo])
        _insert(s, alloc_t, [
            {'resource_provider_id': rp_id[rp],
             'resource_class_id': rcs[rc], 'consumer_id': c.uuid,
             'used': n, 'created_at': now}
            for c in todo for rp, res in c.allocations.items()
            for rc, n in sorted(res.items())])
        return {'providers_created': len(new),
                'providers_unchanged': len(estate.providers) - len(new),
                'allocations_written': len(todo),
                'allocations_unchanged': sum(
                    1 for c in estate.consumers
                    if c.allocations and c.uuid in have_consumers)}

    return _write(ctx)


def seed(config_file, estate, project_id, user_id):
    t0 = time.monotonic()
    check_capacity(estate)
    load_placement(config_file)
    ctx = request_context()
    ids = ensure_names(ctx, estate, project_id, user_id)
    stats = write(ctx, estate, ids)
    stats['seconds'] = round(time.monotonic() - t0, 1)
    return stats


def main(argv=None):
    p = argparse.ArgumentParser(prog='vfioclient.sandbox.placement_db')
    p.add_argument('--config-file', required=True)
    p.add_argument('--estate', required=True,
                   choices=sorted(estates.ESTATES))
    p.add_argument('--hosts', type=int, default=None)
    p.add_argument('--project-id', required=True)
    p.add_argument('--user-id', required=True)
    args = p.parse_args(argv)
    estate = estates.get(args.estate, args.hosts)
    try:
        stats = seed(args.config_file, estate, args.project_id,
                     args.user_id)
    except SeedConflict as exc:
        sys.stderr.write('vfioclient.sandbox.placement_db: %s\n' % exc)
        return 1
    sys.stdout.write(json.dumps(stats) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
