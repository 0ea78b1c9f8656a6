"""The network of a run: its layers (reference or the user's), their names, and its parameters."""

from __future__ import annotations

import ast
import copy
import importlib.machinery
import importlib.util
import inspect
import linecache
import sys
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch

from gradtui import layers as reference_layers
from gradtui.config import InputError, RunConfig
from gradtui.kinds import KINDS, Kind, any_layer
from gradtui.notebook import cell_filename, notebook_statements
from gradtui.running import captured, first_line
from gradtui.steps import LayerSpec, chained, check_kinds, describe, layer_specs

LAYER_CLASSES = tuple(kind.reference for kind in KINDS.values() if kind.reference)  # what a layer file may define

# A layer object's class name, lower case, as the kind it is: the reference class's name, the title,
# the kind, and the names torch gives them.
KIND_OF_CLASS = {alias.lower(): kind for kind in KINDS.values() if kind.reference
                 for alias in (kind.reference, kind.title, kind.name)}
KIND_OF_CLASS |= {alias: KINDS[name] for alias, name in (
    ("linear", "lin"), ("batchnorm1d", "batchnorm"), ("mseloss", "mse"), ("crossentropyloss", "cross_entropy"))}


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

    InputError (exit 2) when the file cannot be imported or defines none of them.
    """
    path = Path(path)
    return _found(path, _namespace(path)[0])


class _SourceAlways(importlib.machinery.SourceFileLoader):
    """A layer file's source compiled at each load, never a cached .pyc: Python keys that cache by the file's
    size and its modification time in whole seconds, so an edit of the same length within the second (`sum(0`
    for `sum(1`, a fix written, a save the app reloads) would run as the code before it. Nor does it leave a
    __pycache__ beside the user's file."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        return self.source_to_code(self.get_data(path), path)


def _namespace(path: Path) -> tuple[dict, list[str]]:
    """The names a layer file defines (a module's, or a notebook's kept statements'), and what to
    tell the user about loading it."""
    if not path.is_file():
        raise InputError(f"--layers {path}: no such file")
    if path.suffix == ".ipynb":
        return load_notebook(path)
    module_name = f"gradtui_user_layers_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path, loader=_SourceAlways(module_name, str(path)))
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
    return vars(module), []


def _found(path: Path, namespace: dict, model_problem: str | None = None,
           notes: list[str] | None = None) -> dict[str, type]:
    """The file's classes among LAYER_CLASSES, the reference's for the rest. A class with no backward
    of its own (makemore's Tanh: autograd is its backward) has nothing to check: the reference's
    steps in its place, and `notes` says so."""
    found = {name: namespace[name] for name in LAYER_CLASSES if inspect.isclass(namespace.get(name))}
    without = [name for name, cls in found.items() if not _has_backward(cls)]
    found = {name: cls for name, cls in found.items() if name not in without}
    forward_only = (f"{', '.join(without)} {'has' if len(without) == 1 else 'have'} none: autograd is "
                    f"{'its' if len(without) == 1 else 'their'} backward") if without else ""
    if not found:
        what = f"with a backward of its own ({forward_only})" if without else "(as classes)"
        why = f"; its Model: {model_problem}" if model_problem else ""
        raise InputError(f"--layers {path}: defines none of {', '.join(LAYER_CLASSES)} {what}{why}")
    if forward_only and notes is not None:
        one = len(without) == 1
        notes.append(f"the layer file's {', '.join(without)} {'has' if one else 'have'} no backward of "
                     f"{'its' if one else 'their'} own (autograd is the backward): the reference {', '.join(without)} "
                     f"step{'s' if one else ''} in {'its' if one else 'their'} place")
    return {**reference_classes(), **found}


