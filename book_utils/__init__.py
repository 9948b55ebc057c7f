"""Helpers for the executable CNN chapter (卷积神经网络).

Small modules, each named for one concept; notebooks import what they use, e.g.
``from book_utils import data, train``. Importing this package imports nothing heavy.
"""
__version__ = "0.1.0"
__all__ = ["data", "layers", "models", "plot", "profiles", "train"]
