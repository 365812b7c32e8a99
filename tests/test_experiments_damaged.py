"""A damaged run file is never used as data: reading leaves it out by name, resume sets it aside
and runs it again. Each kind of damage a disk, a copy or a hand can do is replayed here."""

from __future__ import annotations

import re
import shutil
import warnings

import pandas as pd
import pytest

import rlladder as rl
from rlladder.cli import main
from rlladder.experiments.backends import SerialBackend
from rlladder.experiments.store import DamagedRunWarning, ResultsStore

LAKE = rl.Experiment(
    env="FrozenLake-v1",
    env_kwargs={"is_slippery": True},
    variants={"Q-learning": rl.Variant("q-learning"), "PS": rl.Variant("ps")},
    runs=2,
    episodes=20,
    max_episode_steps=50,
    seed=8,
    eval_every=10,
    eval_episodes=2,
)
STEPS = LAKE.replace(steps=300)  # episodes of at most 50 steps (max_episode_steps)
TARGET = "00-q-learning-run0001"


class CountingBackend(SerialBackend):
    def __init__(self) -> None:
        super().__init__()
        self.ran: list[tuple[str, int]] = []

    def map(self, fn, tasks):
        self.ran += [(task.label, task.run) for task in tasks]
        yield from super().map(fn, tasks)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A finished folder of each budget kind, and what it holds, to copy and damage."""
    made = {}
    for name, exp in (("episodes", LAKE), ("steps", STEPS)):
        folder = tmp_path_factory.mktemp(name)
        results, evals = rl.run_experiment(
            exp, backend="serial", out=folder, progress=False, return_evaluations=True
        )
        made[name] = (exp, folder, results, evals)
    return made


def lines_of(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def swap_rows(text: str) -> str:
    lines = lines_of(text)
    lines[2], lines[3] = lines[3], lines[2]
    return "".join(lines)


def shift_env_step(text: str) -> str:
    lines = lines_of(text)
    cells = lines[4].split(",")
    cells[4] = str(int(cells[4]) + 1)
    lines[4] = ",".join(cells)
    return "".join(lines)


def put_in_column(column: int, value: str):
    def damage(text: str) -> str:
        lines = lines_of(text)
        cells = lines[5].split(",")
        cells[column] = value
        lines[5] = ",".join(cells)
        return "".join(lines)

    return damage


def drop_column(name: str):
    def damage(text: str) -> str:
        frame = pd.read_csv(pd.io.common.StringIO(text))
        return frame.drop(columns=name).to_csv(index=False)

    return damage


# (damage, words the reason must contain) for the episodes-budget folder
RUN_DAMAGE = {
    "cut mid-line": (lambda t: t[: len(t) // 2 + 3], "cut short"),
    "cut to 40 bytes": (lambda t: t[:40], "cut short"),
    "cut at a line end": (
        lambda t: "".join(lines_of(t)[:12]),
        "11 episodes, where the budget is 20",
    ),
    "empty": (lambda t: "", "empty"),
    "header only": (lambda t: lines_of(t)[0], "0 episodes"),
    "garbled number": (put_in_column(5, "0.0x1"), "column reward holds '0.0x1', not numbers"),
    "garbled whole number": (put_in_column(6, "1O"), "column steps holds '1O', not whole numbers"),
    "a fraction of a step": (put_in_column(6, "3.5"), "column steps holds 3.5, not whole numbers"),
    "an empty cell": (put_in_column(3, ""), "column episode holds an empty cell"),
    "missing column": (drop_column("reward"), "missing column reward"),
    "too many cells": (lambda t: t + "a,b,c,d,e,f,g,h,i,j,k\n", "not a readable CSV"),
    "episodes out of order": (swap_rows, "row 1 is episode 2, not 1"),
    "env_step not cumulative": (shift_env_step, "not the running sum of steps"),
    "another run's file": (None, "run 0 in the file of run 1"),
    "binary junk": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe", "not a text file"),
}


def damage_file(folder, name: str, how) -> None:
    path = folder / "runs" / f"{name}.csv"
    if how is None:
        shutil.copy(folder / "runs" / "00-q-learning-run0000.csv", path)
    elif isinstance(how, bytes):
        path.write_bytes(how)
    else:
        path.write_text(how(path.read_text()))


def without(frame: pd.DataFrame, label: str, run: int) -> pd.DataFrame:
    keep = ~((frame["variant"] == label) & (frame["run"] == run))
    return frame[keep].reset_index(drop=True)


@pytest.mark.parametrize("kind", list(RUN_DAMAGE))
def test_a_damaged_run_is_left_out_by_name_then_rerun_on_resume(kind, saved, tmp_path):
    exp, original, results, evals = saved["episodes"]
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    how, words = RUN_DAMAGE[kind]
    damage_file(folder, TARGET, how)
    damaged_bytes = (folder / "runs" / f"{TARGET}.csv").read_bytes()

    with pytest.warns(DamagedRunWarning) as caught:
        loaded = rl.load_results(folder)
    message = str(caught[0].message)
    assert f"runs/{TARGET}.csv is damaged (" in message and words in message, message
    assert "left out, re-run the experiment into this folder to redo it" in message
    pd.testing.assert_frame_equal(loaded, without(results, "Q-learning", 1))
    with pytest.warns(DamagedRunWarning):
        pd.testing.assert_frame_equal(rl.load_evaluations(folder), without(evals, "Q-learning", 1))

    backend = CountingBackend()
    with pytest.warns(DamagedRunWarning, match=r"moved to .*\.csv\.damaged"):
        resumed, evaluated = rl.run_experiment(
            exp, backend=backend, out=folder, progress=False, return_evaluations=True
        )
    assert backend.ran == [("Q-learning", 1)]
    pd.testing.assert_frame_equal(resumed, results)
    pd.testing.assert_frame_equal(evaluated, evals)
    assert (folder / "runs" / f"{TARGET}.csv.damaged").read_bytes() == damaged_bytes
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left to warn about
        pd.testing.assert_frame_equal(rl.load_results(folder), results)


def append_beyond_budget(text: str) -> str:
    lines = lines_of(text)
    cells = lines[-1].split(",")
    cells[3] = str(int(cells[3]) + 1)
    cells[4] = str(int(cells[4]) + 40)
    cells[6] = "40"
    return text + ",".join(cells)


@pytest.mark.parametrize(
    ("how", "words"),
    [
        (append_beyond_budget, "beyond the budget of 300"),
        (
            lambda t: "".join(lines_of(t)[:3]),
            "more than one episode (at most 50 steps) short of the budget of 300",
        ),
    ],
)
def test_a_steps_run_must_end_within_one_episode_of_its_budget(how, words, saved, tmp_path):
    exp, original, results, _ = saved["steps"]
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    damage_file(folder, TARGET, how)
    with pytest.warns(DamagedRunWarning, match=re.escape(words)):
        loaded = rl.load_results(folder)
    pd.testing.assert_frame_equal(loaded, without(results, "Q-learning", 1))
    backend = CountingBackend()
    with pytest.warns(DamagedRunWarning):
        resumed = rl.run_experiment(exp, backend=backend, out=folder, progress=False)
    assert backend.ran == [("Q-learning", 1)]
    pd.testing.assert_frame_equal(resumed, results)


def drop_eval_row(text: str) -> str:
    lines = lines_of(text)
    return "".join(lines[:3] + lines[4:])


def move_an_evaluation(text: str) -> str:
    lines = lines_of(text)
    cells = lines[1].split(",")
    cells[4] = str(int(cells[4]) + 1)  # env_step of the first evaluation
    lines[1] = ",".join(cells)
    return "".join(lines)


@pytest.mark.parametrize(
    ("how", "words"),
    [
        (lambda t: t[:-5], "cut short"),
        (drop_eval_row, "3 rows, where 2 evaluations of 2 episodes make 4"),
        (move_an_evaluation, "row 0 has env_step"),
        (None, "is missing"),
    ],
)
def test_damaged_evaluations_leave_the_run_out_of_the_evaluations_only(how, words, saved, tmp_path):
    exp, original, results, evals = saved["episodes"]
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    path = folder / "runs" / f"{TARGET}.eval.csv"
    if how is None:
        path.unlink()
    else:
        path.write_text(how(path.read_text()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the training CSV is whole: load_results says nothing
        pd.testing.assert_frame_equal(rl.load_results(folder), results)
    with pytest.warns(DamagedRunWarning, match=re.escape(words)) as caught:
        loaded = rl.load_evaluations(folder)
    assert f"runs/{TARGET}.eval.csv" in str(caught[0].message)
    pd.testing.assert_frame_equal(loaded, without(evals, "Q-learning", 1))
    backend = CountingBackend()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rl.run_experiment(exp, backend=backend, out=folder, progress=False)
    assert backend.ran == [("Q-learning", 1)]  # not finished without whole evaluations
    assert [str(w.message).endswith("running it again") for w in caught] == (
        [] if how is None else [True]
    )
    pd.testing.assert_frame_equal(rl.load_evaluations(folder), evals)
    assert (folder / "runs" / f"{TARGET}.eval.csv.damaged").exists() == (how is not None)


def test_a_second_damage_does_not_overwrite_the_first_set_aside(saved, tmp_path):
    exp, original, *_ = saved["episodes"]
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    for text in ("first\n", "second\n"):
        (folder / "runs" / f"{TARGET}.csv").write_text(text)
        with pytest.warns(DamagedRunWarning):
            rl.run_experiment(exp, backend="serial", out=folder, progress=False)
    assert (folder / "runs" / f"{TARGET}.csv.damaged").read_text() == "first\n"
    assert (folder / "runs" / f"{TARGET}.csv.damaged.1").read_text() == "second\n"
    ResultsStore(folder).clear()
    assert not list((folder / "runs").iterdir())


def test_rlladder_plot_names_the_damaged_file_and_leaves_it_out(saved, tmp_path, capsys):
    """The reported case: `rlladder plot` printed a summary from a 40-byte run file."""
    _, original, *_ = saved["episodes"]
    folder = tmp_path / "copy"
    shutil.copytree(original, folder)
    damage_file(folder, TARGET, lambda t: t[:40])
    assert main(["plot", str(folder), "--window", "5"]) == 0
    captured = capsys.readouterr()
    assert (
        f"rlladder: warning: {folder}/runs/{TARGET}.csv is damaged (cut short: its last line is "
        "incomplete); left out, re-run the experiment into this folder to redo it"
    ) in captured.err
    table = pd.read_csv(folder / "summary.csv", index_col="variant")
    assert table["runs"].to_dict() == {"Q-learning": 1, "PS": 2}
    for name in ("00-q-learning-run0000", "01-ps-run0000", "01-ps-run0001"):
        (folder / "runs" / f"{name}.csv").write_text("")
    damage_file(folder, TARGET, lambda t: "")
    assert main(["plot", str(folder)]) == 2
    assert "holds no finished run yet" in capsys.readouterr().err


def test_labels_that_look_like_numbers_or_na_are_no_damage(tmp_path):
    exp = LAKE.replace(
        variants={"NA": rl.Variant("q-learning"), "007": rl.Variant("ps")}, runs=1, episodes=5
    )
    results = rl.run_experiment(exp, backend="serial", out=tmp_path, progress=False)
    backend = CountingBackend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = rl.run_experiment(exp, backend=backend, out=tmp_path, progress=False)
        pd.testing.assert_frame_equal(rl.load_results(tmp_path), results)
    assert backend.ran == [] and results["variant"].unique().tolist() == ["NA", "007"]
    pd.testing.assert_frame_equal(again, results)
