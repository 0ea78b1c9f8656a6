"""The time a check spends in the search on the derived backward (gradtui.derived.Probe): the layer's run on
its first rows, the one-edit search, the one-path search, a closed form's term and the forward's guards."""
import time

from gradtui import derived

SEARCH = ("run", "slips", "one_path_slips", "closed_form_term", "left_out_guards")


class SearchClock:
    """Within `with`, `seconds` adds up the time spent in the search (set it to 0 between checks); a search
    that asks another part of it is counted once."""

    def __init__(self):
        self.seconds, self._depth, self._originals = 0.0, 0, {}

    def __enter__(self) -> "SearchClock":
        for name in SEARCH:
            self._originals[name] = original = getattr(derived.Probe, name)
            setattr(derived.Probe, name, self._timed(original))
        return self

    def __exit__(self, *exc) -> None:
        for name, original in self._originals.items():
            setattr(derived.Probe, name, original)

    def _timed(self, original):
        def timed(*args, **kwargs):
            self._depth += 1
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                if not self._depth:
                    self.seconds += time.perf_counter() - start
        return timed