def _has_backward(cls: type) -> bool:
    """A backward of the class's own: `backward`, or a `bwd` for a gradtui Module (whose own bwd raises)."""
    from gradtui.layers import Module

    if issubclass(cls, Module):
        return cls.bwd is not Module.bwd
    return callable(getattr(cls, "backward", None)) or callable(getattr(cls, "bwd", None))


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
                    given = ", so gradtui gave the notebook math, torch, nn, tensor and F instead"
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
    sizes: tuple[int, ...]  # the first Lin's input width, then each Lin's output width
    path: Path | None = None  # the layer file, if any
    notes: tuple[str, ...] = ()  # what loading it did not do (a notebook's failed import, a cell skipped)

    # The caller's own layer objects (the Python API): each layer is built as a copy of its object
    # with its tensor attributes (named in `attributes`) set to the session's tensors.
    prototypes: dict[str, object] = field(default_factory=dict)  # layer name -> the caller's object
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # layer name -> its tensors' names
    params: dict[str, torch.Tensor] | None = None  # a layer file's Model's tensors; None: init_params draws them
    # each Lin's own (fan_in, fan_out), for a network of the caller's objects, where a layer of
    # unknown class between two Lins may change the width; () for --net's, whose `sizes` say them
    lin_shapes: tuple[tuple[int, int], ...] = ()

    @property
    def shapes(self) -> tuple[tuple[int | None, int], ...]:
        return self.lin_shapes or chained(self.sizes)

    def class_for(self, spec: LayerSpec) -> type:
        """The class whose code runs for the layer (a caller's object's own: two Lin subclasses may differ)."""
        prototype = self.prototypes.get(spec.name)
        return type(prototype) if prototype is not None else self.classes[spec.entry.class_key]

    def isolated_classes(self) -> dict[str, type]:
        """The same classes from a fresh import of the layer file: they share no state (class
        attributes, module globals) with `classes`."""
        return self.classes if self.path is None or self.prototypes else load_layer_file(self.path)

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
            registered = _registered(layer)
            if registered:  # the copy's own: the session's tensors in place of the caller's nn.Parameters
                registered = layer.__dict__["_parameters"] = dict(registered)
            for attribute, tensor in zip(self.attributes[spec.name], args):
                if attribute in registered:
                    registered[attribute] = tensor
                else:
                    setattr(layer, attribute, tensor)
            return layer
        cls = (classes or self.classes)[spec.entry.class_key]
        try:
            return cls(*args)
        except Exception as exc:  # the user's __init__ does not take the protocol's arguments
            call = f"{cls.__name__}({', '.join(spec.params)})"
            protocol = (f" (gradtui builds {call} with the tensors themselves, as the notes do; a layer built from "
                        "sizes belongs in a Model, such as Model(784, 50, 1), which draws its own)" if spec.params else "")
            raise InputError(f"--layers {self.source}: {call} failed: {type(exc).__name__}: {first_line(exc)}"
                             f"{protocol}") from None

    def describe(self) -> str:
        return describe(self.specs, self.shapes)


def build_network(config: RunConfig, n_in: int, device: torch.device | str = "cpu", model: bool = True) -> Network:
    """The network --net and --hidden describe, with the layer file's classes; or, when the file
    defines a `Model` gradtui can step (and `model` says to look), that model's layers (with its
    parameters)."""
    sizes = network_sizes(config, n_in)
    if config.layers is None:
        return Network(layer_specs(config.kinds), reference_classes(), "reference", sizes)
    path = Path(config.layers)
    namespace, notes = _namespace(path)
    problem = None
    if model and inspect.isclass(namespace.get("Model")):
        try:
            return _file_model(namespace, config, n_in, device, path, tuple(notes))
        except ModelNotStepped as exc:
            problem = str(exc)
            notes.append(f"the layer file's Model is not stepped, because {problem}; gradtui steps the file's classes "
                         "instead")
    classes = _found(path, namespace, problem, notes)
    used = {KINDS[kind].class_key for kind in config.kinds}
    unused = [name for name in LAYER_CLASSES if name not in used and classes[name] is namespace.get(name)]
    if unused:
        notes.append(f"the layer file's {', '.join(unused)} {'is' if len(unused) == 1 else 'are'} not in this network "
                     f"({describe(layer_specs(config.kinds), chained(sizes))}): give --net with "
                     f"{', '.join(KIND_OF_CLASS[name.lower()].name for name in unused)} "
                     f"to step {'it' if len(unused) == 1 else 'them'}")
    return Network(layer_specs(config.kinds), classes, str(path), sizes, path, tuple(notes))


