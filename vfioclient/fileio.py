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

"""Write files atomically: private ones (snapshots, plans, passwords) and
shared ones (a plan's artifacts).

The bottom layer: it imports nothing from vfioclient, so the commands
(``vfioclient.v1``) and the sandbox (``vfioclient.sandbox``) share it.
"""

import os


def write_private_file(path, text):
    """Write ``text`` to ``path`` with mode 0600 from the first byte.

    Written to a temporary file in the same directory first and renamed
    over ``path``, so a crash never leaves a half-written document behind
    and an earlier file's mode (0666, say) is not kept.
    """
    write_file(path, text, 0o600)


def write_file(path, text, mode):
    """Write ``text`` (a string, an iterable of strings written one
    after the other, or a function handing strings to the ``sink`` it is
    called with) to ``path`` atomically with ``mode`` (e.g. 0644 for
    a document, 0755 for a script), as :func:`write_private_file` does;
    the temporary file is 0600 until it is complete."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, '.%s.tmp%d' % (os.path.basename(path),
                                                  os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            if isinstance(text, str):
                f.write(text)
            elif callable(text):     # writes a large document to a sink
                text(f.write)
            else:                    # pieces of a large document
                f.writelines(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
