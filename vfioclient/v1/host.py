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

"""``openstack vfio host report``, ``host collector`` and ``host script``.

Thin: parse, call :mod:`vfioclient.collect.sysfs` (the host collector,
:mod:`vfioclient.collect.hostscan`), the pure rules and renderers, and
shape rows.  None of the commands needs a cloud.
"""

import argparse
import json
import os

from osc_lib.command import command
from osc_lib import exceptions

from vfioclient.collect import hostscan_script
from vfioclient.collect import libvirt_cache
from vfioclient.collect import sysfs
from vfioclient import fileio
from vfioclient.nova import pci_address
from vfioclient.nova import releases
from vfioclient.nvidia import vgpu_types
from vfioclient.render import bootscript
from vfioclient.render import mdevs
from vfioclient.v1 import base

REPORT_COLUMNS = ('gpu', 'model', 'mode', 'vfs', 'types_in_use',
                  'types_offered')


def _type_label(type_id, name):
    short = vgpu_types.short_name(name)
    return '%d %s' % (type_id, short) if short else str(type_id)


def _write(path, text, mode):
    """Write a script or unit with ``mode`` (never readable by others
    while it is written)."""
    try:
        fileio.write_private_file(path, text)
        os.chmod(path, mode)
    except OSError as e:
        raise exceptions.CommandError('cannot write %s: %s' % (path, e))


def _split_gpu_types(values):
    """``--gpu`` values -> ``([address, ...], {address: type})``: an
    ``<address>=<type>`` gives that GPU its own type."""
    gpus, own_types = [], {}
    for value in values:
        address, sep, spec = value.partition('=')
        if sep and address in own_types:
            raise exceptions.CommandError('--gpu %s is given two types'
                                          % address)
        gpus.append(address)
        if sep:
            own_types[address] = spec
    return gpus, own_types


def gpu_row(gpu):
    """One table row of a :class:`~vfioclient.model.host.Gpu`."""
    in_use = ', '.join('%s x%d' % (_type_label(u.id, u.name), u.count)
                       for u in gpu.types_in_use)
    offered = ', '.join(_type_label(t.id, t.name) for t in gpu.types_offered)
    return (gpu.address, gpu.model, gpu.mode, gpu.vf_count, in_use, offered)


class ReportHost(base.DocumentLister):
    """Show what this host's NVIDIA GPUs are set up for (reads sysfs).

    Document: -f json prints the whole versioned host report, which
    ``config check --host-report``, ``audit --host-report`` and ``plan``
    read (--output also writes it to a file). Rows: -f table, csv, value
    and yaml print one row per physical GPU (-c and --sort-column apply to
    rows only).
    """

    auth_required = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        base.add_file_option(
            parser, '--sysfs-root', 'Read sysfs (and mdevctl\'s '
            'definitions, etc/mdevctl.d, and libvirt\'s QEMU capabilities '
            'cache, var/cache/libvirt/qemu/capabilities) below <dir> instead '
            'of / (a copy or a fake tree of a host).', metavar='<dir>',
            default='/')
        parser.add_argument(
            '--hostname', metavar='<name>',
            help='Host name recorded in the report (default: this '
                 'machine\'s name).  Use the name nova-compute reports.')
        for what, minimum in (
                ('libvirt', releases.MIN_LIVE_MIGRATABLE_LIBVIRT),
                ('QEMU', releases.MIN_LIVE_MIGRATABLE_QEMU)):
            parser.add_argument(
                '--%s-version' % what.lower(), metavar='<version>',
                type=libvirt_cache.version_argument,
                help='%s version of the host (default: read from libvirt\'s '
                     'capabilities cache, which needs root). "config '
                     'check --host-report" refuses live_migratable below '
                     '%s.' % (what, releases.format_version(minimum)))
        base.add_file_option(
            parser, '--output', 'Also write the host report document (JSON) '
            'to <file> (mode 0600).')
        return parser

    def take_action(self, parsed_args):
        root = parsed_args.sysfs_root
        if not os.path.isdir(root):
            raise exceptions.CommandError('--sysfs-root %s is not a directory'
                                          % root)
        self._report = sysfs.collect_host_report(
            root, hostname=parsed_args.hostname,
            libvirt_version=parsed_args.libvirt_version,
            qemu_version=parsed_args.qemu_version)
        if parsed_args.output:
            try:
                fileio.write_private_file(
                    parsed_args.output,
                    json.dumps(self._report.to_json(), indent=2) + '\n')
            except OSError as e:
                raise exceptions.CommandError(
                    'cannot write %s: %s' % (parsed_args.output, e))
        return REPORT_COLUMNS, [gpu_row(g) for g in self._report.gpus]

    def document(self, formatter):
        return self._report.to_json()

    def produce_output(self, parsed_args, column_names, data):
        result = super().produce_output(parsed_args, column_names, data)
        if parsed_args.formatter in self.document_formats:
            # The document carries the warnings itself.
            return result
        for warning in self._report.warnings:
            self.app.stderr.write('warning: %s: %s\n'
                                  % (warning.path, warning.message))
        if not self._report.gpus:
            self.app.stderr.write('no NVIDIA GPU found under %s\n'
                                  % self._report.sysfs_root)
        return result


