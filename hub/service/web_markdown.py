"""The Markdown model card of the HTTP layer: :mod:`hub.cards.markdown`, re-exported (the card
is rendered without HTTP, for packs too)."""

from hub.cards.markdown import card_markdown

__all__ = ["card_markdown"]
