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

"""Reading a host's files under a root, for the host collector
(:mod:`.hostscan`): standard library only, like it (the printed collector
bundles this module).

Nothing here raises on odd input: a missing, unreadable or garbled file
becomes one of the report's ``warnings``, whose ``path`` is the file as
the host sees it (``/sys/...``) even when the root is a fake tree.
"""

import os


def warning(path, message):
    """One entry of the report's ``warnings``."""
    return {'path': path, 'message': message}


class Reader:
    """Reads sysfs files under a root and records what went wrong."""

    def __init__(self, root):
        self.root = os.path.abspath(root or '/')
        self.warnings = []

    def host_path(self, path):
        """The path as the host sees it, for warnings."""
        rel = os.path.relpath(path, self.root)
        return '/' + rel.replace(os.sep, '/')

    def warn(self, path, message):
        self.warnings.append(warning(self.host_path(path), message))

    def text(self, path, required=True):
        """File content, or None (with a warning if ``required``)."""
        try:
            with open(path, 'rb') as f:
                data = f.read(65536)
        except FileNotFoundError:
            if os.path.islink(path):
                self.warn(path, 'dangling symlink')
            elif required:
                self.warn(path, 'missing')
            return None
        except PermissionError:
            self.warn(path, 'permission denied')
            return None
        except OSError as e:
            self.warn(path, 'cannot read: %s' % (e.strerror or e))
            return None
        try:
            return data.decode('utf-8')
        except UnicodeDecodeError:
            self.warn(path, 'not valid UTF-8 text')
            return None

    def stripped(self, path):
        """Optional file content without surrounding blanks, or None."""
        text = self.text(path, required=False)
        return text.strip() if text is not None else None

    def integer(self, path, required=False):
        """Decimal integer file (``sriov_*``, ``numa_node``), or None."""
        text = self.text(path, required=required)
        if text is None:
            return None
        try:
            return int(text.strip())
        except ValueError:
            self.warn(path, 'not a decimal number: %r' % text.strip()[:40])
            return None

    def hex_id(self, path, digits, required=True):
        """``0x10de`` -> ``10de``; None (with a warning) when garbled."""
        text = self.text(path, required=required)
        if text is None:
            return None
        value = text.strip().lower()
        if value.startswith('0x'):
            value = value[2:]
        if len(value) != digits or any(
                c not in '0123456789abcdef' for c in value):
            self.warn(path, 'not a %d-digit hex id: %r'
                      % (digits, text.strip()[:40]))
            return None
        return value

    def link_name(self, path, must_resolve=True):
        """Basename of a symlink's target, or None if there is no link."""
        try:
            target = os.readlink(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            self.warn(path, 'cannot read link: %s' % (e.strerror or e))
            return None
        if must_resolve and not os.path.exists(path):
            self.warn(path, 'dangling symlink to %s' % target)
        return os.path.basename(target.rstrip('/'))

    def listdir(self, path):
        """Sorted names in a directory; [] if it does not exist."""
        try:
            return sorted(os.listdir(path))
        except (FileNotFoundError, NotADirectoryError):
            return []
        except OSError as e:
            self.warn(path, 'cannot list: %s' % (e.strerror or e))
            return []
