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

"""Read nova.conf files with oslo.config, the way nova-compute does.

``read_conf(['a.conf', 'b.conf'])`` combines the files like
``nova-compute --config-file a.conf --config-file b.conf``: repeated
``device_spec`` keys and the deprecated names (``[pci]
passthrough_whitelist``, ``[DEFAULT] pci_passthrough_whitelist``,
``[devices] enabled_vgpu_types``, ``[vgpu_<type>]``) behave as in Nova
because oslo.config itself resolves them.  oslo.config does not keep line
numbers, so the files are also scanned with oslo's own INI parser and each
value is mapped back to the line that holds it.
"""

import collections
import contextlib
import hashlib
import logging
import os
import re

from oslo_config import cfg
from oslo_config import iniparser

from vfioclient.model import conf as model

DEVICE_SPEC_NAMES = (('pci', 'device_spec'), ('pci', 'passthrough_whitelist'),
                     ('DEFAULT', 'pci_passthrough_whitelist'))
ALIAS_NAMES = (('pci', 'alias'), ('DEFAULT', 'pci_alias'))
# Names people write that Nova does not have (the docs' live-migration
# example uses ``dev_spec``); oslo.config ignores them silently.
UNKNOWN_PCI_NAMES = ('dev_spec', 'devspec', 'device_specs',
                     'passthrough_white_list')
MAX_FILE_BYTES = 64 * 1024 * 1024


def _group_name(section):
    # oslo.config lower-cases group names, except DEFAULT.
    return section if section == 'DEFAULT' else section.lower()


class _Assignment:
    __slots__ = ('path', 'line', 'section', 'key', 'value')

    def __init__(self, path, line, section, key, value):
        self.path, self.line = path, line
        self.section, self.key, self.value = section, key, value

    def source(self):
        return model.Source(self.path, self.line, self.section, self.key)


class _Scanner(iniparser.BaseParser):
    """oslo's INI grammar, remembering the line each key starts on."""

    def __init__(self, path):
        self.path = path
        self.section = None
        self.sections = []      # (section, line)
        self.assignments = []
        self._key_line = None
        self.sha256 = None      # of the file's bytes (plan inputs)

    def _split_key_value(self, line):
        self._key_line = self.lineno
        return super()._split_key_value(line)

    def new_section(self, section):
        self.section = _group_name(section)
        self.sections.append((self.section, self.lineno))

    def assignment(self, key, value):
        if self.section is None:
            raise self.parse_exc('Section must be started before assignment',
                                 self.lineno, key)
        self.assignments.append(_Assignment(
            self.path, self._key_line, self.section, key, '\n'.join(value)))


def _scan(path):
    """Check a file is a readable INI file; return its scanner."""
    if not os.path.exists(path):
        raise model.ConfReadError('nova.conf file %s does not exist' % path)
    if os.path.isdir(path):
        raise model.ConfReadError('%s is a directory, not a file' % path)
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise model.ConfReadError(
                '%s is %d bytes, larger than any nova.conf (limit %d)'
                % (path, size, MAX_FILE_BYTES))
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        raise model.ConfReadError('cannot read %s: %s' % (path, e.strerror))
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise model.ConfReadError(
            '%s is not a text file (not UTF-8 at byte %d)' % (path, e.start))
    if '\x00' in text:
        raise model.ConfReadError('%s is not a text file (NUL byte)' % path)
    scanner = _Scanner(path)
    scanner.sha256 = hashlib.sha256(data).hexdigest()
    try:
        scanner.parse(text.splitlines(keepends=True))
    except iniparser.ParseError as e:
        raise model.ConfReadError('%s is not an INI file: %s' % (path, e))
    return scanner


def _register(conf):
    conf.register_opts([
        cfg.MultiStrOpt('device_spec', default=[], deprecated_opts=[
            cfg.DeprecatedOpt('passthrough_whitelist', group='pci'),
            cfg.DeprecatedOpt('pci_passthrough_whitelist',
                              group='DEFAULT')]),
        cfg.MultiStrOpt('alias', default=[], deprecated_name='pci_alias',
                        deprecated_group='DEFAULT'),
        cfg.BoolOpt('report_in_placement', default=False),
    ], group='pci')
    conf.register_opt(cfg.BoolOpt('pci_in_placement', default=False),
                      group='filter_scheduler')
    conf.register_opt(cfg.ListOpt('enabled_mdev_types', default=[],
                                  deprecated_name='enabled_vgpu_types'),
                      group='devices')


def _register_mdev(conf, mdev_type):
    # Same definitions as nova.conf.devices.register_dynamic_opts.
    group = 'mdev_%s' % mdev_type
    conf.register_opts([
        cfg.ListOpt('device_addresses', default=[],
                    item_type=cfg.types.String(),
                    deprecated_group='vgpu_%s' % mdev_type),
        cfg.StrOpt('mdev_class', default='VGPU',
                   regex=r'^(VGPU|CUSTOM_[A-Z0-9_]+)$', max_length=255),
        cfg.IntOpt('max_instances', default=None, min=1),
    ], group=group)
    return group


