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

"""The offline ``vfio plan`` at fleet scale: 1,000 and 10,000 hosts.

Run: python -m vfioclient.tests.bench --only plan [--plan-sizes 1000,10000]

For each size N, the sandbox's ``large N`` estate is written as a snapshot
(as the collector would read it) and one host report per GPU host (each
host shape's fake sysfs tree is built and read once; its report is copied
with the host's name).  Then ``openstack vfio plan --from-snapshot
--host-report DIR --artifacts DIR --runbook --output`` runs as a
subprocess (wall time, CPU time and peak RSS from ``wait4``), and the same
steps run in-process, timed one by one: loading the reports, loading the
snapshot, ``make_plan``, the artifacts and runbook, the plan JSON.  Half
of the hosts have no vGPU in use, so their legacy type is given with
``--map VGPU=nvidia-558`` (the A40-2Q of the estate).  Nothing here
asserts a time.
"""

import json
import os
import shutil
import tempfile
import time

from vfioclient.tests import base as tests_base
from vfioclient.tests.bench import bench_audit

DEFAULT_SIZES = (1000, 10000)
QUICK_SIZES = (100,)
TARGET_HOSTS = 10000
TARGET_SECONDS = 10.0
TARGET_RSS_MIB = 500.0
# The legacy type of the hosts with no vGPU in use (no mdev tells it).
MAPS = ('VGPU=nvidia-558',)
COLLECTED_AT = '2026-11-25T00:00:00Z'
# The command runs this many times at each size; the best wall time is
# reported with the worst beside it (one run on a shared 2-core machine
# varied by 15 %).
RUNS = 3


def make_inputs(hosts, directory):
    """Write ``snapshot.json`` and ``reports/<host>.json`` of the ``large
    hosts`` estate under ``directory``; a dict of what was written."""
    from vfioclient.collect import sysfs
    from vfioclient.sandbox import estates
    from vfioclient.sandbox import fakesysfs
    from vfioclient.sandbox import hosts as sandbox_hosts
    from vfioclient.tests.unit import builders

    start = time.monotonic()
    estate = estates.get('large', hosts)
    snapshot = os.path.join(directory, 'snapshot.json')
    with open(snapshot, 'w') as f:
        f.write(builders.estate_snapshot(estate).to_json())
    reports = os.path.join(directory, 'reports')
    os.makedirs(reports, exist_ok=True)
    shapes = {}
    specs = sandbox_hosts.host_specs(estate)
    with tempfile.TemporaryDirectory() as trees:
        for hostname, spec in specs.items():
            shape = json.dumps(dict(spec, hostname=None), sort_keys=True)
            if shape not in shapes:
                root = os.path.join(trees, str(len(shapes)))
                fakesysfs.build_host(root, spec)
                shapes[shape] = sysfs.collect_host_report(
                    root, hostname='x', collected_at=COLLECTED_AT).to_json()
            doc = dict(shapes[shape], hostname=hostname,
                       sysfs_root='/sys')
            with open(os.path.join(reports, hostname + '.json'), 'w') as f:
                f.write(json.dumps(doc))
    return {'hosts': hosts, 'snapshot': snapshot, 'reports': reports,
            'report_files': len(specs), 'shapes': len(shapes),
            'snapshot_bytes': os.path.getsize(snapshot),
            'report_bytes': sum(os.path.getsize(os.path.join(reports, n))
                                for n in os.listdir(reports)),
            'seconds': time.monotonic() - start}


def plan_command(inputs, out, python=None):
    """The ``openstack vfio plan`` command line of one measured run."""
    cmd = [bench_audit.bin_path('openstack', python), 'vfio', 'plan',
           '--from-snapshot', inputs['snapshot'],
           '--host-report', inputs['reports'],
           '--artifacts', os.path.join(out, 'artifacts'),
           '--runbook', os.path.join(out, 'runbook.md'),
           '--output', os.path.join(out, 'plan.json'), '-f', 'value']
    for m in MAPS:
        cmd += ['--map', m]
    return cmd


def run_cli(inputs, out, python=None, runs=RUNS):
    """``openstack vfio plan`` as a subprocess, ``runs`` times: the
    figures of the fastest run (``worst``: the slowest's wall time;
    ``rss_mib``: the highest peak of all) and what it wrote.
    :raises RuntimeError: the command failed."""
    os.makedirs(out, exist_ok=True)
    measured = []
    for _run in range(runs):
        result = bench_audit.run_measured(
            plan_command(inputs, out, python), tests_base.clean_os_environ(),
            os.path.join(out, 'plan.out'))
        if result['rc'] != 0:
            with open(os.path.join(out, 'plan.out.err')) as f:
                raise RuntimeError('vfio plan failed (exit %d): %s'
                                   % (result['rc'], f.read()[-3000:]))
        measured.append(result)
    result = dict(min(measured, key=lambda r: r['wall']),
                  runs=runs, worst=max(r['wall'] for r in measured),
                  rss_mib=max(r['rss_mib'] for r in measured))
    with open(os.path.join(out, 'plan.json')) as f:
        plan = json.load(f)
    with open(os.path.join(out, 'runbook.md')) as f:
        runbook = f.read()
    result.update(
        runbook_lines=runbook.count('\n'), runbook_bytes=len(runbook),
        artifacts=len(os.listdir(os.path.join(out, 'artifacts'))),
        plan_bytes=os.path.getsize(os.path.join(out, 'plan.json')),
        planned=len(plan['order']), waves=len(plan['waves']),
        refusals=len(plan['refusals']),
        servers=len(plan['servers']))
    return result


