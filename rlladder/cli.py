"""The ``rlladder`` command: a thin face over :mod:`rlladder.experiments` and :mod:`rlladder.plots`.

::

    rlladder list                                  # agents and suites
    rlladder run frozenlake                        # a suite -> results/frozenlake/
    rlladder run cartpole-ablation --runs 10
    rlladder run my_experiment.toml --backend ray  # your own experiment
    rlladder run cartpole-ablation --set learning_rate=1e-4 --set '+ Huber (DQN).huber_delta=1.0'
    rlladder show cartpole-ablation > mine.toml    # the experiment, every hyperparameter resolved
    rlladder run frozenlake --eval-every 50 --eval-episodes 10   # greedy evaluation too
    rlladder plot results/frozenlake               # redraw from saved results, no training
    rlladder check my_agent.py:MyDQN               # your agent against the probe environments
    rlladder check dqn --json report.json          # ... and the report for an autograder

``python -m rlladder ...`` does the same.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import tomllib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rlladder.errors import ConfigError, RLLadderError, UnknownNameError

__all__ = ["main", "build_parser", "parse_setting", "parse_value"]

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
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{list,run,show,plot,check}"
    )

    listing = commands.add_parser("list", help="list the agents and the suites")
    listing.set_defaults(func=_cmd_list)

    run = commands.add_parser(
        "run",
        help="run a suite or a TOML experiment, save results, print a summary, draw the curves",
        description="Run a suite (see `rlladder list`) or your own experiment file (.toml). "
        "Re-running into the same folder resumes: only unfinished runs are run.",
    )
    run.add_argument("target", help="a suite name (e.g. frozenlake) or a path to a .toml file")
    _add_experiment_options(run)
    run.add_argument(
        "--backend",
        choices=("serial", "process", "ray"),
        default="process",
        help="where runs execute (default: process, on all cores)",
    )
    run.add_argument("--workers", type=int, help="worker processes / Ray CPUs (default: all cores)")
    run.add_argument("--address", help="Ray cluster address (default: start a local cluster)")
    run.add_argument(
        "--ensemble",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="train each DQN variant's runs together as batched ensembles, each run number for "
        "number its solo run (default: on); --no-ensemble trains every run on its own",
    )
    run.add_argument("--out", type=Path, help="results folder (default: results/NAME)")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="empty the results folder first, even if it holds another experiment",
    )
    run.add_argument(
        "--checkpoint-every",
        metavar="MINUTES",
        type=float,
        default=3.0,
        help="each run in progress writes a checkpoint into the results folder this often "
        "(default: 3); 0: only when you press Ctrl-C. Ctrl-C stops every run after its "
        "checkpoint, and running the same command again goes on from there, number for number",
    )
    run.add_argument(
        "--tensorboard",
        metavar="DIR",
        type=Path,
        help="log every run to TensorBoard under DIR, a folder per variant "
        '(pip install "rlladder[tensorboard]"; then: tensorboard --logdir DIR)',
    )
    run.add_argument(
        "--wandb",
        metavar="PROJECT",
        help='log every run to the W&B project PROJECT (pip install "rlladder[wandb]")',
    )
    run.add_argument(
        "--video-every",
        metavar="N",
        type=int,
        help="with --tensorboard or --wandb: a short greedy clip of each run every N episodes "
        '(needs pip install "rlladder[render]")',
    )
    run.add_argument(
        "--wandb-mode",
        choices=("online", "offline", "disabled"),
        help="W&B mode (default: W&B's own, WANDB_MODE or online); offline needs no account "
        "and no network: send the runs later with `wandb sync`",
    )
    _add_plot_options(run)
    run.add_argument("--no-plot", action="store_true", help="skip the learning-curve figure")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(func=_cmd_run)

    show = commands.add_parser(
        "show",
        help="print an experiment as a complete TOML file, every hyperparameter resolved",
        description="Print a suite, a TOML experiment or a results folder's experiment as a "
        "complete, runnable TOML file with every hyperparameter resolved (the agent's "
        "defaults, the preset, the overrides); `rlladder run` of that file runs the same "
        "experiment. Takes the same overrides as `run`, to show what it would run.",
    )
    show.add_argument("target", help="a suite name, a path to a .toml file, or a results folder")
    _add_experiment_options(show)
    show.set_defaults(func=_cmd_show)

    plot = commands.add_parser(
        "plot", help="redraw the figure and summary of a results folder (no training)"
    )
    plot.add_argument("folder", type=Path, help="a results folder, e.g. results/frozenlake")
    _add_plot_options(plot)
    plot.set_defaults(func=_cmd_plot)

    check = commands.add_parser(
        "check",
        help="check an agent against the probe environments (exit 0: every check passed, "
        "1: one failed, 2: bad input)",
        description="Train the agent on each probe environment and compare what it learned with "
        "what it should have learned, check by check, with the likely bug for each failure. "
        "Exits 0 when every applicable check passes, 1 when one fails, 2 on bad input.",
    )
    check.add_argument(
        "target",
        help="a registered agent name (e.g. dqn), 'module:Class' (a module in the current "
        "folder, or installed) or 'path/to/file.py:Class'",
    )
    check.add_argument(
        "--gamma",
        type=float,
        help="the agent's discount (default: its gamma attribute or config.gamma)",
    )
    check.add_argument("--seed", type=int, default=0, help="the seed of every check (default 0)")
    check.add_argument(
        "--json",
        metavar="FILE",
        help="also write the report as JSON to FILE; '-' writes it to standard output (and "
        "the table to standard error)",
    )
    check.set_defaults(func=_cmd_check)
    return parser


def _add_experiment_options(parser: argparse.ArgumentParser) -> None:
    """The options that change what runs: shared by `run` and `show`."""
    parser.add_argument(
        "--part", help="one part of a suite made of several (e.g. tabular-vs-deep --part cartpole)"
    )
    parser.add_argument("--runs", type=int, help="runs (seeds) per variant")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--episodes", type=int, help="episodes per run (replaces the budget)")
    budget.add_argument("--steps", type=int, help="environment steps per run (replaces the budget)")
    parser.add_argument("--seed", type=int, help="the experiment seed")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a hyperparameter of every variant that has it (learning_rate=1e-4), of one "
        "variant ('+ Huber (DQN).huber_delta=1.0'), or an experiment field "
        "(max_episode_steps=200); VALUE is TOML, e.g. "
        "'epsilon={kind=\"linear\", start=1.0, end=0.01, duration=5000}'; repeatable",
    )
    parser.add_argument(
        "--eval-every",
        type=int,
        metavar="N",
        help="evaluate greedily every N env steps (steps budget) or episodes (episodes budget), "
        "and at the end; needs --eval-episodes unless the experiment evaluates already",
    )
    parser.add_argument(
        "--eval-episodes",
        type=int,
        metavar="N",
        help="greedy episodes per evaluation (0: no evaluation); alone: evaluate at the end only",
    )
    parser.add_argument(
        "--no-eval", action="store_true", help="no greedy evaluation, whatever the experiment says"
    )


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
        with _warnings_as_lines():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\nrlladder: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `rlladder show ... | head`: the reader left, which is no error
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python's own advice for this case
        return 0
    except (RLLadderError, ValueError, TypeError, OSError, RuntimeError, ImportError) as error:
        if args.debug:
            raise
        print(f"rlladder: error: {error}", file=sys.stderr)
        return 2


@contextlib.contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Print rlladder's warnings (damaged results files, untuned hyperparameters, code that
    cannot be checked, trackers that stopped) as one line each, ``rlladder: warning: ...``."""
    from rlladder.errors import RLLadderWarning

    with warnings.catch_warnings():
        warnings.simplefilter("always", RLLadderWarning)
        show = warnings.showwarning

        def line(message: Any, category: type[Warning], *rest: Any, **kwargs: Any) -> None:
            if issubclass(category, RLLadderWarning):
                print(f"rlladder: warning: {message}", file=sys.stderr, flush=True)
            else:
                show(message, category, *rest, **kwargs)

        warnings.showwarning = line
        yield


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


