"""A model card: the model, its versions with their metrics, its aliases. Plain Python, so the
HTTP layer, the CLI and the web pages share it."""

from __future__ import annotations

from hub.catalog import CatalogStore
from hub.service.schemas import AliasPublic, ModelCard, ModelPublic, VersionPublic


def model_card(store: CatalogStore, name: str) -> ModelCard:
    model = store.get_model(name)
    versions = store.list_versions(name)
    aliases = store.list_aliases(name)
    return ModelCard(
        **ModelPublic.of(model).model_dump(),
        latest_version=versions[-1].version if versions else None,
        versions=[VersionPublic.of(v) for v in reversed(versions)],
        aliases=[AliasPublic.of(a) for a in aliases],
    )
