"""A semantic feature family: static WordPiece token vectors distilled from all-MiniLM-L6-v2.

The n-gram features only know strings seen in training; a comment attacking a group with words
the training data never put next to a group scores low. Static vectors carry MiniLM's notion of
similar words into the linear model without running a transformer per comment:
:mod:`classifier.distill` ran every token of MiniLM's WordPiece vocabulary through the model
once, offline, and stored the PCA-reduced outputs (``classifier/embeddings/``). A comment's
vector is the weighted mean of its tokens' vectors, so the linear head on it is linear in token
counts: with weights ``w`` a token contributes ``weight(t) · v_t · w / n`` to a label's logit. The
model artifact stores exactly that per-token product (vocabulary × labels), which is all scoring
needs (a lookup and a sparse sum) and gives explanations per token span from the model's own
weights.

Tokenization is BERT's (uncased WordPiece with BERT's normalizer and pre-tokenizer) through the
``tokenizers`` package, a Rust wheel with no torch dependency, built from the stored vocabulary.
It reads already-prepared text, where identity terms are folded into a private-use placeholder;
BERT's normalizer drops that character, so an identity mention gets no token and no weight here
either (mapping it to the token "people" instead gave that token a large identity_attack weight,
so every mention raised the score, and measured no better: functional suite toxicity ROC AUC
0.756 vs 0.761 dropped, identity_attack 0.803 vs 0.806).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from classifier.identity import mentions_identity

__all__ = [
    "STATIC_TABLES",
    "StaticVectors",
    "TokenBatch",
    "Tokenizer",
    "load_static_vectors",
    "static_vectors_path",
    "sif_weights",
    "EmbeddingBlock",
    "TokenScorer",
]

# Static tables shipped with the package, by the name a recipe uses (the default recipe's first: an
# artifact finds its table by hashing them in this order). minilm_l6_static is distilled from
# MiniLM token by token (classifier/distill.py); minilm_l6_tokenlearn, for the "tokenlearn" recipe,
# is that table tuned so a text's mean vector follows MiniLM's sentence embedding (tokenlearn.py).
STATIC_TABLES: dict[str, str] = {
    "minilm_l6_static": "minilm_l6_static.npz",
    "minilm_l6_tokenlearn": "minilm_l6_tokenlearn.npz",
}
UNK_TOKEN = "[UNK]"
# On texts of printable ASCII only, BERT's normalizer (drop control characters, space out CJK,
# strip accents, lower-case) only lower-cases, which keeps every offset: such texts skip it (and
# the Rust pipeline, see Tokenizer._encode_plain). ~90% of prepared news comments qualify.
_NEEDS_NORMALIZER = re.compile(r"[^\x20-\x7e]")
# On such texts BERT's pre-tokens are runs of letters and digits and single punctuation characters.
_PLAIN_PRETOKEN = re.compile(r"[a-z0-9]+|[^a-z0-9 ]")
# Pre-tokens outside the vocabulary's whole words one tokenizer keeps before starting over.
LEARNED_PRETOKENS = 2_000
# SIF's smoothing constant (Arora et al. 2017): a token's weight is a / (a + p(token)), so
# frequent tokens ("the", ",") fade and the mean is dominated by content words.
SIF_A = 1e-3


_TABLE_HASHES: dict[str, str] = {}  # packaged table name -> sha256 of its file
_TABLE_LOCK = threading.Lock()


def packaged_static_vectors(sha256: str) -> StaticVectors:
    """The packaged static table whose file has this sha256 (how an artifact names the table it
    was trained on); ValueError when this installation has none."""
    for name in STATIC_TABLES:
        path = static_vectors_path(name)
        with _TABLE_LOCK:
            if name not in _TABLE_HASHES:
                _TABLE_HASHES[name] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            digest = _TABLE_HASHES[name]
        if digest == sha256:
            return load_static_vectors(path)
    raise ValueError(
        f"the artifact needs the static token table with sha256 {sha256[:12]}…, which this installation "
        f"does not ship (it has {', '.join(STATIC_TABLES)}): retrain it with `moderation train`"
    )


def static_vectors_path(name: str) -> Path:
    """Where the package keeps the static table ``name``."""
    if name not in STATIC_TABLES:
        raise ValueError(f"unknown static embedding table {name!r}; known: {', '.join(STATIC_TABLES)}")
    return Path(str(resources.files("classifier") / "embeddings" / STATIC_TABLES[name]))


@dataclass(frozen=True)
class StaticVectors:
    """A distilled table: the WordPiece vocabulary, one vector per token, and where it came from."""

    tokens: list[str]
    vectors: NDArray[np.float32]
    meta: dict[str, Any]


def token_arrays(tokens: Sequence[str]) -> tuple[NDArray[np.uint32], NDArray[np.int32]]:
    """Tokens as one code-point array plus lengths (how artifacts store vocabularies)."""
    codes = np.frombuffer("".join(tokens).encode("utf-32-le"), dtype="<u4").astype(np.uint32)
    return codes, np.array([len(t) for t in tokens], dtype=np.int32)


def tokens_from_arrays(codes: NDArray[Any], lengths: NDArray[Any]) -> list[str]:
    """Inverse of :func:`token_arrays`."""
    text = codes.astype("<u4").tobytes().decode("utf-32-le")
    ends = np.cumsum(lengths.astype(np.int64)).tolist()
    return [text[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def load_static_vectors(path: Path) -> StaticVectors:
    """Read a table written by :mod:`classifier.distill` (plain arrays, no pickle)."""
    with np.load(path, allow_pickle=False) as npz:
        tokens = tokens_from_arrays(npz["token_codes"], npz["token_lengths"])
        vectors = npz["vectors"].astype(np.float32)
        meta = json.loads(npz["meta"].tobytes().decode())
    if vectors.shape[0] != len(tokens):
        raise ValueError(f"{path.name}: {vectors.shape[0]} vectors for {len(tokens)} tokens")
    return StaticVectors(tokens, vectors, meta)


@dataclass(frozen=True, slots=True)
class TokenBatch:
    """The tokens of a batch of texts in CSR layout: document ``i`` holds ``ids[indptr[i]:indptr[i+1]]``.

    ``start``/``end`` are character offsets into each document's text (only when asked for).
    """

    indptr: NDArray[np.int64]
    ids: NDArray[np.int64]
    start: NDArray[np.int64] | None = None
    end: NDArray[np.int64] | None = None

    @property
    def counts(self) -> NDArray[np.int64]:
        return np.diff(self.indptr)

    def select(self, docs: Sequence[int]) -> TokenBatch:
        """The batch of documents ``docs`` only, in that order."""
        docs_arr = np.asarray(docs, dtype=np.int64)
        counts = self.counts[docs_arr]
        indptr = np.zeros(docs_arr.shape[0] + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        # Every selected token's position in the full batch: each document's run, one after another.
        take = np.repeat(self.indptr[docs_arr] - indptr[:-1], counts) + np.arange(indptr[-1], dtype=np.int64)
        if self.start is None or self.end is None:
            return TokenBatch(indptr, self.ids[take])
        return TokenBatch(indptr, self.ids[take], self.start[take], self.end[take])

    def doc_means(self, token_values: NDArray[np.floating[Any]]) -> NDArray[np.float64]:
        """Per document, the mean of its tokens' rows of ``token_values`` (tokens × k); 0 for none."""
        counts = self.counts
        out = np.zeros((counts.shape[0], token_values.shape[1]), dtype=np.float64)
        filled = np.flatnonzero(counts)
        if filled.size:
            sums = np.add.reduceat(token_values.astype(np.float64), self.indptr[filled], axis=0)
            out[filled] = sums / counts[filled, None]
        return out

    def mean_matrix(self, n_tokens: int, token_weight: NDArray[np.floating[Any]] | None = None) -> sp.csr_matrix:
        """Documents × vocabulary, each row averaging its tokens (weighted by ``token_weight``)."""
        counts = self.counts
        per_doc = 1.0 / np.maximum(counts, 1)
        data = np.repeat(per_doc, counts)
        if token_weight is not None:
            data = data * token_weight[self.ids]
        return sp.csr_matrix(
            (data.astype(np.float32), self.ids, self.indptr), shape=(counts.shape[0], n_tokens), dtype=np.float32
        )


