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

"""Benchmark: ``config check`` on a generated 10,000-entry nova.conf.

Run: ``python -m vfioclient.tests.bench.bench_config [N]``.  Prints the
time to read and lint; asserts nothing about it (the target is < 2 s).
"""

import os
import sys
import tempfile
import time

from vfioclient.collect import conf
from vfioclient.rules import lint


def generate(path, entries):
    with open(path, 'w') as f:
        f.write('[pci]\nreport_in_placement = true\n')
        for i in range(entries):
            bus, rest = divmod(i, 32 * 8)
            slot, func = divmod(rest, 8)
            f.write('device_spec = {"vendor_id": "10de", "product_id": '
                    '"25b6", "address": "0000:%02x:%02x.%d", "managed": '
                    '"no", "resource_class": "CUSTOM_A16_%d", "traits": '
                    '"blue,big"}\n' % (bus % 256, slot, func, i % 7))
        # A few broken and overlapping ones so every rule runs.
        f.write('device_spec = {"vendor_id": "10de", managed: "no"}\n')
        f.write('device_spec = {"vendor_id": "10de", "address": "*:01:*.*"}'
                '\n')
        f.write('alias = {"name": "A16", "resource_class": "CUSTOM_A16_1"}\n'
                '[filter_scheduler]\npci_in_placement = true\n')


def main(argv):
    entries = int(argv[1]) if len(argv) > 1 else 10000
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'nova.conf')
        generate(path, entries)
        start = time.perf_counter()
        snapshot = conf.read_conf([path])
        read = time.perf_counter() - start
        found = lint.lint(snapshot)
        total = time.perf_counter() - start
    print('%d device_spec entries: read %.2f s, read+lint %.2f s, '
          '%d findings' % (len(snapshot.device_specs), read, total,
                           len(found)))


if __name__ == '__main__':
    main(sys.argv)
