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

"""The libvirt and QEMU versions of a host, from libvirt's capabilities
cache: part of the host collector (:mod:`.hostscan`), so standard library
only, like it (the printed collector bundles this module).

Warnings are ``(path, message)`` pairs, ``path`` as seen on the host;
:mod:`.hostscan` puts them in the report's ``warnings``.
"""

import argparse
import collections
import os
import re

# libvirt (``libvirtd`` or ``virtqemud``) probes every QEMU binary it uses
# and caches what it learnt in
# ``/var/cache/libvirt/qemu/capabilities/<sha256 of the binary path>.xml``
# (``virQEMUCapsFormatCache`` / ``virQEMUCapsSaveFile`` in libvirt's
# ``src/qemu/qemu_capabilities.c``; the same path on Ubuntu 24.04 and RHEL
# 9/10).  Each file has ``<selfvers>``, the libvirt version that wrote it,
# ``<version>``, the QEMU version (both ``major * 1000000 + minor * 1000 +
# micro``), and ``<arch>``, the guest architecture of that binary.
# libvirt rewrites a file when libvirt or that QEMU binary changes
# (``virQEMUCapsIsValid``), so the files libvirt wrote last tell the
# versions nova-compute's connection reports.  They are written with mode
# 0600: reading them needs root (no binary is run).
CAPABILITIES_DIR = 'var/cache/libvirt/qemu/capabilities'
_SELFVERS_RE = re.compile(r'^\s*<selfvers>(\d+)</selfvers>', re.M)
_VERSION_RE = re.compile(r'^\s*<version>(\d+)</version>', re.M)
_ARCH_RE = re.compile(r'^\s*<arch>([^<]+)</arch>', re.M)
MAX_CACHE_FILE = 16 * 1024 * 1024
# A version as the report (and --libvirt-version) writes it.
VERSION_RE = re.compile(r'^[0-9]+\.[0-9]+\.[0-9]+$')

# Found in libvirt's cache: versions ('X.Y.Z' or None) and warnings
# ((path, message) pairs).
Versions = collections.namedtuple('Versions', 'libvirt qemu warnings',
                                  defaults=(None, None, ()))


def version_from_number(number):
    """libvirt's version numbers: ``8002002`` -> ``'8.2.2'``."""
    number = int(number)
    return '%d.%d.%d' % (number // 1000000, number // 1000 % 1000,
                         number % 1000)


def _read_cache_file(path, warnings, root):
    shown = '/' + os.path.relpath(path, root).replace(os.sep, '/')
    try:
        with open(path, 'rb') as f:
            return f.read(MAX_CACHE_FILE).decode('utf-8', 'replace')
    except PermissionError:
        warnings.append((
            shown, 'permission denied (libvirt writes it for root only): '
            'run as root or pass --libvirt-version and --qemu-version'))
    except OSError as e:
        warnings.append((shown, 'cannot read: %s' % (e.strerror or e)))
    return None


def read_versions(root='/', arch=None):
    """:class:`Versions` from libvirt's QEMU capabilities cache under
    ``root``.

    Only the files of the newest libvirt that wrote any count (older ones
    are left-overs), and of those the ones for the host's architecture
    (``arch``, default ``os.uname().machine``); with several QEMU binaries
    for it the lowest QEMU version is taken.  Nothing is found (and
    nothing is warned) when the directory does not exist.
    """
    root = os.path.abspath(root or '/')
    arch = arch or os.uname().machine
    directory = os.path.join(root, CAPABILITIES_DIR)
    warnings = []
    try:
        names = sorted(n for n in os.listdir(directory)
                       if n.endswith('.xml'))
    except FileNotFoundError:
        return Versions()
    except OSError as e:
        return Versions(warnings=((
            '/' + CAPABILITIES_DIR, 'cannot list: %s (run as root or pass '
            '--libvirt-version and --qemu-version)' % (e.strerror or e)),))
    found = []   # (libvirt number, qemu number, arch)
    for name in names:
        text = _read_cache_file(os.path.join(directory, name), warnings,
                                root)
        if text is None:
            continue
        matches = [r.search(text) for r in (_SELFVERS_RE, _VERSION_RE,
                                            _ARCH_RE)]
        if all(matches):
            found.append((int(matches[0].group(1)),
                          int(matches[1].group(1)),
                          matches[2].group(1).strip()))
    if not found:
        return Versions(warnings=tuple(warnings))
    newest = max(libvirt for libvirt, _qemu, _arch in found)
    qemus = [qemu for libvirt, qemu, file_arch in found
             if libvirt == newest and file_arch == arch]
    return Versions(
        libvirt=version_from_number(newest) if newest else None,
        qemu=version_from_number(min(qemus)) if qemus else None,
        warnings=tuple(warnings))


def version_argument(text):
    """argparse type of ``--libvirt-version`` / ``--qemu-version``: a
    version ``X.Y.Z`` as given."""
    if not VERSION_RE.match(text):
        raise argparse.ArgumentTypeError('%r is not a version like 10.0.0'
                                         % (text,))
    return text
