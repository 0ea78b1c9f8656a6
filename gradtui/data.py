"""The data a run works on: seeded synthetic MNIST-shaped data, or a user's file."""

from __future__ import annotations

import csv
import gzip
import pickle
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gradtui.config import DEFAULT_BATCH, DEFAULT_CLASSES, N_FEATURES, InputError, RunConfig
from gradtui.kinds import KINDS
from gradtui.memory import free_bytes, gigabytes
from gradtui.synthetic import drawn


@dataclass(frozen=True)
class Dataset:
    x: torch.Tensor  # (N, n_in)
    y: torch.Tensor  # (N,)
    source: str  # "synthetic" or the file's path
    warnings: tuple[str, ...] = ()

    def first_rows(self, rows: int, dtype: torch.dtype | None = None) -> Dataset:
        """The first `rows` rows; with `dtype`, their numbers in it (integer ids and labels stay integers)."""
        x, y = self.x[:rows], self.y[:rows]
        return Dataset(x.to(dtype) if dtype is not None and x.is_floating_point() else x,
                       y.to(dtype) if dtype is not None and y.is_floating_point() else y, self.source)

    def first_rows_in_float64(self, rows: int) -> Dataset:
        return self.first_rows(rows, torch.float64)


def synthetic(batch: int, seed: int, classes: int = DEFAULT_CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ N(0, 1) of shape (batch, 784), y = integer labels 0..classes-1, drawn in float32
    (gradtui.synthetic; taken from the draw started ahead when there is one).

    Drawn in float32 whatever the run's dtype, so a float64 run debugs the same numbers.
    """
    x, y = drawn(batch, seed, classes)
    return torch.from_numpy(x), torch.from_numpy(y)


# A session holds x, the copy handed to user code, its gradient and autograd's, and as much
# again in passing: about 5 copies.
COPIES_OF_X = 5


def check_fits(rows: int, features: int, config: RunConfig, device: torch.device) -> None:
    """InputError, before anything is allocated, when the batch cannot fit in memory."""
    need = COPIES_OF_X * rows * features * torch.empty((), dtype=config.torch_dtype).element_size()
    free = free_bytes(device)
    if need > free:
        raise InputError(f"--batch {rows}: needs about {gigabytes(need)} for x and its gradients, "
                         f"{gigabytes(free)} free on {device}; use a smaller --batch")


def load_data(config: RunConfig, device: torch.device) -> Dataset:
    if config.data is None:
        rows = config.batch or DEFAULT_BATCH
        check_fits(rows, N_FEATURES, config, device)
        x, y = synthetic(rows, config.seed, config.classes)
        source, warnings = "synthetic", []
    else:
        source = str(config.data)
        x, y = _validate(Path(config.data), *_read_arrays(Path(config.data)))
        warnings = []
        if config.batch is not None and config.batch < len(x):
            x, y = x[: config.batch], y[: config.batch]
        elif config.batch is not None and config.batch > len(x):
            warnings.append(f"--batch {config.batch} is larger than {source}'s {len(x)} rows: gradtui uses all {len(x)}")
        check_fits(len(x), x.shape[1], config, device)
        bad = int((~torch.isfinite(x)).sum() + (~torch.isfinite(y)).sum())
        if bad:
            warnings.append(f"{source}: {bad} NaN/Inf value(s) in the data; the debugger shows where they spread")
    if config.normalize:
        x = normalize(x)
    return dataset(x, y, config, device, source, f"--data {source}", tuple(warnings))


def dataset(x: torch.Tensor, y: torch.Tensor, config: RunConfig, device: torch.device, source: str, said: str,
            warnings: tuple[str, ...] = ()) -> Dataset:
    """x on the run's device, in its dtype (integer ids stay integers), y as the loss takes it: a target
    per row of x (a number, or a row of them: one-hot or regression targets), class indices for
    cross_entropy (checked; an error begins with `said`), else the run's dtype."""
    column = y.dim() == 2 and y.shape[1] == 1
    if y.dim() == 0 or len(y) != len(x) or column or (config.loss == "cross_entropy" and y.dim() != 1):
        raise InputError(f"{said} has shape {tuple(y.shape)}; the losses take one target per row of x, shape "
                         f"({len(x)},)" + (": pass y.squeeze(1), and write the loss for it (the lesson's Mse: "
                                           "inp.squeeze(-1) - targ)" if column else ""))
    if config.loss == "cross_entropy":
        targets = class_labels(y, config, said)
    elif y.is_floating_point() or KINDS[config.loss].reference is not None:
        targets = y.to(config.torch_dtype)
    else:  # a loss of the user's own class takes integer labels as they are (an index, a class id)
        targets = y
    x = x.to(device, config.torch_dtype) if x.is_floating_point() else x.to(device)  # ids stay what they index with
    return Dataset(x, targets.to(device), source, warnings)


def class_labels(y: torch.Tensor, config: RunConfig, said: str) -> torch.Tensor:
    """Targets as class indices (int64) for cross_entropy; InputError, beginning with `said`, for one
    that is not an integer in [0, --classes)."""
    bad = ~torch.isfinite(y) | (y != y.round())
    if bool(bad.any()):
        raise InputError(f"{said}: cross_entropy needs integer class labels; y[{int(bad.nonzero()[0])}] is "
                         f"{float(y[bad][0]):g}")
    out_of_range = (y < 0) | (y >= config.classes)
    if bool(out_of_range.any()):
        raise InputError(f"{said}: label {int(y[out_of_range][0])} is outside [0, {config.classes}); "
                         f"set --classes to the number of classes")
    return y.long()


def normalize(x: torch.Tensor) -> torch.Tensor:
    """(x - mean) / std with x's own statistics, as the notes do for MNIST (over the finite values)."""
    finite = x[torch.isfinite(x)]
    if finite.numel() < 2:
        return x
    std = finite.std()
    return (x - finite.mean()) / (std if std > 0 else 1.0)


def _read_arrays(path: Path):
    if not path.is_file():
        raise InputError(f"--data {path}: no such file")
    name = path.name.lower()
    try:
        if name.endswith(".npz"):
            return _read_npz(path)
        if name.endswith((".pt", ".pth")):
            return _read_torch(path)
        if name.endswith((".pkl", ".pkl.gz")):
            return _read_pickle(path)
        if name.endswith(".csv"):
            return _read_csv(path)
    except InputError:
        raise
    except Exception as exc:  # a corrupt file raises anything from zipfile to EOFError
        raise InputError(f"--data {path}: cannot read it ({type(exc).__name__}: {exc})") from None
    raise InputError(f"--data {path}: unknown file type; use .npz, .pt/.pth, .pkl/.pkl.gz or .csv")


def _pick(path: Path, arrays, kind: str):
    for x_key, y_key in (("x", "y"), ("x_train", "y_train")):
        if x_key in arrays and y_key in arrays:
            return arrays[x_key], arrays[y_key]
    raise InputError(f"--data {path}: expected {kind} with arrays x and y (or x_train and y_train), found {sorted(arrays)}")


def _read_npz(path: Path):
    with np.load(path, allow_pickle=False) as arrays:
        return _pick(path, {key: arrays[key] for key in arrays.files}, "an .npz")


def _read_torch(path: Path):
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        # torch's own message is paragraphs with terminal escapes: say what matters in one line
        raise InputError(f"--data {path}: holds more than tensors and arrays (objects that torch.load refuses "
                         "to run with weights_only=True), refused; save plain tensors: torch.save({'x': x, 'y': y})"
                         ) from None
    if isinstance(content, dict):
        return _pick(path, content, "a dict")
    if isinstance(content, (tuple, list)) and len(content) == 2:
        return content
    raise InputError(f"--data {path}: expected a dict with x and y, or an (x, y) tuple, found {type(content).__name__}")


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits only what rebuilds NumPy arrays; anything else is refused before it can run."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),  # protocol 2 writes an array's bytes as a latin-1 str and this call
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise InputError(f"refused to load {module}.{name}: only NumPy arrays may be unpickled")
        # a pickle names NumPy 1's numpy.core or NumPy 2's numpy._core: this NumPy's own (the other warns, or is absent)
        module = re.sub(r"^numpy\._?core\.", NUMPY_CORE, module)
        return super().find_class(module, name)


def _read_pickle(path: Path):
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as file:
        try:
            content = _ArraysOnlyUnpickler(file, encoding="latin-1").load()
        except InputError as exc:
            raise InputError(f"--data {path}: {exc}") from None
    # The course's mnist.pkl.gz: ((x_train, y_train), (x_valid, y_valid), (x_test, y_test))
    if isinstance(content, (tuple, list)) and content and isinstance(content[0], (tuple, list)):
        content = content[0]
    if isinstance(content, dict):
        return _pick(path, content, "a dict")
    if isinstance(content, (tuple, list)) and len(content) == 2:
        return content
    raise InputError(f"--data {path}: expected ((x_train, y_train), ...) as in the course's mnist.pkl.gz")


def _read_csv(path: Path):
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    if len(rows) < 2:
        raise InputError(f"--data {path}: expected a header line and at least one row of numbers")
    width = len(rows[0])
    if width < 2:
        raise InputError(f"--data {path}: expected at least two columns (features, then the target)")
    values = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != width:
            raise InputError(f"--data {path}:{line}: {len(row)} columns, the header has {width}")
        try:
            values.append([float(cell) for cell in row])
        except ValueError:
            raise InputError(f"--data {path}:{line}: a value that is not a number") from None
    table = np.asarray(values)
    return table[:, :-1], table[:, -1]


def _validate(path: Path, x, y) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = _as_tensor(path, "x", x), _as_tensor(path, "y", y)
    if x.dim() == 3:  # images (N, H, W)
        x = x.flatten(1)
    if x.dim() != 2:
        raise InputError(f"--data {path}: x must be 2-D (rows, features) or 3-D images, got shape {tuple(x.shape)}")
    if y.dim() == 2 and y.shape[1] == 1:
        y = y.squeeze(1)
    if y.dim() != 1:
        raise InputError(f"--data {path}: y must be 1-D (one target per row), got shape {tuple(y.shape)}")
    if len(x) != len(y):
        raise InputError(f"--data {path}: x has {len(x)} rows but y has {len(y)}")
    if len(x) == 0 or x.shape[1] == 0:
        raise InputError(f"--data {path}: no data (x has shape {tuple(x.shape)})")
    # integer x stays integer (ids for a layer that looks them up; DebugSession makes it float for any other)
    return (x if x.dtype in _INTEGER_DTYPES and x.dtype != torch.bool else x.float()), y.float()


def _as_tensor(path: Path, name: str, value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
    else:
        try:
            array = np.asarray(value)
        except Exception:
            raise InputError(f"--data {path}: {name} is not an array") from None
        if array.dtype.kind not in "biuf":
            raise InputError(f"--data {path}: {name} must be numeric, got dtype {array.dtype}")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_complex() or not (tensor.is_floating_point() or tensor.dtype in _INTEGER_DTYPES):
        raise InputError(f"--data {path}: {name} must be numeric, got {tensor.dtype}")
    return tensor


NUMPY_CORE = "numpy._core." if int(np.__version__.split(".")[0]) >= 2 else "numpy.core."
_INTEGER_DTYPES = {torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool}
