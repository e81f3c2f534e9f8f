"""config/runs.py: the bounds of the run settings in params.yaml, at their limits: the last value accepted and the
first refused, so that a bound moved by one (``<`` for ``<=``) or dropped fails a test."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_report.common.errors import PipelineError
from mnist_report.config.runs import SEED_LIMIT, RunTable
from mnist_report.config.schema import validate
from mnist_report.mnist.data import TRAIN_SIZE

DEFAULTS = {"task": "softmax", "classes": [2, 3], "learning_rate": 0.01, "epochs": 50, "batch_size": 128,
            "shuffle": True, "early_stopping": True, "early_stopping_patience": 10, "validations_per_epoch": 5,
            "l2_lambda": 0.0, "seed": 0}


def settings_with(**own):
    """The settings of a run with ``own`` over :data:`DEFAULTS`, checked as the train stage checks them."""
    return validate(RunTable, {"defaults": DEFAULTS, "runs": {"run": own}}).runs["run"]


@pytest.mark.parametrize("seed", [0, 1, SEED_LIMIT - 1])
def test_seed_from_zero_to_the_generators_last_is_accepted(seed):
    assert settings_with(seed=seed).seed == seed


@pytest.mark.parametrize("seed", [-1, SEED_LIMIT, 2**64])
def test_a_seed_outside_the_generators_range_is_refused_naming_the_key(seed):
    with pytest.raises(PipelineError, match=rf"^runs\.run\.seed = {seed}: expected an integer from 0 to 4294967295 \(2\*\*32 - 1\)$"):
        settings_with(seed=seed)


def test_the_seed_bound_is_the_one_of_the_generator_the_trainer_seeds():
    # The consumer: the train stage seeds np.random.RandomState with the run's seed.
    np.random.RandomState(SEED_LIMIT - 1)
    with pytest.raises(ValueError):
        np.random.RandomState(SEED_LIMIT)


@pytest.mark.parametrize("batch_size", [1, TRAIN_SIZE])
def test_batch_size_from_one_to_the_training_set_is_accepted(batch_size):
    assert settings_with(batch_size=batch_size).batch_size == batch_size


@pytest.mark.parametrize("batch_size", [0, TRAIN_SIZE + 1])
def test_batch_size_beyond_its_bounds_is_refused(batch_size):
    with pytest.raises(PipelineError, match=rf"^runs\.run\.batch_size = {batch_size}: expected an integer from 1 to the {TRAIN_SIZE}"):
        settings_with(batch_size=batch_size)
