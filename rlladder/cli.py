"""The ``rlladder`` command: a thin face over :mod:`rlladder.experiments` and :mod:`rlladder.plots`.

::

    rlladder list                                  # agents and suites
    rlladder run frozenlake                        # a suite -> results/frozenlake/
    rlladder run cartpole-ablation --runs 10
    rlladder run my_experiment.toml --backend ray  # your own experiment
    rlladder plot results/frozenlake               # redraw from saved results, no training

``python -m rlladder ...`` does the same.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rlladder.errors import RLLadderError, UnknownNameError

__all__ = ["main", "build_parser"]

DEFAULT_WINDOW = 20


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``rlladder`` command."""
    parser = argparse.ArgumentParser(
        prog="rlladder",
        description="Run and plot reinforcement-learning experiments, from tabular to deep.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show Python tracebacks instead of short error messages",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{list,run,plot}")

    listing = commands.add_parser("list", help="list the agents and the suites")
    listing.set_defaults(func=_cmd_list)

    run = commands.add_parser(
        "run",
        help="run a suite or a TOML experiment, save results, print a summary, draw the curves",
        description="Run a suite (see `rlladder list`) or your own experiment file (.toml). "
        "Re-running into the same folder resumes: only unfinished runs are run.",
    )
    run.add_argument("target", help="a suite name (e.g. frozenlake) or a path to a .toml file")
    run.add_argument("--runs", type=int, help="runs (seeds) per variant")
    budget = run.add_mutually_exclusive_group()
    budget.add_argument("--episodes", type=int, help="episodes per run (replaces the budget)")
    budget.add_argument("--steps", type=int, help="environment steps per run (replaces the budget)")
    run.add_argument("--seed", type=int, help="the experiment seed")
    run.add_argument(
        "--backend",
        choices=("serial", "process", "ray"),
        default="process",
        help="where runs execute (default: process, on all cores)",
    )
    run.add_argument("--workers", type=int, help="worker processes / Ray CPUs (default: all cores)")
    run.add_argument("--address", help="Ray cluster address (default: start a local cluster)")
    run.add_argument("--out", type=Path, help="results folder (default: results/NAME)")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="empty the results folder first, even if it holds another experiment",
    )
    _add_plot_options(run)
    run.add_argument("--no-plot", action="store_true", help="skip the learning-curve figure")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(func=_cmd_run)

    plot = commands.add_parser(
        "plot", help="redraw the figure and summary of a results folder (no training)"
    )
    plot.add_argument("folder", type=Path, help="a results folder, e.g. results/frozenlake")
    _add_plot_options(plot)
    plot.set_defaults(func=_cmd_plot)
    return parser


def _add_plot_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--window", type=int, help=f"moving-average window in episodes (default {DEFAULT_WINDOW})"
    )
    parser.add_argument(
        "--x",
        choices=("episode", "env_step"),
        default=None,
        help="x axis of the curves (default: episode, or env_step for step budgets)",
    )
    parser.add_argument("--threshold", type=float, help="reward that counts as solved")


