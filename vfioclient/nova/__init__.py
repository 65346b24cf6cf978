"""Nova's PCI / vGPU configuration semantics, in one place.

Pure functions and immutable records, no I/O and no ``import nova``: the
conformance tests (``vfioclient/tests/conformance``) compare these with
Nova itself.  Modules:

* :mod:`.names` - resource class / trait normalisation, Placement validity
* :mod:`.devspec` - ``[pci] device_spec`` parsing and first-match matching
* :mod:`.alias` - ``[pci] alias`` schema, merging and validation
* :mod:`.extra_specs` - ``pci_passthrough:alias`` and request groups
* :mod:`.mdev` - legacy ``enabled_mdev_types`` / ``[mdev_*]``
* :mod:`.errors` - exceptions whose text is Nova's reason
"""

from vfioclient.nova.alias import Alias  # noqa: F401
from vfioclient.nova.alias import AliasSpec  # noqa: F401
from vfioclient.nova.alias import parse_alias_entry  # noqa: F401
from vfioclient.nova.alias import parse_aliases  # noqa: F401
from vfioclient.nova.devspec import DeviceSpec  # noqa: F401
from vfioclient.nova.devspec import first_match  # noqa: F401
from vfioclient.nova.devspec import parse_device_spec  # noqa: F401
from vfioclient.nova.devspec import parse_device_spec_line  # noqa: F401
from vfioclient.nova.devspec import parse_device_specs  # noqa: F401
from vfioclient.nova.devspec import PciDevice  # noqa: F401
from vfioclient.nova.errors import NovaConfigError  # noqa: F401
from vfioclient.nova.names import get_resource_class  # noqa: F401
from vfioclient.nova.names import get_traits  # noqa: F401
from vfioclient.nova.names import normalize_resource_class  # noqa: F401
from vfioclient.nova.names import normalize_traits  # noqa: F401