class ModelNotStepped(Exception):
    """Why a layer file's Model cannot be stepped (its classes are, then)."""


def _file_model(namespace: dict, config: RunConfig, n_in: int, device, path: Path, notes: tuple[str, ...]) -> Network:
    """The network of the file's `Model`, built with what its __init__ takes: nothing (the weights
    --net and --hidden give are then the globals w1, b1, … its code reads, as in the notebook),
    those weights in order, or the widths (n_in, hidden…, n_out), from which it draws its own."""
    model_class = namespace["Model"]
    params = init_params(config, n_in, torch.device(device))
    sizes = network_sizes(config, n_in)
    arguments, shown = _model_arguments(model_class, params, sizes)
    if not arguments:
        namespace.update(params)
    with torch.random.fork_rng(devices=[]):  # a Model that draws its own weights draws the same ones each run
        # (the CPU's generator alone: torch.manual_seed queues a seed for every accelerator torch knows, a stack
        # trace each, milliseconds that every run of a fix's edits would pay)
        torch.random.default_generator.manual_seed(config.seed)
        if torch.device(device).type == "cuda":
            torch.cuda.manual_seed_all(config.seed)
        try:
            with captured():
                model = model_class(*arguments)
        except Exception as exc:
            raise ModelNotStepped(f"Model({shown}) raised {type(exc).__name__}: {exc}") from None
    layers, loss = getattr(model, "layers", None), getattr(model, "loss", None)
    has_layers = isinstance(layers, (list, tuple)) and bool(layers)
    if not has_layers or loss is None:
        raise ModelNotStepped(_what_a_model_lacks(has_layers, loss is not None))
    try:
        network, weights = network_of(list(layers), loss, str(path), path, n_in, notes)
    except (TypeError, ValueError) as exc:
        raise ModelNotStepped(str(exc)) from None
    if network.specs[-1].entry.reference is not None and network.specs[-1].kind != config.loss:
        raise ModelNotStepped(f"its loss is {network.specs[-1].entry.title}, the options' is "
                              f"{KINDS[config.loss].title} (give --net ending in {network.specs[-1].kind})")
    # a tensor the Model made itself (a LayerNorm's gain) joins the run's dtype
    return replace(network, params=moved(weights, torch.device(device), config.torch_dtype))


def _what_a_model_lacks(has_layers: bool, has_loss: bool) -> str:
    """What a Model without the lesson's .layers and .loss lacks, in words that stand alone."""
    layers, loss = "a .layers list (its layers, called in order)", ".loss, the loss gradtui calls as loss(out, y)"
    if has_layers:
        return f"it has .layers but no {loss} after the layers"
    if has_loss:
        return f"it has .loss but not {layers}"
    return f"it has neither {layers} nor {loss}"


