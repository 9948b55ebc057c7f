"""Recorded results of full-profile runs, shown on the pages beside the run just made.

A record is JSON at ``book_utils/results/<chapter>_<kind>.json`` (shipped with the package),
``kind`` ``"cpu"`` or ``"gpu"`` (any accelerator): the two never overwrite each other, and
:func:`load_recorded` prefers the GPU record. Only a full-profile run on all of the data
writes one (``scripts/run_full_cifar.py``, or the LeNet page with ``CNN_BOOK_PROFILE=full
CNN_BOOK_RECORD=1``); without one the pages say :data:`NOT_RECORDED`. A record names its
device, torch version and data; each run (:func:`run_record`) holds per-epoch curves, test
accuracy and loss, per-class accuracy, the confusion matrix and, as digit strings, every test
image's predicted and true class (for paired tests such as McNemar's). A file may hold some
of a chapter's recipes (``save_results(..., merge=True)`` adds them one by one).

Schema (version :data:`RESULTS_SCHEMA`)::

    {"schema": 1, "chapter": "lenet", "profile": "full",
     "config": {"epochs": .., "batch_size": .., "train_subset": null, "test_subset": null,
                "extra": {..}, "describe": ".."},
     "data": "MNIST (IDX files)", "environment": {"device": "NVIDIA H200", "torch": "..", ..},
     "created": "2026-..Z", "wall_s": 123.4,
     "runs": {"<recipe>": {"test_accuracy": 0.99, "test_loss": 0.03, "epochs": [..],
                           "seconds_per_epoch": 1.2, "predictions": "3861..",
                           "targets": "3861..", ..}}}

Not here: training and evaluation (:mod:`book_utils.train`), the tables and figures drawn
from a record (:mod:`book_utils.cifar.report`, :mod:`book_utils.plot`).
"""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import re
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Union

import torch

PathLike = Union[str, os.PathLike]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS_SCHEMA = 1
NOT_RECORDED = "No full run has been recorded yet."
#: the kinds of record, in the order :func:`load_recorded` prefers them
RECORD_KINDS = ("gpu", "cpu")
#: Set to 1 to let a notebook run in the ``full`` profile write its results file.
RECORD_ENV = "CNN_BOOK_RECORD"
_REQUIRED = ("schema", "chapter", "profile", "config", "data", "environment", "runs")
_REQUIRED_RUN = ("test_accuracy", "test_loss", "epochs", "seconds_per_epoch")
_REQUIRED_TEST = ("loss", "accuracy", "n")


def _is_finite_number(value) -> bool:
    return (not isinstance(value, bool) and isinstance(value, (int, float))
            and math.isfinite(value))


def record_kind(device) -> str:
    """``"cpu"`` for a CPU device, ``"gpu"`` for any accelerator (``cuda``, ``mps``, ...)."""
    return "cpu" if torch.device(device).type == "cpu" else "gpu"


def results_path(chapter: str, folder: Optional[PathLike] = None,
                 kind: Optional[str] = None) -> Path:
    """``<folder>/<chapter>_<kind>.json``; ``folder`` defaults to :data:`RESULTS_DIR`.

    Args:
        kind: ``"cpu"`` or ``"gpu"``; ``None``: the kind of the device this machine trains on
            (:func:`book_utils.train.choose_device`), i.e. where a run started now records.

    Raises:
        ValueError: if ``chapter`` is not one of :func:`book_utils.profiles.known_chapters`
            or ``kind`` is not one of :data:`RECORD_KINDS`.
    """
    from .profiles import known_chapters
    if chapter not in known_chapters():
        raise ValueError(f"unknown chapter {chapter!r}; recorded results exist for the chapters "
                         f"{list(known_chapters())}")
    if kind is None:
        from .train import choose_device
        kind = record_kind(choose_device())
    if kind not in RECORD_KINDS:
        raise ValueError(f"kind must be one of {RECORD_KINDS}, got {kind!r}")
    return Path(folder if folder is not None else RESULTS_DIR) / f"{chapter}_{kind}.json"


def _kind_of_file(path: Path) -> Optional[str]:
    return (re.fullmatch(r".+_(cpu|gpu)\.json", path.name) or [None, None])[1]


def encode_labels(labels) -> str:
    """Class indices ``0..9`` as digits, one per image (``[3, 8, 0]`` -> ``"380"``); raises
    ``ValueError`` for a label outside ``0..9``."""
    values = torch.as_tensor(labels).reshape(-1).tolist()
    if any(isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 9 for v in values):
        raise ValueError("labels must be integer class indices 0..9 to be stored as digits")
    return "".join(map(str, values))


