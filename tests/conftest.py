"""Test options: ``pytest`` runs the fast tests; ``pytest --slow`` runs the learning-quality ones too."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


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
