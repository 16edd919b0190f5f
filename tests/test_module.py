"""ClassifierModule and ClassificationMetrics: epoch values equal sklearn's on the same predictions."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
from lightning.pytorch.loggers import TensorBoardLogger
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lightning_lrsched as lrs
from tests.helpers import trainer
from tests.test_logging import scalars


def digits(num_classes: int, n_train: int = 300, n_val: int = 101) -> tuple[DataLoader[Any], DataLoader[Any]]:
    x, y = load_digits(return_X_y=True)
    if num_classes == 2:
        y = (y >= 5).astype("int64")  # a real binary task: digits 5-9 vs 0-4
    x_t, y_t = torch.tensor(x / 16.0, dtype=torch.float32), torch.tensor(y, dtype=torch.long)
    train = TensorDataset(x_t[:n_train], y_t[:n_train])
    val = TensorDataset(x_t[n_train : n_train + n_val], y_t[n_train : n_train + n_val])  # odd size: 101
    return DataLoader(train, batch_size=16, shuffle=True), DataLoader(val, batch_size=16)


@pytest.mark.parametrize(("num_classes", "average"), [(2, "binary"), (10, "macro")])
def test_logged_epoch_metrics_equal_sklearn(tmp_path, num_classes, average) -> None:
    torch.manual_seed(0)
    train, val = digits(num_classes)
    module = lrs.ClassifierModule(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, num_classes)),
                                  num_classes=num_classes, lr=1e-2)  # fmt: skip
    logger = TensorBoardLogger(tmp_path, name="cls")
    run = trainer(tmp_path, max_epochs=3, logger=logger, log_every_n_steps=1, callbacks=[lrs.CosineAnnealingLR()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.fit(module, train, val)
        (validated,) = run.validate(module, val, verbose=False)
        run.test(module, val, verbose=False)
    assert not [w for w in caught if "compute" in str(w.message) and "update" in str(w.message)]

    module.eval()
    with torch.no_grad():
        preds = torch.cat([module(batch).argmax(dim=-1) for batch in val]).numpy()
    target = torch.cat([y for _, y in val]).numpy()
    logged = scalars(logger.log_dir)
    assert {"lr-AdamW/decay", "lr-AdamW/no_decay", "train_loss_step", "train_loss_epoch", "val_loss", "val_acc",
            "val_f1", "test_acc", "test_f1"} <= set(logged)  # fmt: skip
    assert len(logged["lr-AdamW/decay"]) == 3 * 19  # one point per optimizer step (300 / 16 -> 19 batches)
    assert logged["test_acc"][-1][1] == pytest.approx(accuracy_score(target, preds), abs=1e-6)
    assert logged["test_f1"][-1][1] == pytest.approx(f1_score(target, preds, average=average), abs=1e-6)
    assert validated["val_f1"] == pytest.approx(f1_score(target, preds, average=average), abs=1e-6)
    assert validated["val_acc"] == pytest.approx(accuracy_score(target, preds), abs=1e-6)


@pytest.mark.parametrize("num_classes", [2, 10])
def test_several_validation_and_test_dataloaders_get_their_own_metrics(tmp_path, num_classes) -> None:
    """Two validation dataloaders (and the same two for testing): each dataloader's accuracy and F1 equal sklearn's
    on its own predictions, under Lightning's names for them (``val_acc/dataloader_idx_1``); the HParams results
    follow the first; the objects made for the second keep nothing in a checkpoint. Before, Lightning refused the
    fit: ``validation_step`` took no ``dataloader_idx``."""
    torch.manual_seed(0)
    train, first = digits(num_classes)
    x, y = load_digits(return_X_y=True)
    y = (y >= 5).astype("int64") if num_classes == 2 else y
    second = DataLoader(TensorDataset(torch.tensor(x[500:577] / 16.0, dtype=torch.float32), torch.tensor(y[500:577])),
                        batch_size=16)  # fmt: skip
    module = lrs.ClassifierModule(nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, num_classes)),
                                  num_classes=num_classes, lr=1e-2)  # fmt: skip
    logger = TensorBoardLogger(tmp_path, name="cls")
    run = trainer(tmp_path, max_epochs=2, logger=logger, callbacks=[lrs.CosineAnnealingLR()])
    run.fit(module, train, [first, second])
    tested = run.test(module, [first, second], verbose=False)
    module.eval()
    average = "binary" if num_classes == 2 else "macro"
    logged = scalars(logger.log_dir)
    for index, loader in enumerate([first, second]):
        with torch.no_grad():
            preds = torch.cat([module(batch).argmax(dim=-1) for batch in loader]).numpy()
        target = torch.cat([labels for _, labels in loader]).numpy()
        acc, f1 = accuracy_score(target, preds), f1_score(target, preds, average=average)
        suffix = f"/dataloader_idx_{index}"
        assert logged[f"val_acc{suffix}"][-1][1] == pytest.approx(acc, abs=1e-6)
        assert logged[f"val_f1{suffix}"][-1][1] == pytest.approx(f1, abs=1e-6)
        assert tested[index][f"test_acc{suffix}"] == pytest.approx(acc, abs=1e-6)
        assert tested[index][f"test_f1{suffix}"] == pytest.approx(f1, abs=1e-6)
    assert logged["val_acc/dataloader_idx_0"][-1][1] != logged["val_acc/dataloader_idx_1"][-1][1]  # (not mixed)
    best = max(value for _, value in logged["val_acc/dataloader_idx_0"])
    assert logged["hp/best_val_acc"][-1][1] == pytest.approx(best, abs=1e-6)
    assert not [key for key in module.state_dict() if "more_dataloaders" in key]


def test_transformers_model_with_layer_decay_groups(tmp_path) -> None:
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)  # fmt: skip
    torch.manual_seed(0)
    module = lrs.ClassifierModule(BertForSequenceClassification(config), num_classes=2, lr=1e-3, layer_decay=0.5)
    groups = {group["name"]: group for group in module.param_groups()}
    assert groups["head"]["lr"] == pytest.approx(1e-3)
    assert groups["layer_1"]["lr"] == pytest.approx(5e-4)
    assert groups["layer_0"]["lr"] == pytest.approx(2.5e-4)
    assert groups["embeddings"]["lr"] == pytest.approx(1.25e-4)
    assert groups["layer_0_no_decay"]["weight_decay"] == 0.0
    names = {n for group in groups.values() for n in [id(p) for p in group["params"]]}
    assert len(names) == sum(1 for _ in module.model.parameters())  # every parameter in exactly one group

    ids = torch.randint(0, 50, (24, 8))
    rows = [{"input_ids": ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": torch.tensor(i % 2)}
            for i in range(24)]  # fmt: skip
    loader = DataLoader(rows, batch_size=8)
    logger = TensorBoardLogger(tmp_path, name="bert")
    trainer(tmp_path, max_epochs=1, logger=logger, log_every_n_steps=1,
            callbacks=[lrs.PolynomialLR()]).fit(module, loader, loader)  # fmt: skip
    logged = scalars(logger.log_dir)
    assert {"lr-AdamW/head", "lr-AdamW/layer_1", "lr-AdamW/embeddings_no_decay", "val_acc", "val_f1"} <= set(logged)


def test_own_module_gets_metrics_in_two_lines(tmp_path) -> None:
    class Own(torch.nn.Module):
        pass

    import lightning.pytorch as pl

    class MyModule(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Linear(64, 10)
            self.metrics = lrs.ClassificationMetrics(num_classes=10)  # line 1

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return nn.functional.cross_entropy(self.net(x), y)

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            x, y = batch
            self.metrics.update_and_log(self, "val", self.net(x), y)  # line 2

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.1)

    train, val = digits(10)
    run = trainer(tmp_path, max_epochs=1)
    run.fit(MyModule(), train, val)
    assert {"val_acc", "val_f1"} <= set(run.callback_metrics)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: lrs.ClassificationMetrics(1), r"`num_classes` to be an int >= 2, but got 1"),
        (lambda: lrs.ClassificationMetrics(3, average="none"), r"`average` to be one of 'macro'"),
        (lambda: lrs.ClassifierModule(nn.Linear(2, 2), 2, lr=0), r"`lr` to be positive, but got 0"),
        (lambda: lrs.ClassifierModule(nn.Linear(2, 2), 2, layer_decay=1.5), r"`layer_decay` to be in the \(0, 1\]"),
    ],
)
def test_module_errors(make, message) -> None:
    with pytest.raises(ValueError, match=message):
        make()
