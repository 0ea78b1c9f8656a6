"""`assert_backward(model, x, y)`: gradtui's check as an assertion in a test suite."""

from __future__ import annotations

from gradtui.api import check


def assert_backward(model=None, x=None, y=None, **options) -> None:
    """AssertionError, with `gradtui check`'s verdict lines (the step, the tensor and the hint), when
    a gradient of the model's backward disagrees with autograd or a step raises. pytest shows the
    caller's line, not this function's (with its tensors' values)."""
    __tracebackhide__ = True
    report = check(model, x, y, **options)
    if not report.ok:
        raise AssertionError(report.verdict)
