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

"""The HTTP core: every call to Placement and Nova goes through here.

What this module owns:

* explicit microversions on every request, negotiated against the server's
  maximum, with errors that name the version needed;
* turning HTTP errors into ``CommandError`` messages naming the service,
  method, path, status and the server's own explanation;
* retries of idempotent GETs on connection errors, timeouts and
  502/503/504, done by keystoneauth (``connect_retries``,
  ``status_code_retries``, ``retriable_status_codes``) with its capped
  exponential delay; writes are never retried;
* a bounded thread pool for concurrent reads (one keystoneauth session is
  shared by the threads: requests' connection pool is thread-safe, and
  ``test_client_concurrency`` checks responses never cross);
* request accounting (count by endpoint, one per call: attempts that
  keystoneauth retries are not seen here), for ``--debug`` and benchmarks;
* :func:`microversion`, which the named reads and writes of
  :mod:`vfioclient.cloud.placement` and :mod:`vfioclient.cloud.compute` use
  to declare the microversion each needs.

Tokens never reach a log line or a message: only method, path, query,
microversion, status and timing are logged.
"""

import collections
import concurrent.futures
import functools
import json
import logging
import threading
import time
import urllib.parse

from keystoneauth1 import exceptions as ksa_exc
from osc_lib import exceptions

LOG = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
DEFAULT_RETRIES = 3
DEFAULT_TIMEOUT = 60.0
RETRY_STATUSES = frozenset((502, 503, 504))

PLACEMENT = 'placement'
COMPUTE = 'compute'


class ApiError(exceptions.CommandError):
    """An HTTP request failed; the message says which and why."""

    def __init__(self, service, method, path, status, detail):
        self.service = service
        self.method = method
        self.path = path
        self.status = status
        self.detail = detail
        text = '%s %s %s failed' % (service.capitalize(), method, path)
        if status is not None:
            text += ': HTTP %s' % status
        if detail:
            text += ': %s' % detail
        hint = _STATUS_HINTS.get(status)
        if hint:
            text += ' (%s)' % hint.format(service=service)
        super().__init__(text)


_STATUS_HINTS = {
    401: 'authentication failed: check your credentials and token expiry',
    403: 'the {service} policy refused the request: vfio commands read the '
         'whole estate and need the admin role (for Placement the '
         '"placement:*" rules, for Nova "os_compute_api:*" admin rules)',
}


class MicroversionError(exceptions.CommandError):
    """The server is too old for what a command needs."""


def parse_version(text):
    """``'1.39'`` -> ``(1, 39)``; raises ValueError on anything else."""
    major, minor = str(text).strip().split('.')
    return int(major), int(minor)


def format_version(version):
    return '%d.%d' % version


def microversion(minimum, wanted=None):
    """Declare the microversion a named read or write needs and asks for.

    The decorated ``func(service, version, ...)`` is called as
    ``func(service, ...)``: ``version`` is ``min(wanted, server maximum)``
    (:meth:`ServiceClient.negotiate`, the maximum is discovered once per
    service), and a server older than ``minimum`` is refused with a
    :class:`MicroversionError` naming both versions before any request.
    """
    def decorate(func):
        @functools.wraps(func)
        def call(service, *args, **kwargs):
            version = service.negotiate(minimum, wanted)
            return func(service, version, *args, **kwargs)
        call.microversion = (minimum, wanted)
        return call
    return decorate


def negotiated(service, func):
    """The microversion the named read or write ``func`` sends."""
    return service.negotiate(*func.microversion)


