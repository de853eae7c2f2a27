"""The experiment encoder's batching (the encoder itself needs torch, which the suite does not install)."""

from __future__ import annotations

import numpy as np

from classifier.contextual import length_batches


def test_length_batches_cover_every_row_once_in_batches_of_similar_length() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 1_000, size=5_000)
    batches = length_batches(lengths, 32, np.random.default_rng(1))
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    assert all(1 <= len(b) <= 32 for b in batches)
    # Sorted within pools of 50 batches: a batch spans a small part of the length range,
    # where 32 rows drawn at random would span most of it.
    spread = np.median([np.ptp(lengths[b]) for b in batches])
    assert spread < 100
    # ...and the batches come in random order, not shortest first.
    firsts = [int(lengths[b].min()) for b in batches]
    assert firsts != sorted(firsts)


def test_length_batches_depend_on_the_generator_only() -> None:
    lengths = np.arange(200) % 17
    one = length_batches(lengths, 8, np.random.default_rng(5))
    two = length_batches(lengths, 8, np.random.default_rng(5))
    assert all(np.array_equal(a, b) for a, b in zip(one, two, strict=True))
