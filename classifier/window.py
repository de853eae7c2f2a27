"""A third feature family: a convolution over the comment's static token vectors (word order).

The n-gram and embedding blocks are bags: "you are not stupid" and "you are stupid, not" weigh the
same words. This block reads the tokens in order. Every window of 1, 2 and 3 consecutive
WordPiece tokens is mapped by a learned filter bank over the tokens' static MiniLM vectors
(:mod:`classifier.embedding`), through a ReLU, and each filter keeps its strongest window in the
comment (global max pooling, Kim 2014); a linear layer turns the pooled filters into one logit
per label, added to the linear model's logit before calibration.

Two properties keep it cheap and explainable:

- The static vectors are frozen, so a filter's response to a token at a given place in its window
  is a fixed number: at load time one matrix product turns the vocabulary's vectors into a table
  (token × every filter at every offset). Scoring a comment is then a table lookup per token and a
  few shifted additions, with no matrix product per comment.
- Max pooling picks one window per filter, and the output layer is linear in the pooled values,
  so each filter's share of a label's logit (pooled value × output weight) belongs to exactly one
  window of tokens: explanations come from the model's own weights, as for the n-grams.

Identity terms are folded into a placeholder by :func:`classifier.identity.prepare_text`; BERT's
normalizer would drop it, so here it becomes a token of its own, with a learned vector: the
convolution sees *that* a group is named and where, never which group.

Training is plain numpy (Adam on the masked, weighted binary cross-entropy of every label, with
dropout), so the block needs no deep-learning framework, at training or at serving time; the
artifact stores plain arrays.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from classifier.embedding import TokenBatch, Tokenizer
from classifier.features import _ngrams
from classifier.identity import PLACEHOLDER

__all__ = [
    "WINDOW_KEYS",
    "Pooled",
    "WindowConfig",
    "WindowNet",
    "WindowScorer",
    "encode_with_identity",
]

# Artifact arrays of the block.
# The static vectors are not stored: the artifact names the packaged table by its file's sha256
# and stores how it scaled it and the identity token's vector (the whole table would add 15 MB).
WINDOW_TABLE_SHA256 = "window_table_sha256"  # (32,) uint8
WINDOW_SCALE = "window_scale"  # (1,) float64: the table is divided by it
WINDOW_IDENTITY = "window_identity"  # (dims,) float16: the identity placeholder's vector
WINDOW_FILTERS = "window_filters"  # (dims, filters × sum(widths)) float32: a block per (width, offset)
WINDOW_FILTER_BIAS = "window_filter_bias"  # (filters × len(widths),)
WINDOW_OUT = "window_out"  # (filters × len(widths), labels)
WINDOW_OUT_BIAS = "window_out_bias"  # (labels,)
WINDOW_WIDTHS = "window_widths"  # (len(widths),) int
WINDOW_KEYS = (
    WINDOW_TABLE_SHA256,
    WINDOW_SCALE,
    WINDOW_IDENTITY,
    WINDOW_FILTERS,
    WINDOW_FILTER_BIAS,
    WINDOW_OUT,
    WINDOW_OUT_BIAS,
    WINDOW_WIDTHS,
)

Log = Callable[[str], None]
# Scoring works through a batch in pieces of about this many tokens (each holds a row of
# filters × widths floats per token: 16k tokens × 768 × 4 bytes = 50 MB).
CHUNK_TOKENS = 16_384


def encode_with_identity(
    tokenizer: Tokenizer, texts: Sequence[str], offsets: bool = False, batch: TokenBatch | None = None
) -> TokenBatch:
    """Token ids of prepared ``texts`` where each identity placeholder is the token
    ``tokenizer.n_tokens`` (spanning the placeholder), the others as :meth:`Tokenizer.encode`
    gives them. ``batch``: the texts' plain encoding, when the caller has it (with offsets if
    ``offsets``); only texts with a placeholder are encoded again, piece by piece."""
    texts = list(texts)
    if batch is None:
        batch = tokenizer.encode(texts, offsets=offsets)
    parts = [t.split(PLACEHOLDER) if PLACEHOLDER in t else None for t in texts]
    if all(p is None for p in parts):
        return batch
    sub = tokenizer.encode([piece for p in parts if p is not None for piece in p], offsets=offsets)
    ident = np.array([tokenizer.n_tokens], dtype=np.int64)
    ids: list[NDArray[np.int64]] = []
    starts: list[NDArray[np.int64]] = []
    ends: list[NDArray[np.int64]] = []
    counts = np.zeros(len(texts), dtype=np.int64)

    def take(source: TokenBatch, row: int, shift: int) -> None:
        lo, hi = source.indptr[row], source.indptr[row + 1]
        ids.append(source.ids[lo:hi])
        if offsets:
            assert source.start is not None and source.end is not None
            starts.append(source.start[lo:hi] + shift)
            ends.append(source.end[lo:hi] + shift)

    k = 0  # the next piece of ``sub``
    for i, pieces in enumerate(parts):
        before = len(ids)
        if pieces is None:
            take(batch, i, 0)
        else:
            at = 0  # where the piece starts in the text
            for j, piece in enumerate(pieces):
                take(sub, k, at)
                k += 1
                at += len(piece)
                if j < len(pieces) - 1:  # the placeholder after it
                    ids.append(ident)
                    if offsets:
                        starts.append(np.array([at], dtype=np.int64))
                        ends.append(np.array([at + 1], dtype=np.int64))
                    at += 1
        counts[i] = sum(len(x) for x in ids[before:])
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    flat = np.concatenate(ids).astype(np.int64)
    if not offsets:
        return TokenBatch(indptr, flat)
    return TokenBatch(indptr, flat, np.concatenate(starts).astype(np.int64), np.concatenate(ends).astype(np.int64))


def window_vectors(
    arrays: dict[str, NDArray[Any]], static: NDArray[np.floating[Any]] | None = None
) -> NDArray[np.float32]:
    """The block's token vectors, (tokens + 1, dims): the static table divided by the stored
    scale and rounded to float16 as at training, then the identity token's vector."""
    if static is None:
        from classifier.embedding import packaged_static_vectors

        digest = bytes(np.asarray(arrays[WINDOW_TABLE_SHA256], dtype=np.uint8)).hex()
        static = packaged_static_vectors(digest).vectors
    scale = float(np.asarray(arrays[WINDOW_SCALE]).reshape(-1)[0])
    identity = np.asarray(arrays[WINDOW_IDENTITY], dtype=np.float16).reshape(1, -1)
    if identity.shape[1] != static.shape[1]:
        raise ValueError("window block identity vector does not match the static table")
    # A Python float divisor keeps float32, as training did.
    scaled = (np.asarray(static, dtype=np.float32) / scale).astype(np.float16)
    return np.vstack((scaled, identity)).astype(np.float32)


