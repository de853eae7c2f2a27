"""The window block (classifier/window.py): its gradients, the serving lookup against a direct
evaluation of the convolution, explanations from its pooled windows, identity tokens, and a tiny
generated model that carries the block through an artifact."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from classifier import LABELS, ModelLoadError, load_model, window
from classifier.embedding import TokenBatch, Tokenizer, load_static_vectors, static_vectors_path
from classifier.experiment import block_logits
from classifier.features import COMPILED
from classifier.identity import PLACEHOLDER, prepare_text
from classifier.model import ARRAYS_FILE, MANIFEST_FILE, Model, sha256_file
from classifier.testing import RECIPE, train_tiny_model
from classifier.window import (
    WINDOW_FILTERS,
    WindowConfig,
    WindowNet,
    WindowScorer,
    encode_with_identity,
    length_batches,
    window_vectors,
)

WIDTHS = (1, 2, 3)
FILTERS = 4


# Generated vectors are no packaged table: the scorer is given them, the arrays name no real hash.
NO_TABLE = "00" * 32


def _net(seed: int = 0, vocab: int = 40, dims: int = 6, labels: int = 3, dropout: float = 0.0) -> WindowNet:
    rng = np.random.default_rng(seed)
    cfg = WindowConfig(widths=WIDTHS, filters=FILTERS, embed_dropout=dropout, pool_dropout=dropout, seed=seed)
    vectors = rng.normal(size=(vocab, dims)).astype(np.float32)
    net = WindowNet(vectors, labels, cfg)
    net.static_ = vectors  # type: ignore[attr-defined]
    return net


def _scorer(net: WindowNet) -> WindowScorer:
    return WindowScorer(net.arrays(NO_TABLE), net.n_tokens, static=net.static_)  # type: ignore[attr-defined]


def _batch(seqs: list[np.ndarray]) -> TokenBatch:
    indptr = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum([len(s) for s in seqs], out=indptr[1:])
    ids = np.concatenate(seqs).astype(np.int64) if seqs else np.zeros(0, dtype=np.int64)
    return TokenBatch(indptr, ids)


def _direct(net: WindowNet, seq: np.ndarray) -> np.ndarray:
    """The convolution written out: every window touching the sequence, zero vectors outside it."""
    table = window_vectors(net.arrays(NO_TABLE), net.static_).astype(np.float64)  # type: ignore[attr-defined]
    zero = np.zeros(table.shape[1])
    pooled = []
    col = 0
    for wi, k in enumerate(WIDTHS):
        best = np.full(FILTERS, -np.inf)
        for q in range(-(k - 1), len(seq)):
            h = net.b[wi * FILTERS : (wi + 1) * FILTERS].astype(np.float64).copy()
            for j in range(k):
                t = q + j
                vec = table[seq[t]] if 0 <= t < len(seq) else zero
                h += vec @ net.W[:, col + j * FILTERS : col + (j + 1) * FILTERS]
            best = np.maximum(best, h)
        col += k * FILTERS
        pooled.append(np.maximum(best, 0.0) if len(seq) else np.zeros(FILTERS))
    return np.concatenate(pooled) @ net.U.astype(np.float64) + net.c


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_gradients_match_finite_differences(dropout: float) -> None:
    """With dropout, every evaluation draws the same masks (the generator is reset each time)."""
    net = _net(dropout=dropout)
    for name in ("W", "b", "U", "c"):
        setattr(net, name, getattr(net, name).astype(np.float64))
    net._table = net._table.astype(np.float64)
    rng = np.random.default_rng(1)
    # The identity token (index 40) appears, and one document is empty.
    seqs = [np.array([3, 40, 7, 9, 1]), np.array([5]), np.array([], dtype=np.int64), np.array([40, 2, 2, 8])]
    y = rng.integers(0, 2, size=(4, 3)).astype(np.float64)
    w = np.ones((4, 3))
    w[1, 2] = 0.0  # a label the row does not annotate
    w /= w.sum()

    def step() -> tuple[float, list[np.ndarray]]:
        net._rng = np.random.default_rng(7)
        return net._step(seqs, y, w)

    _, grads = step()
    eps = 1e-6
    for param, grad in zip(net._params(), grads, strict=True):
        numeric = np.zeros_like(param)
        for i in np.ndindex(param.shape):
            old = param[i]
            param[i] = old + eps
            up, _ = step()
            param[i] = old - eps
            down, _ = step()
            param[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, atol=1e-7, rtol=1e-4)


def test_training_lowers_the_loss_on_a_word_order_task() -> None:
    """Token 1 then token 2 is positive, token 2 then token 1 negative: no bag of words can tell."""
    rng = np.random.default_rng(3)
    seqs, y = [], []
    for _ in range(600):
        filler = list(rng.integers(3, 30, size=rng.integers(2, 8)))
        positive = rng.random() < 0.5
        at = int(rng.integers(0, len(filler) + 1))
        filler[at:at] = [1, 2] if positive else [2, 1]
        seqs.append(np.array(filler))
        y.append([float(positive)])
    Y = np.array(y)
    cfg = WindowConfig(widths=(2,), filters=8, epochs=8, batch_size=32, learning_rate=1e-2, seed=3)
    vectors = rng.normal(size=(30, 8)).astype(np.float32)
    net = WindowNet(vectors, 1, cfg).fit(seqs, Y, np.ones(len(seqs)), log=lambda _m: None)
    scorer = WindowScorer(net.arrays(NO_TABLE), 30, static=vectors)
    z = scorer.logits(scorer.pool(_batch(seqs)))[:, 0]
    accuracy = float(((z > 0) == (Y[:, 0] > 0)).mean())
    assert accuracy > 0.95


def _order_task(n: int = 300) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    seqs, y = [], []
    for _ in range(n):
        filler = list(rng.integers(3, 30, size=rng.integers(2, 8)))
        positive = rng.random() < 0.5
        filler[1:1] = [1, 2] if positive else [2, 1]
        seqs.append(np.array(filler))
        y.append([float(positive)])
    return seqs, np.array(y), rng.normal(size=(30, 8)).astype(np.float32)


class _Recording(WindowNet):
    """Records the learning-rate factor of every step and the weights after it."""

    def _adam(self, grads, moments, step, rate=1.0, **kw):  # type: ignore[no-untyped-def, override]
        super()._adam(grads, moments, step, rate, **kw)
        self.rates = [*getattr(self, "rates", []), rate]
        self.history = [*getattr(self, "history", []), [p.copy() for p in self._params()]]


SCHEDULE = WindowConfig(widths=(2,), filters=8, epochs=3, batch_size=32, learning_rate=1e-2, seed=3)


def test_the_linear_schedule_decays_the_step_to_zero() -> None:
    seqs, Y, vectors = _order_task()
    net = _Recording(vectors, 1, replace(SCHEDULE, lr_schedule="linear")).fit(
        seqs, Y, np.ones(len(seqs)), log=lambda _m: None
    )
    steps = 3 * -(-len(seqs) // 32)
    assert len(net.rates) == steps
    np.testing.assert_allclose(net.rates, 1.0 - np.arange(steps) / steps)
    constant = _Recording(vectors, 1, SCHEDULE).fit(seqs, Y, np.ones(len(seqs)), log=lambda _m: None)
    assert set(constant.rates) == {1.0}


def test_the_moving_average_is_what_the_block_keeps() -> None:
    """The average does not change the path; the block ends with the average of the weights along it."""
    seqs, Y, vectors = _order_task()
    decay = 0.9
    plain = _Recording(vectors, 1, SCHEDULE)
    want = [p.astype(np.float64) for p in plain._params()]
    plain.fit(seqs, Y, np.ones(len(seqs)), log=lambda _m: None)
    for after in plain.history:
        for avg, p in zip(want, after, strict=True):
            avg *= decay
            avg += (1 - decay) * p
    averaged = WindowNet(vectors, 1, replace(SCHEDULE, ema_decay=decay)).fit(
        seqs, Y, np.ones(len(seqs)), log=lambda _m: None
    )
    for got, expected in zip(averaged._params(), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(averaged.W, plain.W)  # the filters: not the last step's
    # The identity vector is a row of the table the block looks up.
    np.testing.assert_array_equal(averaged._table[averaged.identity], averaged._params()[-1])


def test_the_bias_corrected_average_forgets_the_initial_weights() -> None:
    """ema_bias_correction: the average of the path alone, its weights summing to one."""
    seqs, Y, vectors = _order_task()
    decay = 0.99  # over ~30 steps the uncorrected average keeps ~3/4 of the initial weights
    plain = _Recording(vectors, 1, SCHEDULE).fit(seqs, Y, np.ones(len(seqs)), log=lambda _m: None)
    steps = len(plain.history)
    share = [(1 - decay) * decay ** (steps - 1 - t) for t in range(steps)]
    want = [
        sum(s * after[k].astype(np.float64) for s, after in zip(share, plain.history, strict=True)) / sum(share)
        for k in range(5)
    ]
    corrected = WindowNet(vectors, 1, replace(SCHEDULE, ema_decay=decay, ema_bias_correction=True)).fit(
        seqs, Y, np.ones(len(seqs)), log=lambda _m: None
    )
    for got, expected in zip(corrected._params(), want, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    uncorrected = WindowNet(vectors, 1, replace(SCHEDULE, ema_decay=decay)).fit(
        seqs, Y, np.ones(len(seqs)), log=lambda _m: None
    )
    assert not np.allclose(uncorrected.W, corrected.W, atol=1e-3)


def test_without_a_learned_identity_vector_a_placeholder_is_padding() -> None:
    """learn_identity=False: no window responds to the placeholder itself, only to its neighbours."""
    seqs, Y, vectors = _order_task()
    identity = vectors.shape[0]
    seqs = [np.concatenate(([identity], s)) if i % 3 == 0 else s for i, s in enumerate(seqs)]
    net = WindowNet(vectors, 1, replace(SCHEDULE, learn_identity=False)).fit(
        seqs, Y, np.ones(len(seqs)), log=lambda _m: None
    )
    assert not net._table[identity].any()
    scorer = WindowScorer(net.arrays(NO_TABLE), identity, static=vectors)
    with_id = [np.array([identity, 5, identity, 6]), np.array([identity])]
    as_pad = [np.where(s == identity, net.pad, s) for s in with_id]
    np.testing.assert_array_equal(
        scorer.logits(scorer.pool(_batch(with_id))), scorer.logits(scorer.pool(_batch(as_pad)))
    )
    learned = WindowNet(vectors, 1, SCHEDULE).fit(seqs, Y, np.ones(len(seqs)), log=lambda _m: None)
    assert learned._table[identity].any()


@pytest.mark.parametrize("changes", [{"lr_schedule": "cosine"}, {"ema_decay": 1.0}, {"ema_decay": -0.1}])
def test_a_schedule_outside_the_choices_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        replace(SCHEDULE, **changes)


compiled_paths = pytest.mark.parametrize(
    "compiled", [False, pytest.param(True, marks=pytest.mark.skipif(not COMPILED, reason="C loop not built"))]
)


@compiled_paths
@pytest.mark.parametrize("chunk", [10_000, 3])
def test_the_lookup_equals_the_convolution(chunk: int, compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(window, "CHUNK_TOKENS", chunk)  # also across scoring pieces
    net = _net(seed=5)
    rng = np.random.default_rng(5)
    seqs = [rng.integers(0, 41, size=n) for n in (0, 1, 2, 5, 0, 9, 3, 1)]
    scorer = _scorer(net)
    got = scorer.logits(scorer.pool(_batch(seqs), compiled=compiled))
    want = np.array([_direct(net, s) for s in seqs])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not COMPILED, reason="C loop not built")
@pytest.mark.parametrize("seed", range(5))
def test_the_c_loop_and_numpy_agree_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    net = _net(seed=seed)
    # Repeated tokens make ties between windows: both must name the first.
    seqs = [rng.integers(0, 41, size=n) for n in rng.integers(0, 12, size=20)]
    seqs.append(np.array([4, 4, 4, 4]))
    scorer = _scorer(net)
    batch = _batch(seqs)
    c_pooled, c_where = scorer.pooled(batch, compiled=True)
    np_pooled, np_where = scorer.pooled(batch, compiled=False)
    assert np.array_equal(c_pooled, np_pooled)
    on = c_pooled > 0
    assert np.array_equal(c_where[on], np_where[on])
    unlocated, _ = scorer.pooled(batch, locate=False, compiled=True)
    assert np.array_equal(unlocated, c_pooled)


@pytest.mark.skipif(not COMPILED, reason="C loop not built")
def test_the_c_loop_refuses_inconsistent_input() -> None:
    from classifier.features import _ngrams

    scorer = _scorer(_net())
    n = scorer.bias.shape[0]

    def call(ids: list[int], indptr: list[int], widths: list[int] | None = None, docs: int = 1) -> None:
        _ngrams.window_pool(
            scorer.table,
            np.array(ids, dtype=np.int64),
            np.array(indptr, dtype=np.int64),
            np.array(widths or list(WIDTHS), dtype=np.int64),
            scorer.bias,
            np.empty((docs, n), dtype=np.float32),
            np.empty((docs, n), dtype=np.int64),
            True,
        )

    call([1, 2], [0, 2])  # fine
    with pytest.raises(ValueError, match="outside the table"):
        call([1, 99], [0, 2])
    with pytest.raises(ValueError, match="indptr"):
        call([1, 2], [0, 3])
    with pytest.raises(ValueError, match="fit together"):
        call([1, 2], [0, 2], widths=[1, 2])
    with pytest.raises(ValueError, match="wrong size"):
        call([1, 2], [0, 1, 2])


def test_contributions_add_up_to_the_logit_per_token_of_each_document() -> None:
    net = _net(seed=7)
    rng = np.random.default_rng(7)
    seqs = [rng.integers(0, 41, size=n) for n in (4, 0, 1, 7)]
    batch = _batch(seqs)
    scorer = _scorer(net)
    pooled = scorer.pool(batch, locate=True)
    token, share = scorer.contributions(pooled, range(len(seqs)))
    doc = np.searchsorted(batch.indptr, token, side="right") - 1
    total = np.tile(scorer.out_bias, (len(seqs), 1))
    np.add.at(total, doc, share)
    np.testing.assert_allclose(total, scorer.logits(pooled), rtol=1e-6, atol=1e-6)
    assert not (doc == 1).any()  # the empty document has no tokens
    assert len(set(token.tolist())) == len(token)  # one row per token
    # A subset of the documents gives their tokens only.
    sub_token, _ = scorer.contributions(pooled, [3])
    assert ((batch.indptr[3] <= sub_token) & (sub_token < batch.indptr[4])).all() and sub_token.size
    with pytest.raises(ValueError, match="located"):
        scorer.contributions(scorer.pool(batch), [0])


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(load_static_vectors(static_vectors_path("minilm_l6_static")).tokens)


def test_identity_placeholders_become_one_token_spanning_them(tokenizer: Tokenizer) -> None:
    texts = [f"{PLACEHOLDER} are vermin, said a {PLACEHOLDER}", "no group here", PLACEHOLDER, ""]
    plain = tokenizer.encode(texts, offsets=True)
    batch = encode_with_identity(tokenizer, texts, offsets=True, batch=plain)
    assert batch.start is not None and batch.end is not None
    ident = tokenizer.n_tokens
    first = batch.ids[batch.indptr[0] : batch.indptr[1]].tolist()
    assert first.count(ident) == 2 and first[0] == ident and first[-1] == ident
    for i, text in enumerate(texts):
        lo, hi = batch.indptr[i], batch.indptr[i + 1]
        for tid, a, b in zip(
            batch.ids[lo:hi].tolist(), batch.start[lo:hi].tolist(), batch.end[lo:hi].tolist(), strict=True
        ):
            if tid == ident:
                assert text[a:b] == PLACEHOLDER
            else:
                assert text[a:b].lower() == tokenizer_piece(tokenizer, tid)
    # A text without a placeholder keeps the plain encoding; without offsets, the same ids.
    assert (
        batch.ids[batch.indptr[1] : batch.indptr[2]].tolist() == plain.ids[plain.indptr[1] : plain.indptr[2]].tolist()
    )
    bare = encode_with_identity(tokenizer, texts)
    assert bare.start is None and bare.ids.tolist() == batch.ids.tolist()
    assert bare.indptr.tolist() == batch.indptr.tolist()


def tokenizer_piece(tokenizer: Tokenizer, tid: int) -> str:
    vocab = load_static_vectors(static_vectors_path("minilm_l6_static")).tokens
    return vocab[tid].removeprefix("##")


# -- a tiny model with the block, through an artifact -------------------------------------------

TINY_WINDOW = WindowConfig(filters=16, epochs=3, seed=13)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny-window") / "model"
    recipe = replace(
        RECIPE, embedding="minilm_l6_static", embedding_scale=1.0, embedding_min_positives=0, window=TINY_WINDOW
    )
    train_tiny_model(out, recipe)
    return out


@pytest.fixture(scope="module")
def model(artifact: Path) -> Model:
    return load_model(artifact)


def test_the_artifact_carries_the_block_and_the_model_scores_with_it(model: Model) -> None:
    assert model._windows is not None
    assert model.manifest.feature_config["recipe"]["window"]["filters"] == 16
    texts = [
        "you are a stupid idiot",
        "the council approved the library budget",
        prepare_text("Muslims are vermin", True),
        "",
    ]
    scores = model.score_array(texts)
    assert scores.shape == (len(texts), len(LABELS)) and np.isfinite(scores).all()
    # Logits are the linear part plus the block's share: dropping the block changes them.
    with_block = model.logits(texts)
    windows, model._windows = model._windows, None
    try:
        without = model.logits(texts)
    finally:
        model._windows = windows
    assert not np.allclose(with_block, without)


def test_block_logits_split_the_artifacts_logit_by_family(model: Model) -> None:
    # The measurement scripts' split (classifier.experiment.block_logits): n-grams, token sum and
    # window block add up to the artifact's logit, and each family has its share.
    raw = ["You are a stupid idiot", "The council approved the library budget.", "Muslims are vermin"]
    texts = [prepare_text(t, True) for t in raw]
    parts = block_logits(model, texts)
    assert all(part.shape == (len(texts), len(LABELS)) for part in parts)
    calibrated = (parts[0] + parts[1] + parts[2]) * model._slope + model._bias
    np.testing.assert_allclose(calibrated, model.logits(raw), rtol=1e-6, atol=1e-6)
    assert all(np.abs(part).max() > 0 for part in parts)


def test_loading_the_same_artifact_again_reuses_its_lookup(artifact: Path, model: Model, tmp_path: Path) -> None:
    again = load_model(artifact)
    assert again._windows is not None and model._windows is not None
    assert again._windows.table is model._windows.table  # built once per process and artifact
    assert not again._windows.table.flags.writeable  # shared: nobody may write it
    assert again.score(["you are a stupid idiot"]) == model.score(["you are a stupid idiot"])
    # Another artifact (other filters) builds its own.
    other = tmp_path / "other"
    shutil.copytree(artifact, other)
    with np.load(other / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays[WINDOW_FILTERS] = arrays[WINDOW_FILTERS] * 2
    np.savez_compressed(other / ARRAYS_FILE, **arrays)

    fields = json.loads((other / MANIFEST_FILE).read_text())
    fields["files"][ARRAYS_FILE] = sha256_file(other / ARRAYS_FILE)
    fields["smoke_scores"] = []
    (other / MANIFEST_FILE).write_text(json.dumps(fields))
    assert load_model(other)._windows.table is not model._windows.table  # type: ignore[union-attr]


def test_explanations_add_up_with_the_block(model: Model) -> None:
    text = "you are a stupid idiot and a moron"
    norm, per_char = model.char_contributions(text)
    # Every part of the raw logit except the intercept is laid over the characters.
    logit = model.logits([text])[0]
    windows = model._windows
    assert windows is not None
    slope, bias = model._slope, model._bias
    intercept = (model._intercept + windows.out_bias) * slope + bias
    np.testing.assert_allclose(per_char.sum(axis=0), logit - intercept, atol=1e-4)
    scores, spans = model.score_and_explain([text])
    assert spans[0] == model.explain(text, scores[0])


def test_score_and_explain_agree_with_score(model: Model) -> None:
    texts = ["you are a stupid idiot", f"{PLACEHOLDER}", "fine words about the park", "Jews are rats and should die"]
    scores, spans = model.score_and_explain(texts)
    plain = model.score(texts)
    for a, b in zip(scores, plain, strict=True):
        for label in LABELS:
            assert abs(a[label] - b[label]) < 1e-9
    # The batch's one located pooling gives each flagged text the spans it gets on its own.
    alone = model.explain_many(texts, scores)
    flagged = [i for i, s in enumerate(spans) if s is not None]
    assert flagged
    for i in flagged:
        assert spans[i] == alone[i]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop(WINDOW_FILTERS), "window block incomplete"),
        (lambda a: a.__setitem__(window.WINDOW_IDENTITY, a[window.WINDOW_IDENTITY][:-1]), "identity vector"),
        (lambda a: a.__setitem__(window.WINDOW_TABLE_SHA256, np.zeros(32, dtype=np.uint8)), "does not ship"),
        (lambda a: a.__setitem__(window.WINDOW_TABLE_SHA256, np.zeros(31, dtype=np.uint8)), "32 bytes"),
        (lambda a: a.__setitem__(window.WINDOW_SCALE, np.array([0.0])), "positive"),
        (lambda a: a.__setitem__(window.WINDOW_WIDTHS, np.array([0, 2])), "out of range"),
        (lambda a: a.__setitem__(window.WINDOW_OUT, a[window.WINDOW_OUT][:, :3]), "shape"),
        (lambda a: a.__setitem__(WINDOW_FILTERS, a[WINDOW_FILTERS][:, :-1]), "cannot build"),
    ],
)
def test_a_damaged_block_is_refused(artifact: Path, tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    shutil.copytree(artifact, bad)
    with np.load(bad / ARRAYS_FILE, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    change(arrays)
    np.savez_compressed(bad / ARRAYS_FILE, **arrays)
    manifest = (bad / MANIFEST_FILE).read_text()

    fields = json.loads(manifest)
    fields["files"][ARRAYS_FILE] = sha256_file(bad / ARRAYS_FILE)
    (bad / MANIFEST_FILE).write_text(json.dumps(fields))
    with pytest.raises(ModelLoadError, match=message):
        load_model(bad)


def test_length_batches_cover_every_row_once_in_batches_of_similar_length() -> None:
    # How the window block (and the contextual experiment) batch their training rows.
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
