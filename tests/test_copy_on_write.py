"""The user's copy of x: the same numbers, gradtui's own never changed by what the user's code
writes, and on Linux a private mapping of gradtui's pages rather than a clone."""

import os
import sys

import numpy as np
import pytest
import torch

from gradtui.config import RunConfig
from gradtui.copy_on_write import private_copy, shareable
from gradtui.session import DebugSession


def mapping_of(tensor: torch.Tensor) -> str:
    """The name of the memory mapping that holds the tensor's first byte (Linux)."""
    address = tensor.data_ptr()
    with open("/proc/self/maps") as maps:
        for line in maps:
            span, *rest = line.split(maxsplit=5)
            low, high = (int(end, 16) for end in span.split("-"))
            if low <= address < high:
                return rest[-1].strip() if len(rest) == 5 else ""
    return ""


def drawn_tensor(shape=(300, 784)) -> torch.Tensor:
    array = shareable(shape, np.float32)
    array[...] = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    return torch.from_numpy(array)


def test_a_private_copy_has_the_numbers_and_writing_it_leaves_the_original():
    original = drawn_tensor()
    kept = original.numpy().copy()
    copy = private_copy(original)
    assert torch.equal(copy, original) and copy.shape == original.shape and copy.dtype == original.dtype
    copy.mul_(-1)
    copy[0, 0] = 7.0
    assert np.array_equal(original.numpy(), kept)
    assert copy[0, 0] == 7.0 and torch.equal(copy[1:], -original[1:])


@pytest.mark.skipif(not sys.platform.startswith("linux") or not hasattr(os, "memfd_create"),
                    reason="copy-on-write pages need a Linux memory file")
def test_on_linux_the_copy_maps_the_drawn_pages_instead_of_cloning_them():
    original = drawn_tensor()
    copy = private_copy(original)
    assert "memfd:gradtui-data" in mapping_of(copy)
    assert copy.data_ptr() != original.data_ptr()


def test_anything_else_is_cloned():
    original = drawn_tensor()
    for tensor in (original[1:], original.t(), torch.randn(5, 3)):
        copy = private_copy(tensor)
        assert torch.equal(copy, tensor) and copy.data_ptr() != tensor.data_ptr()
        copy.zero_()
        assert tensor.abs().sum() > 0


def test_user_code_that_writes_into_x_changes_only_its_own_copy(tmp_path):
    layers = tmp_path / "writes_x.py"
    layers.write_text(
        "from gradtui.layers import Lin as Reference\n"
        "class Lin(Reference):\n"
        "    def forward(self, inp):\n"
        "        out = inp @ self.w + self.b\n"
        "        inp.mul_(0)  # a student's stray in-place write into the layer's input\n"
        "        return out\n")
    session = DebugSession(RunConfig(device="cpu", batch=64, layers=layers))
    x = session.data.x.clone()
    first = session.step()
    assert "the forward changed x in place" in first.notes
    assert session.values["x"].abs().sum() == 0  # the user's copy took the write
    assert torch.equal(session.data.x, x)  # gradtui's x did not
    session.run_to_end()
    assert torch.equal(session.data.x, x)
    session.reset()
    assert torch.equal(session.values["x"], x)  # a fresh copy after the write
