"""Which run serves which task: the report's roles, the tasks each serves and the settings its run needs.

``params.yaml`` ``roles`` names the run of each role; this table says what a role is for. The run
table of the report (Table 1's "Tasks"), the check of ``roles`` and the reproduction appendix all
read it. Task 4's comparison across lambda (4c-4e) is no role: it takes every softmax run
(:func:`mnist_report.config.params.lambda_sweep`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Role:
    """One role: the tasks whose text and figures show its run, and the settings that run must have
    for that text to hold (a subset of the run's settings)."""

    tasks: tuple[str, ...]
    requires: dict[str, Any] = field(default_factory=dict)


#: role (a key of params.yaml ``roles``) -> what it serves, in the order of the report.
ROLES: dict[str, Role] = {
    "2b": Role(("2b", "2c"), {"task": "binary"}),
    "2d": Role(("2d", "2e"), {"task": "binary", "early_stopping": True}),
    "2e_unshuffled": Role(("2e",), {"task": "binary", "shuffle": False, "early_stopping": True}),
    "2e_shuffled": Role(("2e",), {"task": "binary", "shuffle": True, "early_stopping": True}),
    "3b": Role(("3b", "3c", "3d"), {"task": "softmax"}),
    "4b_top": Role(("4b",), {"task": "softmax"}),
    "4b_bottom": Role(("4b",), {"task": "softmax"}),
}

#: The tasks of the comparison across lambda, which every softmax run takes part in.
SWEEP_TASKS: tuple[str, ...] = ("4c", "4d", "4e")
