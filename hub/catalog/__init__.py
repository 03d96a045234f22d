"""The SQL catalog: models, immutable versions, movable aliases, tags and metrics."""

from hub.catalog.refs import Ref, parse_ref
from hub.catalog.store import CatalogStore

__all__ = ["CatalogStore", "Ref", "parse_ref"]
