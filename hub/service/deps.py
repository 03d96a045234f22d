"""Typed dependencies: the runtime (and through it the catalog) of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub.catalog import CatalogStore
from hub.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_catalog(request: Request) -> CatalogStore:
    return request.app.state.runtime.store


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CatalogDep = Annotated[CatalogStore, Depends(get_catalog)]