def required_arguments(function) -> list[str]:
    """The positional arguments a callable (a class: its __init__'s) requires; none when it has no
    signature to read."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return []
    return [p.name for p in signature.parameters.values() if p.default is p.empty
            and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def is_loss(layer) -> bool:
    """A loss kind gradtui knows (Mse, CrossEntropy, MSELoss, …), or a layer called with the targets too."""
    kind = known_kind(type(layer))
    if kind is not None:
        return kind.loss
    call = layer.forward if callable(getattr(type(layer), "forward", None)) else layer  # the lesson's Module, or __call__
    return len(required_arguments(call)) == 2


def _model_arguments(model_class: type, params: dict[str, torch.Tensor], sizes: tuple[int, ...]) -> tuple[tuple, str]:
    """What to call the Model with, and how to say that call."""
    required = required_arguments(model_class)
    if not required:
        return (), ""
    if len(required) == len(params):
        return tuple(params.values()), ", ".join(params)
    if len(required) == len(sizes):
        return sizes, ", ".join(map(str, sizes))
    weights = f"the {len(params)} weights ({', '.join(params)})" if params else "the weights (here none)"
    raise ModelNotStepped(f"Model({', '.join(required)}) takes {len(required)} argument{'s' * (len(required) != 1)}; "
                          f"gradtui gives it none (the weights then its globals), {weights}, or the {len(sizes)} widths "
                          f"({', '.join(map(str, sizes))}), as --net and --hidden give them")


# -- a network of the caller's layer objects (the Python API's model, a layer file's Model) --------

# What a forward leaves on its layer (`self.inp = inp; self.out = ...`): in a notebook the model has
# often run before it is checked, and these are no parameters of a layer gradtui has no entry for.
ACTIVATION_NAMES = frozenset({"inp", "input", "x", "out", "output", "targ", "target", "y"})


def tensor_attributes(layer) -> dict[str, torch.Tensor]:
    """A layer object's parameters: its floating-point tensor attributes, in the order it set them,
    an nn.Module's registered parameters first (a boolean mask or an index has no gradient: it
    stays on the layer as its state), without what a forward that ran before left on it."""
    found = {**_registered(layer), **{k: v for k, v in vars(layer).items() if k not in ACTIVATION_NAMES}}
    return {name: value for name, value in found.items() if isinstance(value, torch.Tensor) and value.is_floating_point()}


def _registered(layer) -> dict:
    """An nn.Module's parameters, which live in its `_parameters`, not among its attributes."""
    return layer.__dict__["_parameters"] if isinstance(layer, torch.nn.Module) else {}


def known_kind(cls: type) -> Kind | None:
    """The kind of a class named as one (Lin, Linear, BatchNorm1d, …), or of a subclass of one (a
    `class BadLin(Lin)` is a Lin); gradtui's own Module and torch's nn.Module are no kind."""
    return next((KIND_OF_CLASS[klass.__name__.lower()] for klass in cls.__mro__
                 if klass.__name__.lower() in KIND_OF_CLASS), None)


def kind_of(layer, loss: bool = False) -> Kind:
    """A known kind by the class's name or a base class's; any other class is a kind of its own
    (kinds.any_layer), its parameters its tensor attributes, a loss when it is the model's."""
    kind = known_kind(type(layer))
    if kind is not None:
        return kind
    return any_layer(type(layer), tuple(tensor_attributes(layer)), loss)


def _kinds_of(layers: list, n_in: int, notes: tuple[str, ...]) -> tuple[list[Kind], tuple[str, ...]]:
    """Each layer's kind. A Lin class whose matrix is (out, in), nn.Linear's layout, where the
    lesson's is (in, out), is a kind of its own (every layer of that class): stepped, its backward
    judged against autograd, but not against the reference Lin, whose matrix it does not fit."""
    out_in, width = set(), n_in
    for layer in layers:
        matrix = max(tensor_attributes(layer).values(), key=lambda t: t.dim(), default=None)
        if not kind_of(layer).changes_width or matrix is None or matrix.dim() != 2:
            continue
        if type(layer) in out_in or (matrix.shape[0] != width and matrix.shape[1] == width):
            out_in.add(type(layer))
            width = matrix.shape[0]
        else:
            width = matrix.shape[1]
    kinds = [any_layer(type(layer), tuple(tensor_attributes(layer))) if type(layer) in out_in else kind_of(layer)
             for layer in layers]
    notes += tuple(f"{cls.__name__} holds its matrix as (out, in), nn.Linear's layout, not the lesson's (in, out): it "
                   "is stepped as a layer of its own, its backward judged against autograd (not against the reference "
                   "Lin)" for cls in out_in)
    return kinds, notes


