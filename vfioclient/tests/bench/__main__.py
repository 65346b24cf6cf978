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

"""``tox -e bench``: ``vfio audit`` against the naive ways, side by side.

    python -m vfioclient.tests.bench [--sizes 250,500,1000,2000]
        [--latency-ms 20] [--quick] [--write-doc PATH] [--state-dir DIR]
        [--plan-sizes 1000,10000] [--plan-runs 3]
        [--only audit|plan|live-audit]

For each size N (hosts of the sandbox's ``large`` estate, grown in place):
the audit as a subprocess (wall time, peak RSS, requests by endpoint from
its snapshot), the naive sequential script and the OSC CLI loop (sampled,
extrapolated), all on loopback and behind a +latency proxy.  Then the
offline audit of the largest snapshot, ``config check`` of 10,000 entries,
``host report`` of 8 GPUs x 32 VFs and the printed host collector
(``python3 -I -S``) on the same host.  Last, the offline ``vfio plan
--artifacts`` of a synthetic ``large N`` snapshot and one host report per
host, at --plan-sizes (see ``bench_plan.py``; ``--only plan`` runs only
that, ``--only audit`` everything else).  It prints tables of what was
measured and which targets were met; it never fails on a missed target
(exit 0), only on a broken run (exit 1).  Progress goes to stderr.

``--only live-audit --seed db --sizes 10000``: the live audit alone at fleet
sizes, the estate written into Placement's database (see
``bench_live_audit.py``).
"""

import argparse
import contextlib
import datetime
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import textwrap
import time

from vfioclient.tests.bench import bench_audit
from vfioclient.tests.bench import bench_collector
from vfioclient.tests.bench import bench_config
from vfioclient.tests.bench import bench_host
from vfioclient.tests.bench import bench_live_audit
from vfioclient.tests.bench import bench_plan
from vfioclient.tests.bench import latency_proxy
from vfioclient.tests.bench.bench_audit import log

DEFAULT_SIZES = (250, 500, 1000, 2000)
QUICK_SIZES = (50, 100)
TARGET_N = 1000
VERSIONS = ('vfioclient', 'openstack-placement', 'nova', 'keystone',
            'python-openstackclient', 'osc-placement', 'openstacksdk',
            'keystoneauth1', 'osc-lib', 'cliff', 'oslo.db', 'SQLAlchemy',
            'requests')


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog='python -m vfioclient.tests.bench',
        description=__doc__.splitlines()[0])
    p.add_argument('--sizes', default=None,
                   help='comma-separated host counts (default %s)'
                        % ','.join(map(str, DEFAULT_SIZES)))
    p.add_argument('--quick', action='store_true',
                   help='smoke run: sizes %s, small samples'
                        % ','.join(map(str, QUICK_SIZES)))
    p.add_argument('--latency-ms', type=float, default=20.0,
                   help='latency the proxy adds to each Placement request')
    p.add_argument('--write-doc', metavar='PATH',
                   help='write the results as reStructuredText to PATH')
    p.add_argument('--json', metavar='PATH',
                   help='write every raw result as JSON to PATH')
    p.add_argument('--state-dir', metavar='DIR',
                   help='use (and keep) this sandbox state dir; it is '
                        'grown to each size (it cannot shrink). Default: a '
                        'new temporary one, deleted at the end')
    p.add_argument('--keep', action='store_true',
                   help='leave the sandbox running at the end')
    p.add_argument('--workdir', metavar='DIR',
                   help='where snapshots and outputs go (default: temp)')
    p.add_argument('--concurrency', type=int, default=None,
                   help="the audit's --concurrency (default: its own)")
    p.add_argument('--placement-workers', type=int, default=2,
                   help='Placement worker processes in the sandbox '
                        '(default %(default)s: a deployment runs several; '
                        '1: a single threaded process)')
    p.add_argument('--naive-full', default='1000',
                   help='sizes at which the naive loopback loop is measured '
                        'over every provider; at other sizes it samples '
                        '--naive-sample providers and extrapolates '
                        '(default %(default)s; "all" for every size)')
    p.add_argument('--naive-sample', type=int, default=300,
                   help='providers sampled when the naive loop is '
                        'extrapolated (default %(default)s)')
    p.add_argument('--naive-latency-sample', type=int, default=150,
                   help='providers sampled for the naive loop behind the '
                        'latency proxy, always extrapolated (0: measure it '
                        'all) (default %(default)s)')
    p.add_argument('--cli-sample', type=int, default=5,
                   help='providers whose CLI calls are timed (0: skip)')
    p.add_argument('--seed', choices=('api', 'db'), default='api',
                   help="grow the estate through Placement's API (default) "
                        'or by writing its database (vfio-sandbox seed '
                        '--via db: for 10,000 hosts)')
    p.add_argument('--plan-sizes', default=None,
                   help='comma-separated host counts of the offline plan '
                        '(default %s; --quick: %s)' % (
                            ','.join(map(str, bench_plan.DEFAULT_SIZES)),
                            ','.join(map(str, bench_plan.QUICK_SIZES))))
    p.add_argument('--plan-runs', type=int, default=bench_plan.RUNS,
                   help='runs of the plan command at each plan size: the '
                        'best wall time is reported, with the worst '
                        '(default %d)' % bench_plan.RUNS)
    p.add_argument('--only', choices=('audit', 'plan', 'live-audit'),
                   help='run only the audit part (the sandbox, the small '
                        'benches), only the offline plan, or only the live '
                        'audit at each size (seed, audit, offline audit; '
                        'none of the naive and CLI comparisons; see '
                        'bench_live_audit.py); with --write-doc, --only '
                        'plan replaces only the page\'s plan section')
    p.add_argument('--from-json', metavar='PATH',
                   help='measure nothing: print (and --write-doc) the '
                        'results saved by an earlier run with --json')
    args = p.parse_args(argv)
    if args.sizes:
        args.sizes = sorted({int(s) for s in args.sizes.split(',') if s})
    elif args.quick:
        args.sizes = list(QUICK_SIZES)
    else:
        args.sizes = list(DEFAULT_SIZES)
    if args.plan_sizes:
        args.plan_sizes = sorted({int(s) for s in args.plan_sizes.split(',')
                                  if s})
    else:
        args.plan_sizes = list(bench_plan.QUICK_SIZES if args.quick
                               else bench_plan.DEFAULT_SIZES)
    if args.naive_full == 'all':
        args.naive_full = set(args.sizes)
    else:
        args.naive_full = {int(x) for x in args.naive_full.split(',') if x}
    if args.quick:
        args.naive_full = set(args.sizes)
        args.naive_sample = min(args.naive_sample, 100)
        args.naive_latency_sample = min(args.naive_latency_sample, 50)
        args.cli_sample = min(args.cli_sample, 2)
    if not args.sizes or min(args.sizes) < 1:
        p.error('--sizes needs positive integers')
    if not args.plan_sizes or min(args.plan_sizes) < 1:
        p.error('--plan-sizes needs positive integers')
    if args.plan_runs < 1:
        p.error('--plan-runs needs a positive integer')
    return args


