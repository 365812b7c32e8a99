"""What exact zeros and denormals cost the elementwise kernels of Adam's step, in one run.

Adam keeps two running averages per weight: ``m`` (``exp_avg``, updated by ``lerp_``) and ``v``
(``exp_avg_sq``), and steps by ``m / (sqrt(v) + eps)`` (``sqrt``, ``addcdiv_``). In a trained
ReLU network some units never fire, so some weights always get a gradient of exactly 0: their
``v`` stays exactly 0, and their ``m`` decays by 0.9 per step into the denormal range (below
1.18e-38) before it reaches 0. Some CPUs and math libraries take a slow path for such values.
This script times each kernel on a tensor the size of a 10-member stack of the ``dqn`` preset
(4-128-128-2: 175,380 floats) filled with positive normal values (the baseline), exact zeros,
and denormals, and prints each time as a ratio to the baseline's, with flush-to-zero off
(torch's default) and on (``torch.set_flush_denormal(True)``).

    python benchmarks/special_values.py
    python benchmarks/special_values.py --numel 17538    # one member (a solo run's network)
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

DENORMAL = 1e-40  # below torch.finfo(torch.float32).tiny (1.18e-38), above 0


def best_time(fn: Callable[[], object], repeats: int = 100, rounds: int = 5) -> float:
    """The fastest of ``rounds`` mean times of ``fn()`` over ``repeats`` calls, in seconds."""
    for _ in range(5):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def kernels(x: torch.Tensor) -> dict[str, Callable[[], object]]:
    """Adam's elementwise kernels, with ``x`` in the place of the running average they read."""
    other, out = torch.rand_like(x) + 0.5, torch.empty_like(x)
    return {
        "sqrt(v)": lambda: torch.sqrt(x, out=out),
        "lerp(m, g, 0.1)": lambda: torch.lerp(x, other, 0.1, out=out),
        "addcdiv(p, m, d)": lambda: torch.addcdiv(other, x, other, value=-1e-3, out=out),
        "m * 0.9": lambda: torch.mul(x, 0.9, out=out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numel", type=int, default=175_380)
    args = parser.parse_args()
    if args.numel < 1:
        parser.error("--numel must be at least 1")
    torch.set_num_threads(1)
    print(
        f"{args.numel:,} floats, 1 torch thread, torch {torch.__version__}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )
    inputs = {
        "positive": torch.rand(args.numel) + 0.5,
        "zeros": torch.zeros(args.numel),
        "denormal": torch.full((args.numel,), DENORMAL),
    }
    for flush in (False, True):
        torch.set_flush_denormal(flush)
        print(f"flush-to-zero {'on' if flush else 'off'}:")
        base = {name: best_time(fn) for name, fn in kernels(inputs["positive"]).items()}
        for name, seconds in base.items():
            ratios = []
            for kind in ("zeros", "denormal"):
                t = best_time(kernels(inputs[kind])[name])
                ratios.append(f"{kind} {t / seconds:5.1f}x")
            print(f"  {name:<17} positive {seconds * 1e6:7.1f} us | " + " | ".join(ratios))
    torch.set_flush_denormal(False)


if __name__ == "__main__":
    main()