class CollectorHost(command.Command):
    """Print the host collector: a python3 script writing the host report.

    The script is the collector "host report" runs, as one file that needs
    only python3 on the host, not OSC or this plugin.  It takes
    --sysfs-root, --hostname, --libvirt-version and --qemu-version and
    writes the host report document (JSON) to stdout: the document "host
    report -f json" writes on the same host.
    """

    auth_required = False
    _epilog = (
        'The script needs python3 %(python)s or later.  For each GPU host:'
        '\n\n'
        '  openstack vfio host collector --output %(prog)s\n'
        '  scp %(prog)s HOST:\n'
        '  ssh HOST sudo python3 %(prog)s --hostname NAME > NAME.json\n\n'
        'NAME is the host name nova-compute reports.  Pass the files to\n'
        'audit and plan with --host-report.'
        % {'prog': hostscan_script.PROG,
           'python': hostscan_script.dotted_version(
               hostscan_script.MIN_PYTHON)})

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.formatter_class = type(
            'KeepLinesHelpFormatter', (parser.formatter_class,),
            {'_fill_text': argparse.RawDescriptionHelpFormatter._fill_text})
        base.add_file_option(
            parser, '--output', 'Write the script to <file> (mode 0755) '
            'instead of stdout.')
        return parser

    def take_action(self, parsed_args):
        try:
            script = hostscan_script.render_script()
        except hostscan_script.BundleError as e:
            raise exceptions.CommandError('cannot build the collector: %s'
                                          % e)
        if parsed_args.output:
            _write(parsed_args.output, script, 0o755)
        else:
            self.app.stdout.write(script)
        return 0


