"""The header's line fits the terminal and always shows the device, dtype, batch and the layer
file's name; the network is what gives way."""

import pytest

from gradtui.steps import chained, layer_specs
from gradtui.ui.header import HEADER_CHROME, header_line, network_forms

COURSE = layer_specs(("lin", "batchnorm", "tanh", "lin", "cross_entropy"))
LESSON = layer_specs(("lin", "relu", "lin", "mse"))


@pytest.mark.parametrize("columns", [80, 100, 120, 200])
@pytest.mark.parametrize("specs, sizes, layers", [
    (COURSE, (784, 64, 10), "samples/backprop_exercise_steps.py"),
    (LESSON, (784, 50, 1), None),
    (LESSON, (784, 50, 1), "samples/transposed.py"),
], ids=["course net, layer file", "lesson", "lesson, layer file"])
def test_the_header_fits_and_keeps_what_a_user_switching_files_needs(columns, specs, sizes, layers):
    width = columns - HEADER_CHROME
    line = header_line(network_forms(specs, chained(sizes)), "cpu", "float32", 1000, layers, "", width)
    assert len(line) <= width
    assert "cpu" in line and "float32" in line and "batch 1000" in line
    if layers:
        assert layers.rsplit("/", 1)[-1] in line


def test_the_network_gives_way_before_the_file_and_the_whole_line_is_kept():
    forms = network_forms(COURSE, chained((784, 64, 10)))
    assert forms[0] == "Lin(784→64) → BatchNorm → Tanh → Lin(64→10) → CrossEntropy"
    whole = header_line(forms, "cpu", "float32", 1000, "samples/backprop_exercise_steps.py", "")
    assert whole == ("gradtui — Lin(784→64) → BatchNorm → Tanh → Lin(64→10) → CrossEntropy · cpu · float32 · "
                     "batch 1000 · layers: samples/backprop_exercise_steps.py")
    wide = header_line(forms, "cpu", "float32", 1000, "samples/backprop_exercise_steps.py", "", 120 - HEADER_CHROME)
    assert "layers: samples/backprop_exercise_steps.py" in wide and forms[0] not in wide
