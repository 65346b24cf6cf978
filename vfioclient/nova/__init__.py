"""Nova's PCI / vGPU configuration semantics, in one place.

Pure functions and immutable records, no I/O and no ``import nova``: the
conformance tests (``vfioclient/tests/conformance``) compare these with
Nova itself.  Import the modules themselves:

* :mod:`.names` - resource class / trait normalisation, Placement validity
* :mod:`.pci_address` - PCI addresses as Nova parses them, canonical form
* :mod:`.devspec` - ``[pci] device_spec`` parsing and first-match matching
* :mod:`.alias` - ``[pci] alias`` schema, merging and validation
* :mod:`.extra_specs` - ``pci_passthrough:alias`` and request groups
* :mod:`.flavors` - ``resources*:`` / ``trait*:`` extra specs of a flavor
* :mod:`.flavor_request` - what a new VF flavor asks Placement for
* :mod:`.mdev` - legacy ``enabled_mdev_types`` / ``[mdev_*]``
* :mod:`.providers` - Nova's resource provider names
* :mod:`.errors` - exceptions whose text is Nova's reason
"""
