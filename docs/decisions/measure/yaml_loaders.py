"""Reading plan files with the position of every value: the publisher's loader against
the libraries that could do it, over the same files, in one process, CPU time.

Not part of the publisher: ruamel.yaml is not a dependency. Run it in a scratch venv with
the project on the path (decision 0001):

    python3 -m venv /tmp/adr-venv
    /tmp/adr-venv/bin/pip install ruamel.yaml ruamel.yaml.clib pyyaml==6.0.4
    cd /work/main && .venv/bin/python -c "from pathlib import Path; \
        from bench.generate import generate; generate(Path('/tmp/adr/plans'), 400, 50)"
    PYTHONPATH=. /tmp/adr-venv/bin/python docs/decisions/measure/yaml_loaders.py /tmp/adr/plans 400
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from publisher.plans.load import parse, paused_gc
from publisher.plans.values import resolve_plain

folder, count = Path(sys.argv[1]), int(sys.argv[2])
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
texts = [
    (path.name, path.read_text("utf-8"))
    for path in sorted(folder.glob("bench-commissioner-*.yaml"))[:count]
]
megabytes = sum(len(text.encode()) for _, text in texts) / 1e6


def ours() -> None:
    """libyaml's events built into values, with positions, duplicates refused, aliases
    bounded, nesting checked (publisher.plans.load.parse, as `publisher check` does)."""
    for name, text in texts:
        document, problems = parse(text, name)
        assert document is not None and not problems


def _walk(node: Any, path: tuple[Any, ...], positions: dict[tuple[Any, ...], Any]) -> Any:
    positions[path] = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.MappingNode):
        return {key.value: _walk(value, (*path, key.value), positions) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_walk(value, (*path, i), positions) for i, value in enumerate(node.value)]
    return node.value if node.style else resolve_plain(node.value)


def composer() -> None:
    """PyYAML's C composer, then its nodes walked into values with positions (no duplicate
    or alias checks: a lower bound for this way)."""
    with paused_gc():
        for _, text in texts:
            _walk(yaml.compose(text, Loader=yaml.CSafeLoader), (), {})


def ruamel_round_trip() -> None:
    """ruamel.yaml's round-trip loader: the one that keeps positions (`.lc`); pure Python."""
    reader = YAML(typ="rt")
    for _, text in texts:
        data = reader.load(text)
        data["opportunities"][0].lc.key("id")


def ruamel_safe() -> None:
    """ruamel.yaml's safe loader on its C extension: fast, but keeps no positions."""
    reader = YAML(typ="safe", pure=False)
    for _, text in texts:
        reader.load(text)


def cpu(run: Callable[[], None]) -> float:
    start = time.process_time()
    run()
    return time.process_time() - start


ways = {
    "publisher (libyaml events, positions)": (ours, rounds),
    "PyYAML compose + walk (positions)": (composer, rounds),
    "ruamel.yaml round-trip (positions)": (ruamel_round_trip, 1),
    "ruamel.yaml safe, C (no positions)": (ruamel_safe, 1),
}
print(f"{len(texts)} files, {megabytes:.1f} MB; CPU seconds, best of the rounds")
for label, (run, times) in ways.items():
    best = min(cpu(run) for _ in range(times))
    print(f"{label:40} {best:7.2f} s  {megabytes / best:5.1f} MB/s", flush=True)
