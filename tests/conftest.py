"""Test options: ``pytest`` runs the fast tests; ``pytest --slow`` runs the learning-quality ones too."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny networks run fastest on one torch thread (and a shared CI machine has few cores)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", default=False, help="also run tests marked slow"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="learning-quality test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
