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

"""The live audit alone, at fleet sizes: ``--only live-audit``.

    python -m vfioclient.tests.bench --only live-audit --sizes 10000 --seed db
        [--state-dir DIR] [--json PATH] [--write-doc PATH]

For each size: grow the sandbox's ``large`` estate to N hosts (``--seed
db`` writes Placement's database directly, ``vfio-sandbox seed --via
db``: minutes where the API takes hours), then one ``openstack vfio audit
--save-snapshot`` as a subprocess (wall time, peak RSS from ``wait4``,
requests from the snapshot) and the offline audit of its snapshot.  None
of the naive or CLI comparisons, which would take hours at these sizes.
``--write-doc PATH`` writes the section of
``doc/source/reference/performance.rst`` that holds these numbers (only
that section).
"""

import os
import shutil
import tempfile
import time

from vfioclient.tests.bench import bench_audit
from vfioclient.tests.bench.bench_audit import log

RSS_TARGET_MIB = 500
# The sandbox's Nova API is one threaded Python process on SQLite: at
# 10,000 compute nodes one page of 1,000 hypervisors took 93 s on the
# shared 2 cores, past the audit's default --timeout of 60 s (and each
# retry asked again).  A per-request limit, not a limit on the audit.
AUDIT_TIMEOUT = 900


def measure(n, args, sandbox, env, workdir):
    row = {'hosts': n}
    log('N=%d: seeding (grow the large estate to %d hosts, via %s)'
        % (n, n, args.seed))
    seeded = sandbox.seed_large(n, via=args.seed)
    row['seed'] = {'seconds': seeded['wall_seconds'], 'via': args.seed,
                   'placement_seconds': seeded.get('placement_seconds'),
                   'placement': seeded['placement'],
                   'nova': seeded['nova']}
    log('N=%d: seeded in %.1f s (Placement %.1f s)'
        % (n, seeded['wall_seconds'], seeded.get('placement_seconds') or 0))
    snap = os.path.join(workdir, 'snapshot-%d.json' % n)
    log('N=%d: vfio audit --save-snapshot' % n)
    load_before = os.getloadavg()
    row['audit'] = bench_audit.audit(env, snap, 'bulk', args.concurrency,
                                     workdir=workdir, timeout=AUDIT_TIMEOUT)
    row['audit']['load_before'] = load_before
    row['audit']['load_after'] = os.getloadavg()
    row['audit']['snapshot_bytes'] = os.path.getsize(snap)
    a = row['audit']
    log('N=%d: audit %.1f s, %.0f MiB peak RSS, %d requests for %d '
        'providers' % (n, a['wall'], a['rss_mib'], a['requests'],
                       a['providers']))
    log('N=%d: offline audit of the snapshot' % n)
    row['offline'] = bench_audit.offline_audit(snap, repeat=1)
    return row


def rows_table(results, table):
    out = []
    for r in results['rows']:
        a = r['audit']
        out.append([
            r['hosts'], a['providers'], a['servers'],
            '%.0f' % r['seed']['seconds'], '%.0f' % a['wall'],
            '%.0f' % a['cpu'], '%.0f' % a['rss_mib'],
            'yes' if a['rss_mib'] < RSS_TARGET_MIB else 'NO',
            a['requests'], a['placement_requests'], a['compute_requests'],
            '%.1f' % (a['snapshot_bytes'] / 1e6),
            '%.1f' % r['offline']['seconds']])
    return table(['hosts', 'providers', 'servers', 'seed s', 'audit s',
                  'CPU s', 'RSS MiB', '< 500 MiB', 'requests', 'Placement',
                  'Nova', 'snapshot MB', 'offline s'], out)


SECTION = """\
The live audit at fleet size
----------------------------

.. Written by ``python -m vfioclient.tests.bench --only live-audit
   --write-doc`` from one run; pasted into performance.rst.

Measured on {date} by ``{command}`` (total {total:.0f} s).  Machine:
{machine}; load average {load} at start and {load_end} at end (the
2 cores were shared with other jobs: times are noisy, memory is not).

The sandbox's ``large N`` estate (5.25 providers and 1.25 servers per
host, as above) was seeded with ``vfio-sandbox seed --via {via}``{via_note}
Placement ran {workers} worker processes.  The audit is one
``openstack vfio audit --save-snapshot`` subprocess with the default
``--concurrency`` and ``--timeout {timeout}`` (one page of 1,000
hypervisors from the sandbox's single-process Nova API took longer than
the default 60 s at 10,000 hosts): wall and CPU time and peak RSS
(``wait4``) of that process, its requests from the snapshot's
``request_counts``.  ``offline s``: loading that snapshot and running
the audit rules in-process.

{table}
"""

VIA_NOTE = {
    'db': (": Placement's rows written straight into its database "
           "(``vfioclient/sandbox/placement_db.py``, checked equal to "
           "seeding through the API by "
           "``tests/functional/test_seed_db.py``), Nova's with Nova's own "
           "objects; ``seed s`` is that seeding, from an empty sandbox "
           "or from the size before."),
    'api': '.',
}


def render(results, table):
    m = results['machine']
    return SECTION.format(
        date=results['started'], command=results['command'],
        total=results['total_seconds'],
        machine='%s CPUs, %.0f GiB RAM, Python %s, %s' % (
            m['cpus'], m['mem_gib'] or 0, m['python'], m['platform']),
        load=' / '.join('%.1f' % x for x in results['load_start']),
        load_end=' / '.join('%.1f' % x for x in results['load_end']),
        via=results['args']['seed'],
        via_note=VIA_NOTE[results['args']['seed']],
        workers=results['args']['placement_workers'],
        timeout=AUDIT_TIMEOUT,
        table=rows_table(results, table))


def run(args, results, table, save):
    """Measure every size of ``args.sizes``; fills ``results['rows']``."""
    t_start = time.monotonic()
    temp_state = args.state_dir is None
    state = args.state_dir or tempfile.mkdtemp(prefix='vfio-bench-sandbox-')
    workdir = args.workdir or tempfile.mkdtemp(prefix='vfio-bench-')
    os.makedirs(workdir, exist_ok=True)
    sandbox = bench_audit.Sandbox(state)
    log('sandbox in %s' % state)
    results['sandbox_up_seconds'] = sandbox.up(args.placement_workers)
    try:
        env = bench_audit.cli_env(sandbox.clouds_yaml, bench_audit.CLOUD)
        for n in args.sizes:
            results['rows'].append(measure(n, args, sandbox, env, workdir))
            save(results, partial=True)
    finally:
        if not args.keep:
            bench_audit.stop_sandbox(sandbox, temp_state)
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    results['load_end'] = os.getloadavg()
    results['total_seconds'] = time.monotonic() - t_start
    return results
