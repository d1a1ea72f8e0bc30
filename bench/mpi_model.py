#!/usr/bin/python3
"""mpi_model.py -- the scaling model of docs/mpi.md: the time of a ring
all-reduce of the gradient against a rank's compute time per step.

    python3 bench/mpi_model.py CONFIG:PARAMS:IMG_S ...

CONFIG names a model, PARAMS is its parameter count (the gradient is
4 * PARAMS bytes), IMG_S the training images/s of one rank measured with
one process (bench/mpi_scaling.sh). For N ranks at B Gbit/s:

    t_ar = 2 (N-1)/N * 4 PARAMS * 8 / (B 1e9)  +  2 (N-1) * ALPHA
    t_c  = b / IMG_S           (b: images per rank and step)
    efficiency = t_c / (t_c + t_ar)           (exchange after backward)

ALPHA, the latency of one message of the ring, is an assumption (10 us,
a TCP stack over Ethernet), not a measurement. Also printed: the rank
speed (images/s) above which the exchange takes longer than the compute
(efficiency under 50%): b / t_ar. Each cell: "t_ar, efficiency (that
speed)".
"""
import sys

ALPHA = 10e-6
RANKS = (8, 64, 512)
GBITS = (10, 25, 100)


def t_allreduce(n, params, gbit):
    return 2 * (n - 1) / n * 4 * params * 8 / (gbit * 1e9) + 2 * (n - 1) * ALPHA


def table(name, params, img_s, b):
    t_c = b / img_s
    print("\n%s: %.1f MB gradient, %.3g img/s per rank, %d images per "
          "rank and step: t_c = %.0f ms"
          % (name, 4e-6 * params, img_s, b, 1e3 * t_c))
    print("| ranks | " + " | ".join("%d Gbit/s" % g for g in GBITS) + " |")
    print("|---" * (len(GBITS) + 1) + "|")
    for n in RANKS:
        cells = []
        for g in GBITS:
            t = t_allreduce(n, params, g)
            cells.append("%.0f ms, %.2f (%.0f)"
                         % (1e3 * t, t_c / (t_c + t), b / t))
        print("| %d | %s |" % (n, " | ".join(cells)))


def main():
    for arg in sys.argv[1:]:
        name, params, img_s = arg.split(":")
        table(name, int(params), float(img_s), 16)


if __name__ == "__main__":
    main()
