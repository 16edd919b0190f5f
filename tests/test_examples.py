"""The examples run end to end with tiny settings."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import huggingface_hub.constants
import pytest

import lightning_lrsched as lrs
from tests.test_logging import scalars

EXAMPLES = Path(__file__).parent.parent / "examples"


def load(name: str, folder: Path = EXAMPLES) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # (dataclasses look their module up there)
    spec.loader.exec_module(module)
    return module


def test_quickstart_trains_and_logs_the_schedule(tmp_path) -> None:
    result = load("quickstart").main(["--epochs", "2", "--logdir", str(tmp_path)])
    assert result["val_acc"] > 0.8  # digits is easy: two epochs of OneCycle already get far
    logged = scalars(str(tmp_path / "quickstart" / "version_0"))
    lr = [value for _, value in logged["lr-AdamW"]]
    assert len(lr) == 2 * 45  # one point per optimizer step
    # OneCycle peaks at max_lr at the end of its first phase: step 0.3 * 90 - 1 = 26
    assert lr.index(max(lr)) == 26
    assert max(lr) == pytest.approx(1e-2, rel=1e-6)
    assert {"lr-AdamW-momentum", "train_loss", "val_loss", "val_acc"} <= set(logged)


def go_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No hub requests: ``HF_HUB_OFFLINE``, and huggingface_hub's own flag, which it read from the environment when
    this process first imported it (an earlier test's transformers import). The variable alone left a hub model's
    load trying the network for 47 s before it failed."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_bert_sentiment_end_to_end_on_the_offline_model_and_data(tmp_path, monkeypatch, capsys) -> None:
    go_offline(monkeypatch)
    bert = load("bert_sentiment")
    tiny = ["--train-size", "24", "--val-size", "9", "--test-size", "9", "--epochs", "1", "--batch-size", "8"]
    options = ["--max-length", "16", "--warmup", "0", "--on-divergence", "rewind", "--logdir", str(tmp_path)]
    result = bert.main([*tiny, *options])
    logged = scalars(result["log_dir"])
    assert {"lr-AdamW/decay", "lr-AdamW/no_decay", "train_loss_step", "val_loss", "val_acc", "val_f1"} <= set(logged)
    assert len(logged["lr-AdamW/decay"]) == 3  # 24 examples / batch 8: one point per optimizer step
    assert Path(result["checkpoint"]).is_file()
    assert sum(map(sum, result["confusion"])) == 9
    out = capsys.readouterr().out
    assert "test accuracy" in out
    assert "Learning-rate summary\n  TransformersLR[linear]: lr " in out  # transformers' "linear"
    assert re.search(r"step +3  lr \S+  val_loss \d\.\d{3}  val_acc \d\.\d{3}  val_f1 \d\.\d{3}", out)
    assert Path(result["log_dir"], "lr_summary.json").is_file()
    assert result["lr_summary"]["findings"] == []
    assert result["lr_summary"]["rewinds"] == []  # (a good state kept, never needed)
    assert "tensorboard --logdir" in out


@pytest.mark.filterwarnings("ignore:LRDiagnostics")  # (a tiny run's noisy pick may trip its divergence watch)
def test_bert_sentiment_finds_its_peak_lr_with_a_range_test(tmp_path, monkeypatch, capsys) -> None:
    go_offline(monkeypatch)
    bert = load("bert_sentiment")
    short = (1e-6, 1e-2, 20, "edge", 4.0)  # (a 20-step test: the defaults' 100 steps need a longer fit)
    monkeypatch.setattr(lrs.LRRangeTest.__init__, "__defaults__", short)
    tiny = ["--train-size", "40", "--val-size", "9", "--test-size", "9", "--epochs", "2", "--batch-size", "2"]
    options = ["--max-length", "12", "--warmup", "0", "--lr", "find", "--logdir", str(tmp_path), "--val-every", "1.0"]
    result = bert.main([*tiny, *options])
    found = result["lr_summary"]["schedules"][0]["lr_range"]
    assert found["picked"]["rule"] == "edge"
    assert found["used"] == found["picked"]["lr"]
    lrs_ = scalars(result["log_dir"])["lr-AdamW/decay"]
    assert lrs_[0][1] == pytest.approx(found["used"], rel=1e-6)  # (float32 in TensorBoard)
    assert Path(result["log_dir"], "lr-AdamW-range-test.png").is_file()
    assert "lr range test (20 steps" in capsys.readouterr().out


def test_bert_sentiment_hub_model_offline_gives_a_clear_message(tmp_path, monkeypatch) -> None:
    go_offline(monkeypatch)
    bert = load("bert_sentiment")
    with pytest.raises(SystemExit, match=r"(?s)could not load model 'bert-base-uncased'.*Omit --model"):
        bert.main(["--model", "bert-base-uncased", "--train-size", "8", "--val-size", "4", "--test-size", "4",
                   "--logdir", str(tmp_path)])  # fmt: skip


def test_compare_schedules_table_and_png(tmp_path, capsys) -> None:
    results = load("compare_schedules").main(
        ["--epochs", "2", "--limit", "300", "--target", "0.5", "--logdir", str(tmp_path)]
    )
    assert [r["schedule"] for r in results] == ["fixed", "step", "cosine", "onecycle", "plateau"]
    out = capsys.readouterr().out
    assert "| schedule | best val acc | final val loss | epochs to 50% | wall time | findings |" in out
    assert "- plateau: ReduceLROnPlateau: " in out
    assert all(isinstance(r["findings"], list) for r in results)
    assert (tmp_path / "compare" / "comparison.png").read_bytes()[:4] == b"\x89PNG"
    assert all(0.0 <= r["best_val_acc"] <= 1.0 for r in results)


def test_bert_sentiment_hub_dataset_without_the_package_says_what_to_install(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # as if `datasets` were not installed
    bert = load("bert_sentiment")
    with pytest.raises(SystemExit, match=r"--dataset sst2 needs the `datasets` package: pip install datasets"):
        bert.main(["--dataset", "sst2", "--logdir", str(tmp_path)])


def test_the_schedule_benchmark_runs_in_a_tiny_setting(tmp_path, monkeypatch, capsys) -> None:
    go_offline(monkeypatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(EXAMPLES.parent / "benchmarks"))
    benchmark = load("bert_schedules", EXAMPLES.parent / "benchmarks")
    rows = benchmark.main(["--tiny", "--out", str(tmp_path / "schedules.png")])
    assert [row["label"] for row in rows] == [label for label, _ in benchmark.SCHEDULES]
    constant, no_warmup = rows[0]["lr"], rows[1]["lr"]
    assert [value for _, value in constant] == pytest.approx([2e-4] * len(constant), rel=1e-6)  # (float32 in TB)
    assert no_warmup[0][1] == pytest.approx(2e-4, rel=1e-6)  # linear decay from the peak, no warmup
    assert no_warmup[-1][1] < 1e-4
    assert rows[2]["lr"][0][1] < 2e-4  # the demo's default starts with a warmup
    assert (tmp_path / "schedules.png").read_bytes()[:4] == b"\x89PNG"
    assert "| 10% warmup + cosine |" in capsys.readouterr().out


def test_the_rewind_benchmark_runs_in_a_quick_setting(monkeypatch, capsys) -> None:
    benchmark = load("rewind_cost", EXAMPLES.parent / "benchmarks")
    monkeypatch.setattr(sys, "argv", ["rewind_cost.py", "--quick"])
    benchmark.main()
    out = capsys.readouterr().out
    assert re.search(r"1\.0M parameters: +11\.5 MiB per copy", out)  # 4 bytes x (weights + 2 AdamW moments)
    assert re.search(r"Rewind\(every=10\) +\d+\.\d+ ms a step", out)
    assert re.search(r"peak 1\.0, warn +val_loss 0\.7\d\d +val_acc 0\.500", out)  # stuck at chance


def test_the_overhead_benchmark_clocks_both_sides_and_puts_the_hooks_back(monkeypatch, capsys) -> None:
    """One alternating pair of fits: the clocked work of each side is not empty (the wrapped hooks ran), and the
    functions it wrapped for the run are the package's own again afterwards."""
    from lightning_lrsched.core.timeline import Timeline
    from lightning_lrsched.lightning.fit_run import FitRun

    hooks = (Timeline.__dict__["optimizer_step"], FitRun.__dict__["before_optimizer_step"])
    benchmark = load("overhead", EXAMPLES.parent / "benchmarks")
    monkeypatch.setattr(sys, "argv", ["overhead.py", "--runs", "1", "--epochs", "1", "--only", "warmup + cosine"])
    benchmark.main()
    out = capsys.readouterr().out
    found = re.search(r"clocked work (\d+) us/step against native (\d+), per-step ratio (\d\.\d{3})", out)
    assert found, out
    ours, native, _ = map(float, found.groups())
    assert ours > 10  # (the lr logging of each side alone takes more)
    assert native > 10
    assert (Timeline.__dict__["optimizer_step"], FitRun.__dict__["before_optimizer_step"]) == hooks


def test_the_lr_finder_benchmark_runs_in_a_tiny_setting(tmp_path, capsys) -> None:
    benchmark = load("lr_finder", EXAMPLES.parent / "benchmarks")
    results = tmp_path / "finder.json"
    benchmark.main(["--tasks", "digits-mlp", "--seeds", "0", "--tiny", "--results", str(results)])
    row = json.loads(results.read_text())["digits-mlp"]["0"]
    assert list(row["grid"]) == ["0.001", "0.003"]
    assert row["edge"]["picked"]
    assert min(row["edge"]["curve"]["lrs"]) < row["edge"]["lr"] < max(row["edge"]["curve"]["lrs"])
    assert row["edge"]["acc"] > 0.8  # (digits, 10 epochs at the picked peak)
    assert row["lightning"]["test_seconds"] > 0
    assert (tmp_path / "finder.png").read_bytes()[:4] == b"\x89PNG"
    assert "| digits-mlp | 0 |" in capsys.readouterr().out
