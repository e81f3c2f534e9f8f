"""The figures the original report prints, as published (``shared/original-report.md``).

The reproduction test and the report's reproduction appendix both compare this run against these.
Values are kept as the strings the report printed, so that nothing is lost to a float round trip.
"""

from __future__ import annotations

#: run name -> metric name -> the value as the original report printed it.
PUBLISHED: dict[str, dict[str, str]] = {
    # Binary logistic regression, no shuffling, no early stopping.
    "binary": {
        "train_loss": "0.06509106268432195",
        "val_loss": "0.06522830574814967",
        "train_accuracy": "0.9792759051186017",
        "val_accuracy": "0.9789422135161606",
    },
    # Early stopping without shuffling.
    "binary_early_stopping": {"early_stop_epoch": "33"},
    # Early stopping with shuffling.
    "binary_shuffled": {"early_stop_epoch": "16"},
    # Softmax regression.
    "softmax": {
        "train_loss": "0.2800335875350492",
        "val_loss": "0.29902402393704086",
        "train_accuracy": "0.9225",
        "val_accuracy": "0.9157",
    },
}

#: The role (:data:`mnist_report.config.roles.ROLES`) each run served in the original report: its values
#: appear in the first task of that role.
ROLE_OF_RUN: dict[str, str] = {
    "binary": "2b",
    "binary_early_stopping": "2d",
    "binary_shuffled": "2e_shuffled",
    "softmax": "3b",
}
