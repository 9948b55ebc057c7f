"""The layout of the book_utils.anim, data, backprop, train and cifar packages: small modules in the
documented order, each saying what it holds and what not, no name defined twice, the public
API the pages and the other modules use, and a light import."""
import ast
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from book_utils import anim, backprop, cifar, data, digit_pad, train

PACKAGES = {"anim": anim, "data": data, "backprop": backprop, "train": train, "cifar": cifar,
            "digit_pad": digit_pad}
MAX_LINES = 400


def _dir(pkg):
    return Path(pkg.__file__).resolve().parent


def _modules(pkg):
    return sorted(p.stem for p in _dir(pkg).glob("*.py") if p.stem != "__init__")


def _table_order(pkg):
    """The modules in the order of the table in the package docstring."""
    table = pkg.__doc__.split("\nModules", 1)[1]
    return re.findall(r"^``(\w+)``\s{2,}", table, re.M)


def _relative_imports(pkg, name):
    """Sibling modules that module ``name`` imports at its top level."""
    tree = ast.parse((_dir(pkg) / f"{name}.py").read_text(encoding="utf8"))
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(a.name for a in node.names)
    return found


def _each_module():
    return [(p, m) for p, pkg in PACKAGES.items() for m in _modules(pkg)]


@pytest.mark.parametrize("pkg_name", PACKAGES)
def test_module_table_lists_every_module_once(pkg_name):
    pkg = PACKAGES[pkg_name]
    order = _table_order(pkg)
    assert sorted(order) == _modules(pkg)
    assert len(order) == len(set(order))


@pytest.mark.parametrize("pkg_name", PACKAGES)
def test_modules_import_only_those_above_them_in_the_table(pkg_name):
    pkg = PACKAGES[pkg_name]
    order = _table_order(pkg)
    for k, name in enumerate(order):
        imported = _relative_imports(pkg, name)
        assert imported <= set(order[:k]), f"{name} imports {sorted(imported - set(order[:k]))}"


def test_the_import_order_is_the_one_of_the_concerns():
    assert _relative_imports(data, "errors") == set()
    assert _relative_imports(data, "cifar10") >= {"cifar10_files", "locations", "splits"}
    assert _relative_imports(data, "loaders") == {"splits"}
    assert _relative_imports(backprop, "conv") == {"_checks", "correlate"}
    assert "conv" not in _relative_imports(backprop, "pool")
    assert _relative_imports(backprop, "tiny_cnn") == {"conv", "dense", "pool"}
    assert _relative_imports(train, "devices") == set()
    assert _relative_imports(train, "precision") == {"devices"}
    assert _relative_imports(train, "evaluation") == {"_checks", "precision"}
    assert "loop" not in set().union(*(_relative_imports(train, m) for m in _modules(train)))
    # cifar: the functional augmentation core knows no recipe; reports know no run
    assert _relative_imports(cifar, "augment") == {"_checks"}
    assert _relative_imports(cifar, "report") == set()
    assert "runs" not in set().union(*(_relative_imports(cifar, m) for m in _modules(cifar)))


@pytest.mark.parametrize("pkg_name, name", _each_module())
def test_each_module_is_short_and_says_what_it_holds_and_not(pkg_name, name):
    text = (_dir(PACKAGES[pkg_name]) / f"{name}.py").read_text(encoding="utf8")
    assert len(text.splitlines()) < MAX_LINES
    doc = ast.get_docstring(ast.parse(text))
    assert doc and "Not here" in doc, f"{name}: docstring must say what the module does not hold"