def run_in_process(inputs, out):
    """The steps of ``vfio plan`` timed one by one (seconds), without the
    command's start-up."""
    from vfioclient.v1 import base as v1_base

    steps = {}
    clock = time.perf_counter()

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    # as the command runs them: with the cyclic collector paused
    with v1_base.paused_gc():
        _steps(inputs, out, lap)
    return steps


def _steps(inputs, out, lap):
    from vfioclient.rules import plan as plan_rules
    from vfioclient.v1 import base as v1_base
    from vfioclient.v1 import plan as v1_plan

    reports = v1_base.load_host_reports([inputs['reports']])
    lap('load reports')
    snapshot = v1_base.load_snapshot(inputs['snapshot'])
    lap('load snapshot')
    options = plan_rules.Options(maps=plan_rules.parse_maps(list(MAPS)))
    plan = plan_rules.make_plan(snapshot, reports, options)
    lap('make_plan')
    directory = os.path.join(out, 'artifacts-in-process')
    v1_plan.Plan._write_artifacts(plan, 'plan.json', directory)
    lap('artifacts + runbook')
    plan.to_json()
    lap('plan JSON')
    shutil.rmtree(directory, ignore_errors=True)


def measure(hosts, workdir, python=None, in_process=True, runs=RUNS):
    """Inputs, the command (``runs`` times) and (``in_process``) its steps
    at one size."""
    directory = os.path.join(workdir, 'plan-%d' % hosts)
    os.makedirs(directory, exist_ok=True)
    bench_audit.log('plan N=%d: writing the snapshot and host reports'
                    % hosts)
    inputs = make_inputs(hosts, directory)
    bench_audit.log('plan N=%d: openstack vfio plan --artifacts' % hosts)
    row = {'hosts': hosts, 'inputs': inputs,
           'cli': run_cli(inputs, os.path.join(directory, 'out'), python,
                          runs)}
    bench_audit.log('plan N=%d: %.1f s, %.0f MiB, %d runbook lines'
                    % (hosts, row['cli']['wall'], row['cli']['rss_mib'],
                       row['cli']['runbook_lines']))
    if in_process:
        row['steps'] = run_in_process(inputs, directory)
    return row


def table_rows(rows):
    """``(headers, rows)`` of the plan runs, one row per size."""
    out = []
    for r in rows:
        c, i = r['cli'], r['inputs']
        out.append([r['hosts'], i['report_files'], '%.1f' % c['wall'],
                    '%.1f' % c.get('worst', c['wall']),
                    '%.1f' % c['cpu'], '%.0f' % c['rss_mib'],
                    c['runbook_lines'], c['artifacts'], c['planned'],
                    c['waves'], '%.1f' % (c['plan_bytes'] / 1e6)])
    return (['hosts', 'reports', 'wall s', 'worst s', 'CPU s', 'RSS MiB',
             'runbook lines', 'artifacts', 'hosts planned', 'waves',
             'plan MB'], out)


def steps_rows(rows):
    """``(headers, rows)``: in-process seconds per step, a column per
    size; None when no step was timed."""
    measured = [r for r in rows if r.get('steps')]
    if not measured:
        return None
    names = list(measured[0]['steps'])
    return (['step (in-process)'] + ['N=%d s' % r['hosts']
                                     for r in measured],
            [[name] + ['%.2f' % r['steps'][name] for r in measured]
             for name in names])


def targets(rows):
    """``[target, measured, met]`` rows for the largest size (the target
    names 10,000 hosts; a smaller run says so)."""
    r = max(rows, key=lambda x: x['hosts'])
    note = '' if r['hosts'] >= TARGET_HOSTS else ' (largest N here: %d)' % (
        r['hosts'])
    c = r['cli']
    return [
        ['plan --artifacts of %d hosts < %.0f s%s'
         % (TARGET_HOSTS, TARGET_SECONDS, note), '%.1f s' % c['wall'],
         'met' if c['wall'] < TARGET_SECONDS else 'MISSED'],
        ['plan --artifacts of %d hosts < %.0f MiB peak RSS%s'
         % (TARGET_HOSTS, TARGET_RSS_MIB, note), '%.0f MiB' % c['rss_mib'],
         'met' if c['rss_mib'] < TARGET_RSS_MIB else 'MISSED'],
    ]
