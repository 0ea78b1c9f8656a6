"""BUG (with two ReLUs): the ReLU keeps its tensors in a class attribute, a dict that every
instance shares. With one ReLU it works; with --hidden 50,20 the second ReLU's forward
overwrites the first's, and relu1's backward sets l3.g again instead of l1.g.

    gradtui check --layers samples/shared_state.py                   # exit 0
    gradtui check --layers samples/shared_state.py --hidden 50,20    # step 10, relu1, l1.g: "not set"
"""


class Relu:
    saved = {}  # BUG: one dict for every instance; use self.inp, self.out

    def __call__(self, inp):
        self.saved["inp"] = inp
        self.saved["out"] = inp.clamp_min(0.)
        return self.saved["out"]

    def backward(self):
        inp, out = self.saved["inp"], self.saved["out"]
        inp.g = (inp > 0).float() * out.g