def decode_labels(text: str) -> torch.Tensor:
    """The inverse of :func:`encode_labels`: an ``int64`` tensor of shape ``(len(text),)``;
    raises ``ValueError`` if ``text`` is not a string of digits."""
    if not isinstance(text, str) or not text.isdigit() or not text.isascii():
        raise ValueError("predictions/targets must be a non-empty string of digits 0-9")
    return torch.tensor([int(c) for c in text], dtype=torch.int64)


def prediction_fields(preds, targets) -> Dict[str, str]:
    """``{"predictions": digits, "targets": digits}`` for a run summary (per test image,
    in test-set order), from the ``preds`` and ``targets`` of
    ``book_utils.train.evaluate(..., per_image=True)``.

    Raises:
        ValueError: if the two differ in length or hold labels outside ``0..9``.
    """
    preds, targets = encode_labels(preds), encode_labels(targets)
    if len(preds) != len(targets) or not preds:
        raise ValueError(f"preds ({len(preds)}) and targets ({len(targets)}) must be the same "
                         f"non-empty set of test images")
    return {"predictions": preds, "targets": targets}


def short_source(source: str) -> str:
    """A data-source description without local paths, e.g. ``"CIFAR-10 (JPEG copy)"``.

    ``"CIFAR-10 (JPEG copy, from /data/cifar10-jpg/train.tar.gz)"`` -> ``"CIFAR-10 (JPEG copy)"``;
    ``"MNIST (IDX files in /data/MNIST/raw)"`` -> ``"MNIST (IDX files)"``.
    """
    text = re.sub(r",?\s*(?:in|from)?\s*/[^\s,)]*", "", source)
    return re.sub(r"\(\s*\)", "", text).strip()


def record_requested(config) -> bool:
    """Whether this run should write its results file.

    True only when ``CNN_BOOK_RECORD=1`` is set and ``config`` (a
    :class:`~book_utils.profiles.RunConfig`) is the ``full`` profile on all of the data, so a
    quick or partial run can never overwrite a recorded full run.
    """
    wanted = os.environ.get(RECORD_ENV, "") == "1"
    return bool(wanted and config.profile == "full" and config.train_subset is None
                and config.test_subset is None)


def environment_info(device: torch.device) -> Dict[str, str]:
    """Device name and library versions, as recorded in a results file."""
    import torchvision

    from .train import device_name
    return {"device": device_name(device), "device_type": torch.device(device).type,
            "torch": torch.__version__, "torchvision": torchvision.__version__,
            "cuda": str(torch.version.cuda), "python": platform.python_version()}


