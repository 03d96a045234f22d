"""The hub's training pipeline for learned property models (domain-free: no domain imported).

A recipe (or a trainer of user data) featurizes its inputs, declares how the model is evaluated
(:class:`~hub.learning.pipeline.Evaluation`: the split functions, the held-out groups, the
applicability domain's similarity, the task) and calls :func:`~hub.learning.pipeline.learn`,
which trains the ensembles of the chosen family, measures and calibrates, stores the served
model and the plots, and returns what to register (:class:`~hub.learning.pipeline.Learned`).
Domains reach it through :mod:`hub.sdk.learning`.

- :mod:`hub.learning.families`  the model families (``params["family"]``): Keras MLPs,
  LightGBM trees, or a blend of both; how each fits, predicts and is stored
- :mod:`hub.learning.ensemble`  Keras MLP ensembles (regression, or sigmoid members)
- :mod:`hub.learning.trees`     LightGBM ensembles, stored as JSON of LightGBM text models
- :mod:`hub.learning.metrics`   held-out figures, calibration, aggregation into metrics
- :mod:`hub.learning.plots`     parity and uncertainty plots; ROC and reliability plots;
  the learning curve
- :mod:`hub.learning.splits`    seeded random splits
- :mod:`hub.learning.pipeline`  :func:`learn`, the steps in order

Keras is imported only inside the functions that train. The names a domain uses are
re-exported by :mod:`hub.sdk.learning`.
"""
