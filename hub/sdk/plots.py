"""Plots a recipe stores with its version, as deterministic SVG bytes (see :mod:`hub.plots`).

Store each as an artifact whose role starts with ``plot_`` and name it in
``spec["plots"] = {role: caption}``; the catalog pages show them. :func:`parity_svg`
(predicted against true), :func:`uncertainty_svg` (error against predicted sigma),
:func:`curve_svg` (any y(x), an equation of state or a learning curve).
"""

from hub.plots import curve_svg, parity_svg, uncertainty_svg

__all__ = ["curve_svg", "parity_svg", "uncertainty_svg"]
