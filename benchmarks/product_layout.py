"""What the layout of a layer's weight costs its forward product, per ensemble member, in one run.

``nn.Linear`` stores its weight as ``(out, in)``, so ``F.linear`` multiplies by a transposed
operand (``x @ W.T``), and the ensemble does the same member by member so that each member's
products are exactly its solo run's (``rlladder/deep/networks.py``). This script times, for each
layer shape of the ``dqn`` preset (4-128-128-2, batch 128) stacked over ``--members`` members:

- ``x @ W.T`` as the ensemble computes it (the baseline);
- ``x @ Wt`` with the weight already stored transposed, ``(in, out)``;
- the transposed copy that would have to be made of a weight stored the usual way.

It prints each as a ratio to the baseline, and whether the two products agree bit for bit, at
the preset's batch and at batches of 1 to 5 (where the math library takes another path).

    python benchmarks/product_layout.py
    python benchmarks/product_layout.py --members 1
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from rlladder.deep.networks import _aligned, _matmul  # noqa: E402


def best_time(fn: Callable[[], object], repeats: int = 200, rounds: int = 7) -> float:
    """The fastest of ``rounds`` mean times of ``fn()`` over ``repeats`` calls, in seconds."""
    for _ in range(10):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def agree(members: int, batch: int, inputs: int, outputs: int, draws: int = 20) -> bool:
    """Whether ``x @ W.T`` and ``x @ Wt`` (with bias) agree bit for bit over ``draws`` draws."""
    for _ in range(draws):
        x = _aligned(torch.randn(members, batch, inputs))
        w = _aligned(torch.randn(members, outputs, inputs) * 0.1)
        b = torch.randn(members, outputs)
        if not torch.equal(_matmul(x, w.transpose(1, 2), b), _matmul(x, _aligned(w.mT), b)):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    if args.members < 1 or args.batch < 1:
        parser.error("--members and --batch must be at least 1")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    m = args.members
    print(
        f"{m} member(s), batch {args.batch}, 1 torch thread, torch {torch.__version__}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}; times per member"
    )
    for inputs, outputs in ((4, 128), (128, 128), (128, 2)):
        x = _aligned(torch.randn(m, args.batch, inputs))
        w = _aligned(torch.randn(m, outputs, inputs))
        b = torch.randn(m, outputs)
        wt = _aligned(w.mT)
        base = best_time(lambda: _matmul(x, w.transpose(1, 2), b)) / m  # noqa: B023
        stored = best_time(lambda: _matmul(x, wt, b)) / m  # noqa: B023
        copy = best_time(lambda: _aligned(w.mT)) / m  # noqa: B023
        small = all(agree(m, batch, inputs, outputs) for batch in range(1, 6))
        print(
            f"  {inputs:>3} -> {outputs:<3} x @ W.T {base * 1e6:6.1f} us | x @ Wt "
            f"{stored * 1e6:6.1f} us ({stored / base:4.2f}) | transposed copy "
            f"{copy * 1e6:5.1f} us ({copy / base:4.2f}) | equal at batch {args.batch}: "
            f"{agree(m, args.batch, inputs, outputs)}, at batches 1-5: {small}"
        )


if __name__ == "__main__":
    main()
