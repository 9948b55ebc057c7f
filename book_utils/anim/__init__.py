"""Sliding-window pictures (being split by concern: for now everything lives in ``window``)."""
from .window import (OPS, SlidingWindow, SlidingWindowFigure, animate, controls, controls_spec,
                     default_title, format_value, render_frame)

__all__ = ["SlidingWindow", "SlidingWindowFigure", "animate", "render_frame", "controls",
           "controls_spec", "default_title", "format_value", "OPS"]