# The lookup of the last artifact loaded in this process, by a digest of the arrays it is built
# from: loading the same artifact again (every app a test suite starts, a hot swap back to a
# version) reuses it instead of building 94 MB again. Read-only: the scorers share it.
_LOOKUP: dict[str, NDArray[np.float32]] = {}
_LOOKUP_LOCK = threading.Lock()


def _lookup_key(arrays: dict[str, NDArray[Any]], n_tokens: int) -> str:
    digest = hashlib.sha256(str(n_tokens).encode())
    for name in (WINDOW_TABLE_SHA256, WINDOW_SCALE, WINDOW_IDENTITY, WINDOW_FILTERS):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{value.dtype.str}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _build_lookup(
    arrays: dict[str, NDArray[Any]], n_tokens: int, static: NDArray[np.floating[Any]] | None, columns: int
) -> NDArray[np.float32]:
    """Every token's response at every (width, offset): one product at load, a lookup per token
    afterwards. The last row is the padding token (zero)."""
    vectors = window_vectors(arrays, static)
    if vectors.shape[0] != n_tokens + 1:
        raise ValueError("window block vectors do not match the token vocabulary")
    W = np.asarray(arrays[WINDOW_FILTERS], dtype=np.float32)
    if W.shape != (vectors.shape[1], columns):
        raise ValueError("window block filter shapes do not match")
    table = np.zeros((n_tokens + 2, W.shape[1]), dtype=np.float32)
    np.matmul(vectors, W, out=table[: n_tokens + 1])  # in place: no second copy at load
    table.flags.writeable = False
    return table


@dataclass(frozen=True, slots=True)
class Pooled:
    """A batch's pooled filters: each document's strongest response per filter and, when located,
    where its window starts (an index into ``batch.ids``)."""

    batch: TokenBatch
    values: NDArray[np.float32]
    where: NDArray[np.int64] | None