@pytest.mark.parametrize("pkg_name", PACKAGES)
def test_no_function_class_or_constant_defined_in_two_modules(pkg_name):
    pkg = PACKAGES[pkg_name]
    where = {}
    for name in _modules(pkg):
        tree = ast.parse((_dir(pkg) / f"{name}.py").read_text(encoding="utf8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                where.setdefault(node.name, []).append(name)
            elif isinstance(node, ast.Assign):
                for t in node.targets:
                    for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                        if not e.id.startswith("__"):        # each module's own __all__
                            where.setdefault(e.id, []).append(name)
    assert {k: v for k, v in where.items() if len(v) > 1} == {}


DATA_API = {
    "load_mnist", "load_cifar10", "ImageTensors", "TensorImageDataset", "stratified_indices",
    "make_loader", "data_roots", "cache_dir", "default_data_dir", "DataNotFoundError",
    "CorruptDataError", "MNIST_MEAN", "MNIST_STD", "MNIST_RAW_FILES", "MNIST_SPLIT_SIZES",
    "MNIST_IMAGE_SIZE", "CIFAR10_CLASSES", "CIFAR10_MEAN", "CIFAR10_STD", "CIFAR10_PER_CLASS",
    "CIFAR10_IMAGE_SIZE", "CIFAR10_FOLDER_NAMES", "IMAGE_EXTENSIONS", "IMAGENET_MEAN",
    "IMAGENET_STD", "DATA_ENV", "CACHE_ENV", "DEFAULT_HOME", "PathLike"}


def test_data_public_api_is_kept():
    assert set(data.__all__) == DATA_API
    for name in DATA_API:
        assert getattr(data, name) is not None
    assert inspect.isfunction(data.load_mnist) and inspect.isfunction(data.load_cifar10)
    assert list(inspect.signature(data.load_cifar10).parameters) == ["split", "root", "download"]
    assert data.CIFAR10_CLASSES[0] == "airplane" and len(data.CIFAR10_CLASSES) == 10
    assert issubclass(data.DataNotFoundError, FileNotFoundError)
    assert issubclass(data.CorruptDataError, RuntimeError)
    # the memo the test fixtures replace is the one the loaders use
    assert isinstance(data._MEMO, dict)


def test_backprop_public_api_is_kept():
    assert set(backprop.__all__) == {
        "dilate2d", "rot180", "correlate2d",
        "conv2d_forward", "conv2d_weight_grad", "conv2d_input_grad", "conv2d_backward",
        "im2col", "col2im",
        "max_pool2d_forward", "max_pool2d_argmax", "max_pool2d_backward",
        "avg_pool2d_forward", "avg_pool2d_backward",
        "relu", "relu_backward", "sigmoid", "sigmoid_backward",
        "linear_forward", "linear_backward", "softmax_cross_entropy",
        "tiny_cnn_init", "tiny_cnn_loss_and_grads", "tiny_cnn_torch", "sgd_step",
        "max_abs_error",
        "Conv2dNumpyFunction", "MaxPool2dNumpyFunction", "AvgPool2dNumpyFunction"}
    for name in backprop.__all__:
        assert getattr(backprop, name) is not None
    params = inspect.signature(backprop.conv2d_input_grad).parameters
    assert list(params) == ["dz", "w", "input_shape", "stride", "padding", "rotate"]


def test_sources_page_04_prints_are_the_ones_it_stores():
    # page 04 shows these two sources with inspect.getsource; the split must not change them
    nb = json.loads((_dir(data).parents[1] / "chapters" / "04_backprop.ipynb").read_text("utf8"))
    shown = {}
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        if cell["cell_type"] == "code" and "inspect.getsource(bp." in text:
            name = re.search(r"getsource\(bp\.(\w+)\)", text).group(1)
            shown[name] = "".join(cell["outputs"][0]["data"]["text/plain"])
    assert set(shown) == {"conv2d_input_grad", "tiny_cnn_loss_and_grads"}
    for name, stored in shown.items():
        assert inspect.getsource(getattr(backprop, name)).rstrip("\n") == stored.rstrip("\n")


def test_the_memo_is_emptied_by_replacing_the_package_attribute(tmp_path, monkeypatch):
    from book_utils.data import splits

    calls = []
    monkeypatch.setattr(data, "_MEMO", {})
    first = splits._memo(("k",), lambda: calls.append(1) or object())
    assert splits._memo(("k",), lambda: calls.append(1) or object()) is first
    monkeypatch.setattr(data, "_MEMO", {})
    assert splits._memo(("k",), lambda: calls.append(1) or object()) is not first
    assert calls == [1, 1]


@pytest.mark.parametrize("pkg_name, heavy", [
    ("data", ("matplotlib", "torchvision", "PIL", "ipywidgets")),
    ("backprop", ("matplotlib", "torchvision", "PIL", "ipywidgets")),
    ("train", ("matplotlib", "torchvision", "PIL", "ipywidgets")),
    ("cifar", ("matplotlib", "torchvision", "PIL", "ipywidgets"))])
def test_import_is_light(pkg_name, heavy):
    code = (f"import sys, book_utils.{pkg_name}; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=_dir(data).parents[1], check=True)
    assert out.stdout.strip() == "[]"


TRAIN_API = {
    "AmpSpec", "CHECKPOINTS_ENV", "FRESH_ENV", "History", "MAX_SEED", "PathLike", "STATIC_ENV",
    "amp_dtype", "autocast", "checkpoint_dir", "checkpoint_path", "choose_device",
    "confusion_matrix", "count_parameters", "cpu_flags", "cpu_has_native_bf16",
    "cpu_model_name", "device_name", "eta_line", "evaluate", "fit", "fresh_start",
    "load_checkpoint", "predict", "resolve_amp", "save_checkpoint", "seed_everything"}


def test_train_public_api_is_kept():
    assert set(train.__all__) == TRAIN_API
    for name in TRAIN_API:
        assert getattr(train, name) is not None
    assert train.torch is __import__("torch")          # ``train.torch`` as before the split
    assert list(inspect.signature(train.evaluate).parameters) == [
        "model", "loader", "loss_fn", "device", "amp", "channels_last", "tta_flip", "per_image"]
    assert list(inspect.signature(train.fit).parameters)[:4] == [
        "model", "train_loader", "optimizer", "epochs"]
    assert (train.CHECKPOINTS_ENV, train.FRESH_ENV) == ("CNN_BOOK_CHECKPOINTS", "CNN_BOOK_FRESH")
    # the names the checks and the loop use are the package's own objects
    from book_utils.train import checkpoints, evaluation, loop, precision
    assert loop.evaluate is evaluation.evaluate is train.evaluate
    assert loop.autocast is evaluation.autocast is precision.autocast is train.autocast
    assert checkpoints.History is loop.History is train.History


CIFAR_API = {
    "BatchTransform", "DeviceBatches", "RECIPES", "Recipe", "RunResult", "checkpoint_file",
    "comparison_table", "confusion_sentence", "cosine_lr", "get_recipe", "make_loss", "make_model", "make_optimizer",
    "make_scheduler", "per_class_accuracy", "per_class_table", "profile_recipe", "random_crop",
    "random_flip",
    "replace_size", "resize_cost", "run_recipe", "runtime_options", "sample_transform",
    "schedule_trace", "training_speed",
    "QuickPlan", "apply_plan", "plan_quick_run", "quick_plan", "run_time_estimate",
    "speed_override", "t4_estimate_s"}


def test_cifar_public_api_is_kept_and_its_plots_live_in_plot():
    from book_utils import plot
    assert set(cifar.__all__) == CIFAR_API
    for name in CIFAR_API:
        assert getattr(cifar, name) is not None
    assert sorted(cifar.RECIPES) == ["alexnet-improved", "alexnet-source", "resnet-improved",
                                     "resnet-source"]
    # one evaluation (train.evaluate) and the figures with the other figures
    assert not hasattr(cifar, "evaluate_model")
    assert callable(plot.plot_recorded) and callable(plot.LiveHistoryPlot)
    assert not hasattr(cifar, "plot_recorded") and not hasattr(cifar, "LiveHistoryPlot")


def test_no_module_of_book_utils_is_over_500_lines():
    root = _dir(data).parent
    sizes = {str(p.relative_to(root)): len(p.read_text(encoding="utf8").splitlines())
             for p in root.rglob("*.py")}
    assert {k: v for k, v in sizes.items() if v > 500} == {}
