"""A tiny Prometheus text-format registry (counters and gauges with labels), thread-safe."""

from __future__ import annotations

import threading
from collections.abc import Callable


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Registry:
    """Counters incremented by code; gauges read from callbacks at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
        self._gauges: dict[str, Callable[[], dict[tuple[tuple[str, str], ...], float]]] = {}

    def counter(self, name: str, help_text: str) -> None:
        self._help.setdefault(name, ("counter", help_text))
        self._values.setdefault(name, {})

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def gauge(self, name: str, help_text: str,
              read: Callable[[], dict[tuple[tuple[str, str], ...], float]]) -> None:
        self._help[name] = ("gauge", help_text)
        self._gauges[name] = read

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            counters = {n: dict(s) for n, s in self._values.items()}
        for name, (kind, help_text) in sorted(self._help.items()):
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            if kind == "gauge":
                try:
                    series = self._gauges[name]()
                except Exception:  # a failing gauge must not break the scrape
                    series = {}
            else:
                series = counters.get(name, {})
            for key, val in sorted(series.items()):
                number = int(val) if float(val).is_integer() else val
                lines.append(f"{name}{_labels(dict(key))} {number}")
        return "\n".join(lines) + "\n"
