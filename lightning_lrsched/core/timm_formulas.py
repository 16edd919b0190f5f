"""The learning rates of timm's schedulers, as pure functions of the time ``t`` (epochs, or optimizer updates).

The formulas of timm's ``timm/scheduler/``: ``cosine_lr.py``, ``tanh_lr.py`` and ``poly_lr.py`` (warmup, then
cycles of length ``t_initial * cycle_mul**i`` whose peak decays by ``cycle_decay**i``, ``lr_min`` after
``cycle_limit`` cycles; cosine and poly with k-decay ``t**k``), ``step_lr.py`` (``lr * decay_rate**(t //
decay_t)``), ``multistep_lr.py`` (``lr * decay_rate**(milestones passed)``), and the noise of ``scheduler.py``
(a normal draw truncated at ``noise_pct``, or a uniform one, seeded with ``noise_seed + t``, added as
``lr * (1 + noise)``). Absolute values (``lr_min``, ``warmup_lr_init``) are the same for every param group, as
in timm. Before its first step timm leaves the lr at the optimizer's (or ``warmup_lr_init`` with a warmup).
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

CYCLIC = ("cosine", "tanh", "poly")
STEPPED = ("step", "multistep")


def _cycle(t: float, t_initial: int, cycle_mul: float) -> tuple[int, float, float]:
    """Which cycle ``t`` falls in, that cycle's length, and the time into it."""
    if cycle_mul != 1:
        i = math.floor(math.log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))
        return i, cycle_mul**i * t_initial, t - (1 - cycle_mul**i) / (1 - cycle_mul) * t_initial
    i = int(t // t_initial)
    return i, t_initial, t - t_initial * i


def _cyclic(t: float, base: float, cfg: dict[str, Any]) -> float:
    """The lr of a cosine, tanh or poly schedule at ``t`` after its warmup (the decay part)."""
    i, t_i, t_curr = _cycle(t, cfg["t_initial"], cfg["cycle_mul"])
    if i >= cfg["cycle_limit"]:
        return float(cfg["lr_min"])
    lr_max, lr_min = base * cfg["cycle_decay"] ** i, cfg["lr_min"]
    if cfg["sched"] == "cosine":
        k = cfg["k_decay"]
        return float(lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t_curr**k / t_i**k)))
    if cfg["sched"] == "poly":
        k = cfg["k_decay"]
        return float(lr_min + (lr_max - lr_min) * (1 - t_curr**k / t_i**k) ** cfg["power"])
    share = t_curr / t_i
    return float(lr_min + 0.5 * (lr_max - lr_min) * (1 - math.tanh(cfg["lb"] * (1.0 - share) + cfg["ub"] * share)))


def _after_warmup(t: float, base: float, cfg: dict[str, Any]) -> float:
    if cfg["warmup_prefix"]:
        t = t - cfg["warmup_t"]
    if cfg["sched"] == "step":
        return float(base * (cfg["decay_rate"] ** (t // cfg["decay_t"])))
    if cfg["sched"] == "multistep":
        return float(base * (cfg["decay_rate"] ** bisect.bisect_right(cfg["decay_t"], t)))
    return _cyclic(t, base, cfg)


def value(t: int, base: float, cfg: dict[str, Any]) -> float:
    """The lr timm's scheduler sets at time ``t`` for a param group whose initial lr is ``base``."""
    warmup_t, start = cfg["warmup_t"], cfg["warmup_lr_init"]
    if t == 0:
        return float(start) if warmup_t else float(base)  # (timm does not compute t=0: the lr it starts from)
    if t < warmup_t:
        # timm's tanh without prefix warms up to the lr it reaches at `warmup_t`; the others to `base`
        target = _after_warmup(warmup_t, base, cfg) if cfg["sched"] == "tanh" and not cfg["warmup_prefix"] else base
        lr = float(start + t * ((target - start) / warmup_t))
    else:
        lr = _after_warmup(t, base, cfg)
    return lr + lr * noise(t, cfg) if _noisy(t, cfg) else lr


def _noisy(t: int, cfg: dict[str, Any]) -> bool:
    window = cfg["noise_range_t"]
    if window is None:
        return False
    if isinstance(window, (list, tuple)):
        return bool(window[0] <= t < window[1])
    return bool(t >= window)


def noise(t: int, cfg: dict[str, Any]) -> float:
    """The noise timm adds at ``t``, reproducible from ``noise_seed + t`` alone (``noise_std`` is not used by timm)."""
    generator = torch.Generator()
    generator.manual_seed(cfg["noise_seed"] + t)
    if cfg["noise_type"] == "normal":
        while True:  # a standard normal draw, drawn again until inside +-noise_pct
            drawn = torch.randn(1, generator=generator).item()
            if abs(drawn) < cfg["noise_pct"]:
                return float(drawn)
    return float(2 * (torch.rand(1, generator=generator).item() - 0.5) * cfg["noise_pct"])


class TimmFormulaLR(LRScheduler):
    """A torch scheduler whose lr at step ``t`` (``last_epoch``) is timm's ``value(t, initial lr, cfg)``.

    Example::

        >>> import torch
        >>> optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        >>> cfg = {"sched": "step", "decay_t": 2, "decay_rate": 0.5, "warmup_t": 0, "warmup_lr_init": 0.0,
        ...        "warmup_prefix": True, "noise_range_t": None}
        >>> [value(t, 1.0, cfg) for t in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(self, optimizer: Optimizer, cfg: dict[str, Any], last_epoch: int = -1) -> None:
        self.cfg = dict(cfg)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        return [value(self.last_epoch, float(base), self.cfg) for base in self.base_lrs]
