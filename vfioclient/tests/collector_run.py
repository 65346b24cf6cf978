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

"""Run the printed host collector as a host would: ``python3 -I -S``.

``-I`` (isolated: no PYTHON* variables, no script or user directory on
``sys.path``) and ``-S`` (no ``site``, so no site-packages) leave the
standard library only, so a run proves the script needs nothing else.
Shared by the unit tests and the bench.
"""

import subprocess
import sys

ISOLATED = ('-I', '-S')

# Runs the script as __main__ and, at exit (sys.exit included), writes
# the names of every module loaded to stderr after MODULES_MARK.
MODULES_MARK = 'modules loaded:'
_LIST_MODULES = (
    'import atexit, runpy, sys\n'
    'atexit.register(lambda: sys.stderr.write("\\n%s " + " ".join('
    'sorted(sys.modules)) + "\\n"))\n'
    'sys.argv = sys.argv[1:]\n'
    'runpy.run_path(sys.argv[0], run_name="__main__")\n' % MODULES_MARK)


def run(script, args=(), python=None, cwd=None, timeout=120):
    """``python -I -S script args``: a CompletedProcess (text)."""
    return subprocess.run(
        [python or sys.executable] + list(ISOLATED) + [script] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=cwd, timeout=timeout, check=False)


def loaded_modules(script, args=(), python=None, cwd=None):
    """``(CompletedProcess, sorted module names)`` of one isolated run.

    The names are those in ``sys.modules`` at exit: what the interpreter
    loads to start, the few modules the runner itself uses (``runpy``,
    ``atexit``) and everything the script imported or registered.
    """
    result = subprocess.run(
        [python or sys.executable] + list(ISOLATED)
        + ['-c', _LIST_MODULES, script] + list(args),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=cwd, timeout=120, check=False)
    head, mark, tail = result.stderr.rpartition(MODULES_MARK)
    if not mark:
        raise RuntimeError('the run printed no module list: %s'
                           % result.stderr[-2000:])
    result.stderr = head
    return result, tail.split()


def not_stdlib(modules, bundled=()):
    """The names of ``modules`` neither in the standard library (by their
    top-level package) nor ``bundled`` (nor ``__main__``)."""
    return sorted(name for name in modules
                  if name != '__main__' and name not in bundled
                  and name.split('.')[0] not in sys.stdlib_module_names)
