"""The record of a training run: :class:`History` (per-epoch values, per-batch losses).

Not here: the loop that fills it (:mod:`.loop`), saving it (:mod:`.checkpoints`), plotting
it (:mod:`book_utils.plot`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List


@dataclass
class History:
    """What :func:`fit` records.

    Attributes:
        epochs: one dict per finished epoch with keys ``epoch`` (1-based), ``train_loss``
            (mean per sample), ``train_acc`` (fraction 0-1), ``lr`` (at the end of the epoch),
            ``time_s`` (wall seconds of the training pass) and, when a validation loader is
            given, ``val_loss`` and ``val_acc``.
        batch_loss: loss of every training batch, in order (for loss curves).
        batch_epoch: the (1-based) epoch each entry of ``batch_loss`` belongs to.
    """

    epochs: List[Dict[str, float]] = field(default_factory=list)
    batch_loss: List[float] = field(default_factory=list)
    batch_epoch: List[int] = field(default_factory=list)

    def column(self, key: str) -> List[float]:
        """Values of ``key`` over epochs, e.g. ``history.column("val_acc")``.

        An empty history gives ``[]``.

        Raises:
            KeyError: if epochs were recorded but none has ``key`` (the message lists the
                keys there are, e.g. ``val_acc`` exists only with a validation loader).
        """
        values = [e[key] for e in self.epochs if key in e]
        if self.epochs and not values:
            keys = sorted({k for e in self.epochs for k in e})
            raise KeyError(f"no epoch of this history has {key!r}; its keys are {keys} "
                           f"('val_*' need fit(val_loader=...))")
        return values

    def state_dict(self) -> dict:
        """Plain-Python form (saved in checkpoints)."""
        return {"epochs": list(self.epochs), "batch_loss": list(self.batch_loss),
                "batch_epoch": list(self.batch_epoch)}

    @classmethod
    def from_state_dict(cls, state: dict) -> "History":
        return cls(list(state.get("epochs", [])), list(state.get("batch_loss", [])),
                   list(state.get("batch_epoch", [])))
