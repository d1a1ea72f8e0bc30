#!/usr/bin/python3
"""lab_reference.py -- reference CIE Lab values for tests/test_color.c.

    /usr/bin/python3 twin/lab_reference.py

Restates docs/color.md's sRGB (IEC 61966-2-1, D65) -> CIE 1976 L*a*b*
conversion in plain Python floats (no numpy), independently of
src/chain/color.c, and prints one C initializer line per color. Its output
produced the constants of the test color_lab_reference_values in
tests/test_color.c; rerun it and paste the lines when the formulas change.
"""

# linear RGB -> XYZ, IEC 61966-2-1 (the 4-digit matrix)
M = [[0.4124, 0.3576, 0.1805],
     [0.2126, 0.7152, 0.0722],
     [0.0193, 0.1192, 0.9505]]
# reference white: M applied to (1, 1, 1)
WHITE = [sum(row) for row in M]
DELTA = 6.0 / 29.0


def decode(v):
    """8-bit sRGB value -> linear light in [0, 1]."""
    c = v / 255.0
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def f(t):
    return t ** (1.0 / 3.0) if t > DELTA ** 3 else t / (3 * DELTA ** 2) + 4.0 / 29.0


def srgb_to_lab(rgb):
    lin = [decode(v) for v in rgb]
    xyz = [sum(M[i][j] * lin[j] for j in range(3)) for i in range(3)]
    fx, fy, fz = (f(xyz[i] / WHITE[i]) for i in range(3))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


COLORS = [
    ("white", (255, 255, 255)),
    ("black", (0, 0, 0)),
    ("red", (255, 0, 0)),
    ("green", (0, 255, 0)),
    ("blue", (0, 0, 255)),
    ("mid", (128, 64, 200)),
    ("dark", (10, 20, 5)),  # every channel on the linear segment
]

if __name__ == "__main__":
    print("/* white point Xn, Yn, Zn = %.17g, %.17g, %.17g */" % tuple(WHITE))
    for name, rgb in COLORS:
        lab = srgb_to_lab(rgb)
        print("{{%d, %d, %d}, {%.10f, %.10f, %.10f}}, /* %s */"
              % (rgb + lab + (name,)))
