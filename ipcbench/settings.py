"""How hard to measure: one frozen record, passed down from the command line to the rig."""

from __future__ import annotations

import dataclasses

from ipcbench.scenario import ScenarioError


@dataclasses.dataclass(frozen=True)
class Settings:
    """How hard to measure; frozen and passed down, never mutated."""

    #: Target duration of one timed round; batch sizes are calibrated to it.
    round_time: float = 0.05
    rounds: int = 10
    #: Independent trials per scenario, each with freshly started workers; ``rounds`` is per trial.
    trials: int = 1
    warmup_rounds: int = 1
    #: Seconds a round may overrun its expected time before the workers count as stalled.
    grace: float = 5.0
    max_messages: int = 1_000_000
    #: Latency: round trips the timed rounds should hold in all, so that p99.9 has ten beyond it.
    tail_samples: int = 10_000
    #: Latency: how many times the round time a timed round may last to collect ``tail_samples``
    #: (a round trip is cheap, but a profile's time budget is not unlimited).
    latency_stretch: float = 2.5

    def __post_init__(self) -> None:
        if not self.round_time > 0:
            raise ScenarioError(f"round time must be positive, not {self.round_time}")
        if self.rounds < 1:
            raise ScenarioError(f"rounds must be at least 1, not {self.rounds}")
        if self.trials < 1:
            raise ScenarioError(f"trials must be at least 1, not {self.trials}")
        if self.warmup_rounds < 0:
            raise ScenarioError(f"warm-up rounds cannot be negative ({self.warmup_rounds})")
        if not self.grace > 0:
            raise ScenarioError(f"deadline grace must be positive, not {self.grace}")
        if not self.latency_stretch >= 1:
            raise ScenarioError(f"latency stretch must be at least 1, not {self.latency_stretch}")