def _cmd_check(args: argparse.Namespace) -> int:
    """``rlladder check TARGET``: the report's table (on stderr with ``--json -``, whose JSON
    alone goes to stdout), and the exit status 0 when no check failed, 1 when one did."""
    import json

    from rlladder.check import check_agent
    from rlladder.registry import agent_target

    report = check_agent(agent_target(args.target), gamma=args.gamma, seed=args.seed)
    print(report, file=sys.stderr if args.json == "-" else sys.stdout, flush=True)
    if args.json is not None:
        text = json.dumps(report.to_dict(), indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text, encoding="utf-8")
    return 0 if report.passed else 1


def _suite_or_toml(target: str, *, folders: bool = False) -> tuple[str, Any]:
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
        also = ", or a results folder" if folders else ""
        raise UnknownNameError(
            f"{err} (or give a path to an experiment .toml file{also})"
        ) from None


def _experiments(args: argparse.Namespace, *, folders: bool = False) -> tuple[str, dict[str, Any]]:
    """``(name, {part: Experiment})`` of ``args.target`` (a single experiment is part ``""``),
    with ``--part``, ``--runs``/``--episodes``/``--steps``/``--seed`` and ``--set`` applied."""
    from rlladder.errors import unknown_name
    from rlladder.experiments.spec import apply_settings

    if folders and Path(args.target).is_dir():
        name, built = Path(args.target).name, _from_results(Path(args.target))
    else:
        name, built = _suite_or_toml(args.target, folders=folders)
    parts = built if isinstance(built, dict) else {"": built}
    if args.part is not None:
        if "" in parts:
            raise ConfigError(
                f"{args.target!r} is one experiment, not a suite of parts: drop --part"
            )
        if args.part not in parts:
            raise unknown_name("part", args.part, parts)
        parts = {args.part: parts[args.part]}
    parts = {part: _overridden(exp, args) for part, exp in parts.items()}
    if args.settings:
        parts = apply_settings(parts, [parse_setting(text) for text in args.settings])
    return name, parts


