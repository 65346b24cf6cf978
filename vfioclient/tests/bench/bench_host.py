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

"""Time ``host report`` collection on a big host: 8 GPUs x 32 VFs.

Run: python -m vfioclient.tests.bench.bench_host [--gpus 8] [--vfs 32]
Prints timings only; there is no pass/fail threshold here.
"""

import argparse
import json
import tempfile
import time

from vfioclient.collect import sysfs
from vfioclient.sandbox import fakesysfs as fake_sysfs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--gpus', type=int, default=8)
    parser.add_argument('--vfs', type=int, default=32)
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        fake_sysfs.build_host(root, fake_sysfs.many_gpus_host(args.gpus,
                                                              args.vfs))
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            report = sysfs.collect_host_report(root, hostname='bench')
            text = json.dumps(report.to_json())
            timings.append(time.perf_counter() - start)
    print('host report: %d GPUs x %d VFs = %d devices, %d bytes of JSON'
          % (args.gpus, args.vfs, len(report.devices), len(text)))
    print('collect + serialise: best %.3f s, worst %.3f s over %d runs'
          % (min(timings), max(timings), args.repeat))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
