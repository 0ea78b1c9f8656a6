"""The header's line: the network, device, dtype, batch and where the layers come from, fitted to
the terminal. The network is shortened before the layer file's name, which a user switching
files must always see; the whole line is in the help screen."""

from __future__ import annotations

from pathlib import PurePath

from gradtui.steps import LayerSpec, Shape, describe

HEADER_CHROME = 18  # columns of Textual's header around its title: the icon's, their mirror, the ellipsis
APP = "gradtui — "


def network_forms(specs: tuple[LayerSpec, ...], shapes: tuple[Shape, ...]) -> list[str]:
    """The network from its fullest to its shortest: with each Lin's shape, by title, titles joined
    tight, by kind, the count of layers."""
    titles = [spec.entry.title for spec in specs]
    return [describe(specs, shapes), " → ".join(titles), "→".join(titles), ",".join(spec.kind for spec in specs),
            f"{len(specs)} layers"]


def header_line(networks: list[str], device: str, dtype: str, rows, layers: str | None, state: str,
                width: int | None = None) -> str:
    """The first form that fits `width` columns: the network shortened first, then the app's name
    dropped, the layer file's path cut to its name, the rest said tighter. Without a width, the
    whole line."""
    tails = [f" · {device} · {dtype} · batch {rows}", f" · {device} {dtype} · batch {rows}"]
    files = [f" · layers: {layers}", f" · layers: {PurePath(layers).name}", f" · {PurePath(layers).name}"] \
        if layers else [""]
    candidates = [app + network + tail + file + state
                  for tail in tails for file in files for app in (APP, "") for network in networks]
    candidates += [line.replace(" · ", "·") for line in candidates[-len(networks):]]  # the tightest, last
    if width is None:
        return candidates[0]
    return next((line for line in candidates if len(line) <= width), candidates[-1])