def _from_results(folder: Path) -> Any:
    """The experiment (or dict of parts) a results folder ran, variants as resolved then."""
    from rlladder.experiments.spec import Experiment
    from rlladder.experiments.store import SPEC_FILE, ResultsStore, load_spec
    from rlladder.experiments.values import same

    if not (folder / SPEC_FILE).exists():
        parts = sorted(p for p in folder.iterdir() if (p / SPEC_FILE).exists())
        if parts:
            return {p.name: _from_results(p) for p in parts}

    load_spec(folder)  # a clear error for a folder without results
    document = ResultsStore(folder).read_spec() or {}
    source = str(folder / SPEC_FILE)
    if "resolved" not in document:
        print(
            f"rlladder: note: {source} records no resolved hyperparameters (an older rlladder "
            "wrote it): they are resolved now, and may differ from what its runs used",
            file=sys.stderr,
        )
        return Experiment.from_dict(document["experiment"], source=source)
    try:  # as written, if it still resolves to what the runs used (the comments say why)
        written = Experiment.from_dict(document["experiment"], source=source)
        if same(written.resolve(), document["resolved"]):
            return written
    except RLLadderError:
        pass
    print(
        f"rlladder: note: {source} as written resolves differently now (a preset or a default "
        "changed): these are the hyperparameters its runs used",
        file=sys.stderr,
    )
    return Experiment.from_dict(
        {**document["experiment"], "variants": document["resolved"]}, source=source
    )


