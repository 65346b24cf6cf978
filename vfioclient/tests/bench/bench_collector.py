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

"""Time the printed host collector on a big host: 8 GPUs x 32 VFs.

Run: python -m vfioclient.tests.bench.bench_collector [--gpus 8]
[--vfs 32] [--repeat 7] [--python python3]

The script ``openstack vfio host collector`` prints, run as a host runs
it: ``python3 -I -S vfio-host-report --sysfs-root <fake host>``.  Wall
time of the whole process (interpreter start-up included), median of
--repeat runs, and the modules the script imported (those an empty script
does not load), standard library or not.
Prints figures only; there is no pass/fail threshold here (target: under
0.5 s with the standard library only).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from vfioclient.collect import hostscan_script
from vfioclient.sandbox import fakesysfs as fake_sysfs
from vfioclient.tests import collector_run

TARGET_SECONDS = 0.5


def _python_version(python):
    return subprocess.run(
        [python, '-I', '-S', '-c',
         'import platform; print(platform.python_version())'],
        stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def measure(gpus=8, vfs=32, repeat=7, python=None):
    """Run the collector ``repeat`` times on a fake host; a dict of the
    figures.  :raises RuntimeError: a run failed."""
    python = python or sys.executable
    with tempfile.TemporaryDirectory() as work:
        root = os.path.join(work, 'host')
        fake_sysfs.build_host(root, fake_sysfs.many_gpus_host(gpus, vfs))
        script = os.path.join(work, hostscan_script.PROG)
        with open(script, 'w') as f:
            f.write(hostscan_script.render_script())
        args = ('--sysfs-root', root, '--hostname', 'bench')
        timings = []
        for _ in range(repeat):
            start = time.perf_counter()
            result = collector_run.run(script, args, python=python)
            timings.append(time.perf_counter() - start)
            if result.returncode:
                raise RuntimeError('the collector failed: %s'
                                   % result.stderr[-2000:])
        doc = json.loads(result.stdout)
        listed, loaded = collector_run.loaded_modules(script, args,
                                                      python=python)
        if listed.returncode:
            raise RuntimeError('the collector failed: %s'
                               % listed.stderr[-2000:])
        # What the interpreter and the runner load before any script.
        empty = os.path.join(work, 'empty.py')
        with open(empty, 'w') as f:
            f.write('')
        _result, baseline = collector_run.loaded_modules(empty,
                                                         python=python)
    bundled = [name for name, _package, _source
               in hostscan_script.bundled_modules()]
    imported = sorted(set(loaded) - set(baseline) - set(bundled))
    return {
        'gpus': gpus, 'vfs': vfs, 'devices': len(doc['devices']),
        'bytes': len(result.stdout), 'runs': repeat,
        'python': '%s %s' % (python, _python_version(python)),
        'load': os.getloadavg(),
        'median': statistics.median(timings), 'best': min(timings),
        'worst': max(timings),
        'bundled': bundled, 'start_up': len(baseline),
        'stdlib': sorted(set(imported)
                         - set(collector_run.not_stdlib(imported))),
        'not_stdlib': collector_run.not_stdlib(loaded, bundled),
    }


def report(figures):
    """The printed lines of :func:`measure`'s figures."""
    f = figures
    met = f['median'] < TARGET_SECONDS and not f['not_stdlib']
    return '\n'.join([
        'host collector (printed script): %d GPUs x %d VFs = %d devices, '
        '%d bytes of JSON, %s -I -S'
        % (f['gpus'], f['vfs'], f['devices'], f['bytes'], f['python']),
        'wall time: median %.3f s, best %.3f s, worst %.3f s over %d runs '
        '(load average %s; target < %.1f s, standard library only: %s)'
        % (f['median'], f['best'], f['worst'], f['runs'],
           ' '.join('%.1f' % x for x in f['load']), TARGET_SECONDS,
           'met' if met else 'MISSED'),
        'modules the script imported: %d standard library, %d bundled '
        'vfioclient, %d other (beyond the %d of interpreter start-up)'
        % (len(f['stdlib']), len(f['bundled']), len(f['not_stdlib']),
           f['start_up']),
        '  standard library: %s' % ' '.join(f['stdlib']),
        '  bundled: %s' % ' '.join(f['bundled']),
        '  other: %s' % (' '.join(f['not_stdlib']) or 'none'),
    ])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--gpus', type=int, default=8)
    parser.add_argument('--vfs', type=int, default=32)
    parser.add_argument('--repeat', type=int, default=7)
    parser.add_argument('--python', metavar='PATH',
                        help='the interpreter (default: this one, %s; '
                             'name a binary, not a wrapper such as a '
                             'pyenv shim, whose start-up would be timed '
                             'too)' % sys.executable)
    args = parser.parse_args(argv)
    print(report(measure(args.gpus, args.vfs, args.repeat, args.python)))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