class Tokenizer:
    """BERT's uncased WordPiece tokenizer over a stored vocabulary (the ``tokenizers`` Rust wheel)."""

    def __init__(self, tokens: Sequence[str]) -> None:
        from tokenizers import Tokenizer as RustTokenizer
        from tokenizers import models, normalizers, pre_tokenizers

        vocab = {tok: i for i, tok in enumerate(tokens)}
        if UNK_TOKEN not in vocab:
            raise ValueError("vocabulary lacks [UNK]")
        self.n_tokens = len(tokens)
        tk = RustTokenizer(models.WordPiece(vocab, unk_token=UNK_TOKEN, max_input_chars_per_word=100))
        tk.normalizer = normalizers.BertNormalizer(
            clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
        )
        tk.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        self._tk = tk
        plain = RustTokenizer(models.WordPiece(vocab, unk_token=UNK_TOKEN, max_input_chars_per_word=100))
        plain.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        self._plain = plain
        # Plain texts, a pre-token at a time (WordPiece reads one pre-token at a time). A pre-token
        # that is a whole-word entry of the vocabulary is that one token (WordPiece takes the
        # longest vocabulary prefix first: the whole pre-token), spanning all of it: a fixed table.
        # Other pre-tokens (rare words, numbers, typos: ~5 % of a news comment's) are tokenized
        # alone and kept, at most LEARNED_PRETOKENS of them before starting over, so memory stays
        # flat whatever new strings the comments bring.
        self._whole: dict[str, tuple[int, ...]] = {t: (i,) for t, i in vocab.items() if not t.startswith("##")}
        self._piece_ids: dict[str, tuple[int, ...]] = dict(self._whole)
        self._piece_spans: dict[str, tuple[tuple[int, int], ...]] = {}  # learned pre-tokens only
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], offsets: bool = False) -> TokenBatch:
        """Token ids (and, with ``offsets``, character spans) of prepared ``texts``."""
        texts = list(texts)
        needs = [bool(_NEEDS_NORMALIZER.search(t)) for t in texts]
        ids: list[Sequence[int]] = [()] * len(texts)
        spans: list[Sequence[tuple[int, int]]] = [()] * len(texts)
        plain = [i for i, n in enumerate(needs) if not n]
        if plain:
            encoded = self._encode_plain([texts[i].lower() for i in plain], offsets)
            for i, (doc_ids, doc_spans) in zip(plain, encoded, strict=True):
                ids[i], spans[i] = doc_ids, doc_spans
        rest = [i for i, n in enumerate(needs) if n]
        if rest:
            for i, e in zip(rest, _encode(self._tk, [texts[i] for i in rest], offsets), strict=True):
                ids[i] = e.ids
                if offsets:
                    spans[i] = e.offsets
        counts = np.fromiter(map(len, ids), dtype=np.int64, count=len(ids))
        indptr = np.zeros(len(ids) + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        flat = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(indptr[-1]))
        if not offsets:
            return TokenBatch(indptr, flat)
        pairs = np.fromiter(
            itertools.chain.from_iterable(itertools.chain.from_iterable(spans)), dtype=np.int64, count=2 * flat.shape[0]
        ).reshape(-1, 2)
        return TokenBatch(indptr, flat, pairs[:, 0].copy(), pairs[:, 1].copy())

    def _encode_plain(self, texts: list[str], offsets: bool) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """:meth:`encode` of texts that need no normalizer, a pre-token at a time.

        On printable lower-case ASCII (``encode`` lower-cases printable ASCII, as BERT's normalizer
        would), BERT's pre-tokenizer splits at spaces and makes every ASCII punctuation or symbol
        character a pre-token of its own, leaving runs of letters and digits: exactly
        ``_PLAIN_PRETOKEN``'s matches. WordPiece reads one pre-token at a time, so a pre-token that
        is a whole vocabulary word is looked up, and only the others (rare words, numbers, typos)
        go through the Rust tokenizer, alone, the first time they are seen: cheaper than its
        pipeline over whole texts.
        """
        if offsets:
            words = [[(m.group(), m.start()) for m in _PLAIN_PRETOKEN.finditer(t)] for t in texts]
            seen = {w for doc in words for w, _ in doc}
        else:
            found = [_PLAIN_PRETOKEN.findall(t) for t in texts]
            seen = set(itertools.chain.from_iterable(found))
        with self._lock:
            piece_ids, piece_spans = self._piece_ids, self._piece_spans
            new = [w for w in seen if w not in piece_ids]
            if new and len(piece_spans) + len(new) > LEARNED_PRETOKENS:
                piece_ids, piece_spans = self._piece_ids, self._piece_spans = dict(self._whole), {}
                new = [w for w in seen if w not in piece_ids]
            if new:
                for w, e in zip(new, self._plain.encode_batch(new, add_special_tokens=False), strict=True):
                    piece_ids[w] = tuple(e.ids)
                    piece_spans[w] = tuple(e.offsets)
        if not offsets:
            get = piece_ids.__getitem__
            return [(list(itertools.chain.from_iterable(map(get, doc_words))), []) for doc_words in found]
        out: list[tuple[list[int], list[tuple[int, int]]]] = []
        for doc in words:
            doc_ids: list[int] = []
            doc_spans: list[tuple[int, int]] = []
            for w, at in doc:
                doc_ids.extend(piece_ids[w])
                learned = piece_spans.get(w)
                if learned is None:  # a whole vocabulary word
                    doc_spans.append((at, at + len(w)))
                else:
                    doc_spans.extend((at + a, at + b) for a, b in learned)
            out.append((doc_ids, doc_spans))
        return out


