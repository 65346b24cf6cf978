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

"""A Neutron stand-in for the sandbox: THIS IS A STUB.

Nova's server views always ask Neutron for the ports of a server (to fill
in security groups), so ``server list``/``server show`` fail with 500
without a network endpoint.  Networking is outside vfioclient's problem,
so this WSGI app answers every ``GET /v2.0/<collection>`` with an empty
list (``{"<collection>": []}``) and everything else with 404.  It is the
only stub in the sandbox; Keystone, Placement and the Nova API are the
real services.
"""

import json


def application(environ, start_response):
    path = environ.get('PATH_INFO', '/').rstrip('/')
    host = environ.get('HTTP_HOST', '127.0.0.1')
    if path in ('', '/v2.0'):
        body = {'versions': [{
            'id': 'v2.0', 'status': 'CURRENT',
            'links': [{'rel': 'self',
                       'href': 'http://%s/v2.0/' % host}]}]}
    elif (path.startswith('/v2.0/')
          and environ.get('REQUEST_METHOD') == 'GET'):
        coll = path[len('/v2.0/'):].split('/')[0]
        if coll.endswith('.json'):
            coll = coll[:-5]
        coll = coll.replace('-', '_')
        body = {coll: []}
    else:
        data = json.dumps({'NeutronError': {
            'type': 'HTTPNotFound',
            'message': 'vfio-sandbox neutron stub: only GET of '
                       'collections is answered (empty lists)',
            'detail': ''}}).encode()
        start_response('404 Not Found',
                       [('Content-Type', 'application/json'),
                        ('Content-Length', str(len(data)))])
        return [data]
    data = json.dumps(body).encode()
    start_response('200 OK', [('Content-Type', 'application/json'),
                              ('Content-Length', str(len(data)))])
    return [data]
