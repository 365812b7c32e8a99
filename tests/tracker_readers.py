"""Read back what a tracker logged, with each tool's own reader (for the tracker tests).

TensorBoard: tensorboard's ``EventAccumulator`` and its HParams plugin's protobuf. W&B: an
offline run's ``run-ID.wandb`` file, whose records are W&B's own ``Record`` protobufs in
LevelDB's log format (32 KiB blocks of checksummed chunks after a 7-byte ``:W&B`` header);
wandb 0.31 has no Python reader of its own for that file (its reader is in its Go core), so
the framing is read here and each record is parsed with wandb's own protobuf class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_BLOCK = 32 * 1024
_HEADER = 7  # crc32c (4), length (2), chunk type (1)
_FULL, _LAST = 1, 4


def tensorboard_scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag of a TensorBoard run folder: ``[(step, value), ...]``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    events.Reload()
    return {
        tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]
    }


def tensorboard_hparams(log_dir: Path) -> dict[str, Any]:
    """The hyperparameters of a TensorBoard run folder's HParams session, as plain values."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    events = EventAccumulator(str(log_dir))
    events.Reload()
    content = events.PluginTagToContent("hparams")["_hparams_/session_start_info"]
    start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
    values = {}
    for key, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        values[key] = getattr(value, kind)
    return values


def _wandb_chunks(data: bytes) -> list[bytes]:
    records, record, pos = [], b"", 7
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        length = int.from_bytes(data[pos + 4 : pos + 6], "little")
        kind = data[pos + 6]
        record += data[pos + _HEADER : pos + _HEADER + length]
        pos += _HEADER + length
        if kind in (_FULL, _LAST):
            records.append(record)
            record = b""
    return records


def wandb_offline_run(run_file: Path) -> dict[str, Any]:
    """An offline W&B run: its ``run`` record's id, name, group, job type and config, and its
    ``history``: one dict per ``run.log`` call."""
    from wandb.proto import wandb_internal_pb2

    data = run_file.read_bytes()
    assert data[:4] == b":W&B", run_file
    out: dict[str, Any] = {"history": [], "config": {}}
    for raw in _wandb_chunks(data):
        record = wandb_internal_pb2.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            out.update(id=run.run_id, name=run.display_name, group=run.run_group)
            out["job_type"] = run.job_type
            out["config"].update({i.key: json.loads(i.value_json) for i in run.config.update})
        elif kind == "config":
            out["config"].update({i.key: json.loads(i.value_json) for i in record.config.update})
        elif kind == "history":
            row = {}
            for item in record.history.item:
                key = item.key or "/".join(item.nested_key)
                row[key] = json.loads(item.value_json)
            out["history"].append(row)
    out["config"].pop("_wandb", None)
    return out


def wandb_runs(folder: Path) -> list[dict[str, Any]]:
    """Every offline run under a W&B folder (``WANDB_DIR``), in file order."""
    return [wandb_offline_run(p) for p in sorted(folder.glob("wandb/offline-run-*/run-*.wandb"))]