def error_detail(response):
    """Best human text from an error body of Placement or Nova (or none).

    Placement: ``{"errors": [{"detail": ...}]}``; Nova: ``{"badRequest":
    {"message": ...}}``.  A non-JSON body (a proxy's HTML 502 page) gives the
    reason phrase rather than a parser error.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        errors = body.get('errors')
        if isinstance(errors, list) and errors and isinstance(errors[0],
                                                              dict):
            detail = errors[0].get('detail') or errors[0].get('title') or ''
            # Placement prefixes details with the status line; keep the
            # meaningful last line.
            lines = [ln.strip() for ln in str(detail).splitlines()
                     if ln.strip()]
            return lines[-1] if lines else ''
        for value in body.values():
            if isinstance(value, dict) and 'message' in value:
                return str(value['message'])
        if 'message' in body:
            return str(body['message'])
    text = getattr(response, 'reason', None) or ''
    return str(text)


class ServiceClient:
    """Raw REST calls to one service through a keystoneauth Adapter.

    ``adapter`` is an openstacksdk Proxy (an Adapter) or any object with the
    same ``request(url, method, microversion=..., raise_exc=False, ...)``.
    """

    def __init__(self, service, adapter, retries=DEFAULT_RETRIES,
                 stats=None, timeout=None):
        self.service = service
        self.adapter = adapter
        self.retries = retries
        # Seconds to wait for a response (None: the session's default).
        self.timeout = timeout
        self._max_version = None
        self._lock = threading.Lock()
        self.stats = stats if stats is not None else RequestStats()

    # -- microversions -----------------------------------------------------

    def max_version(self):
        """The server's maximum microversion, discovered once."""
        with self._lock:
            if self._max_version is None:
                self._max_version = self._discover_max_version()
            return self._max_version

    def _discover_max_version(self):
        data = None
        try:
            data = self.adapter.get_endpoint_data()
        except Exception as e:  # discovery errors vary by plugin
            LOG.debug('%s endpoint discovery failed: %s', self.service, e)
        version = getattr(data, 'max_microversion', None)
        if version:
            return (int(version[0]), int(version[1]))
        # Fall back to the version document at the service root.
        body = self._request('GET', '/', None, retry=True)
        return _max_version_from_document(self.service, body)

    def negotiate(self, minimum, wanted=None):
        """Pick ``min(wanted, server max)``; fail if below ``minimum``.

        Both arguments are strings like ``'1.14'``.
        """
        server = self.max_version()
        need = parse_version(minimum)
        if server < need:
            raise MicroversionError(
                'requires %s >= %s, server supports %s' % (
                    self.service.capitalize(), minimum,
                    format_version(server)))
        target = parse_version(wanted) if wanted else need
        return format_version(min(target, server))

    # -- requests ----------------------------------------------------------

    def get(self, path, microversion, params=None, expected=None):
        """GET with retries; statuses in ``expected`` (e.g. ``(404,)``)
        return their body (or None) instead of raising."""
        return self._request('GET', path, microversion, params=params,
                             retry=True, expected=expected)

    def put(self, path, microversion, body=None, expected=None):
        return self._request('PUT', path, microversion, body=body,
                             expected=expected)

    def post(self, path, microversion, body=None, expected=None):
        return self._request('POST', path, microversion, body=body,
                             expected=expected)

    def delete(self, path, microversion, expected=None):
        return self._request('DELETE', path, microversion, expected=expected)

    def _request(self, method, path, microversion, params=None, body=None,
                 retry=False, expected=None):
        url = path
        if params:
            url = '%s?%s' % (path, urllib.parse.urlencode(params, doseq=True))
        kwargs = {'raise_exc': False}
        if self.timeout:
            kwargs['timeout'] = self.timeout
        if microversion:
            kwargs['microversion'] = microversion
        if body is not None:
            kwargs['json'] = body
        # keystoneauth retries: connection failures and timeouts
        # (connect_retries) and 502/503/504 (status_code_retries), waiting
        # 0.5s, 1s, 2s, ... between attempts (its own capped exponential
        # delay).  Only idempotent reads ask for them; writes pass 0
        # explicitly so that a clouds.yaml ``connect_retries`` never
        # repeats a POST whose first attempt may have reached the server.
        retries = self.retries if retry else 0
        kwargs['connect_retries'] = retries
        kwargs['status_code_retries'] = retries
        kwargs['retriable_status_codes'] = sorted(RETRY_STATUSES)
        start = time.monotonic()
        try:
            response = self.adapter.request(url, method, **kwargs)
        except (ksa_exc.ConnectFailure, ksa_exc.ConnectTimeout,
                ksa_exc.RetriableConnectionFailure,
                ksa_exc.UnknownConnectionError) as e:
            self.stats.record(self.service, method, path, None,
                              time.monotonic() - start)
            raise ApiError(self.service, method, url, None,
                           'connection failed after %d attempt(s): %s'
                           % (retries + 1, e))
        except ksa_exc.ClientException as e:
            raise ApiError(self.service, method, url, None, str(e))
        elapsed = time.monotonic() - start
        status = response.status_code
        self.stats.record(self.service, method, path, status, elapsed)
        LOG.debug('%s %s %s microversion=%s -> %s in %.3fs',
                  self.service, method, url, microversion or '-', status,
                  elapsed)
        if expected is not None and status in expected:
            return _json_or_none(response)
        if status >= 400:
            raise ApiError(self.service, method, url, status,
                           error_detail(response))
        return _json_or_none(response)


