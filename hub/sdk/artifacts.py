"""Content hashes, as the hub's artifact store names files: a recipe hashes its data files
into the dataset record with :func:`sha256_file` (hex sha256 of a file, read in chunks)."""

from hub.artifacts import sha256_bytes, sha256_file

__all__ = ["sha256_bytes", "sha256_file"]
