"""Character cards and lorebooks from other tools -> world files (and cards back out).

Layering: this package imports only :mod:`simengine.world`; the CLI imports it.
"""

from simengine.importers.build import Imported, import_files
from simengine.importers.sources import ImportFailed, read_source

__all__ = ["ImportFailed", "Imported", "import_files", "read_source"]
