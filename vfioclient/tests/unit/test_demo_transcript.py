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

"""The demo transcript is stable: what differs between runs is replaced."""

import io

import testtools

from vfioclient.sandbox import demo


class TestTranscript(testtools.TestCase):

    def test_normalise(self):
        t = demo.Transcript('/dev/null', '/tmp/vfio-sandbox-demo-abc123',
                            io.StringIO())
        text = ('$ openstack vfio plan --output '
                '/tmp/vfio-sandbox-demo-abc123/demo/plan.json\n'
                '  (12.3 s, exit 0)\n'
                'keystone on 127.0.0.1:35123 pid 4242   \n'
                'collected_at 2026-11-25T20:15:01Z took 0.25 s\n'
                'state /tmp/vfio-sandbox-demo-abc123/clouds.yaml\n'
                'project 0123456789abcdef0123456789abcdef\n')
        self.assertEqual(
            '$ openstack vfio plan --output $DEMO/plan.json\n'
            '  (exit 0)\n'
            'keystone on 127.0.0.1:PORT pid PID\n'
            'collected_at YYYY-MM-DDTHH:MM:SSZ took N s\n'
            'state $SANDBOX/clouds.yaml\n'
            'project <keystone-id>\n',
            t.normalise(text))

    def test_write_passes_through(self):
        out = io.StringIO()
        t = demo.Transcript('/dev/null', '/tmp/x', out)
        t.write('hello\n')
        self.assertEqual('hello\n', out.getvalue())
        self.assertFalse(t.isatty())