# -- the small benches --------------------------------------------------------
def run_small_benches():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_config.main(['bench_config', '10000'])
    text = out.getvalue()
    m = re.search(r'(\d+) device_spec entries: read ([\d.]+) s, '
                  r'read\+lint ([\d.]+) s, (\d+) findings', text)
    config = {'entries': int(m.group(1)), 'read': float(m.group(2)),
              'seconds': float(m.group(3)), 'findings': int(m.group(4)),
              'text': text.strip()}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        bench_host.main(['--gpus', '8', '--vfs', '32'])
    text = out.getvalue()
    m = re.search(r'best ([\d.]+) s, worst ([\d.]+) s', text)
    host = {'seconds': float(m.group(1)), 'worst': float(m.group(2)),
            'text': text.strip()}
    collector = bench_collector.measure(gpus=8, vfs=32)
    collector['text'] = bench_collector.report(collector)
    return config, host, collector


# -- one size ---------------------------------------------------------------
def measure_size(n, args, sandbox, proxy, env_loop, env_lat, workdir,
                 first, results):
    row = {'hosts': n}
    log('N=%d: seeding (grow the large estate to %d hosts)' % (n, n))
    seeded = sandbox.seed_large(n, via=args.seed)
    row['seed'] = {'seconds': seeded['wall_seconds'],
                   'placement_seconds': seeded.get('placement_seconds'),
                   'requests': seeded['placement'].get('requests'),
                   'placement': seeded['placement']}
    log('N=%d: seeded in %.1f s (%s Placement requests)'
        % (n, seeded['wall_seconds'], seeded['placement'].get('requests')))

    snap = os.path.join(workdir, 'snapshot-%d.json' % n)
    log('N=%d: vfio audit --save-snapshot (loopback)' % n)
    row['audit'] = bench_audit.audit(env_loop, snap, 'bulk',
                                     args.concurrency, workdir=workdir)
    row['snapshot'] = snap
    log('N=%d: audit %.1f s, %d requests for %d providers, %.0f MiB'
        % (n, row['audit']['wall'], row['audit']['requests'],
           row['audit']['providers'], row['audit']['rss_mib']))

    snap_rep = os.path.join(workdir, 'snapshot-%d-repeat.json' % n)
    log('N=%d: repeat audit, --reuse-snapshot of the one just taken '
        '(loopback)' % n)
    row['repeat'] = bench_audit.audit(env_loop, snap_rep, 'bulk',
                                      args.concurrency, workdir=workdir,
                                      reuse=snap)
    row['repeat']['differing_fields'] = bench_audit.snapshot_diff(
        snap, snap_rep)
    log('N=%d: repeat audit %.1f s, %d requests; same snapshot: %s'
        % (n, row['repeat']['wall'], row['repeat']['requests'],
           not row['repeat']['differing_fields']))

    snap_lat = os.path.join(workdir, 'snapshot-%d-latency.json' % n)
    before = proxy.stats()['requests']
    log('N=%d: vfio audit behind the +%g ms proxy' % (n, args.latency_ms))
    row['audit_latency'] = bench_audit.audit(env_lat, snap_lat, 'bulk',
                                             args.concurrency,
                                             workdir=workdir)
    row['audit_latency']['proxy_requests'] = (proxy.stats()['requests']
                                              - before)
    log('N=%d: audit +latency %.1f s; the proxy saw %d requests (audit '
        'counted %d Placement requests)'
        % (n, row['audit_latency']['wall'],
           row['audit_latency']['proxy_requests'],
           row['audit_latency']['placement_requests']))
    if row['audit_latency']['proxy_requests'] < row['audit_latency'][
            'placement_requests']:
        raise RuntimeError('the latency audit did not go through the proxy '
                           '(%d requests seen)'
                           % row['audit_latency']['proxy_requests'])
    snap_lat_rep = os.path.join(workdir,
                                'snapshot-%d-latency-repeat.json' % n)
    log('N=%d: repeat audit behind the proxy' % n)
    row['repeat_latency'] = bench_audit.audit(
        env_lat, snap_lat_rep, 'bulk', args.concurrency, workdir=workdir,
        reuse=snap_lat)
    log('N=%d: repeat audit +latency %.1f s' % (
        n, row['repeat_latency']['wall']))

    if first:
        snap_pp = os.path.join(workdir, 'snapshot-%d-per-provider.json' % n)
        log('N=%d: vfio audit --strategy per-provider (for the equality '
            'check)' % n)
        row['audit_per_provider'] = bench_audit.audit(
            env_loop, snap_pp, 'per-provider', args.concurrency,
            workdir=workdir)
        diff = bench_audit.snapshot_diff(snap, snap_pp)
        results['equality'] = {'hosts': n, 'identical': not diff,
                               'differing_fields': diff,
                               'excluded': list(
                                   bench_audit.VOLATILE_FIELDS)}
        log('N=%d: bulk and per-provider snapshots %s' % (
            n, 'IDENTICAL' if not diff else 'DIFFER in %s' % diff))

    cloud = sandbox.cloud_config()
    sess = bench_audit.keystone_session(cloud)
    full = n in args.naive_full
    log('N=%d: naive sequential script on loopback (%s)'
        % (n, 'every provider' if full else
           'sample of %d providers, extrapolated' % args.naive_sample))
    row['naive'] = bench_audit.Naive(sess, sandbox.placement_url).run(
        None if full else args.naive_sample)
    log('N=%d: naive %.1f s%s' % (n, row['naive']['seconds'],
                                  ' (extrapolated)' if
                                  row['naive']['extrapolated'] else ''))
    sample = args.naive_latency_sample or None
    log('N=%d: naive script behind the proxy (%s)' % (
        n, 'sample of %d providers, extrapolated' % sample if sample
        else 'every provider'))
    row['naive_latency'] = bench_audit.Naive(sess, proxy.url).run(sample)
    log('N=%d: naive +latency %.1f s%s' % (
        n, row['naive_latency']['seconds'],
        ' (extrapolated)' if row['naive_latency']['extrapolated'] else ''))

    if args.cli_sample and results.get('cli_ok'):
        took, uuids = bench_audit.cli_list(env_loop)
        row['cli_list_seconds'] = took
        if 'cli' not in results:
            doc = bench_audit.comparable(snap)
            roots = [p['uuid'] for p in doc['providers']
                     if not p.get('parent_uuid')]
            kids = [p['uuid'] for p in doc['providers']
                    if p.get('parent_uuid')]
            allocated = {a['provider_uuid'] for a in doc['allocations']}
            pick = [u for u in kids if u in allocated][:1]
            pick += [u for u in kids if u not in pick][:max(
                0, (args.cli_sample * 4) // 5 - len(pick))]
            pick += roots[:args.cli_sample - len(pick)]
            log('N=%d: timing %d CLI calls on %d providers (the loop is '
                'extrapolated from them)' % (n, len(pick) * 4, len(pick)))
            per_call = bench_audit.cli_sample(env_loop, pick)
            results['cli'] = {'per_call': per_call, 'providers': pick,
                              'hosts': n}
    return row


def rerender(args):
    with open(args.from_json) as f:
        results = json.load(f)
    args.latency_ms = results['args']['latency_ms']
    args.command = results.get('command') or 'tox -e bench'
    print_tables(results, args)
    if args.write_doc:
        write_doc(args.write_doc, results, args, results.get('partial'))
        log('wrote %s' % args.write_doc)
    return 0


# Options naming where this run kept its files: the page shows what was
# run, not the paths of one machine.
_LOCAL_PATHS = {'--json': 'FILE', '--write-doc': 'FILE', '--workdir': 'DIR',
                '--state-dir': 'DIR'}


def shown_command(argv):
    """The ``tox -e bench`` command line of ``argv`` for the page, with
    the absolute paths of :data:`_LOCAL_PATHS` options as placeholders."""
    shown = []
    for i, arg in enumerate(argv):
        option, sep, value = arg.partition('=')
        if sep and option in _LOCAL_PATHS and os.path.isabs(value):
            arg = '%s=%s' % (option, _LOCAL_PATHS[option])
        elif i and argv[i - 1] in _LOCAL_PATHS and os.path.isabs(arg):
            arg = _LOCAL_PATHS[argv[i - 1]]
        shown.append(arg)
    return 'tox -e bench' + (' -- ' + ' '.join(shown) if shown else '')


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.from_json:
        return rerender(args)
    args.command = shown_command(sys.argv[1:])
    t_start = time.monotonic()
    results = {'started': datetime.datetime.now(
        datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'args': {k: v for k, v in vars(args).items()}, 'rows': [],
        'machine': machine(), 'versions': versions(),
        'load_start': os.getloadavg(), 'load_end': os.getloadavg(),
        'total_seconds': 0.0, 'command': args.command}
    if args.only == 'live-audit':
        return live_audit_only(args, results)
    workdir = args.workdir or tempfile.mkdtemp(prefix='vfio-bench-')
    os.makedirs(workdir, exist_ok=True)
    if args.only != 'plan':
        run_audit_part(args, results, workdir)
    if args.only != 'audit':
        run_plan_part(args, results, workdir)
    results['load_end'] = os.getloadavg()
    results['total_seconds'] = time.monotonic() - t_start
    print_tables(results, args)
    save(results, args)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_audit_part(args, results, workdir):
    """The small benches, then the sandbox grown to each size."""
    log('sizes %s, +%g ms latency case' % (args.sizes, args.latency_ms))

    log('config check (10,000 entries), host report and host collector '
        '(8 x 32)')
    (results['config'], results['host'],
     results['collector']) = run_small_benches()

    temp_state = args.state_dir is None
    state = args.state_dir or tempfile.mkdtemp(prefix='vfio-bench-sandbox-')
    sandbox = bench_audit.Sandbox(state)
    log('sandbox in %s (this takes a minute or two the first time)' % state)
    results['sandbox_up_seconds'] = sandbox.up(args.placement_workers)
    try:
        with latency_proxy.Running(sandbox.placement_url,
                                   args.latency_ms) as proxy:
            lat_yaml = sandbox.write_latency_clouds(
                os.path.join(workdir, 'clouds-latency.yaml'), proxy.url)
            env_loop = bench_audit.cli_env(sandbox.clouds_yaml,
                                           bench_audit.CLOUD)
            env_lat = bench_audit.cli_env(lat_yaml, bench_audit.LATENCY_CLOUD)
            results['cli_ok'] = bool(args.cli_sample) and (
                bench_audit.cli_available(env_loop))
            if args.cli_sample and not results['cli_ok']:
                log('`openstack resource provider` is missing (install '
                    'osc-placement): the CLI loop is skipped')
            for i, n in enumerate(args.sizes):
                results['rows'].append(measure_size(
                    n, args, sandbox, proxy, env_loop, env_lat, workdir,
                    i == 0, results))
                print_tables(results, args, partial=True, stream=sys.stderr)
                save(results, args, partial=True)
        largest = results['rows'][-1]
        log('offline audit of the N=%d snapshot' % largest['hosts'])
        results['offline'] = bench_audit.offline_audit(largest['snapshot'])
        results['offline']['hosts'] = largest['hosts']
        results['offline']['cli'] = bench_audit.offline_audit_cli(
            largest['snapshot'], workdir=workdir)
    finally:
        if not args.keep:
            bench_audit.stop_sandbox(sandbox, temp_state)


def run_plan_part(args, results, workdir):
    """The offline plan at each --plan-sizes (no sandbox)."""
    results['plan'] = []
    for n in args.plan_sizes:
        results['plan'].append(bench_plan.measure(n, workdir,
                                                  runs=args.plan_runs))
        save(results, args, partial=True)


def live_audit_only(args, results):
    """``--only live-audit``: bench_live_audit's run, tables, doc part."""
    def save_part(res, partial=False):
        # the doc is only this section, written at the end
        save(res, argparse.Namespace(json=args.json, write_doc=None),
             partial)

    log('sizes %s, live audit only, seeded via %s' % (args.sizes, args.seed))
    bench_live_audit.run(args, results, table, save_part)
    sys.stdout.write('\n%s\n' % bench_live_audit.rows_table(results, table))
    save_part(results)
    if args.write_doc:
        with open(args.write_doc, 'w') as f:
            f.write(bench_live_audit.render(results, table))
        log('wrote %s' % args.write_doc)
    return 0


def save(results, args, partial=False):
    """--json and --write-doc, also after each size (a long run that is
    stopped still leaves its results)."""
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(results, partial=partial), f, indent=1,
                      default=str)
    if args.write_doc:
        write_doc(args.write_doc, results, args, partial)
        if not partial:
            log('wrote %s' % args.write_doc)


def write_doc(path, results, args, partial=False):
    """The whole page, or (a run without the audit part) only its plan
    section, the rest of the page kept as it is."""
    if results['rows']:
        text = render_doc(results, args, partial)
    else:
        with open(path) as f:
            text = replace_plan_section(f.read(), plan_section(
                results, partial))
    with open(path, 'w') as f:
        f.write(text)


# -- facts --------------------------------------------------------------------
def machine():
    mem = None
    with contextlib.suppress(OSError):
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemTotal:'):
                    mem = int(line.split()[1]) / 1024.0 / 1024.0
    return {'cpus': os.cpu_count(), 'mem_gib': mem,
            'python': platform.python_version(),
            'platform': platform.platform(terse=True)}


def versions():
    found = {}
    for name in VERSIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = 'not installed'
    return found


# -- tables -------------------------------------------------------------------
def fmt_s(value, extrapolated=False):
    if value is None:
        return '-'
    text = '%.1f' % value if value < 100 else '%.0f' % value
    return text + ('*' if extrapolated else '')


def table(headers, rows):
    """An RST simple table (also readable as plain text)."""
    cells = [[str(c) for c in r] for r in [headers] + rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    rule = '  '.join('=' * w for w in widths)
    lines = [rule, '  '.join(c.ljust(w) for c, w in zip(cells[0], widths)),
             rule]
    for r in cells[1:]:
        lines.append('  '.join(c.ljust(w) for c, w in zip(r, widths)))
    lines.append(rule)
    return '\n'.join(line.rstrip() for line in lines)


def cli_loop(results, row, latency_ms=0.0):
    cli = results.get('cli')
    if not cli or 'cli_list_seconds' not in row:
        return None
    per_call = dict(cli['per_call'])
    if latency_ms:
        # osc-placement ignores placement_endpoint_override, so the proxy
        # cannot be put in its way: add one request's latency per call.
        per_call = {k: v + latency_ms / 1000.0 for k, v in per_call.items()}
    list_s = row['cli_list_seconds'] + latency_ms / 1000.0
    return bench_audit.cli_extrapolate(list_s, per_call,
                                       row['audit']['providers'])


def ratio(a, b):
    if not a or not b:
        return '-'
    return '%.1fx' % (a / b)


def results_tables(results, args):
    rows = results['rows']
    loop_rows, lat_rows = [], []
    for r in rows:
        a, n = r['audit'], r['naive']
        prov = a['providers']
        cli = cli_loop(results, r)
        loop_rows.append([
            r['hosts'], prov, fmt_s(r['seed']['seconds']),
            fmt_s(a['wall']), a['requests'],
            '%.2f' % (a['placement_requests'] / prov),
            '%.2f' % (a['requests'] / prov), '%.0f' % a['rss_mib'],
            fmt_s(n['seconds'], n['extrapolated']), n['requests'],
            ratio(n['seconds'], a['wall']),
            fmt_s(cli, True) if cli else '-',
            ratio(cli, a['wall']) + ('*' if cli else '')])
        al, nl = r['audit_latency'], r['naive_latency']
        clil = cli_loop(results, r, args.latency_ms)
        lat_rows.append([
            r['hosts'], prov, fmt_s(al['wall']), al['proxy_requests'],
            '%.0f' % al['rss_mib'],
            fmt_s(nl['seconds'], nl['extrapolated']),
            ratio(nl['seconds'], al['wall']) + (
                '*' if nl['extrapolated'] else ''),
            fmt_s(clil, True) if clil else '-',
            ratio(clil, al['wall']) + ('*' if clil else '')])
    t1 = table(['hosts', 'providers', 'seed s', 'audit s', 'requests',
                'P-req/prov', 'req/prov', 'RSS MiB', 'naive s',
                'naive req', 'speedup', 'CLI loop s', 'vs CLI'], loop_rows)
    t2 = table(['hosts', 'providers', 'audit s', 'proxied req', 'RSS MiB',
                'naive s', 'speedup', 'CLI loop s', 'vs CLI'], lat_rows)
    return t1, t2


def repeat_table(results):
    """The repeat audit (``--reuse-snapshot`` of the audit just before)
    on loopback and behind the proxy, against the same naive runs."""
    rows = []
    for r in results['rows']:
        rep, repl = r.get('repeat'), r.get('repeat_latency')
        if not rep:
            continue
        prov = rep['providers']
        n, nl = r['naive'], r['naive_latency']
        rows.append([
            r['hosts'], prov, fmt_s(rep['wall']), rep['requests'],
            '%.2f' % (rep['placement_requests'] / prov),
            ratio(n['seconds'], rep['wall']) + (
                '*' if n['extrapolated'] else ''),
            fmt_s(repl['wall']) if repl else '-',
            (ratio(nl['seconds'], repl['wall']) + (
                '*' if nl['extrapolated'] else '')) if repl else '-',
            'yes' if not rep.get('differing_fields') else
            'NO: %s' % ', '.join(rep['differing_fields'])])
    if not rows:
        return None
    return table(['hosts', 'providers', 'repeat s', 'requests',
                  'P-req/prov', 'speedup', 'repeat s +lat',
                  'speedup +lat', 'same snapshot'], rows)


def endpoints_table(results):
    largest = results['rows'][-1]
    counts = largest['audit']['request_counts']
    rows = [[k, v, '%.3f' % (v / largest['audit']['providers'])]
            for k, v in sorted(counts.items())]
    rows.append(['total', largest['audit']['requests'], '%.3f' % (
        largest['audit']['requests'] / largest['audit']['providers'])])
    return table(['endpoint (N=%d)' % largest['hosts'], 'requests',
                  'per provider'], rows)


def pick_target_row(results):
    rows = results['rows']
    exact = [r for r in rows if r['hosts'] == TARGET_N]
    return exact[0] if exact else rows[-1]


def targets(results, args):
    out = []
    r = pick_target_row(results)
    n = r['hosts']
    note = '' if n == TARGET_N else ' (N=%d: no N=%d in this run)' % (
        n, TARGET_N)
    a, al = r['audit'], r['audit_latency']
    rpp = a['placement_requests'] / a['providers']
    rpp_all = a['requests'] / a['providers']
    out.append(['<= 1 Placement request/provider, N=1000, first audit'
                + note, '%.2f (%.2f with Nova)' % (rpp, rpp_all),
                'met' if rpp <= 1.0 else 'MISSED'])
    rep = r.get('repeat')
    if rep:
        rrpp = rep['placement_requests'] / rep['providers']
        same = not rep.get('differing_fields')
        out.append(['<= 1 Placement request/provider, N=1000, repeat '
                    'audit (--reuse-snapshot)' + note,
                    '%.2f (%.2f with Nova)%s' % (
                        rrpp, rep['requests'] / rep['providers'],
                        '' if same else '; snapshot DIFFERS'),
                    'met' if rrpp <= 1.0 and same else 'MISSED'])
    sp = r['naive']['seconds'] / a['wall']
    out.append(['>= 3x faster than naive, loopback' + note,
                '%.1fx%s' % (sp, '*' if r['naive']['extrapolated'] else ''),
                'met' if sp >= 3 else 'MISSED'])
    spl = r['naive_latency']['seconds'] / al['wall']
    out.append(['>= 10x faster than naive, +%g ms' % args.latency_ms + note,
                '%.1fx%s' % (spl, '*' if r['naive_latency']['extrapolated']
                             else ''),
                'met' if spl >= 10 else 'MISSED'])
    rss = max(max(x['audit']['rss_mib'], x['audit_latency']['rss_mib'])
              for x in results['rows'])
    out.append(['peak RSS < 300 MiB (any N)', '%.0f MiB' % rss,
                'met' if rss < 300 else 'MISSED'])
    lin = linearity(results)
    if lin:
        out.append(['requests grow linearly (req/host, smallest vs largest '
                    'N, within 10%)', '%.2f -> %.2f' % lin['req'],
                    'met' if lin['req_ok'] else 'MISSED'])
        out.append(['time grows linearly (s/host, smallest vs largest N, '
                    'within 1.5x)', '%.3f -> %.3f' % lin['time'],
                    'met' if lin['time_ok'] else 'MISSED'])
    off = results.get('offline')
    if off:
        o_note = '' if off['hosts'] >= 2000 else ' (largest N here: %d)' % (
            off['hosts'])
        out.append(['offline audit of N=2000 < 3 s' + o_note,
                    '%.2f s' % off['seconds'],
                    'met' if off['seconds'] < 3 else 'MISSED'])
    out.append(['config check of 10,000 entries < 2 s',
                '%.2f s' % results['config']['seconds'],
                'met' if results['config']['seconds'] < 2 else 'MISSED'])
    out.append(['host report 8 GPUs x 32 VFs < 1 s',
                '%.3f s' % results['host']['seconds'],
                'met' if results['host']['seconds'] < 1 else 'MISSED'])
    hc = results.get('collector')
    if hc:
        ok = (hc['median'] < bench_collector.TARGET_SECONDS
              and not hc['not_stdlib'])
        out.append(['host collector 8 GPUs x 32 VFs < %.1f s, standard '
                    'library only' % bench_collector.TARGET_SECONDS,
                    '%.3f s, %s' % (hc['median'], ', '.join(
                        hc['not_stdlib']) or 'standard library only'),
                    'met' if ok else 'MISSED'])
    eq = results.get('equality')
    if eq:
        out.append(['bulk == per-provider snapshot (N=%d)' % eq['hosts'],
                    'identical' if eq['identical'] else
                    'differ: %s' % ', '.join(eq['differing_fields']),
                    'met' if eq['identical'] else 'MISSED'])
    return table(['target', 'measured', 'result'], out)


def linearity(results):
    rows = results['rows']
    if len(rows) < 2:
        return None
    a, b = rows[0], rows[-1]
    req = (a['audit']['requests'] / a['hosts'],
           b['audit']['requests'] / b['hosts'])
    tim = (a['audit']['wall'] / a['hosts'], b['audit']['wall'] / b['hosts'])
    return {'req': req, 'time': tim,
            'req_ok': abs(req[1] - req[0]) <= 0.1 * req[0],
            'time_ok': tim[1] <= 1.5 * tim[0]}


def other_table(results):
    rows = []
    off = results.get('offline')
    if off:
        rows.append(['vfio audit --from-snapshot N=%d: load + rules '
                     '(in-process, best of 3)' % off['hosts'],
                     '%.2f s' % off['seconds'],
                     '%d findings, %.1f MB snapshot' % (
                         off['findings'], off['bytes'] / 1e6)])
        rows.append(['same, ``openstack vfio audit --from-snapshot`` end '
                     'to end', '%.2f s' % off['cli']['wall'],
                     'includes CLI start-up; %.0f MiB RSS'
                     % off['cli']['rss_mib']])
    c = results['config']
    rows.append(['config check, %d device_spec entries' % c['entries'],
                 '%.2f s' % c['seconds'], 'read %.2f s, %d findings'
                 % (c['read'], c['findings'])])
    h = results['host']
    rows.append(['host report, 8 GPUs x 32 VFs (collect + JSON)',
                 '%.3f s' % h['seconds'], 'best of 5; worst %.3f s'
                 % h['worst']])
    hc = results.get('collector')
    if hc:
        rows.append(['host collector script, 8 GPUs x 32 VFs (``python3 '
                     '-I -S``, wall)', '%.3f s' % hc['median'],
                     'median of %d; imports %d standard library modules, '
                     '%d other' % (hc['runs'], len(hc['stdlib']),
                                   len(hc['not_stdlib']))])
    eq = results.get('equality')
    if eq:
        rows.append(['bulk vs per-provider snapshot, N=%d' % eq['hosts'],
                     'identical' if eq['identical'] else 'DIFFERENT',
                     'compared without %s' % ', '.join(eq['excluded'])])
    first = results['rows'][0]
    pp = first.get('audit_per_provider')
    if pp:
        rows.append(['per-provider strategy, N=%d (8 threads)'
                     % first['hosts'], '%.1f s' % pp['wall'],
                     '%d requests (bulk: %d in %.1f s)' % (
                         pp['requests'], first['audit']['requests'],
                         first['audit']['wall'])])
    cli = results.get('cli')
    if cli:
        rows.append(['one CLI call (mean of %d providers, N=%d)'
                     % (len(cli['providers']), cli['hosts']),
                     '%.2f s' % (sum(cli['per_call'].values())
                                 / len(cli['per_call'])),
                     ', '.join('%s %.2f' % kv for kv in
                               sorted(cli['per_call'].items()))])
    return table(['measurement', 'result', 'notes'], rows)


FOOTNOTES = """\
``*`` = extrapolated, not measured end to end: the naive loop over a
sample of providers spread over the list (plus the measured list call),
scaled linearly to all providers; the CLI loop from the timed calls on a
few providers (inventory list, usage show, trait list, show --allocations
per provider, plus the measured ``resource provider list``).  With latency
the CLI loop adds one request's latency per call (osc-placement ignores
``placement_endpoint_override``, so its calls cannot be routed through the
proxy).  P-req/prov: Placement requests per provider; req/prov: all
requests (Placement and Nova) per provider.  Naive: 1 + 4 requests per
provider.  seed s: growing the sandbox from the previous size."""


def print_tables(results, args, partial=False, stream=None):
    stream = stream or sys.stdout
    if not partial and results.get('plan'):
        stream.write('Offline plan (vfio plan --artifacts)\n%s\n\n'
                     % plan_tables_text(results))
    if not results['rows']:
        stream.flush()
        return
    t1, t2 = results_tables(results, args)
    w = stream.write
    w('\n%s\nLoopback (Placement on 127.0.0.1)\n%s\n\n'
      % ('(so far)' if partial else '', t1))
    w('+%g ms per Placement request (latency proxy)\n%s\n\n'
      % (args.latency_ms, t2))
    t3 = repeat_table(results)
    if t3:
        w('Repeat audit (--reuse-snapshot of the audit just before)\n'
          '%s\n\n' % t3)
    if partial:
        stream.flush()
        return
    w('%s\n\n' % FOOTNOTES)
    w('Requests by endpoint\n%s\n\n' % endpoints_table(results))
    w('Other measurements\n%s\n\n' % other_table(results))
    w('Targets (informational: the bench never fails on them)\n%s\n\n'
      % targets(results, args))
    w('Total bench time %.0f s; load average %s at start, %s at end\n'
      % (results['total_seconds'],
         ' '.join('%.1f' % x for x in results['load_start']),
         ' '.join('%.1f' % x for x in results['load_end'])))
    stream.flush()


# -- the doc ------------------------------------------------------------------
DOC = """\
===========
Performance
===========

How much ``openstack vfio audit`` costs at scale, measured against the two
naive ways an operator reads Placement: a script that asks for each
provider's inventories, usages, traits and allocations one request after
another, and a shell loop over the ``openstack resource provider`` CLI.

.. This page is written by ``python -m vfioclient.tests.bench --write-doc``
   from one run; the prose around the tables may be edited by hand.  The
   section "The live audit at fleet size" is written by ``--only live-audit
   --write-doc`` (bench_live_audit.py): paste it back after a full run.

Results
-------

Measured on {date} by ``{command}`` (total {total}).

Machine: {machine}.  Load average {load}: the machine was shared with
other jobs, so absolute times are noisy; the ratios are measured side by
side in the same run, on the same estate, within minutes of each other.

Set-up: the ``vfio-sandbox`` cloud (real Keystone, Placement and Nova API
on SQLite, over HTTP on 127.0.0.1, with keystonemiddleware validating
tokens; Keystone and Nova API one threaded wsgiref process each,
Placement {workers} pre-forked worker processes (``vfio-sandbox up
--placement-workers``: one threaded Python server is held to one core by
the GIL, and a deployment runs several), seeded with the ``large N``
estate
through Placement's API: N compute roots, each with 4 legacy pGPU
providers (``VGPU`` total 1; half of the hosts have 2 allocated), every 4th
host also a converted PCI provider (4 VFs, 1 allocated).  That is 5.25
providers and 1.25 servers per host.  Sizes: {sizes} hosts.  The audit runs
as a subprocess (``openstack vfio audit --save-snapshot``, default
``--concurrency``); its peak RSS comes from ``wait4``, its request counts
from the snapshot's ``request_counts``.  The remote-cloud case puts a
proxy that adds {latency_ms:g} ms to every Placement request in front of
Placement (``placement_endpoint_override`` in a copy of the clouds.yaml;
the proxy's own request count is checked against the audit's).

Loopback:

{loopback}

+{latency_ms:g} ms per Placement request:

{latency}

Repeat audit: ``vfio audit --reuse-snapshot`` of the audit just before
(nothing changed in between), against the same naive runs:

{repeat}

{footnotes}

Where the audit's requests go, at the largest size:

{endpoints}

{other}

Targets
~~~~~~~

{targets}

**Requests per provider, first audit.**  The bulk strategy reads nothing
per compute root and no allocations of a provider with nothing allocated
(one ``resources=RC:total`` list per class and total finds those), but
Placement has no bulk read of inventories and none of allocations by
provider.  So a first audit, which knows nothing yet, cannot do with less
than one inventory read per child provider and one allocation read per
child with something allocated: in the ``large`` estate 4.25 children and
1.25 allocated children per host against 5.25 providers per host, that is
(4.25 + 1.25) / 5.25 = 1.05 Placement requests per provider, plus a
constant (lists, traits, Nova).  The target of at most 1 is missed by
about 5 % on this estate shape by the first audit; it holds whenever there
are no more allocated child providers than hosts.  Every request is needed
to keep the snapshot complete (the ``bulk`` and ``per-provider`` snapshots
are compared field by field above): ``GET /allocation_candidates`` gives
capacity and usage of many trees at once but not ``total``, ``reserved``
or the unit limits, drops full trees and names no consumer, and reading
``/allocations/{{consumer}}`` per server would miss exactly the orphaned
allocations an audit must find.

**Requests per provider, every later audit.**  An upgrade night runs the
audit before and after each step.  ``--reuse-snapshot`` takes the
inventories of the previous snapshot for every child provider whose
Placement generation (incremented by every inventory and trait write),
name and parents are unchanged, and reads only allocations (never reused:
deleting an allocation changes no generation) and the lists.  Its snapshot
is compared with the full one above (``same snapshot``); the repeat audit
reads about a quarter of a request per provider.

Versions
~~~~~~~~

{versions}

{plan}

How to reproduce
----------------

::

    tox -e bench                          # sizes 250,500,1000,2000
    tox -e bench -- --quick               # smoke run: 50 and 100 hosts
    tox -e bench -- --only plan           # the offline plan only
    tox -e bench -- --sizes 250,500 --latency-ms 50 --write-doc perf.rst
    tox -e bench -- --only live-audit --seed db --sizes 10000 --write-doc s.rst

The bench starts its own sandbox in a temporary state directory (or
``--state-dir DIR``, kept and grown in place, to skip re-seeding), starts
the latency proxy (``vfioclient/tests/bench/latency_proxy.py``: 127.0.0.1
only, bounded, stops when idle or when the bench exits), runs everything,
prints the tables, and stops what it started.  It never fails on a missed
target; it exits 1 only when a run breaks.  At sizes not named by
``--naive-full`` (default 1000, the size the targets name) the naive
loopback script is sampled (``--naive-sample``) and extrapolated; the
naive script behind the proxy is always sampled
(``--naive-latency-sample``); each is marked ``*``.  ``--placement-workers
1`` measures against a single Placement process.  ``--only live-audit``
measures the live audit alone at each size (seeding, the audit, the
offline audit of its snapshot; no naive or CLI loop), and ``--seed db``
grows the estate by writing Placement's database (``vfio-sandbox seed
--via db``) instead of through its API: the way to 10,000 hosts.

To 10,000 hosts and beyond
--------------------------

**Requests.**  The audit's cost is one provider list, one list per
relevant trait in use and one per (resource class, total) pair, then one
inventory read per child provider and one allocation read per child that
has something allocated; compute roots cost nothing.  Nova adds one
request per 1,000 hypervisors, flavors and servers (``limit``/``marker``
paging).  At 10,000 hosts of the ``large`` shape that is about 55,000
requests, against 210,000 for the naive script and 210,000 CLI processes
for the shell loop (at about 1 s of start-up each, more than two days).

**Concurrency.**  The reads run on a bounded pool (``--concurrency``,
default 8) over one keystoneauth session, and Nova's lists are read while
Placement is (two services, two processes).  On loopback Placement's CPU
is the bottleneck (here {workers} worker processes on the 2 cores the
client, the proxy and Nova share), so speed comes from making fewer
requests; against a remote cloud the pool hides the latency (8 requests
in flight).  Production
Placement runs several WSGI workers behind a load balancer, so
``--concurrency 16`` or ``32`` helps there; raise it with care, because
the audit is meant to run during an upgrade, beside Nova's own traffic.
Retries of idempotent GETs (502/503/504, dropped connections) with capped
backoff keep a long audit from failing on one blip.

**Placement's own limits.**  ``GET /resource_providers`` has no
pagination (no ``limit``/``marker``): the whole list comes in one answer,
about 0.8 KB per provider (8 MB at 10,000 providers; tens of MB at
50,000), built in memory by Placement and by the client; the filtered
lists (``required=``, ``resources=``) return subsets of the same shape.
There is no bulk read of inventories or of allocations by provider, so
the per-child reads stay; reading ``/allocations/{{consumer}}`` instead
would cost one request per server and would miss allocations of consumers
Nova does not know (which is exactly what an audit must find).
``GET /allocation_candidates`` returns capacity and usage for many trees in
one call but drops full trees and has no consumers, so it cannot replace
either read.

**Memory.**  The snapshot holds every provider (with inventories, usages
and traits only for the vGPU and PCI children), every relevant allocation,
hypervisor, flavor and server, so it grows linearly.
{memory}
Most of the peak is the Python start-up of the ``openstack`` shell; the rest is
the largest single JSON document (the unpaginated provider list, parsed
into Python objects several times its wire size) plus the snapshot.  Past
some tens of thousands of providers, streaming the provider list and
keeping only bare fields for roots would be the next step.

**Time.**  With the request count linear in N and the pool keeping the
Placement API busy, the audit of 10,000 hosts costs about five times the
N = 2,000 row, of the order of minutes, not hours; the offline audit of
its snapshot stays in seconds.
"""


def render_doc(results, args, partial=False):
    t1, t2 = results_tables(results, args)
    m = results['machine']
    vers = table(['package', 'version'],
                 [[k, v] for k, v in results['versions'].items()])
    return DOC.format(
        date=results['started'],
        machine='%s CPUs, %.0f GiB RAM, Python %s, %s' % (
            m['cpus'], m['mem_gib'] or 0, m['python'], m['platform']),
        load='%s at start, %s at end' % (
            ' '.join('%.1f' % x for x in results['load_start']),
            ' '.join('%.1f' % x for x in results['load_end'])),
        sizes=', '.join(str(r['hosts']) for r in results['rows']),
        latency_ms=args.latency_ms, loopback=t1, latency=t2,
        repeat=repeat_table(results) or '(not measured in this run)',
        workers=results['args'].get('placement_workers', 1),
        footnotes=FOOTNOTES, endpoints=endpoints_table(results),
        other=other_table(results), targets=targets(results, args),
        versions=vers, total=('run still going: partial results' if partial
                              else '%.0f s' % results['total_seconds']),
        command=args.command, memory=memory_note(results),
        plan=plan_section(results, partial).rstrip('\n'))


def memory_note(results):
    """Measured snapshot size and RSS growth, extrapolated to 10,000
    hosts (said so)."""
    rows = results['rows']
    parts = []
    off = results.get('offline')
    if off:
        prov = rows[-1]['audit']['providers']
        parts.append('The N = %d snapshot is %.1f MB (%.2f KB per '
                     'provider).' % (off['hosts'], off['bytes'] / 1e6,
                                     off['bytes'] / 1e3 / prov))
    if len(rows) >= 2 and rows[-1]['hosts'] > rows[0]['hosts']:
        a, b = rows[0], rows[-1]
        slope = ((b['audit']['rss_mib'] - a['audit']['rss_mib'])
                 / (b['hosts'] - a['hosts']))
        est = b['audit']['rss_mib'] + slope * (10000 - b['hosts'])
        parts.append('Peak RSS grew from %.0f MiB at N = %d to %.0f MiB at '
                     'N = %d (%.1f MiB per 100 hosts over a start-up of '
                     'about %.0f MiB); extrapolated linearly, not measured: '
                     'about %.0f MiB at 10,000 hosts.'
                     % (a['audit']['rss_mib'], a['hosts'],
                        b['audit']['rss_mib'], b['hosts'], slope * 100,
                        a['audit']['rss_mib'] - slope * a['hosts'], est))
    return textwrap.fill(' '.join(parts), 74)


# -- the offline plan section -------------------------------------------------
PLAN_TITLE = 'Offline plan at fleet scale'
PLAN_DOC = """\
{title}
{rule}

``openstack vfio plan --from-snapshot --host-report DIR --artifacts DIR
--runbook --output`` on a synthetic estate, measured on {date} by
``{command}``.  Machine: {machine}; load average {load} (the machine was
shared with other jobs: CPU s is the plan's own user + system time).

The estate is the sandbox's ``large N`` (N hosts, each with one A40 PF
whose first 4 VFs are legacy pGPU providers; every other host has 2
servers on them; every 4th host also has a converted PF with 4 VFs and
one server), written as the snapshot the collector would read, with one
host report per host (each host shape's fake sysfs tree read once, the
report copied with the host's name: the reports of a shape repeat the
same types and PCI addresses, as the reports of one hardware kind do, and
the loader holds each such value once).  Half of the hosts have no vGPU
in use, so their legacy type comes from ``--map VGPU=nvidia-558``.  The
plan runs as a subprocess {runs} (wall time and peak RSS from
``wait4``, start-up included: the best wall time, the worst beside it,
the highest peak RSS), then its steps run in-process, timed one by one,
with Python's cyclic garbage collector paused as the command pauses it.

{table}

{steps}

{targets}

Only this section is rewritten by ``tox -e bench -- --only plan
--write-doc doc/source/reference/performance.rst``.
"""


def plan_tables_text(results):
    rows = results['plan']
    parts = [table(*bench_plan.table_rows(rows))]
    steps = bench_plan.steps_rows(rows)
    if steps:
        parts.append(table(*steps))
    parts.append(table(['target', 'measured', 'result'],
                       bench_plan.targets(rows)))
    return '\n\n'.join(parts)


def plan_section(results, partial=False):
    """The page's plan section (reStructuredText, ends with a newline)."""
    rows = results.get('plan')
    if not rows:
        return '%s\n%s\n\n(not measured in this run)\n' % (
            PLAN_TITLE, '-' * len(PLAN_TITLE))
    m = results['machine']
    steps = bench_plan.steps_rows(rows)
    return PLAN_DOC.format(
        title=PLAN_TITLE, rule='-' * len(PLAN_TITLE),
        date=results['started'], command=results['command'],
        machine='%s CPUs, %.0f GiB RAM, Python %s, %s' % (
            m['cpus'], m['mem_gib'] or 0, m['python'], m['platform']),
        load='%s at start, %s at end%s' % (
            ' '.join('%.1f' % x for x in results['load_start']),
            ' '.join('%.1f' % x for x in results['load_end']),
            ' (run still going: partial results)' if partial else ''),
        runs={1: 'once'}.get(rows[0]['cli'].get('runs', 1), '%d times' % (
            rows[0]['cli'].get('runs', 1))),
        table=table(*bench_plan.table_rows(rows)),
        steps=table(*steps) if steps else '',
        targets=table(['target', 'measured', 'result'],
                      bench_plan.targets(rows)))


def replace_plan_section(page, section):
    """``page`` with its plan section replaced by ``section`` (or, when it
    has none, inserted before "How to reproduce", else appended)."""
    title = re.compile(r'^(.+)\n(-+)$', re.M)
    heads = [(m.start(), m.group(1)) for m in title.finditer(page)
             if len(m.group(2)) == len(m.group(1))]
    for i, (start, name) in enumerate(heads):
        if name == PLAN_TITLE:
            end = heads[i + 1][0] if i + 1 < len(heads) else len(page)
            return page[:start] + section + (
                '\n' if end < len(page) else '') + page[end:]
    for start, name in heads:
        if name == 'How to reproduce':
            return page[:start] + section + '\n' + page[start:]
    return page.rstrip('\n') + '\n\n' + section


if __name__ == '__main__':
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
