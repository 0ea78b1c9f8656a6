"""The device switch: the same run on the other device, cpu ⇄ cuda."""

from __future__ import annotations

from dataclasses import replace

from gradtui.config import RunConfig


def switched(config: RunConfig, current: str) -> RunConfig:
    """The run's options on the device it is not on now (`current`: "cpu", "cuda:0")."""
    return replace(config, device="cpu" if current.startswith("cuda") else "cuda")