class ScriptHost(command.Command):
    """Write the boot script that sets a vGPU type on every VF of a GPU.

    The script (POSIX sh) enables SR-IOV VFs if needed, waits for them,
    checks the type is creatable on each VF and writes it to
    ``nvidia/current_vgpu_type`` where it differs.  It must run at every
    boot before nova-compute: ``--format systemd`` gives the unit for that.

    With --undefine-mdevs it writes instead the script that undefines
    Nova's persisted mdevs (mdevctl undefine), which must go before the
    switch to the variant driver or nova-compute fails to start.
    """

    auth_required = False
    _epilog = (
        'Install (as root on the compute host)::\n\n'
        '  openstack vfio host script --vgpu-type TYPE '
        '--output-dir /tmp/vgpu\n'
        '  install -m 0700 /tmp/vgpu/%(script)s %(script_path)s\n'
        '  install -m 0644 /tmp/vgpu/%(unit)s %(unit_path)s\n'
        '  systemctl daemon-reload && systemctl enable %(unit)s\n\n'
        'Try it first: %(script_path)s --dry-run.  The script reads '
        'VFIO_SYSFS_ROOT to run against a copy of /sys.'
        % {'script': bootscript.SCRIPT_NAME,
           'script_path': bootscript.DEFAULT_SCRIPT_PATH,
           'unit': bootscript.UNIT_NAME,
           'unit_path': bootscript.DEFAULT_UNIT_PATH})

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        # Keep the epilog's install commands one per line.
        parser.formatter_class = type(
            'KeepLinesHelpFormatter', (parser.formatter_class,),
            {'_fill_text': argparse.RawDescriptionHelpFormatter._fill_text})
        parser.add_argument(
            '--vgpu-type', metavar='<type>',
            help='vGPU type to set: a type id (e.g. 1148 or nvidia-1148) '
                 'or a profile name (e.g. "NVIDIA L40S-2Q"; "L40S-2Q" '
                 'also matches).  Required unless --undefine-mdevs or '
                 'every --gpu names its own type.')
        parser.add_argument(
            '--undefine-mdevs', action='store_true',
            help='Write the script that undefines Nova\'s persisted mdevs '
                 '(mdevctl undefine --uuid <uuid> --parent <parent> for '
                 'each; the script has --dry-run) instead of the boot '
                 'script.  The definitions come from --host-report, else '
                 'from etc/mdevctl.d below --sysfs-root.  Run it with '
                 'nova-compute stopped, before the driver switch.')
        base.add_file_option(
            parser, '--sysfs-root', 'With --undefine-mdevs and no '
            '--host-report: read mdevctl\'s definitions below <dir> '
            '(default /).', metavar='<dir>', default='/')
        parser.add_argument(
            '--gpu', metavar='<address>', action='append', default=[],
            help='PCI address of a physical GPU (PF) to set up; repeat for '
                 'several.  As <address>=<type> that GPU gets its own vGPU '
                 'type (GPUs of one host may have different types: Nova takes '
                 'one resource class per PF), the others --vgpu-type.  '
                 'Default: at boot, every NVIDIA GPU on the nvidia driver '
                 'with SR-IOV and without legacy mdev types (pre-Ampere '
                 'boards are skipped).')
        parser.add_argument(
            '--vfs', metavar='<n>', type=int,
            help='Number of VFs per GPU to set up (the first <n>).  Default: '
                 'the VFs that exist at boot, or all (sriov_totalvfs) when '
                 'the script enables them.  Keep it at or below the '
                 'type\'s max_instance.')
        parser.add_argument(
            '--format', dest='output_format', choices=('shell', 'systemd'),
            default='shell',
            help='shell: the boot script (default); systemd: the unit '
                 'that runs it before nova-compute.')
        parser.add_argument(
            '--script-path', metavar='<path>',
            default=bootscript.DEFAULT_SCRIPT_PATH,
            help='Where the unit expects the script (default %s).'
                 % bootscript.DEFAULT_SCRIPT_PATH)
        base.add_file_option(
            parser, '--host-report', 'A "host report -f json" document of '
            'the target host: resolves a profile name to its id now and '
            'checks the --gpu addresses; with --undefine-mdevs, the '
            'persisted mdevs to undefine.')
        parser.add_argument(
            '--wait', metavar='<seconds>', type=int,
            default=bootscript.DEFAULT_WAIT_SECONDS,
            help='How long the script waits for VFs to appear (default '
                 '%d).' % bootscript.DEFAULT_WAIT_SECONDS)
        output = parser.add_mutually_exclusive_group()
        base.add_file_option(
            output, '--output', 'Write to <file> (script mode 0700, unit '
            '0644) instead of stdout.')
        base.add_file_option(
            output, '--output-dir', 'Write both %s and %s into <dir>.'
            % (bootscript.SCRIPT_NAME, bootscript.UNIT_NAME), metavar='<dir>')
        return parser

    def take_action(self, parsed_args):
        report = (base.load_host_report(parsed_args.host_report,
                                        '"host script"')
                  if parsed_args.host_report else None)
        if parsed_args.undefine_mdevs:
            return self._undefine_mdevs(parsed_args, report)
        gpus, own_types = _split_gpu_types(parsed_args.gpu)
        # The GPUs --vgpu-type is for (every GPU found at boot: no --gpu).
        default_used = not gpus or any(g not in own_types for g in gpus)
        if not parsed_args.vgpu_type and default_used:
            raise exceptions.CommandError(
                '--vgpu-type is required (or --undefine-mdevs), unless '
                'every --gpu names its own type (<address>=<type>)')
        try:
            type_id = (bootscript.resolve_type_id(parsed_args.vgpu_type,
                                                  report)
                       if parsed_args.vgpu_type else None)
            gpu_types = {
                gpu: (spec, bootscript.resolve_type_id(spec, report))
                for gpu, spec in own_types.items()}
            script = bootscript.render_script(
                parsed_args.vgpu_type or None, gpus=gpus,
                vfs=parsed_args.vfs, type_id=type_id,
                wait_seconds=parsed_args.wait, gpu_types=gpu_types)
            unit = bootscript.render_systemd_unit(
                list(own_types.values()) + (
                    [parsed_args.vgpu_type] if default_used else []),
                script_path=parsed_args.script_path)
        except ValueError as e:
            raise exceptions.CommandError(str(e))
        if report is not None:
            self._check_gpus(report, gpus)
        if parsed_args.output_dir:
            os.makedirs(parsed_args.output_dir, exist_ok=True)
            for name, text, mode in (
                    (bootscript.SCRIPT_NAME, script, 0o700),
                    (bootscript.UNIT_NAME, unit, 0o644)):
                path = os.path.join(parsed_args.output_dir, name)
                _write(path, text, mode)
                self.app.stdout.write('%s\n' % path)
            return 0
        text = unit if parsed_args.output_format == 'systemd' else script
        if parsed_args.output:
            mode = 0o644 if parsed_args.output_format == 'systemd' else 0o700
            _write(parsed_args.output, text, mode)
        else:
            self.app.stdout.write(text)
        return 0

    # Options of the boot script, with their defaults: refused with
    # --undefine-mdevs rather than ignored.
    _BOOT_SCRIPT_OPTIONS = (
        ('vgpu_type', '--vgpu-type', None), ('gpu', '--gpu', []),
        ('vfs', '--vfs', None), ('output_format', '--format', 'shell'),
        ('script_path', '--script-path', bootscript.DEFAULT_SCRIPT_PATH),
        ('wait', '--wait', bootscript.DEFAULT_WAIT_SECONDS),
        ('output_dir', '--output-dir', None))

    def _undefine_mdevs(self, parsed_args, report):
        given = [flag for name, flag, default in self._BOOT_SCRIPT_OPTIONS
                 if getattr(parsed_args, name) != default]
        if given:
            raise exceptions.CommandError(
                '%s: not with --undefine-mdevs' % ', '.join(given))
        if report is not None:
            if report.mdev_definitions is None:
                raise exceptions.CommandError(
                    '%s predates mdev definitions in host reports: collect '
                    'it again with this version of "openstack vfio host '
                    'report"' % parsed_args.host_report)
            definitions, warnings = report.mdev_definitions, report.warnings
            hostname, source = report.hostname, parsed_args.host_report
        else:
            root = parsed_args.sysfs_root
            if not os.path.isdir(root):
                raise exceptions.CommandError(
                    '--sysfs-root %s is not a directory' % root)
            definitions, warnings = sysfs.collect_mdev_definitions(root)
            hostname, source = None, os.path.join(
                root, sysfs.MDEVCTL_DEFINITIONS)
        for warning in warnings:
            if warning.path.startswith('/' + sysfs.MDEVCTL_DEFINITIONS):
                self.app.stderr.write('warning: %s: %s\n'
                                      % (warning.path, warning.message))
        if not definitions:
            self.app.stderr.write('no persisted mdev in %s: the script '
                                  'only checks that none is left\n' % source)
        try:
            script = mdevs.render_script(definitions, hostname=hostname,
                                         source=source)
        except ValueError as e:
            raise exceptions.CommandError(str(e))
        if parsed_args.output:
            _write(parsed_args.output, script, 0o700)
        else:
            self.app.stdout.write(script)
        return 0

    def _check_gpus(self, report, gpus):
        """Refuse --gpu addresses the host report does not show as GPUs."""
        known = {g.address for g in report.gpus}
        # Already validated by render_script, so normalising cannot fail.
        missing = [a for a in map(pci_address.normalize_address, gpus)
                   if a not in known]
        if missing:
            raise exceptions.CommandError(
                'GPU %s is not a physical GPU in the host report (GPUs: %s)'
                % (', '.join(missing), ', '.join(sorted(known)) or 'none'))