@dataclass(frozen=True)
class WindowConfig:
    """The block's shape and training schedule."""

    widths: tuple[int, ...] = (1, 2, 3)
    filters: int = 128
    epochs: int = 4
    batch_size: int = 64
    learning_rate: float = 2e-3
    embed_dropout: float = 0.1
    pool_dropout: float = 0.3
    max_tokens: int = 192  # training only: longer comments are cut (scoring reads every token)
    seed: int = 13
    # Learning-rate schedule over all steps: "constant", or "linear" (decays to zero at the end).
    lr_schedule: str = "constant"
    # Above 0: the block keeps an exponential moving average of its weights with this decay
    # (Polyak averaging: the last ~1 / (1 - decay) steps weigh most) and ends with the average,
    # not the last step's weights. The average starts at the initial weights, which keep a share
    # of decay ** steps (5% for the default's 0.9995 over 6 epochs of ~980 steps), unless
    # ema_bias_correction: then the average starts at zero and is divided by 1 - decay ** steps
    # at the end (Adam's correction), so only the weights along the path count. Within noise over
    # window seeds 13-15 (Jigsaw val +0.0001, functional +0.001 / +0.001), so off in the default.
    ema_decay: float = 0.0
    ema_bias_correction: bool = False
    # False: the identity placeholder is a zero vector, as padding is, so no window responds to
    # *that* a group is named, only to the words around it. Worse on every set over window seeds
    # 13-15 (Jigsaw val 0.9625 against 0.9632, Civil val 0.9159 against 0.9171, functional
    # toxicity 0.782 against 0.792; identity_attack unchanged), so the default learns it.
    learn_identity: bool = True

    def __post_init__(self) -> None:
        if self.lr_schedule not in ("constant", "linear"):
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r} (constant or linear)")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), not {self.ema_decay}")


def length_batches(lengths: NDArray[np.int64], batch: int, rng: np.random.Generator) -> list[NDArray[np.int64]]:
    """Batches of rows of similar length (little padding), in random order: rows are shuffled,
    sorted by length within pools of 50 batches, cut into batches, and the batches shuffled."""
    order = rng.permutation(len(lengths))
    pool = batch * 50
    batches: list[NDArray[np.int64]] = []
    for lo in range(0, len(order), pool):
        part = order[lo : lo + pool]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch] for i in range(0, len(part), batch))
    return [batches[i] for i in rng.permutation(len(batches))]


def _columns(widths: Sequence[int], filters: int) -> list[tuple[int, int, int]]:
    """(width index, offset in the window, first column) of every filter block, in column order."""
    out, col = [], 0
    for wi, k in enumerate(widths):
        for j in range(k):
            out.append((wi, j, col))
            col += filters
    return out


