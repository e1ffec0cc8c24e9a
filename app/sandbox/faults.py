"""Fault injection: 5xx answers, latency, "applied then timed out" and 429 storms, per method."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

# Methods a 429 storm hits when no methods are given: those that send messages.
SENDING = frozenset(
    m.lower()
    for m in (
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendMediaGroup",
        "sendInvoice",
        "copyMessage",
        "copyMessages",
        "forwardMessage",
        "forwardMessages",
        "sendContact",
        "sendLocation",
    )
)


@dataclass
class Fault:
    """One kind of fault: how often (rate 0..1), where (methods; None = every method) and how."""

    rate: float = 0.0
    methods: frozenset[str] | None = None
    status: int = 502  # errors: 502 Bad Gateway or 500 Internal Server Error
    min_seconds: float = 0.0  # latency: a delay drawn between min and max
    max_seconds: float = 0.0
    seconds: float = 30.0  # timeouts: how long the answer is held back
    drop: bool = False  # timeouts: close the connection instead of holding the answer
    until: float = 0.0  # storms: world clock time the storm ends
    retry_after: int = 5

    def hits(self, method: str) -> bool:
        return self.methods is None or method.lower() in self.methods


@dataclass
class Faults:
    """The World's fault plan; configure() takes the same JSON the user API takes."""

    seed: int | None = None
    errors: Fault = field(default_factory=Fault)
    latency: Fault = field(default_factory=Fault)
    timeouts: Fault = field(default_factory=Fault)
    storm: Fault = field(default_factory=lambda: Fault(methods=SENDING))

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def clear(self) -> None:
        self.errors, self.latency, self.timeouts = Fault(), Fault(), Fault()
        self.storm = Fault(methods=SENDING)

    def configure(self, now: float, **plan: Any) -> None:
        """Set faults, e.g. errors={"rate": 0.5, "status": 500, "methods": ["sendMediaGroup"]},
        latency={"min_seconds": 0.1, "max_seconds": 0.3}, timeouts={"rate": 1, "seconds": 5},
        storm={"seconds": 10, "retry_after": 3}, seed=7, clear=True."""
        if plan.pop("clear", False):
            self.clear()
        if "seed" in plan:
            self.seed = plan.pop("seed")
            self.rng = random.Random(self.seed)
        for kind, spec in plan.items():
            if kind not in ("errors", "latency", "timeouts", "storm") or not isinstance(spec, dict):
                raise ValueError(f"unknown fault {kind!r}: use errors, latency, timeouts or storm")
            setattr(self, kind, _fault(kind, spec, now))

    def roll(self, fault: Fault, method: str) -> bool:
        return fault.rate > 0 and fault.hits(method) and self.rng.random() < fault.rate

    def delay(self, method: str) -> float:
        lat = self.latency
        if lat.max_seconds <= 0 or not lat.hits(method):
            return 0.0
        return self.rng.uniform(lat.min_seconds, max(lat.min_seconds, lat.max_seconds))

    def storming(self, method: str, now: float) -> int | None:
        """retry_after while a 429 storm covers `method`, else None."""
        if now < self.storm.until and self.storm.hits(method):
            return self.storm.retry_after
        return None

    def as_dict(self, now: float) -> dict[str, Any]:
        def one(f: Fault) -> dict[str, Any]:
            return {
                "rate": f.rate,
                "methods": sorted(f.methods) if f.methods is not None else None,
                "status": f.status,
                "min_seconds": f.min_seconds,
                "max_seconds": f.max_seconds,
                "seconds": f.seconds,
                "drop": f.drop,
                "retry_after": f.retry_after,
                "remaining": max(0.0, f.until - now),
            }

        return {
            "seed": self.seed,
            **{k: one(getattr(self, k)) for k in ("errors", "latency", "timeouts", "storm")},
        }


def _fault(kind: str, spec: dict[str, Any], now: float) -> Fault:
    known = {"rate", "methods", "status", "min_seconds", "max_seconds", "seconds", "drop", "retry_after"}
    if unknown := set(spec) - known:
        raise ValueError(f"unknown {kind} settings: {', '.join(sorted(unknown))}")
    methods = spec.get("methods")
    f = Fault(methods=frozenset(m.lower() for m in methods) if methods else None)
    if kind == "storm" and f.methods is None:
        f.methods = SENDING
    f.rate = float(spec.get("rate", 1.0 if kind in ("errors", "timeouts") else 0.0))
    if not 0 <= f.rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    f.status = int(spec.get("status", 502))
    if f.status not in (500, 502):
        raise ValueError("status must be 500 or 502")
    f.min_seconds = float(spec.get("min_seconds", spec.get("seconds", 0.0) if kind == "latency" else 0.0))
    f.max_seconds = float(spec.get("max_seconds", f.min_seconds))
    f.seconds = float(spec.get("seconds", 30.0))
    f.drop = bool(spec.get("drop", False))
    f.retry_after = max(1, int(spec.get("retry_after", 5)))
    if kind == "storm":
        f.until = now + float(spec.get("seconds", 10.0))
    return f