def network_of(layers: list, loss, source: str, path: Path | None, n_in: int,
               notes: tuple[str, ...] = ()) -> tuple[Network, dict[str, torch.Tensor]]:
    """The network that steps these layer objects, then the loss, and its parameters: the objects'
    tensor attributes under the CLI's names (w1, b1, gamma1, …; <class><count>.<attribute> for a
    class gradtui has no entry for). The session builds each layer as a copy of its object.
    TypeError or ValueError (one line) when the objects are no network gradtui can step."""
    without = next((o for o in [*layers, loss] if not callable(getattr(o, "backward", None))
                    and not callable(getattr(o, "bwd", None))), None)
    if without is not None:  # torch's own nn.Linear, say: nothing of yours to check
        name = getattr(without, "__name__", type(without).__name__)
        raise TypeError(f"{name} has no backward of its own (autograd is its backward)")
    nested = next(((o, n) for o in [*layers, loss] if isinstance(o, torch.nn.Module)
                   for n, _ in o.named_parameters() if "." in n), None)
    if nested is not None:  # its gradient would go unchecked: gradtui checks what a layer holds itself
        raise TypeError(f"{type(nested[0]).__name__} holds a parameter in a submodule ({nested[1]}); give the "
                        "submodule as a layer of its own, or hold the tensor in the layer")
    kinds, notes = _kinds_of(layers, n_in, notes)
    kinds.append(kind_of(loss, loss=True))
    problem = check_kinds(tuple(kind.name for kind in kinds), model=True)
    if problem:
        raise ValueError(f"the model's layers are no network gradtui can step: {problem}")
    specs = layer_specs(tuple(kind.name for kind in kinds))
    classes, params, widths, prototypes, attributes = {}, {}, [], {}, {}
    for spec, kind, layer in zip(specs, kinds, [*layers, loss]):
        classes.setdefault(kind.class_key, type(layer))  # each layer runs its own object's class (class_for)
        tensors = tensor_attributes(layer)
        if kind.reference is not None:  # its own parameters are the first it set (then running statistics, …)
            tensors = dict(list(tensors.items())[:len(kind.params)])
        if kind.changes_width:  # a Lin's weight is its matrix, whatever order it set them in
            tensors = dict(sorted(tensors.items(), key=lambda item: -item[1].dim()))
        if len(tensors) != len(kind.params):
            raise TypeError(f"{spec.name} ({type(layer).__name__}) holds {len(tensors)} tensor(s); "
                            f"a {kind.title} takes {len(kind.params)} ({', '.join(kind.params) or 'none'})")
        params.update(zip(spec.params, tensors.values()))
        prototypes[spec.name], attributes[spec.name] = layer, tuple(tensors)
        if kind.changes_width:
            widths.append(next(iter(tensors.values())).shape)
    # The first Lin's own input width: a layer of unknown class before it (a fused LinRelu) may change it.
    sizes = (widths[0][0] if widths else n_in, *(shape[1] for shape in widths))
    network = Network(specs, {**reference_classes(), **classes}, source, sizes, path, notes, prototypes=prototypes,
                      attributes=attributes, lin_shapes=tuple((fan_in, fan_out) for fan_in, fan_out in widths))
    return network, params


def moved(params: dict[str, torch.Tensor], device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Parameters on the run's device, the floating ones in its dtype (a mask or an index stays as it is)."""
    return {name: t.to(device, dtype) if t.is_floating_point() else t.to(device) for name, t in params.items()}


def config_for(config: RunConfig, network: Network) -> RunConfig:
    """The run's options, with the network's own kinds and widths in place of --net and --hidden."""
    lins = any(spec.entry.changes_width for spec in network.specs)  # none: the sizes are the layers' own business
    return replace(config, net=tuple(spec.kind for spec in network.specs),
                   hidden=(tuple(network.sizes[1:-1]) or None) if lins else None, classes=max(2, network.sizes[-1]))