class WindowNet:
    """Training side: fits the filters, the identity vector and the output layer with Adam."""

    def __init__(self, vectors: NDArray[np.floating[Any]], n_labels: int, config: WindowConfig) -> None:
        self.config = config
        vec = np.asarray(vectors, dtype=np.float32)
        # Unit average norm, so the filters' initial scale does not depend on the table's.
        self.scale_ = float(np.linalg.norm(vec, axis=1).mean()) or 1.0
        self.n_tokens = vec.shape[0]
        rng = np.random.default_rng(config.seed)
        dims, f, widths = vec.shape[1], config.filters, config.widths
        # Rows: the vocabulary, the identity token, padding (zero, never learned).
        ident = rng.normal(0, 0.1, (1, dims))  # drawn either way: the other draws stay the seed's
        if not config.learn_identity:
            ident[:] = 0.0
        self._table = np.vstack((vec / self.scale_, ident, np.zeros((1, dims)))).astype(np.float32)
        blocks = _columns(widths, f)
        self.W = np.empty((dims, len(blocks) * f), dtype=np.float32)
        for wi, _j, col in blocks:
            bound = 1.0 / np.sqrt(dims * widths[wi])
            self.W[:, col : col + f] = rng.uniform(-bound, bound, (dims, f))
        self.b = np.concatenate([rng.uniform(-1, 1, f) / np.sqrt(dims * k) for k in widths]).astype(np.float32)
        pooled = f * len(widths)
        self.U = rng.uniform(-1, 1, (pooled, n_labels)).astype(np.float32) / np.sqrt(pooled)
        self.c = np.zeros(n_labels, dtype=np.float32)
        self._rng = rng

    @property
    def identity(self) -> int:
        return self.n_tokens

    @property
    def pad(self) -> int:
        return self.n_tokens + 1

    def _params(self) -> list[NDArray[np.float32]]:
        return [self.W, self.b, self.U, self.c, self._table[self.identity]]

    def fit(
        self,
        seqs: Sequence[NDArray[np.int64]],
        Y: NDArray[np.float64],
        weights: NDArray[np.float64],
        log: Log = print,
    ) -> WindowNet:
        cfg = self.config
        seqs = [s[: cfg.max_tokens] for s in seqs]
        lengths = np.array([len(s) for s in seqs])
        known = ~np.isnan(Y)
        Yz = np.nan_to_num(Y).astype(np.float32)
        moments = [(np.zeros_like(p), np.zeros_like(p)) for p in self._params()]
        average = None
        if cfg.ema_decay > 0:
            start = 0.0 if cfg.ema_bias_correction else 1.0
            average = [p.astype(np.float64) * start for p in self._params()]
        step = 0
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            batches = length_batches(lengths, cfg.batch_size, self._rng)
            total_steps = len(batches) * cfg.epochs  # every epoch cuts the same number of batches
            total = 0.0
            for rows in batches:
                mask = known[rows]
                w = (weights[rows, None] * mask).astype(np.float32)
                norm = float(w.sum())
                if norm <= 0:
                    continue
                loss, grads = self._step([seqs[i] for i in rows], Yz[rows], w / norm)
                total += loss
                step += 1
                rate = 1.0 - (step - 1) / total_steps if cfg.lr_schedule == "linear" else 1.0
                self._adam(grads, moments, step, rate)
                if average is not None:
                    for avg, param in zip(average, self._params(), strict=True):
                        avg *= cfg.ema_decay
                        avg += (1.0 - cfg.ema_decay) * param
            log(
                f"  window block: epoch {epoch + 1}/{cfg.epochs}, loss {total / max(len(batches), 1):.4f} "
                f"({time.perf_counter() - t0:.0f}s)"
            )
        if average is not None and step > 0:
            share = 1.0 - cfg.ema_decay**step if cfg.ema_bias_correction else 1.0
            # In place: the identity vector is a view of its row of the table.
            for avg, param in zip(average, self._params(), strict=True):
                param[...] = avg / share
        return self

    def _step(
        self, seqs: list[NDArray[np.int64]], y: NDArray[np.float32], w: NDArray[np.float32]
    ) -> tuple[float, list[NDArray[np.float32]]]:
        """Loss and gradients of one batch (``w``: per row and label, 0 where unknown, summing to 1)."""
        cfg = self.config
        widths, f = cfg.widths, cfg.filters
        kmax = max(widths)
        B = len(seqs)
        L = max(1, max(len(s) for s in seqs))
        Lp = L + 2 * (kmax - 1)
        x = np.full((B, Lp), self.pad, dtype=np.int64)
        for i, s in enumerate(seqs):
            x[i, kmax - 1 : kmax - 1 + len(s)] = s
        emb = self._table[x]
        keep_e = 1.0 - cfg.embed_dropout
        drop_e = (self._rng.random(emb.shape, dtype=np.float32) < keep_e).astype(np.float32) / keep_e
        emb *= drop_e
        P = (emb.reshape(B * Lp, -1) @ self.W).reshape(B, Lp, -1)
        lengths = np.array([len(s) for s in seqs])
        blocks = _columns(widths, f)
        pooled, argmax, active = [], [], []
        for wi, k in enumerate(widths):
            n_win = L + k - 1
            H = np.broadcast_to(self.b[wi * f : (wi + 1) * f], (B, n_win, f)).copy()
            for bwi, j, col in blocks:
                if bwi == wi:
                    H += P[:, kmax - k + j : kmax - k + j + n_win, col : col + f]
            valid = np.arange(n_win)[None, :] < (lengths + k - 1)[:, None]
            valid &= (lengths > 0)[:, None]
            H[~valid] = -1e9
            s_star = H.argmax(axis=1)  # (B, f)
            top = np.take_along_axis(H, s_star[:, None, :], axis=1)[:, 0, :]
            pooled.append(np.maximum(top, 0.0))
            argmax.append(s_star)
            active.append(top > 0)
        Z = np.concatenate(pooled, axis=1)
        keep_p = 1.0 - cfg.pool_dropout
        drop_p = (self._rng.random(Z.shape, dtype=np.float32) < keep_p).astype(np.float32) / keep_p
        Zd = Z * drop_p
        logits = Zd @ self.U + self.c
        # Binary cross-entropy, stable form.
        loss = float((w * (np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))).sum())
        g = (w * (1.0 / (1.0 + np.exp(-logits)) - y)).astype(np.float32)
        dU = Zd.T @ g
        dc = g.sum(axis=0)
        dZ = (g @ self.U.T) * drop_p
        # The gradient reaching P: each filter's pooled gradient lands on the one position whose
        # window won its max, one column per (width, offset) block. Then dW is one matrix product
        # with the batch's vectors, as P was (not a (batch, filters, dims) gather per block).
        dP = np.zeros_like(P)
        db = np.zeros_like(self.b)
        rows, filt = np.arange(B)[:, None], np.arange(f)[None, :]
        for wi, k in enumerate(widths):
            gk = dZ[:, wi * f : (wi + 1) * f] * active[wi]
            db[wi * f : (wi + 1) * f] = gk.sum(axis=0)
            for bwi, j, col in blocks:
                if bwi == wi:
                    dP[rows, argmax[wi] + (kmax - k + j), col + filt] = gk
        dW = (emb.reshape(B * Lp, -1).T @ dP.reshape(B * Lp, -1)).astype(self.W.dtype, copy=False)
        # The identity vector is the one learned row of the table: its gradient is what reaches
        # the vectors at its positions (through the same dropout).
        if cfg.learn_identity:
            ident = x == self.identity
            d_ident = ((dP[ident] @ self.W.T) * drop_e[ident]).sum(axis=0).astype(self._table.dtype, copy=False)
        else:
            d_ident = np.zeros_like(self._table[self.identity])
        return loss, [dW, db, dU, dc, d_ident]

    def _adam(
        self,
        grads: list[NDArray[np.float32]],
        moments: list[tuple[NDArray[np.float32], NDArray[np.float32]]],
        step: int,
        rate: float = 1.0,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        lr = rate * self.config.learning_rate * np.sqrt(1 - beta2**step) / (1 - beta1**step)
        for param, grad, (m, v) in zip(self._params(), grads, moments, strict=True):
            m *= beta1
            m += (1 - beta1) * grad
            v *= beta2
            v += (1 - beta2) * grad * grad
            param -= (lr * m / (np.sqrt(v) + eps)).astype(np.float32)

    def arrays(self, table_sha256: str, keep: NDArray[np.bool_] | None = None) -> dict[str, NDArray[Any]]:
        """What the artifact stores (``table_sha256``: the sha256 of the packaged static table
        the vectors came from); labels not in ``keep`` get no share of the block (zero output
        weights)."""
        out, out_bias = self.U.astype(np.float32), self.c.astype(np.float64)
        if keep is not None:
            out[:, ~keep] = 0.0
            out_bias[~keep] = 0.0
        return {
            WINDOW_TABLE_SHA256: np.frombuffer(bytes.fromhex(table_sha256), dtype=np.uint8).copy(),
            WINDOW_SCALE: np.array([self.scale_], dtype=np.float64),
            WINDOW_IDENTITY: self._table[self.identity].astype(np.float16),
            WINDOW_FILTERS: self.W.astype(np.float32),
            WINDOW_FILTER_BIAS: self.b.astype(np.float32),
            WINDOW_OUT: out,
            WINDOW_OUT_BIAS: out_bias,
            WINDOW_WIDTHS: np.array(self.config.widths, dtype=np.int64),
        }


class WindowScorer:
    """Serving side: the precomputed token × filter table, the pooling and the output layer."""

    def __init__(
        self, arrays: dict[str, NDArray[Any]], n_tokens: int, static: NDArray[np.floating[Any]] | None = None
    ) -> None:
        """``static``: the static vectors the block was trained on (default: the packaged table
        the artifact names by sha256)."""
        self.widths = tuple(int(k) for k in arrays[WINDOW_WIDTHS])
        self.filters = int(np.asarray(arrays[WINDOW_FILTER_BIAS]).shape[0]) // len(self.widths)
        self.pad = n_tokens + 1
        key = None if static is not None else _lookup_key(arrays, n_tokens)
        with _LOOKUP_LOCK:
            cached = _LOOKUP.get(key) if key is not None else None
        if cached is not None:
            self.table = cached
        else:
            self.table = _build_lookup(arrays, n_tokens, static, self.filters * sum(self.widths))
            if key is not None:
                with _LOOKUP_LOCK:
                    _LOOKUP.clear()  # the last artifact's only: normally the one serving
                    _LOOKUP[key] = self.table
        if self.table.shape != (n_tokens + 2, self.filters * sum(self.widths)):
            raise ValueError("window block filter shapes do not match")
        self.bias = np.asarray(arrays[WINDOW_FILTER_BIAS], dtype=np.float32)
        self.out = np.asarray(arrays[WINDOW_OUT], dtype=np.float64)
        self.out_bias = np.asarray(arrays[WINDOW_OUT_BIAS], dtype=np.float64)
        if self.bias.shape != (self.filters * len(self.widths),) or self.out.shape[0] != self.bias.shape[0]:
            raise ValueError("window block output layer does not match its filters")
        if self.out_bias.shape != (self.out.shape[1],):
            raise ValueError("window block output bias does not match its labels")
        self._blocks = _columns(self.widths, self.filters)
        self._widths = np.array(self.widths, dtype=np.int64)

    @staticmethod
    def present(arrays: dict[str, NDArray[Any]]) -> bool:
        return WINDOW_FILTERS in arrays

    def pooled(
        self, batch: TokenBatch, locate: bool = True, compiled: bool | None = None
    ) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
        """Per document, every filter's strongest window: its ReLU'd response (documents ×
        filters·widths) and where that window starts, as an index into ``batch.ids`` (a window may
        start up to width - 1 tokens before the document's first token; only with ``locate``).
        ``compiled``: the C loop (classifier/_ngrams.c) or the numpy path (default: C when built;
        the two agree bit for bit)."""
        if compiled is None:
            compiled = _ngrams is not None
        if compiled:
            assert _ngrams is not None
            n = batch.counts.shape[0]
            pooled = np.empty((n, self.bias.shape[0]), dtype=np.float32)
            where = np.empty((n, self.bias.shape[0]), dtype=np.int64)
            ids = np.ascontiguousarray(batch.ids, dtype=np.int64)
            indptr = np.ascontiguousarray(batch.indptr, dtype=np.int64)
            _ngrams.window_pool(self.table, ids, indptr, self._widths, self.bias, pooled, where, locate)
            return pooled, where
        kmax = max(self.widths)
        gap = kmax - 1
        counts = batch.counts
        n_docs = counts.shape[0]
        f = self.filters
        # One flat sequence: each document's tokens after `gap` padding tokens, `gap` more at the end.
        doc_start = np.arange(n_docs, dtype=np.int64) * gap + batch.indptr[:-1] + gap
        flat_len = int(batch.indptr[-1]) + gap * (n_docs + 1)
        flat = np.full(flat_len, self.pad, dtype=np.int64)
        if batch.ids.size:
            flat[np.repeat(doc_start - batch.indptr[:-1], counts) + np.arange(batch.ids.shape[0])] = batch.ids
        P = self.table[flat]
        out = np.zeros((n_docs, f * len(self.widths)), dtype=np.float32)
        where = np.zeros((n_docs, f * len(self.widths)), dtype=np.int64)
        filled = np.flatnonzero(counts)
        if not filled.size:
            return out, where
        for wi, k in enumerate(self.widths):
            n_win = flat_len - k + 1
            # Window q covers flat positions q .. q + k - 1.
            H = np.broadcast_to(self.bias[wi * f : (wi + 1) * f], (n_win, f)).copy()
            for bwi, j, col in self._blocks:
                if bwi == wi:
                    H += P[j : j + n_win, col : col + f]
            # Document d's windows: those touching its tokens, q in [start - (k-1), start + n - 1].
            lo = doc_start[filled] - (k - 1)
            hi = doc_start[filled] + counts[filled]
            bounds = np.empty(2 * filled.size, dtype=np.int64)
            bounds[0::2], bounds[1::2] = lo, hi
            top = np.maximum.reduceat(H, bounds[:-1] if hi[-1] == n_win else bounds, axis=0)[0::2]
            out[filled, wi * f : (wi + 1) * f] = np.maximum(top, 0.0)
            if not locate:
                continue
            # Where: the first window reaching the maximum (argmax per segment).
            n_each = hi - lo
            seg = np.repeat(np.arange(filled.size), n_each)
            idx = np.arange(int(n_each.sum()), dtype=np.int64) + np.repeat(lo - (np.cumsum(n_each) - n_each), n_each)
            hit = H[idx] == top[seg]
            first = np.full((filled.size, f), np.iinfo(np.int64).max, dtype=np.int64)
            r, c = np.nonzero(hit)
            np.minimum.at(first, (seg[r], c), idx[r])
            # Flat position -> index into batch.ids (relative to the document's first token).
            where[filled, wi * f : (wi + 1) * f] = first - doc_start[filled][:, None] + batch.indptr[filled][:, None]
        return out, where

    def pool(self, batch: TokenBatch, locate: bool = False, compiled: bool | None = None) -> Pooled:
        """:meth:`pooled` of a batch of any size (the numpy path works through it in pieces of
        about CHUNK_TOKENS tokens: it holds a row of every filter per token)."""
        n_docs = batch.counts.shape[0]
        if compiled is None:
            compiled = _ngrams is not None
        if compiled or int(batch.indptr[-1]) <= CHUNK_TOKENS:
            values, where = self.pooled(batch, locate, compiled)
            return Pooled(batch, values, where if locate else None)
        values = np.zeros((n_docs, self.bias.shape[0]), dtype=np.float32)
        where = np.zeros_like(values, dtype=np.int64)
        ends = np.searchsorted(batch.indptr[1:], np.arange(CHUNK_TOKENS, int(batch.indptr[-1]), CHUNK_TOKENS))
        lo = 0
        for hi in [*sorted(set((ends + 1).tolist())), n_docs]:
            if hi > lo:
                values[lo:hi], where[lo:hi] = self.pooled(batch.select(range(lo, hi)), locate, compiled)
                where[lo:hi] += batch.indptr[lo]  # the piece's token indices -> the batch's
                lo = hi
        return Pooled(batch, values, where if locate else None)

    def logits(self, pooled: Pooled) -> NDArray[np.float64]:
        """The block's share of each label's raw logit, shape ``(documents, labels)``."""
        # einsum's own loop, not BLAS, which may start threads of its own on a large batch.
        return np.einsum("df,fl->dl", pooled.values.astype(np.float64), self.out) + self.out_bias

    def contributions(
        self, pooled: Pooled, docs: Sequence[int], labels: Sequence[int] | NDArray[np.int64] | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """For documents ``docs`` of a located pooling, each token's share of each label's raw
        logit: every filter's share (pooled value × output weight) belongs to the window it pooled
        and is spread evenly over that window's tokens. Returns the tokens (indices into
        ``pooled.batch.ids``) with a share, in order, and their shares (tokens × ``labels``, by
        default every label)."""
        if pooled.where is None:
            raise ValueError("contributions need a located pooling (pool(..., locate=True))")
        batch = pooled.batch
        out = self.out if labels is None else self.out[:, np.asarray(labels, dtype=np.int64)]
        rows = np.asarray(docs, dtype=np.int64)
        width = np.repeat(np.array(self.widths, dtype=np.int64), self.filters)
        at, col = np.nonzero(pooled.values[rows] > 0)
        doc = rows[at]
        first = np.maximum(pooled.where[doc, col], batch.indptr[doc])
        last = np.minimum(pooled.where[doc, col] + width[col] - 1, batch.indptr[doc + 1] - 1)
        span = last - first + 1
        value = pooled.values[doc, col].astype(np.float64) / span
        # One entry per (filter, token of its window), summed per token.
        token = np.repeat(first, span) + (np.arange(int(span.sum())) - np.repeat(np.cumsum(span) - span, span))
        value = np.repeat(value, span)
        filt = np.repeat(col, span)
        n_tokens = int(batch.indptr[-1])
        used = np.zeros(n_tokens, dtype=bool)
        used[token] = True
        kept = np.flatnonzero(used)
        share = np.empty((kept.shape[0], out.shape[1]))
        for j in range(out.shape[1]):
            share[:, j] = np.bincount(token, value * out[filt, j], minlength=n_tokens)[kept]
        return kept, share
