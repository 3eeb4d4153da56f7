"""vaxreport: cleanse Viet Nam's COVID-19 vaccination exports and render Đề án 06 progress reports."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
