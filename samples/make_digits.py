"""Writes samples/digits.npz: a small real image set for `gradtui --data samples/digits.npz`.

The data: the UCI "Optical Recognition of Handwritten Digits" test set as shipped with
scikit-learn (`sklearn.datasets.load_digits`): 1797 grey images of 8 × 8 pixels (values 0..16)
of the digits 0..9, written by 43 people. E. Alpaydin and C. Kaynak, 1998, UCI Machine
Learning Repository, https://doi.org/10.24432/C50P49, licensed CC BY 4.0.

scikit-learn is needed to run this script only, not gradtui:

    pip install scikit-learn && python samples/make_digits.py

The file holds x (1797, 64) as float32 and y (1797,) as the integer labels, as in the
course's MNIST setup where the label is the regression target.
"""

from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits


def main() -> None:
    digits = load_digits()
    target = Path(__file__).with_name("digits.npz")
    np.savez_compressed(target, x=digits.data.astype(np.float32), y=digits.target.astype(np.int64))
    print(f"wrote {target}: x {digits.data.shape}, y {digits.target.shape}")


if __name__ == "__main__":
    main()
