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

"""A fake ``mdevctl`` for the tests of the undefine script and playbook."""

# What mdevctl's undefine does to the files (MDev::undefine removes
# /etc/mdevctl.d/<parent>/<uuid>; no match is an error), with every call
# logged.  FAKE_MDEVCTL_FAIL names a uuid whose undefine fails.
SCRIPT = '''#!/bin/sh
printf '%s\\n' "$*" >> "$FAKE_MDEVCTL_LOG"
[ "$1" = undefine ] || exit 0
shift
while [ $# -gt 0 ]; do
    case $1 in
        --uuid) uuid=$2; shift 2 ;;
        --parent) parent=$2; shift 2 ;;
        *) echo "Error: unexpected $1" >&2; exit 2 ;;
    esac
done
if [ "$uuid" = "${FAKE_MDEVCTL_FAIL:-}" ]; then
    echo "Error: Undefine failed" >&2; exit 1
fi
file="$VFIO_SYSFS_ROOT/etc/mdevctl.d/$parent/$uuid"
[ -f "$file" ] || { echo "Error: No devices match" >&2; exit 1; }
rm -f "$file"
'''
