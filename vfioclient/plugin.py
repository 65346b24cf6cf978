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

"""OpenStackClient plugin contract for ``openstack vfio ...``.

vfioclient talks to Placement and Nova through
``client_manager.sdk_connection`` and chooses its microversions per call
(see :mod:`vfioclient.cloud.client`), so it adds no global
``--os-*-api-version`` option: those belong to osc-placement and OSC core,
and registering them twice crashes the ``openstack`` shell.
"""

import logging

from vfioclient.cloud import client

LOG = logging.getLogger(__name__)

API_NAME = 'vfio'
# OSC reads this attribute unconditionally; without it every command breaks.
API_VERSION_OPTION = 'os_vfio_api_version'
DEFAULT_API_VERSION = '1'
API_VERSIONS = ('1',)


def check_api_version(check_version):
    """Accept any version: microversions are negotiated per request."""
    return True


def make_client(instance):
    """Return the vfioclient API facade for this ClientManager.

    The facade is built lazily and holds no state across ClientManagers
    (functional tests build a new shell per test).
    """
    return client.CloudClient.from_client_manager(instance)


def build_option_parser(parser):
    """No global options (see module docstring)."""
    return parser
