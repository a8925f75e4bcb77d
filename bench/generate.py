"""Generate a large, realistic plans folder for benchmarks, from the example plans.

Each generated opportunity is an example opportunity with a new id, places, dates and value,
so sizes and shapes match what commissioners write. The output is deterministic.
"""

from __future__ import annotations

import argparse
import copy
import random
import shutil
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).parents[1] / "plans"


def _examples() -> list[dict[str, Any]]:
    out = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        if path.name in ("places.yaml", "themes.yaml"):
            continue
        out += yaml.safe_load(path.read_text())["opportunities"]
    return out


def generate(out: Path, files: int, per_file: int, seed: int = 2027) -> Path:
    """Write `files` plan files of `per_file` opportunities each under `out`; return it."""
    rng = random.Random(seed)
    templates = _examples()
    places = [p["slug"] for p in yaml.safe_load((EXAMPLES / "places.yaml").read_text())["places"]]
    if out.exists():
        shutil.rmtree(out)
    (out / "channels").mkdir(parents=True)
    for name in ("places.yaml", "themes.yaml"):
        shutil.copy(EXAMPLES / name, out / name)
    for path in sorted((EXAMPLES / "channels").glob("*.yaml")):
        shutil.copy(path, out / "channels" / path.name)
    for number in range(files):
        body = f"bench-commissioner-{number:04d}"
        opportunities = []
        for index in range(per_file):
            opportunity = copy.deepcopy(rng.choice(templates))
            opportunity["id"] = f"opportunity-{index:04d}"
            opportunity["places"] = rng.sample(places, rng.randint(1, 3))
            for lot in opportunity.get("lots", []):
                lot.pop("places", None)
            year = rng.choice([2027, 2028])
            dates = opportunity.setdefault("dates", {})
            if "tender_opens" in dates:
                dates["tender_opens"] = f"{year}-{rng.randint(4, 9):02d}"
                dates["tender_closes"] = f"{year}-{rng.randint(10, 12):02d}"
                dates["decision"] = f"{year + 1}-Q1"
                dates["service_starts"] = f"{year + 1}-{rng.randint(4, 12):02d}-01"
            opportunities.append(opportunity)
        plan = {
            "schema": 1,
            "commissioner": {"id": body, "name": f"Benchmark body {number}", "kind": "council"},
            "opportunities": opportunities,
        }
        text = yaml.safe_dump(plan, sort_keys=False, allow_unicode=True, width=90)
        (out / f"{body}.yaml").write_text(text, encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("bench/out/plans"))
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--per-file", type=int, default=50)
    args = parser.parse_args()
    generate(args.out, args.files, args.per_file)
    print(f"wrote {args.files * args.per_file} opportunities in {args.files} files to {args.out}")


if __name__ == "__main__":
    main()