def _overridden(exp: Any, args: argparse.Namespace) -> Any:
    changes: dict[str, Any] = {}
    for key in ("runs", "episodes", "steps", "seed"):
        value = getattr(args, key)
        if value is not None:
            changes[key] = value
    if args.no_eval or args.eval_episodes == 0:
        if args.eval_every is not None:
            raise ConfigError(
                "--eval-every asks for evaluation and --no-eval / --eval-episodes 0 turns it off; "
                "give one of them"
            )
        changes.update(eval_episodes=None, eval_every=None)
    else:
        if args.eval_episodes is not None:
            changes["eval_episodes"] = args.eval_episodes
        if args.eval_every is not None:
            if not (args.eval_episodes or exp.eval_episodes):
                raise ConfigError(
                    f"--eval-every {args.eval_every} needs --eval-episodes N, the greedy episodes "
                    "each evaluation plays (e.g. --eval-episodes 10)"
                )
            changes["eval_every"] = args.eval_every
    return exp.replace(**changes) if changes else exp


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# a value that is not TOML but a bare word like these is read as a string: adam, noisy-argmax,
# 8x8, my_package.agents:MyAgent (a word with a letter in it: 0.5.3 is a typo, not a word)
_BARE_WORD = re.compile(r"[A-Za-z0-9_.:-]*[A-Za-z_][A-Za-z0-9_.:-]*")


def parse_value(text: str) -> Any:
    """A ``--set`` value, read as TOML: ``1e-4``, ``true``, ``[64, 64]``, ``"two words"``,
    ``{kind = "linear", start = 1.0, end = 0.05, duration = 10000}``; a bare word that is not
    TOML (``adam``, ``noisy-argmax``) is a string.

    Raises:
        ConfigError: neither TOML nor a bare word (e.g. ``0.5.3`` or ``two words``).
    """
    try:
        data = tomllib.loads(f"value = {text}")
    except tomllib.TOMLDecodeError:
        data = None
    if data is not None and list(data) == ["value"]:
        return data["value"]
    if _BARE_WORD.fullmatch(text):
        return text
    raise ConfigError(
        f"{text!r} is not a TOML value; write a number (1e-4), true or false, a quoted string "
        '("two words"), a list ([64, 64]) or an inline table ({kind = "linear", start = 1.0, '
        "end = 0.05, duration = 10000})"
    )


def parse_setting(text: str) -> tuple[str, Any]:
    """``"KEY=VALUE"`` or ``"LABEL.KEY=VALUE"`` (one ``--set``) as ``(key, value)``, the value
    read by :func:`parse_value`. The text is split at its first ``=``.

    >>> parse_setting("+ Huber (DQN).learning_rate=1e-4")
    ('+ Huber (DQN).learning_rate', 0.0001)
    """
    key, equals, value = text.partition("=")
    key = key.strip()
    if not equals or not _IDENTIFIER.fullmatch(key.rpartition(".")[2]):
        raise ConfigError(
            f"--set {text!r}: expected KEY=VALUE or 'LABEL.KEY=VALUE', e.g. --set learning_rate=1e-4 "
            "or --set '+ Huber (DQN).huber_delta=1.0'"
        )
    try:
        return key, parse_value(value.strip())
    except ConfigError as error:
        raise ConfigError(f"--set {text!r}: {error}") from None


