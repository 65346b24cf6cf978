"""A WSGI app that answers with its process id (tests of the sandbox
runner's worker processes)."""

import os


def application(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [str(os.getpid()).encode()]