def _json_or_none(response):
    if response.status_code == 204 or not response.content:
        return None
    try:
        # from the bytes: no second, decoded copy of a large body
        return json.loads(response.content, object_pairs_hook=_without_links)
    except ValueError:
        return None


def _without_links(pairs):
    """A JSON object without its ``links`` (the self and bookmark URLs
    every Placement provider and Nova resource carries; nothing here reads
    them).  Parsed, they are three quarters of a provider list: about
    3 KB per provider, 150 MB at 50,000 providers."""
    return {key: value for key, value in pairs if key != 'links'}


def _max_version_from_document(service, body):
    """Max microversion from a Placement or Nova version document."""
    versions = []
    if isinstance(body, dict):
        if isinstance(body.get('versions'), list):
            versions = body['versions']
        elif isinstance(body.get('version'), dict):
            versions = [body['version']]
    best = None
    for doc in versions:
        text = doc.get('max_version') or doc.get('version')
        if not text:
            continue
        try:
            value = parse_version(text)
        except ValueError:
            continue
        best = value if best is None else max(best, value)
    if best is None:
        raise exceptions.CommandError(
            'cannot tell which %s microversions the server supports: its '
            'version document has no max_version' % service)
    return best


class RequestStats:
    """Thread-safe count of requests by service, method and path shape."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_endpoint = collections.Counter()
        self.seconds = 0.0

    @staticmethod
    def endpoint(service, method, path):
        """Collapse ids so that counts group by endpoint: ``{uuid}``."""
        parts = []
        for part in path.split('?')[0].split('/'):
            if len(part) == 36 and part.count('-') == 4:
                part = '{uuid}'
            parts.append(part)
        return '%s %s %s' % (service, method, '/'.join(parts))

    def record(self, service, method, path, status, seconds):
        key = self.endpoint(service, method, path)
        with self._lock:
            self.by_endpoint[key] += 1
            self.seconds += seconds

    @property
    def total(self):
        with self._lock:
            return sum(self.by_endpoint.values())

    def as_dict(self):
        with self._lock:
            return dict(sorted(self.by_endpoint.items()))


class CloudClient:
    """Placement and Nova for one command run, plus a bounded read pool."""

    def __init__(self, placement, compute, concurrency=DEFAULT_CONCURRENCY):
        self.placement = placement
        self.compute = compute
        self.concurrency = max(1, int(concurrency))

    @classmethod
    def from_client_manager(cls, client_manager,
                            concurrency=DEFAULT_CONCURRENCY,
                            timeout=DEFAULT_TIMEOUT):
        """Build per-ClientManager clients from its openstacksdk connection.

        No class-level cache: a new shell (or test) gets new clients.
        """
        conn = client_manager.sdk_connection
        stats = RequestStats()
        return cls(ServiceClient(PLACEMENT, conn.placement, stats=stats,
                                 timeout=timeout),
                   ServiceClient(COMPUTE, conn.compute, stats=stats,
                                 timeout=timeout),
                   concurrency=concurrency)

    @property
    def stats(self):
        return self.placement.stats

    def map(self, func, items, progress=None):
        """Run ``func(item)`` for each item on the bounded pool, in order.

        The first failure cancels what has not started and is re-raised, so
        a caller never receives a partial result as if complete.
        """
        items = list(items)
        if self.concurrency == 1 or len(items) <= 1:
            results = []
            for done, item in enumerate(items, 1):
                results.append(func(item))
                if progress:
                    progress(done, len(items))
            return results
        results = [None] * len(items)
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=self.concurrency) as pool:
            futures = {pool.submit(func, item): i
                       for i, item in enumerate(items)}
            try:
                done = 0
                for future in concurrent.futures.as_completed(futures):
                    results[futures[future]] = future.result()
                    done += 1
                    if progress:
                        progress(done, len(items))
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        return results