def _rounded(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def run_record(history, test: Dict[str, Any], confusion, classes: Sequence[str], train_seconds: float,
               loss_points: int = 100, **details: Any) -> Dict[str, Any]:
    """One run's summary for :func:`save_results`, with what a page draws from a record.

    Args:
        history: the :class:`book_utils.train.History` of the run.
        test: the final test evaluation, ``{"loss": mean per sample, "accuracy": 0-1, "n": int}``
            (:func:`book_utils.train.evaluate`).
        confusion: ``(K, K)`` integer counts ``[true, predicted]`` over the same test images.
        classes: the ``K`` class names.
        train_seconds: wall seconds of training (all epochs, as measured by the page).
        loss_points: the per-batch losses are stored as at most this many means of
            consecutive batches (a loss curve without thousands of numbers).
        **details: anything else worth keeping (recipe, threads, amp, ...), JSON-serialisable.

    When ``test`` holds ``preds`` and ``targets`` (``evaluate(..., per_image=True)``), the
    summary also holds them as digit strings (:func:`prediction_fields`).

    Returns:
        ``{"test_accuracy", "test_loss", "test_images", "epochs": [per-epoch dicts],
        "seconds_per_epoch", "train_seconds", "classes", "per_class_accuracy": [K fractions],
        "confusion_matrix": K x K lists, "batch_loss_means", "batches_per_point", **details}``.

    Raises:
        ValueError: if ``test`` lacks ``loss``, ``accuracy`` or ``n``, ``train_seconds`` is
            not a finite number >= 0, the confusion matrix is not ``K x K`` for the ``K``
            classes, its counts do not add up to ``test["n"]``, a class has no test image, the
            history is empty, or ``loss_points`` is not a positive integer.
    """
    missing = [k for k in _REQUIRED_TEST if not isinstance(test, dict) or k not in test]
    if missing:
        raise ValueError(f"test must be the dict train.evaluate() returns, with 'loss', "
                         f"'accuracy' and 'n'; missing {missing}")
    if not _is_finite_number(train_seconds) or train_seconds < 0:
        raise ValueError(f"train_seconds must be a finite number of seconds >= 0, "
                         f"got {train_seconds!r}")
    cm = torch.as_tensor(confusion)
    k = len(classes)
    if cm.shape != (k, k) or cm.is_floating_point():
        raise ValueError(f"confusion must be an integer {k} x {k} matrix for {k} classes, "
                         f"got {tuple(cm.shape)} {cm.dtype}")
    if int(cm.sum()) != int(test["n"]):
        raise ValueError(f"the confusion matrix counts {int(cm.sum())} images but the test "
                         f"evaluation counts {test['n']}: compute both on the same images")
    per_class = cm.sum(1)
    if bool((per_class == 0).any()):
        raise ValueError("a class has no test image; per-class accuracy is undefined")
    if not history.epochs:
        raise ValueError("the history has no epoch; record a run that trained")
    if isinstance(loss_points, bool) or not isinstance(loss_points, int) or loss_points < 1:
        raise ValueError(f"loss_points must be a positive integer, got {loss_points!r}")
    losses = torch.tensor(history.batch_loss, dtype=torch.float64)
    step = max(1, math.ceil(losses.numel() / loss_points))
    means = [float(chunk.mean()) for chunk in losses.split(step)] if losses.numel() else []
    return _rounded({
        "test_accuracy": float(test["accuracy"]), "test_loss": float(test["loss"]),
        "test_images": int(test["n"]), "epochs": [dict(e) for e in history.epochs],
        "seconds_per_epoch": float(train_seconds) / len(history.epochs),
        "train_seconds": float(train_seconds), "classes": [str(c) for c in classes],
        "per_class_accuracy": (cm.diag().double() / per_class.double()).tolist(),
        "confusion_matrix": cm.to(torch.int64).tolist(),
        "batch_loss_means": means, "batches_per_point": step,
        **(prediction_fields(test["preds"], test["targets"]) if "preds" in test else {}),
        **details})


def _check_run(name: str, run: Dict[str, Any]) -> None:
    missing = [k for k in _REQUIRED_RUN if k not in run]
    if missing:
        raise ValueError(f"run {name!r} lacks {missing}")
    acc = run["test_accuracy"]
    if not _is_finite_number(acc) or not 0 <= acc <= 1:
        raise ValueError(f"run {name!r}: test_accuracy must be a finite fraction in [0, 1], "
                         f"got {acc!r}")
    for key in ("test_loss", "seconds_per_epoch"):
        if not _is_finite_number(run[key]):
            raise ValueError(f"run {name!r}: {key} must be a finite number, got "
                             f"{run[key]!r}; record a run that trained without NaN")
    if "predictions" in run or "targets" in run:
        preds = decode_labels(run.get("predictions"))
        truth = decode_labels(run.get("targets"))
        n = run.get("test_images", len(truth))
        if len(preds) != len(truth) or len(truth) != n:
            raise ValueError(f"run {name!r}: {len(preds)} predictions and {len(truth)} targets "
                             f"for {n} test images")
        if abs(float((preds == truth).double().mean()) - acc) > 1e-6:
            raise ValueError(f"run {name!r}: the per-image predictions give another accuracy "
                             f"than test_accuracy={acc}; store those of the same evaluation")


def save_results(path: PathLike, chapter: str, config, runs: Dict[str, Dict[str, Any]],
                 device: torch.device, data_source: str, wall_s: Optional[float] = None,
                 merge: bool = False) -> Dict[str, Any]:
    """Write a results file and return its content.

    Args:
        path: the JSON file to write (atomically), e.g. :func:`results_path`; a name
            ending in ``_cpu.json`` / ``_gpu.json`` must match ``device``.
        chapter: chapter key, e.g. ``"lenet"``.
        config: the :class:`~book_utils.profiles.RunConfig` the runs used.
        runs: ``{recipe name: summary}``; each summary has at least ``test_accuracy``
            (fraction 0-1), ``test_loss`` (mean per sample), ``epochs`` (list of per-epoch dicts)
            and ``seconds_per_epoch``; optional ``predictions`` / ``targets`` digit strings
            (:func:`prediction_fields`) must agree with ``test_accuracy``.
        device: the training device.
        data_source: where the data came from (``ImageTensors.source``).
        wall_s: wall time of the whole script in seconds, if known.
        merge: keep the runs already in ``path`` that ``runs`` does not replace; the file's
            chapter, profile, configuration and device kind must then be the same.

    Raises:
        TypeError: if ``runs`` is not a dict of dicts.
        ValueError: if a run summary lacks a required key, its ``test_accuracy`` is not a
            finite fraction in [0, 1], ``test_loss`` / ``seconds_per_epoch`` is not finite
            (JSON would store NaN, which a later read cannot trust), its predictions disagree
            with it, the file's kind is not the device's, or a merge meets a file of other
            settings.
    """
    if not isinstance(runs, dict) or not all(isinstance(r, dict) for r in runs.values()):
        raise TypeError(f"runs must be a dict {{recipe name: run_record(...)}}, got "
                        f"{type(runs).__name__}")
    for name, run in runs.items():
        _check_run(name, run)
    path = Path(path)
    kind = _kind_of_file(path)
    if kind is not None and kind != record_kind(device):
        raise ValueError(f"{path.name} holds {kind.upper()} runs but this run is on "
                         f"{torch.device(device).type}; write it to "
                         f"{path.name[:-8]}{record_kind(device)}.json")
    content = {
        "schema": RESULTS_SCHEMA, "chapter": chapter, "profile": config.profile,
        "config": {"epochs": config.epochs, "batch_size": config.batch_size,
                   "train_subset": config.train_subset, "test_subset": config.test_subset,
                   # through JSON: nested tuples (a ladder) compare equal to a file's lists
                   "extra": json.loads(json.dumps(config.extra)),
                   "describe": config.describe()},
        "data": short_source(data_source),
        "environment": environment_info(device),
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "wall_s": wall_s, "runs": dict(runs),
    }
    if merge and path.is_file():
        old = load_results(path)
        same = ("chapter", "profile", "config")
        if any(old[k] != content[k] for k in same) or \
                old["environment"]["device_type"] != content["environment"]["device_type"]:
            raise ValueError(f"{path} holds runs of other settings ({old['config']['describe']} "
                             f"on {old['environment']['device']}); write to another folder or "
                             f"delete it")
        content["runs"] = {**old["runs"], **content["runs"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    tmp.replace(path)
    return content


def load_results(path: PathLike) -> Dict[str, Any]:
    """Read and check a results file written by :func:`save_results`.

    Raises:
        FileNotFoundError: if there is no such file (the message names it).
        ValueError: if it is empty, not valid JSON, or not a results file of the expected
            schema (the message names the file and says to re-record or delete it).
    """
    path = Path(path)
    fix = "re-record it (CNN_BOOK_RECORD=1 with the full profile) or delete it"
    if not path.is_file():
        raise FileNotFoundError(f"no results file at {path}; record one with "
                                f"CNN_BOOK_RECORD=1 and the full profile")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ValueError(f"results file {path} is empty; {fix}")
    try:
        content = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"results file {path} is not valid JSON ({exc.msg} at line "
                         f"{exc.lineno}); {fix}") from None
    if not isinstance(content, dict):
        raise ValueError(f"results file {path} holds a {type(content).__name__}, not a "
                         f"results dict; {fix}")
    missing = [k for k in _REQUIRED if k not in content]
    if missing or content.get("schema") != RESULTS_SCHEMA:
        raise ValueError(f"{path} is not a results file of schema {RESULTS_SCHEMA} "
                         f"(missing {missing}); {fix}")
    for name, run in content["runs"].items():
        for key in _REQUIRED_RUN:
            if key not in run:
                raise ValueError(f"{path}: run {name!r} lacks {key!r}; {fix}")
    return content


def load_recorded(chapter: str, folder: Optional[PathLike] = None,
                  kind: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The recorded full run of ``chapter``, or ``None`` when none has been recorded.

    Args:
        folder: where the records are (default :data:`RESULTS_DIR`).
        kind: ``"gpu"`` or ``"cpu"``: that record only; ``None`` (default): the GPU record
            if there is one, else the CPU record.

    Only a ``full``-profile run on all of the data counts; it may hold some of the chapter's
    recipes only.

    Raises:
        ValueError: if a file exists but is not a valid full-run results file of this chapter
            and kind (a broken record never passes silently as "not recorded").
    """
    for k in RECORD_KINDS if kind is None else (kind,):
        path = results_path(chapter, folder, k)
        if not path.is_file():
            continue
        content = load_results(path)
        cfg = content.get("config", {})
        if content["profile"] != "full" or cfg.get("train_subset") or cfg.get("test_subset"):
            raise ValueError(f"{path} is not a full-profile run on all the data; "
                             f"only such runs may be committed as recorded results")
        if content["chapter"] != chapter:
            raise ValueError(f"{path} holds results of {content['chapter']!r}, not {chapter!r}")
        if ("cpu" if content["environment"].get("device_type") == "cpu" else "gpu") != k:
            raise ValueError(f"{path} holds a run on {content['environment'].get('device')}, "
                             f"not a {k.upper()} run; rename or delete it")
        return content
    return None


def recorded_status(recorded: Optional[Dict[str, Any]]) -> str:
    """One English line about a recorded run (how and where it ran), or :data:`NOT_RECORDED`."""
    if recorded is None:
        return NOT_RECORDED
    if not isinstance(recorded, dict) or "environment" not in recorded:
        raise ValueError("recorded_status() expects the dict returned by load_recorded() (or None)")
    env = recorded["environment"]
    return (f"Recorded full run: {recorded['config'].get('describe', '')}; on {env['device']}, "
            f"torch {env['torch']}, data {recorded['data']}, created {recorded.get('created', '?')}.")
