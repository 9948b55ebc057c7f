"""The quick CIFAR-10 pages' sizing rule (book_utils.cifar.plan): speed -> images x epochs."""
import json

import pytest
import torch

from book_utils import cifar, profiles
from book_utils.cifar import plan as plan_mod

SLOW_CPU = 27.0      # images/s, float32 on a 2-core CPU without native bf16 (ResNet-18, AlexNet@96)
BF16_CPU = 190.0     # images/s, ResNet-18 with bf16 autocast on a 2-core AVX512-BF16 CPU
T4_LIKE = 2500.0     # images/s, a GPU


def _rule(chapter):
    cfg = profiles.chapter_config(chapter, "quick")
    return dict(budget_s=cfg["budget_s"], ladder=cfg["ladder"], recipes=cfg["recipes"],
                keep=cfg.extra.get("keep_when_short"),
                min_passes_all=cfg.extra.get("min_passes_all", 0))


@pytest.mark.parametrize("chapter", ["alexnet", "resnet"])
def test_every_plan_fits_its_budget_and_uses_the_largest_step_that_does(chapter):
    rule = _rule(chapter)
    passes = [(n or 50_000) * e for n, e in rule["ladder"]]
    for speed in (5.0, 12.0, SLOW_CPU, 60.0, 84.0, 145.0, BF16_CPU, 400.0, T4_LIKE, 20_000.0):
        plan = cifar.plan_quick_run(chapter, speed, **rule)
        step = passes.index(plan.passes())
        fits = plan.training_s() <= rule["budget_s"] * (1 + 1e-9)
        # within budget unless even the smallest step of the improved recipe alone is too big
        assert fits or (step == 0 and len(plan.recipes) == 1)
        if fits and step + 1 < len(passes):        # the next step up would not have fitted
            bigger = len(plan.recipes) * passes[step + 1] / (plan_mod.EFFICIENCY * speed)
            assert bigger > rule["budget_s"] or plan.recipes != rule["recipes"]


@pytest.mark.parametrize("chapter", ["alexnet", "resnet"])
def test_slow_cpu_trains_one_recipe_and_a_gpu_all_images(chapter):
    rule = _rule(chapter)
    slow = cifar.plan_quick_run(chapter, SLOW_CPU, **rule)
    kept = rule["keep"] or rule["recipes"][-1]
    assert slow.recipes == (kept,) and len(slow.skipped) == 1 and kept not in slow.skipped
    assert slow.train_images is not None and slow.test_images == 1000
    assert "skipped" in slow.describe() and "27 images/s" in slow.describe()
    gpu = cifar.plan_quick_run(chapter, T4_LIKE, **rule)
    assert gpu.train_images is None and gpu.test_images is None      # all 50,000 / 10,000
    assert gpu.recipes == rule["recipes"] and gpu.epochs >= 2
    assert gpu.training_s() <= rule["budget_s"]


def test_bf16_cpu_trains_both_recipes_on_more_images_than_the_slow_cpu():
    rule = _rule("resnet")
    fast = cifar.plan_quick_run("resnet", BF16_CPU, **rule)
    slow = cifar.plan_quick_run("resnet", SLOW_CPU, **rule)
    assert fast.recipes == rule["recipes"]
    assert fast.passes() > 2 * slow.passes()


def test_choice_is_stable_against_small_speed_changes():
    """Coarse steps: speeds within +-3% of a measured one give the same plan except right
    at a step boundary, and each boundary is crossed by at most one step."""
    rule = _rule("resnet")
    for speed in (SLOW_CPU, 84.0, BF16_CPU, T4_LIKE):
        sizes = {cifar.plan_quick_run("resnet", speed * f, **rule).passes()
                 for f in (0.97, 1.0, 1.03)}
        assert len(sizes) <= 2


