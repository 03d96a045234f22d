"""Model cards, without the HTTP layer: the card's shapes (:mod:`hub.cards.schemas`,
pydantic), what a card says about calling a model (:mod:`hub.cards.params`) and the card
itself (:mod:`hub.cards.card`: :func:`model_card`, metric tables, usage examples), and its
Markdown form (:mod:`hub.cards.markdown`). The HTTP API (:mod:`hub.service.cards`), the web
pages, ``card.md``, the packs' ``CARD.md`` and ``hub models show`` share them."""