def _encode(tokenizer: Any, texts: list[str], offsets: bool) -> list[Any]:
    if offsets:
        return list(tokenizer.encode_batch(texts, add_special_tokens=False))
    return list(tokenizer.encode_batch_fast(texts, add_special_tokens=False))


def sif_weights(batch: TokenBatch, n_tokens: int, a: float = SIF_A) -> NDArray[np.float32]:
    """SIF weight ``a / (a + p(token))`` of every vocabulary token, ``p`` its share in ``batch``."""
    counts = np.bincount(batch.ids, minlength=n_tokens).astype(np.float64)
    p = counts / max(counts.sum(), 1.0)
    return (a / (a + p)).astype(np.float32)


class EmbeddingBlock:
    """Training side: the standardized (weighted) mean token vector of each text, and its fold.

    Columns are standardized on the training texts and scaled so the block's row norm is about
    ``scale`` (each TF-IDF block has norm 1): the one regularization constant of the linear
    model then treats the families comparably. :meth:`fold` turns weights on these columns back
    into one weight per vocabulary token and label plus an intercept shift, exactly.
    """

    def __init__(self, static: StaticVectors, weighting: str = "sif", scale: float = 3.0) -> None:
        if weighting not in ("sif", "mean"):
            raise ValueError(f"unknown token weighting {weighting!r}")
        self.static = static
        self.weighting = weighting
        self.scale = scale
        self.tokenizer = Tokenizer(static.tokens)

    @property
    def dims(self) -> int:
        return int(self.static.vectors.shape[1])

    def _raw(self, batch: TokenBatch) -> NDArray[np.float32]:
        matrix = batch.mean_matrix(self.tokenizer.n_tokens, self.token_weight_)
        return np.asarray(matrix @ self.static.vectors, dtype=np.float32)

    def fit_transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """Fit token weights and standardization on ``texts``; return their block."""
        batch = self.tokenizer.encode(texts)
        n = self.tokenizer.n_tokens
        self.token_weight_ = sif_weights(batch, n) if self.weighting == "sif" else np.ones(n, dtype=np.float32)
        raw = self._raw(batch)
        self.mean_ = raw.mean(axis=0)
        self.factor_ = (self.scale / np.sqrt(self.dims)) / (raw.std(axis=0) + 1e-6)
        return ((raw - self.mean_) * self.factor_).astype(np.float32)

    def transform(self, texts: Sequence[str]) -> NDArray[np.float32]:
        return ((self._raw(self.tokenizer.encode(texts)) - self.mean_) * self.factor_).astype(np.float32)

    def identity_block(
        self, texts: Sequence[str], mentions: NDArray[np.bool_], scale: float = 1.0
    ) -> NDArray[np.float32]:
        """The identity-conjunction copy of the block: the scaled mean token vector (not centred,
        so it folds into per-token weights with no intercept of its own) in rows that mention an
        identity term, zero elsewhere. Call after :meth:`fit_transform`. ``scale`` multiplies the
        copy's columns: below 1, one regularization constant shrinks its weights more than the
        plain block's."""
        out = np.zeros((len(texts), self.dims), dtype=np.float32)
        rows = np.flatnonzero(mentions)
        if rows.size:
            raw = self._raw(self.tokenizer.encode([texts[i] for i in rows.tolist()]))
            out[rows] = raw * (self.factor_ * np.float32(scale))
        return out

    def fold_identity(self, coef: NDArray[np.float64], scale: float = 1.0) -> NDArray[np.float64]:
        """Per-token weights (vocabulary × labels) of the identity copy's ``coef`` (fitted on
        :meth:`identity_block` with the same ``scale``)."""
        effective = coef * (self.factor_ * scale)[:, None]
        return (self.static.vectors.astype(np.float64) @ effective) * self.token_weight_[:, None]

    def fold(self, coef: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Per-token logit weights (vocabulary × labels) and the intercept shift for ``coef``
        (block columns × labels): block · coef == mean over tokens of token_coef + shift."""
        effective = coef * self.factor_[:, None]
        token_coef = (self.static.vectors.astype(np.float64) @ effective) * self.token_weight_[:, None]
        return token_coef, -(self.mean_.astype(np.float64) @ effective)

    def arrays(self, coef: NDArray[np.float64]) -> tuple[dict[str, NDArray[Any]], NDArray[np.float64]]:
        """What the artifact stores for this block, and the intercept shift to add."""
        token_coef, shift = self.fold(coef)
        codes, lengths = token_arrays(self.static.tokens)
        return {EMBED_CODES: codes, EMBED_LENGTHS: lengths, EMBED_COEF: token_coef.astype(np.float32)}, shift


EMBED_CODES = "embed_token_codes"
EMBED_LENGTHS = "embed_token_lengths"
EMBED_COEF = "embed_token_coef"
# Optional: a second weight per token and label that applies in texts mentioning an identity term.
EMBED_IDENTITY_COEF = "embed_token_coef_identity"


class TokenScorer:
    """Serving side: the folded per-token weights of an artifact and its tokenizer."""

    def __init__(self, arrays: dict[str, NDArray[Any]]) -> None:
        self.tokenizer = Tokenizer(tokens_from_arrays(arrays[EMBED_CODES], arrays[EMBED_LENGTHS]))
        self.coef = np.ascontiguousarray(arrays[EMBED_COEF], dtype=np.float32)
        if self.coef.shape[0] != self.tokenizer.n_tokens:
            raise ValueError("embedding weights do not match the token vocabulary")
        identity = arrays.get(EMBED_IDENTITY_COEF)
        self.identity_coef = None if identity is None else np.ascontiguousarray(identity, dtype=np.float32)
        if self.identity_coef is not None and self.identity_coef.shape != self.coef.shape:
            raise ValueError("identity embedding weights do not match the token vocabulary")

    @staticmethod
    def present(arrays: dict[str, NDArray[Any]]) -> bool:
        return EMBED_COEF in arrays

    def logits(self, texts: Sequence[str], batch: TokenBatch | None = None) -> NDArray[np.float64]:
        """The block's share of each label's raw logit, shape ``(len(texts), n_labels)``
        (``batch``: the texts' tokens when the caller has them already)."""
        if batch is None:
            batch = self.tokenizer.encode(texts)
        out = batch.doc_means(self.coef[batch.ids])
        if self.identity_coef is not None:
            rows = np.flatnonzero(mentions_identity(texts))
            if rows.size:
                sub = batch.select(rows.tolist())
                out[rows] += sub.doc_means(self.identity_coef[sub.ids])
        return out

    def contributions(
        self, texts: Sequence[str], batch: TokenBatch | None = None
    ) -> tuple[TokenBatch, NDArray[np.float64]]:
        """Every token with its character span and its share of each label's raw logit
        (``batch``: the texts' tokens with offsets when the caller has them already)."""
        if batch is None:
            batch = self.tokenizer.encode(texts, offsets=True)
        per_doc = 1.0 / np.maximum(batch.counts, 1)
        coef = self.coef[batch.ids].astype(np.float64)
        if self.identity_coef is not None:
            mentions = np.repeat(mentions_identity(texts), batch.counts)
            coef[mentions] += self.identity_coef[batch.ids[mentions]]
        weight = coef * np.repeat(per_doc, batch.counts)[:, None]
        return batch, weight