class _Reader:
    def __init__(self, paths):
        self.paths = tuple(paths)
        self.assignments = []
        self.sections = []
        self.digests = []
        for path in self.paths:
            scanner = _scan(path)
            self.digests.append(scanner.sha256)
            self.assignments.extend(scanner.assignments)
            self.sections.extend((s, path, line)
                                 for s, line in scanner.sections)
        self._by_value = collections.defaultdict(collections.deque)
        for a in self.assignments:
            self._by_value[(a.section, a.key, a.value)].append(a)
        self.errors = []
        self.conf = cfg.ConfigOpts()
        _register(self.conf)
        args = []
        for path in self.paths:
            args += ['--config-file', path]
        try:
            self.conf(args=args, project='nova', prog='nova-compute',
                      default_config_files=[], default_config_dirs=[],
                      use_env=False)
        except (cfg.Error, ValueError, OSError) as e:
            raise model.ConfReadError('cannot read %s: %s'
                                      % (', '.join(self.paths), e))

    def find(self, value, names):
        """The first unused assignment of ``value`` under one of names.

        oslo.config keeps values, not positions; equal values are handed
        out in file order.
        """
        candidates = [self._by_value[(s, k, value)] for s, k in names]
        candidates = [q for q in candidates if q]
        if not candidates:
            return model.Source(None, None, names[0][0], names[0][1])
        queue = min(candidates, key=lambda q: (self.paths.index(
            q[0].path) if q[0].path in self.paths else 0, q[0].line))
        return queue.popleft().source()

    def last_source(self, names):
        found = [a for a in self.assignments if (a.section, a.key) in names]
        return found[-1].source() if found else None

    def get(self, group, name, names, default):
        try:
            return getattr(getattr(self.conf, group), name)
        except (cfg.Error, ValueError) as e:
            source = self.last_source(names) or model.Source(
                None, None, group, name)
            raw = next((a.value for a in reversed(self.assignments)
                        if (a.section, a.key) in names), '')
            self.errors.append(model.OptionError(
                source, raw, _option_error_text(e)))
            return default

    def entries(self, values, names):
        result = []
        for number, text in enumerate(values, 1):
            source = self.find(text, names)
            result.append(model.ConfEntry(text, number, source))
        return tuple(result)


def _option_error_text(error):
    text = str(error).replace('\n', ' ')
    # oslo's messages embed a LocationInfo repr; keep the useful tail.
    match = re.search(r'is not valid: (.*)$', text)
    return match.group(1) if match else text


@contextlib.contextmanager
def _quiet_oslo():
    """oslo.config logs deprecated names; the lint reports them itself."""
    logger = logging.getLogger('oslo_config')
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def read_conf(paths):
    """Read nova.conf files into a :class:`vfioclient.model.conf.ConfSnapshot`.

    :raises vfioclient.model.conf.ConfReadError: missing, unreadable, binary
        or non-INI file.
    """
    if not paths:
        raise model.ConfReadError('no nova.conf file given')
    with _quiet_oslo():
        return _read_conf(paths)


def _read_conf(paths):
    reader = _Reader(paths)
    rip_names = (('pci', 'report_in_placement'),)
    pip_names = (('filter_scheduler', 'pci_in_placement'),)
    mdev_names = (('devices', 'enabled_mdev_types'),
                  ('devices', 'enabled_vgpu_types'))

    device_specs = reader.entries(
        reader.get('pci', 'device_spec', DEVICE_SPEC_NAMES, []),
        DEVICE_SPEC_NAMES)
    aliases = reader.entries(
        reader.get('pci', 'alias', ALIAS_NAMES, []), ALIAS_NAMES)
    report_in_placement = reader.get('pci', 'report_in_placement',
                                     rip_names, False)
    pci_in_placement = reader.get('filter_scheduler', 'pci_in_placement',
                                  pip_names, False)
    enabled = tuple(reader.get('devices', 'enabled_mdev_types', mdev_names,
                               []))

    groups = []
    for mdev_type in dict.fromkeys(enabled):
        groups.append(_mdev_group(reader, mdev_type))

    wanted = {'mdev_%s' % t for t in enabled} | {'vgpu_%s' % t
                                                 for t in enabled}
    stray = tuple(model.Source(path, line, section)
                  for section, path, line in reader.sections
                  if section.startswith(('mdev_', 'vgpu_'))
                  and section not in wanted)
    unknown = []
    for a in reader.assignments:
        if a.section == 'pci' and a.key in UNKNOWN_PCI_NAMES:
            unknown.append(model.ConfEntry(a.value, len(unknown) + 1,
                                           a.source()))
    return model.ConfSnapshot(
        files=reader.paths,
        sha256=tuple(reader.digests),
        device_specs=device_specs,
        aliases=aliases,
        report_in_placement=bool(report_in_placement),
        report_in_placement_source=reader.last_source(rip_names),
        pci_in_placement=bool(pci_in_placement),
        pci_in_placement_source=reader.last_source(pip_names),
        enabled_mdev_types=enabled,
        enabled_mdev_types_source=reader.last_source(mdev_names),
        mdev_groups=tuple(groups),
        stray_mdev_sections=stray,
        unknown_pci_options=tuple(unknown),
        option_errors=tuple(reader.errors))


def _mdev_group(reader, mdev_type):
    group = _register_mdev(reader.conf, mdev_type)
    legacy = 'vgpu_%s' % mdev_type
    names = lambda key: ((group, key), (legacy, key))  # noqa: E731
    addresses = reader.get(group, 'device_addresses',
                           names('device_addresses'), [])
    mdev_class = reader.get(group, 'mdev_class', names('mdev_class'), 'VGPU')
    max_instances = reader.get(group, 'max_instances',
                               names('max_instances'), None)
    section = next(((s, p, line) for s, p, line in reader.sections
                    if s in (group, legacy)), None)
    source = (model.Source(section[1], section[2], section[0])
              if section else model.Source(None, None, group))
    return model.MdevGroup(
        mdev_type=mdev_type,
        device_addresses=tuple(a.strip() for a in addresses or ()),
        mdev_class=mdev_class or 'VGPU',
        max_instances=max_instances,
        source=source,
        addresses_source=reader.last_source(names('device_addresses')))
