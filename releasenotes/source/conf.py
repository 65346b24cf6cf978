project = 'vfioclient release notes'
copyright = '2026, vfioclient developers'
extensions = ['reno.sphinxext']
master_doc = 'index'
html_theme = 'alabaster'
