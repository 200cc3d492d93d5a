"""Cost of the position index: only paid when an error is reported, but it should stay cheap.

Indexes every bundled spec file and a large generated document (json.loads shown for scale).

Usage: python benchmarks/positions.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine._resources import specs_dir
from engine.spec._positions import PositionIndex


def _rate(texts: list[str], repeat: int) -> tuple[float, int, int]:
    chars = sum(len(t) for t in texts)
    start = time.perf_counter()
    paths = 0
    for _ in range(repeat):
        for text in texts:
            paths += len(PositionIndex(text).paths())
    seconds = time.perf_counter() - start
    return chars * repeat / seconds / 1e6, paths // repeat, chars


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="how many times to index each text")
    args = parser.parse_args()
    spec_texts = [p.read_text("utf-8") for p in sorted(specs_dir().rglob("*.json"))]
    rate, paths, chars = _rate(spec_texts, args.repeat)
    print(f"bundled spec files: {len(spec_texts)} files, {chars / 1e3:.0f} kchars, {paths} paths, "
          f"{rate:.2f} Mchars/s ({chars / rate / 1e6 * 1e3:.1f} ms for all)")
    big = json.dumps({"items": [{"id": i, "name": f"n\\u00e9{i}", "tags": ["a", "b"], "x": i / 3}
                                for i in range(5000)]}, indent=2)
    rate, paths, chars = _rate([big], max(args.repeat // 10, 1))
    json_start = time.perf_counter()
    json.loads(big)
    json_ms = (time.perf_counter() - json_start) * 1e3
    print(f"generated document: {chars / 1e6:.2f} Mchars, {paths} paths, {rate:.2f} Mchars/s "
          f"({chars / rate / 1e6 * 1e3:.0f} ms; json.loads {json_ms:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