def test_rule_rejects_bad_arguments():
    rule = _rule("resnet")
    for bad in (0, -3.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="speed"):
            cifar.plan_quick_run("resnet", bad, **rule)
    with pytest.raises(TypeError, match="speed"):
        cifar.plan_quick_run("resnet", "fast", **rule)
    with pytest.raises(ValueError, match="grow in image-passes"):
        cifar.plan_quick_run("resnet", 50.0, 100.0, [(5000, 2), (1000, 2)], ["a"])
    with pytest.raises(ValueError, match="pairs"):
        cifar.plan_quick_run("resnet", 50.0, 100.0, [(5000,)], ["a"])
    with pytest.raises(ValueError, match="recipes"):
        cifar.plan_quick_run("resnet", 50.0, 100.0, [(5000, 2)], [])
    with pytest.raises(ValueError, match="keep='c'"):
        cifar.plan_quick_run("resnet", 50.0, 100.0, [(5000, 2)], ["a", "b"], keep="c")
    one = cifar.plan_quick_run("resnet", 1.0, 100.0, [(5000, 2)], ["a", "b"], keep="a")
    assert one.recipes == ("a",) and one.skipped == ("b",)


def test_speed_override(monkeypatch):
    monkeypatch.delenv(plan_mod.SPEED_ENV, raising=False)
    assert cifar.speed_override() is None
    monkeypatch.setenv(plan_mod.SPEED_ENV, " 26.5 ")
    assert cifar.speed_override() == 26.5
    for bad in ("fast", "0", "-4", "nan", "inf"):
        monkeypatch.setenv(plan_mod.SPEED_ENV, bad)
        with pytest.raises(ValueError, match="CNN_BOOK_SPEED"):
            cifar.speed_override()