def main(argv: list[str] | None = None) -> int:
    """Run the ``rlladder`` command with ``argv`` (default: the process's arguments)."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nrlladder: interrupted", file=sys.stderr)
        return 130
    except (RLLadderError, ValueError, TypeError, OSError, RuntimeError, ImportError) as error:
        if args.debug:
            raise
        print(f"rlladder: error: {error}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------------------------
def _cmd_list(args: argparse.Namespace) -> int:
    from rlladder.experiments.suites import describe_suites
    from rlladder.registry import describe_agents

    agents, suites = describe_agents(), describe_suites()
    width = max(len(name) for name, _ in agents + suites) + 2
    print("agents (use in a Variant or a TOML [variants.X] table):")
    for name, text in agents:
        print(f"  {name:<{width}}{text}")
    print("\nsuites (rlladder run NAME):")
    for name, text in suites:
        print(f"  {name:<{width}}{text}")
    return 0


def _resolve_target(target: str) -> tuple[str, Any]:
    """``(name, Experiment or dict of parts)`` for a suite name or a TOML path."""
    from rlladder.experiments.spec import Experiment
    from rlladder.experiments.suites import get_suite

    path = Path(target)
    if target.endswith(".toml") or path.is_file():
        exp = Experiment.from_toml(path)
        return exp.name or path.stem, exp
    try:
        return target, get_suite(target)
    except UnknownNameError as err:
        raise UnknownNameError(f"{err} (or give a path to an experiment .toml file)") from None


def _overridden(exp: Any, args: argparse.Namespace) -> Any:
    changes: dict[str, Any] = {}
    for key in ("runs", "episodes", "steps", "seed"):
        value = getattr(args, key)
        if value is not None:
            changes[key] = value
    return exp.replace(**changes) if changes else exp


def _cmd_run(args: argparse.Namespace) -> int:
    from rlladder.experiments.runner import run_experiment
    from rlladder.experiments.store import ResultsStore

    name, built = _resolve_target(args.target)
    parts = built if isinstance(built, dict) else {"": built}
    out = args.out if args.out is not None else Path("results") / name
    for part, exp in parts.items():
        exp = _overridden(exp, args)
        folder = out / part if part else out
        budget = f"{exp.episodes} episodes" if exp.episodes is not None else f"{exp.steps:,} steps"
        print(
            f"{exp.name or name}: {len(exp.variants)} variants x {exp.runs} runs x {budget} "
            f"({args.backend} backend) -> {folder}",
            flush=True,
        )
        try:
            results = run_experiment(
                exp,
                backend=args.backend,
                workers=args.workers,
                address=args.address,
                out=folder,
                overwrite=args.overwrite,
                progress=not args.quiet,
            )
        except KeyboardInterrupt:
            kept = len(ResultsStore(folder).finished(exp.labels, exp.runs))
            total = len(exp.labels) * exp.runs
            print(
                f"\nrlladder: interrupted; {kept} of {total} runs are saved in {folder}. "
                "Run the same command again to finish the rest.",
                file=sys.stderr,
            )
            return 130
        _report(exp.to_dict(), results, folder, args, plot=not args.no_plot)
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from rlladder.experiments.store import SPEC_FILE, load_results, load_spec

    folder: Path = args.folder
    folders = [folder]
    if folder.is_dir() and not (folder / SPEC_FILE).exists():
        parts = sorted(p for p in folder.iterdir() if (p / SPEC_FILE).exists())
        folders = parts or folders  # a suite of several parts, or a plain error below
    for each in folders:
        spec = load_spec(each)
        _report(spec, load_results(each), each, args, plot=True)
    return 0


def _threshold(spec: dict[str, Any]) -> float | None:
    if spec.get("threshold") is not None:
        return float(spec["threshold"])
    env = spec.get("env", "")
    if ":" in env:
        return None
    import gymnasium as gym

    try:
        value = gym.spec(env).reward_threshold
    except gym.error.Error:
        return None
    return None if value is None else float(value)


def _report(
    spec: dict[str, Any], results: Any, folder: Path, args: argparse.Namespace, *, plot: bool
) -> None:
    """Print and save the summary table; save the learning curves as PNG and SVG."""
    from rlladder.experiments import stats

    shortest = int(results.groupby(["variant", "run"]).size().min())
    window = args.window if args.window is not None else min(DEFAULT_WINDOW, shortest)
    threshold = args.threshold if args.threshold is not None else _threshold(spec)
    x = args.x or ("env_step" if spec.get("steps") is not None else "episode")
    table = stats.summary(results, threshold=threshold, window=window)
    table.to_csv(folder / "summary.csv")
    (folder / "summary.md").write_text(stats.to_markdown(table), encoding="utf-8")
    title = spec.get("name") or folder.name
    print(f"\n{title} (moving average over {window} episodes; results in {folder})")
    print(stats.format_table(table))
    if plot:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, works on a headless machine
        import matplotlib.pyplot as plt

        from rlladder.plots.curves import learning_curves

        fig = learning_curves(
            results, window=window, x=x, title=_title(spec, title), threshold=threshold
        )
        for suffix in ("png", "svg"):
            fig.savefig(folder / f"learning_curves.{suffix}")
        plt.close(fig)
        print(f"figure: {folder / 'learning_curves.png'} (and .svg)")
        _suite_figure(spec, results, folder)


def _suite_figure(spec: dict[str, Any], results: Any, folder: Path) -> None:
    """Save the suite's own figure (e.g. cartpole-forgetting's diagnostics), if it has one."""
    import matplotlib.pyplot as plt

    from rlladder.experiments.suites import suite_figure

    draw = suite_figure(spec.get("name") or "")
    if draw is None:
        return
    fig = draw(results)
    for suffix in ("png", "svg"):
        fig.savefig(folder / f"{draw.__name__}.{suffix}")
    plt.close(fig)
    print(f"figure: {folder / (draw.__name__ + '.png')} (and .svg)")


def _title(spec: dict[str, Any], name: str) -> str:
    kwargs = spec.get("env_kwargs") or {}
    env = spec.get("env", "")
    details = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}: {env}" + (f" ({details})" if details else "")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