def _cmd_show(args: argparse.Namespace) -> int:
    from rlladder import __version__
    from rlladder.experiments.show import SOURCES_HELP, experiment_toml

    name, parts = _experiments(args, folders=True)
    stem = Path(args.target).stem if args.target.endswith(".toml") else "mine"
    for i, (part, exp) in enumerate(parts.items()):
        saved = f"{stem}{'-resolved' if stem != 'mine' else ''}{f'-{part}' if part else ''}.toml"
        header = []
        if part:
            header += [
                f"part {part!r} of {name!r} (a suite of several experiments, one complete file "
                f"each; this one alone: rlladder show {args.target} --part {part})",
            ]
        header += [
            f"{exp.name or name}: the whole experiment, every hyperparameter resolved "
            f"(rlladder {__version__}).",
            f"Run it: rlladder show {args.target}{f' --part {part}' if part else ''} > {saved} "
            f"&& rlladder run {saved}",
            *SOURCES_HELP,
        ]
        print(("\n" if i else "") + experiment_toml(exp, header=header), end="")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from rlladder.experiments.run_checkpoints import CHECKPOINTS_DIR, SUFFIX
    from rlladder.experiments.runner import run_experiment
    from rlladder.experiments.store import ResultsStore

    name, parts = _experiments(args)
    out = args.out if args.out is not None else Path("results") / name
    for part, exp in parts.items():
        folder = out / part if part else out
        budget = f"{exp.episodes} episodes" if exp.episodes is not None else f"{exp.steps:,} steps"
        print(
            f"{exp.name or name}: {len(exp.variants)} variants x {exp.runs} runs x {budget} "
            f"({args.backend} backend) -> {folder}{_evaluation_text(exp)}",
            flush=True,
        )
        try:
            results, evaluations = run_experiment(
                exp,
                backend=args.backend,
                workers=args.workers,
                address=args.address,
                out=folder,
                overwrite=args.overwrite,
                progress=not args.quiet,
                ensemble=args.ensemble,
                return_evaluations=True,
                log=_tracking(args, part),
                checkpoint_every=_checkpoint_every(args.checkpoint_every),
            )
        except KeyboardInterrupt:
            kept = len(ResultsStore(folder).finished(exp.to_dict()))
            total = len(exp.labels) * exp.runs
            held = len(list((folder / CHECKPOINTS_DIR).glob(f"*{SUFFIX}")))
            more = f", {held} more checkpointed" if held else ""
            print(
                f"\nrlladder: interrupted; {kept} of {total} runs are saved in {folder}{more}. "
                "Run the same command again to finish the rest"
                + (" (checkpointed runs go on where they stopped)." if held else "."),
                file=sys.stderr,
            )
            return 130
        for line in results.attrs.get("resumed", []):
            print(f"{exp.name or name}: {line}")
        _report(exp.to_dict(), results, evaluations, folder, args, plot=not args.no_plot)
    return 0


def _checkpoint_every(minutes: float) -> float | None:
    """``run_experiment(checkpoint_every=...)`` from ``--checkpoint-every`` (0: on Ctrl-C only)."""
    if minutes < 0 or minutes != minutes:
        raise ConfigError(
            f"--checkpoint-every takes minutes between checkpoints (e.g. 3), or 0 for checkpoints "
            f"on Ctrl-C only; got {minutes:g}"
        )
    return None if minutes == 0 else minutes


def _tracking(args: argparse.Namespace, part: str | None) -> Any:
    """``run_experiment(log=...)`` from ``--tensorboard``/``--wandb`` (``None``: no tracking);
    a suite's parts log to a TensorBoard folder each, as their results do."""
    from rlladder.loggers.tracking import Tracking

    if args.wandb_mode is not None and args.wandb is None:
        raise ConfigError("--wandb-mode needs --wandb PROJECT (e.g. --wandb rlladder)")
    if args.tensorboard is None and args.wandb is None:
        if args.video_every is not None:
            raise ConfigError(
                "--video-every logs clips to a tracker: add --tensorboard DIR or --wandb PROJECT"
            )
        return None
    tensorboard = args.tensorboard
    if tensorboard is not None and part:
        tensorboard = tensorboard / part
    return Tracking(
        tensorboard=None if tensorboard is None else str(tensorboard),
        wandb_project=args.wandb,
        wandb_mode=args.wandb_mode,
        video_every=args.video_every,
    )


