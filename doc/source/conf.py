import os
import sys

sys.path.insert(0, os.path.abspath('_exts'))

project = 'vfioclient'
copyright = '2026, vfioclient developers'
extensions = [
    'cliff.sphinxext',
    'findings_doc',
]
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_static_path = []

autoprogram_cliff_application = 'openstack'
autoprogram_cliff_ignored = [
    '--help', '--format', '--column', '--max-width', '--fit-width',
    '--print-empty', '--prefix', '--noindent', '--quote', '--sort-column',
    '--sort-ascending', '--sort-descending',
]
