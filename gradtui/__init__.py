"""gradtui: a terminal debugger for backpropagation."""

__version__ = "0.1.0"
