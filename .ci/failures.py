"""Print the failing tests each test env recorded (stdlib only).

Every stestr env of tox.ini writes ``stestr failing`` to
``<toxworkdir>/<env>-failing.log`` after its run; this prints, per env,
the failing test ids and each traceback (not the captured logs, which
can be megabytes of Nova output), so the end of a CI log says what
failed.  Exit code 0 always: tox already fails on the envs themselves.
"""

import glob
import os
import re
import sys

TRACEBACK_LINES = 40
MESSAGE_LINES = 15


def digest(text):
    out = []
    failed = re.findall(r'^(?:FAIL|ERROR):? (\S+)', text, flags=re.M)
    failed += re.findall(r'^\{\d+\} (\S+) .*\.\.\. FAILED', text, flags=re.M)
    for test in dict.fromkeys(failed):
        out.append('  failed: %s' % test)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith('Traceback (most recent call last):'):
            block, message = [line], 0
            for follow in lines[i + 1:]:
                if message and (not follow.strip() or message > MESSAGE_LINES
                                or follow.startswith(('===', '---'))):
                    break
                block.append(follow)
                if message or (follow and not follow[0].isspace()):
                    message += 1    # the exception line and what follows
            out.append('    ' + '\n    '.join(block[-TRACEBACK_LINES:]))
    return out


def main(toxworkdir):
    logs = sorted(glob.glob(os.path.join(toxworkdir, '*-failing.log')))
    for path in logs:
        with open(path, encoding='utf-8', errors='replace') as f:
            text = f.read()
        env = os.path.basename(path)[:-len('-failing.log')]
        found = digest(text)
        if found:
            print('%s: failures recorded in %s' % (env, path))
            print('\n'.join(found))
        else:
            print('%s: no failures recorded' % env)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1]))
