"""The network of a run: its layers (reference or the user's), their names, and its parameters."""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
import linecache
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from gradtui import layers as reference_layers
from gradtui.config import InputError, RunConfig
from gradtui.kinds import KINDS
from gradtui.notebook import cell_filename, notebook_statements
from gradtui.running import captured
from gradtui.steps import LayerSpec, describe, layer_specs

LAYER_CLASSES = tuple(kind.reference for kind in KINDS.values() if kind.reference)  # what a layer file may define


def network_sizes(config: RunConfig, n_in: int) -> tuple[int, ...]:
    """The widths the lin layers go through: n_in, the hidden widths, the loss's input width."""
    return (n_in, *config.widths, config.n_out)


def init_params(config: RunConfig, n_in: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Each layer's parameters as its kind's `init` gives them (the notes': w = randn(n_in, n_out)
    / sqrt(n_in), b = 0; batch norm's gain 1 and shift 0), from a random stream of their own;
    --init random: small random biases (and gains around 1), so that a forgotten term shows."""
    draw = _Draws(torch.Generator().manual_seed(3 * config.seed + 2))  # a stream apart from the data's
    sizes = iter(zip(network_sizes(config, n_in), network_sizes(config, n_in)[1:]))
    notes, width, params = config.init == "notes", n_in, {}
    for spec in layer_specs(config.kinds):
        kind = KINDS[spec.kind]
        if kind.init is None:
            continue
        fan_in, fan_out = next(sizes) if kind.changes_width else (width, width)
        width = fan_out
        for name, tensor in zip(spec.params, kind.init(fan_in, fan_out, notes, draw)):
            params[name] = tensor.to(device, config.torch_dtype)
    return params


class _Draws:
    """What a kind's init draws from: one seeded stream, and constants that draw nothing."""

    def __init__(self, generator: torch.Generator):
        self.generator = generator

    def randn(self, *size: int) -> torch.Tensor:
        return torch.randn(*size, generator=self.generator)

    def zeros(self, size: int) -> torch.Tensor:
        return torch.zeros(size)

    def ones(self, size: int) -> torch.Tensor:
        return torch.ones(size)


def reference_classes() -> dict[str, type]:
    return {name: getattr(reference_layers, name) for name in LAYER_CLASSES}


def load_layer_file(path: Path | str) -> dict[str, type]:
    """The classes a user's file defines among LAYER_CLASSES; the reference fills the rest.

    InputError (exit 2) when the file cannot be imported or defines none of the three.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--layers {path}: no such file")
    if path.suffix == ".ipynb":
        return _found(path, load_notebook(path)[0])
    module_name = f"gradtui_user_layers_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"--layers {path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        with captured():  # a print at the file's top level must not reach check --json's output
            spec.loader.exec_module(module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a user's file may raise anything, SystemExit included
        raise InputError(f"--layers {path}: cannot import it: {_describe_import_error(exc, path)}") from None
    finally:
        sys.modules.pop(module_name, None)
    return _found(path, vars(module))


def _found(path: Path, namespace: dict) -> dict[str, type]:
    found = {name: namespace[name] for name in LAYER_CLASSES if inspect.isclass(namespace.get(name))}
    if not found:
        raise InputError(f"--layers {path}: defines none of {', '.join(LAYER_CLASSES)} (as classes)")
    return {**reference_classes(), **found}


# What a failed star import of the course's notebooks (`from exp.nb_01 import *`) gave them, as far
# as a layer needs it.
STAR_FALLBACK = "import math\nimport torch\nfrom torch import nn, tensor\nimport torch.nn.functional as F\n"


def load_notebook(path: Path) -> tuple[dict, list[str]]:
    """The notebook's namespace after its kept statements ran in order, and what to tell the user:
    imports that failed (once each), cells skipped."""
    try:
        statements, notes = notebook_statements(path)
    except ValueError as exc:
        raise InputError(f"--layers {path}: {exc}") from None
    namespace = {"__name__": f"gradtui_user_notebook_{abs(hash(path.resolve()))}"}
    with captured():
        for statement in statements:
            filename = cell_filename(path, statement.cell)
            lines = statement.source.splitlines(keepends=True)
            linecache.cache[filename] = (len(statement.source), None, lines, filename)  # inspect reads the source
            code = compile(ast.Module(body=[statement.node], type_ignores=[]), filename, "exec")
            try:
                exec(code, namespace)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:
                line = ast.get_source_segment(statement.source, statement.node) or ""
                if not isinstance(statement.node, (ast.Import, ast.ImportFrom)):
                    raise InputError(f"--layers {path}: cell {statement.cell}, line {statement.node.lineno}: "
                                     f"{type(exc).__name__}: {exc}") from None
                star = isinstance(statement.node, ast.ImportFrom) and any(a.name == "*" for a in statement.node.names)
                given = ""
                if star:
                    exec(STAR_FALLBACK, namespace)
                    given = "; gave the notebook math, torch, nn, tensor and F instead"
                notes.append(f"cell {statement.cell}: `{line.strip()}` failed ({type(exc).__name__}: {exc}){given}")
    return namespace, notes


def _describe_import_error(exc: BaseException, path: Path) -> str:
    if isinstance(exc, SyntaxError):
        return f"SyntaxError at line {exc.lineno}: {exc.msg}"
    line = next((frame.lineno for frame in reversed(traceback.extract_tb(exc.__traceback__))
                 if Path(frame.filename) == path), None)
    where = f" at line {line}" if line else ""
    return f"{type(exc).__name__}{where}: {exc}"


@dataclass(frozen=True)
class Network:
    specs: tuple[LayerSpec, ...]
    classes: dict[str, type]  # "Lin" -> the class used (the user's or the reference)
    source: str  # "reference" or the layer file's path
    sizes: tuple[int, ...]
    path: Path | None = None  # the layer file, if any
    notes: tuple[str, ...] = ()  # what loading it did not do (a notebook's failed import, a cell skipped)

    # The caller's own layer objects (the Python API): each layer is built as a copy of its object
    # with its tensor attributes (named in `attributes`) set to the session's tensors.
    prototypes: dict[str, object] = field(default_factory=dict)  # layer name -> the caller's object
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # layer name -> its tensors' names

    def class_for(self, spec: LayerSpec) -> type:
        return self.classes[spec.entry.class_key]

    def isolated_classes(self) -> dict[str, type]:
        """The same classes from a fresh import of the layer file: they share no state (class
        attributes, module globals) with `classes`."""
        return self.classes if self.path is None else load_layer_file(self.path)

    def build(self, params: dict[str, torch.Tensor], classes: dict[str, type] | None = None) -> list:
        """Fresh layer objects over `params` (the user's classes unless `classes` says otherwise)."""
        return [self.layer(spec, params, classes) for spec in self.specs]

    def layer(self, spec: LayerSpec, params: dict[str, torch.Tensor], classes: dict[str, type] | None = None):
        """One fresh layer object over `params`: the class called with its parameters, as the protocol
        says (`Lin(w, b)`), or a copy of the caller's object holding them."""
        args = [params[name] for name in spec.params]
        prototype = self.prototypes.get(spec.name)
        if prototype is not None:
            layer = copy.copy(prototype)
            layer.__dict__ = dict(prototype.__dict__)
            for attribute, tensor in zip(self.attributes[spec.name], args):
                setattr(layer, attribute, tensor)
            return layer
        cls = (classes or self.classes)[spec.entry.class_key]
        try:
            return cls(*args)
        except Exception as exc:  # the user's __init__ does not take the protocol's arguments
            call = f"{cls.__name__}({', '.join(spec.params)})"
            raise InputError(f"--layers {self.source}: {call} failed: {type(exc).__name__}: {exc}") from None

    def describe(self) -> str:
        return describe(self.specs, self.sizes)


def build_network(config: RunConfig, n_in: int) -> Network:
    notes = ()
    if config.layers is not None and Path(config.layers).suffix == ".ipynb" and Path(config.layers).is_file():
        namespace, told = load_notebook(Path(config.layers))
        classes, notes = _found(Path(config.layers), namespace), tuple(told)
    else:
        classes = load_layer_file(config.layers) if config.layers is not None else reference_classes()
    source = str(config.layers) if config.layers is not None else "reference"
    return Network(layer_specs(config.kinds), classes, source, network_sizes(config, n_in), config.layers, notes)