def _evaluation_text(exp: Any) -> str:
    """``\n  greedy evaluation: 10 episodes every 50 episodes and at the end`` (or nothing)."""
    if not exp.eval_episodes:
        return ""
    budget, unit = (exp.steps, "env steps") if exp.steps is not None else (exp.episodes, "episodes")
    when = "at the end"
    if exp.eval_every is not None and exp.eval_every < budget:
        when = f"every {exp.eval_every:,} {unit} and {when}"
    played = f"{exp.eval_episodes} episode{'s' if exp.eval_episodes > 1 else ''}"
    return f"\n  greedy evaluation: {played} {when}"


def _cmd_plot(args: argparse.Namespace) -> int:
    from rlladder.errors import ConfigError
    from rlladder.experiments.store import SPEC_FILE, ResultsStore, load_spec

    folder: Path = args.folder
    folders = [folder]
    if folder.is_dir() and not (folder / SPEC_FILE).exists():
        parts = sorted(p for p in folder.iterdir() if (p / SPEC_FILE).exists())
        folders = parts or folders  # a suite of several parts, or a plain error below
    for each in folders:
        spec = load_spec(each)
        results, evaluations = ResultsStore(each).read(spec)
        if results.empty:
            raise ConfigError(
                f"{each} holds no finished run yet; run the experiment (it resumes into the folder)"
            )
        _report(spec, results, evaluations, each, args, plot=True)
    return 0


def _threshold(spec: dict[str, Any]) -> float | None:
    if spec.get("threshold") is not None:
        return float(spec["threshold"])
    env = spec.get("env", "")
    if ":" in env:
        return None
    import gymnasium as gym

    from rlladder.experiments.spec import registered_spec

    try:  # the map's own: FrozenLake-v1 with map_name="8x8" is FrozenLake8x8-v1's 0.85
        value = registered_spec(env, spec.get("env_kwargs") or {}).reward_threshold
    except gym.error.Error:
        return None
    return None if value is None else float(value)


def _report(
    spec: dict[str, Any],
    results: Any,
    evaluations: Any,
    folder: Path,
    args: argparse.Namespace,
    *,
    plot: bool,
) -> None:
    """Print and save the summary table (with the final greedy score, if the runs evaluated);
    save the learning curves (and the greedy panel) as PNG and SVG."""
    from rlladder import stats

    shortest = int(results.groupby(["variant", "run"]).size().min())
    window = args.window if args.window is not None else min(DEFAULT_WINDOW, shortest)
    threshold = args.threshold if args.threshold is not None else _threshold(spec)
    x = args.x or ("env_step" if spec.get("steps") is not None else "episode")
    table = stats.summary(results, threshold=threshold, window=window, evaluations=evaluations)
    table.to_csv(folder / "summary.csv")
    (folder / "summary.md").write_text(stats.to_markdown(table), encoding="utf-8")
    title = spec.get("name") or folder.name
    print(f"\n{title} (moving average over {window} episodes; results in {folder})")
    print(stats.format_table(table))
    note = _versions_note(spec, folder)
    if note:
        print(note)
        with (folder / "summary.md").open("a", encoding="utf-8") as handle:
            handle.write(f"\n{note}\n")
    if plot:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, works on a headless machine
        import matplotlib.pyplot as plt

        from rlladder.plots.curves import learning_curves

        fig = learning_curves(
            results,
            window=window,
            x=x,
            title=_title(spec, title),
            threshold=threshold,
            evaluations=evaluations,
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


def _versions_note(spec: dict[str, Any], folder: Path) -> str | None:
    """``note: ...`` when the folder's runs were written by more than one rlladder version."""
    from rlladder.experiments.store import ResultsStore

    counts = ResultsStore(folder).versions(spec)
    if len(counts) < 2:
        return None
    each = " and ".join(f"{version} ({n} runs)" for version, n in sorted(counts.items()))
    return f"note: these runs were made with rlladder versions {each}"


def _title(spec: dict[str, Any], name: str) -> str:
    kwargs = spec.get("env_kwargs") or {}
    env = spec.get("env", "")
    details = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}: {env}" + (f" ({details})" if details else "")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