def test_quick_plan_measures_once_stores_and_reuses(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    monkeypatch.delenv(plan_mod.SPEED_ENV, raising=False)
    calls = []

    def measure(value):
        def f():
            calls.append(value)
            return value
        return f

    first = cifar.quick_plan("resnet", "CPU: test (2 cores)", measure(SLOW_CPU))
    assert calls == [SLOW_CPU] and first.speed_source == "measured"
    stored = json.loads((tmp_path / plan_mod.PLANS_FILE).read_text())
    assert stored["resnet | CPU: test (2 cores)"]["speed"] == SLOW_CPU
    # the book build after nbval: same device -> same plan, no new measurement
    again = cifar.quick_plan("resnet", "CPU: test (2 cores)", measure(BF16_CPU))
    assert calls == [SLOW_CPU]
    assert (again.train_images, again.epochs, again.recipes) == \
        (first.train_images, first.epochs, first.recipes)
    # a fresh start measures again; another device has its own entry
    fresh = cifar.quick_plan("resnet", "CPU: test (2 cores)", measure(BF16_CPU), reuse=False)
    assert calls == [SLOW_CPU, BF16_CPU] and fresh.passes() > first.passes()
    cifar.quick_plan("resnet", "NVIDIA T4", measure(T4_LIKE))
    assert len(json.loads((tmp_path / plan_mod.PLANS_FILE).read_text())) == 2
    # the override wins and is never stored
    monkeypatch.setenv(plan_mod.SPEED_ENV, "27")
    over = cifar.quick_plan("resnet", "NVIDIA T4", measure(1.0))
    assert over.speed == 27.0 and "CNN_BOOK_SPEED" in over.describe() and calls[-1] == T4_LIKE


def test_quick_plan_survives_a_damaged_plans_file(monkeypatch, tmp_path):
    monkeypatch.setenv("CNN_BOOK_CACHE", str(tmp_path))
    monkeypatch.delenv(plan_mod.SPEED_ENV, raising=False)
    (tmp_path / plan_mod.PLANS_FILE).write_text("{not json")
    plan = cifar.quick_plan("alexnet", "cpu", lambda: 28.0)
    assert plan.speed == 28.0
    with pytest.raises(KeyError, match="no quick ladder"):
        cifar.quick_plan("lenet", "cpu", lambda: 28.0)
    with pytest.raises(TypeError, match="callable"):
        cifar.quick_plan("alexnet", "cpu2", 28.0)


def test_apply_plan_sets_the_sizes_the_page_trains():
    cfg = profiles.chapter_config("resnet", "quick")
    plan = cifar.plan_quick_run("resnet", SLOW_CPU, **_rule("resnet"))
    run = cifar.apply_plan(cfg, plan)
    assert (run.train_subset, run.epochs, run.test_subset) == \
        (plan.train_images, plan.epochs, 1000)
    assert run["recipes"] == plan.recipes and len(plan.recipes) == 1
    assert run["budget_s"] == cfg["budget_s"]
    with pytest.raises(ValueError, match="quick"):
        cifar.apply_plan(profiles.chapter_config("resnet", "full"), plan)
    with pytest.raises(TypeError, match="QuickPlan"):
        cifar.apply_plan(cfg, {"epochs": 2})


def test_t4_estimate_from_flops():
    # 1 GFLOP forward, 10,000 passes: 3e13 FLOP at a quarter of 65 TFLOP/s
    assert cifar.t4_estimate_s(1e9, 10_000) == pytest.approx(3e13 / (0.25 * 65e12))
    with pytest.raises(ValueError, match="utilization"):
        cifar.t4_estimate_s(1e9, 10, utilization=1.5)


def test_run_time_estimate_counts_training_and_testing():
    est = cifar.run_time_estimate(100.0, 8500, 1000, runs=2)
    rate = plan_mod.EFFICIENCY * 100.0
    assert est["train_s"] == pytest.approx(2 * 8500 / rate)
    assert est["test_s"] == pytest.approx(2 * 2000 / (3 * rate))      # flip TTA: 2 passes
    assert est["total_s"] == pytest.approx(est["train_s"] + est["test_s"])
    plain = cifar.run_time_estimate(100.0, 8500, 1000, tta_flip=False)
    assert plain["test_s"] == pytest.approx(1000 / (3 * rate))
    with pytest.raises(ValueError, match="speed"):
        cifar.run_time_estimate(float("nan"), 10, 10)


def test_one_recipe_rather_than_two_too_short_runs():
    ladder = [(1000, 2), (2500, 2), (5000, 2)]
    both = cifar.plan_quick_run("x", 100.0, 100.0 / plan_mod.EFFICIENCY, ladder, ["a", "b"])
    assert both.recipes == ("a", "b") and both.passes() == 5000       # 2 x 5,000 <= 10,000
    one = cifar.plan_quick_run("x", 100.0, 100.0 / plan_mod.EFFICIENCY, ladder, ["a", "b"],
                               keep="a", min_passes_all=6000)
    assert one.recipes == ("a",) and one.passes() == 10000


@pytest.mark.parametrize("speed", [83.0, 100.0, 125.0])
def test_fp32_cpu_alexnet_gets_the_step_that_learned_on_validation(speed):
    """A 2-core float32 CPU trains the quick AlexNet (72 px, 1x1 pool, batch 24) at about
    100 images/s; page 07's short probe measured 83-125 there. At each, the plan must give
    one recipe, the one a page keeps when short (the improved one), on at least 15,000 x 2
    (validation split: 37.4% there, about 25% at 7,500 x 2; profiles.py), within budget."""
    rule = _rule("alexnet")
    plan = cifar.plan_quick_run("alexnet", speed, **rule)
    assert plan.recipes == ("alexnet-improved",) and plan.passes() >= 30_000
    assert plan.training_s() <= rule["budget_s"]
    # both recipes only from the speed at which each gets min_passes_all
    both = cifar.plan_quick_run("alexnet", 2 * speed * 1.2, **rule)
    assert both.recipes == rule["recipes"] and both.passes() >= rule["min_passes_all"]
