/*
 * classifier._ngrams: the served featurizer's inner loop in C (optional; classifier/features.py
 * has the same computation in numpy and uses it when this module is not built).
 *
 * One pass per document over the batch's code points computes what FeatureSpace.extract +
 * FeatureSpace.lookup + the term counting of FeatureSpace.transform_occurrences compute with
 * some twenty numpy passes over the whole batch: the hash of every word, word bigram and
 * character n-gram (bit for bit the same polynomial hash and MurmurHash3 finaliser as
 * features.py), its column in the vocabulary's open-addressing table, and per document the
 * sorted distinct columns with their counts (a CSR matrix of term counts).
 *
 * No code of the model runs here: the inputs are plain arrays (code points, the table's keys
 * and columns) passed through the buffer protocol. The GIL is held throughout, which makes the
 * caller's scratch array (one int32 per feature, all zero between calls) safe to share.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

#define P_MULT 0x100000001B3ULL
#define SALT_WORD 0x9E3779B97F4A7C15ULL
#define SALT_BIGRAM 0xC2B2AE3D27D4EB4FULL
#define SALT_CHAR 0x165667B19E3779F9ULL
#define BIGRAM_MULT 0x27D4EB2F165667C5ULL

static uint64_t Q_MULT; /* the inverse of P_MULT modulo 2**64, computed at import */

static inline uint64_t fmix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDULL;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ULL;
    return x ^ (x >> 33);
}

/* Position-independent hash of codes[s:e] (features._PrefixHash.substrings). */
static inline uint64_t substring_hash(const uint32_t *codes, Py_ssize_t s, Py_ssize_t e) {
    uint64_t h = 0, q = 1;
    for (Py_ssize_t j = s; j < e; j++) {
        h += ((uint64_t)codes[j] + 1) * q;
        q *= Q_MULT;
    }
    return h + (uint64_t)(e - s) * SALT_CHAR;
}

static inline int is_alnum(uint32_t c) {
    if (c < 128)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (c >= 0x2000 && c <= 0x2BFF)
        return 0;
    if (c >= 0x1F000)
        return 0;
    if (c >= 0xA0 && c <= 0xBF)
        return 0;
    return c != 0xD7 && c != 0xF7;
}

typedef struct {
    const uint64_t *keys;
    const int32_t *cols;
    uint64_t mask;
} Table;

static inline int32_t lookup(const Table *t, uint64_t h) {
    if (h == 0)
        h = 1;
    uint64_t slot = h & t->mask;
    for (;;) {
        uint64_t k = t->keys[slot];
        if (k == h)
            return t->cols[slot];
        if (k == 0)
            return -1;
        slot = (slot + 1) & t->mask;
    }
}

typedef struct {
    int64_t *doc, *start, *end;
    int32_t *col;
    Py_ssize_t n, cap;
    int record;        /* 0: count only, the per-occurrence arrays are not written */
    int32_t *scratch;  /* per column: count in the current document */
    Py_ssize_t n_scratch;
    int32_t *uniq;     /* distinct columns of the current document, first-seen order */
    Py_ssize_t n_uniq;
} Hits;

static inline int emit(Hits *o, const Table *t, uint64_t h, int64_t doc, int64_t s, int64_t e) {
    int32_t c = lookup(t, h);
    if (c < 0)
        return 0;
    if (c >= o->n_scratch)
        return -1;
    if (o->record) {
        if (o->n >= o->cap)
            return -1;
        o->doc[o->n] = doc;
        o->col[o->n] = c;
        o->start[o->n] = s;
        o->end[o->n] = e;
    }
    o->n++;
    if (o->scratch[c]++ == 0)
        o->uniq[o->n_uniq++] = c;
    return 0;
}

/* Sort n non-negative int32 below 2**bits in place (tmp: n more). */
static void sort_columns(int32_t *a, int32_t *tmp, Py_ssize_t n, int bits) {
    if (n < 48) {
        for (Py_ssize_t i = 1; i < n; i++) {
            int32_t v = a[i];
            Py_ssize_t j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    /* LSD radix sort, 11 bits per pass. */
    Py_ssize_t count[2048];
    int32_t *src = a, *dst = tmp;
    for (int shift = 0; shift < bits; shift += 11) {
        memset(count, 0, sizeof count);
        for (Py_ssize_t i = 0; i < n; i++)
            count[(src[i] >> shift) & 2047]++;
        Py_ssize_t total = 0;
        for (int b = 0; b < 2048; b++) {
            Py_ssize_t c = count[b];
            count[b] = total;
            total += c;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 2047]++] = src[i];
        int32_t *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != a)
        memcpy(a, src, (size_t)n * sizeof *a);
}

typedef struct {
    Py_buffer view;
    int held;
} Buf;

static int get_buffer(PyObject *obj, Buf *b, Py_ssize_t itemsize, int writable, const char *name) {
    if (PyObject_GetBuffer(obj, &b->view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    b->held = 1;
    if (b->view.itemsize != itemsize) {
        PyErr_Format(PyExc_TypeError, "%s: expected items of %zd bytes", name, itemsize);
        return -1;
    }
    return 0;
}

static void release(Buf *bufs, int n) {
    for (int i = 0; i < n; i++)
        if (bufs[i].held)
            PyBuffer_Release(&bufs[i].view);
}

/* Every argument's buffer, or none (released again) and -1 with the exception set. */
static int get_buffers(PyObject **objs, Buf *bufs, int n, const Py_ssize_t *sizes, const int *writable,
                       const char **names) {
    memset(bufs, 0, (size_t)n * sizeof *bufs);
    for (int i = 0; i < n; i++) {
        if (get_buffer(objs[i], &bufs[i], sizes[i], writable[i], names[i]) < 0) {
            release(bufs, n);
            return -1;
        }
    }
    return 0;
}

enum { B_CODES, B_KEYS, B_COLS, B_SCRATCH, B_DOC, B_COL, B_START, B_END, B_INDPTR, B_INDICES, B_COUNTS, B_TMP, N_BUFS };

/*
 * featurize(codes, keys, cols, mask, nmin, nmax, n_docs, scratch,
 *           out_doc, out_col, out_start, out_end, out_indptr, out_indices, out_counts, tmp,
 *           col_bits, record)
 *   -> (n_hits, nnz)
 *
 * codes: uint32 code points of the batch string (documents " text " each followed by NUL);
 * keys/cols/mask: the vocabulary table; scratch: int32 zeros, one per column (left zero);
 * out_*: int64 doc/start/end and int32 col per in-vocabulary occurrence; int64 indptr
 * (n_docs + 1), int32 indices and float32 counts per distinct (document, column); tmp: int32;
 * every out_* and tmp array but indptr as long as the batch's occurrences can be; col_bits:
 * the bits of the largest column; record: 0 to count only (the four out_* per-occurrence
 * arrays may then be empty; the returned n_hits still counts the in-vocabulary occurrences).
 */
static PyObject *featurize(PyObject *self, PyObject *args) {
    PyObject *objs[N_BUFS];
    unsigned long long mask;
    int nmin, nmax, col_bits, record;
    Py_ssize_t n_docs;
    if (!PyArg_ParseTuple(args, "OOOKiinOOOOOOOOOii", &objs[B_CODES], &objs[B_KEYS], &objs[B_COLS], &mask, &nmin,
                          &nmax, &n_docs, &objs[B_SCRATCH], &objs[B_DOC], &objs[B_COL], &objs[B_START], &objs[B_END],
                          &objs[B_INDPTR], &objs[B_INDICES], &objs[B_COUNTS], &objs[B_TMP], &col_bits, &record))
        return NULL;
    static const Py_ssize_t sizes[N_BUFS] = {4, 8, 4, 4, 8, 4, 8, 8, 8, 4, 4, 4};
    static const int writable[N_BUFS] = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    static const char *names[N_BUFS] = {"codes", "keys", "cols", "scratch", "out_doc", "out_col",
                                        "out_start", "out_end", "out_indptr", "out_indices", "out_counts", "tmp"};
    Buf bufs[N_BUFS];
    if (get_buffers(objs, bufs, N_BUFS, sizes, writable, names) < 0)
        return NULL;
#define LEN(i) (bufs[i].view.len / sizes[i])
    const uint32_t *codes = bufs[B_CODES].view.buf;
    Py_ssize_t length = LEN(B_CODES);
    Table table = {bufs[B_KEYS].view.buf, bufs[B_COLS].view.buf, (uint64_t)mask};
    Hits out = {bufs[B_DOC].view.buf, bufs[B_START].view.buf, bufs[B_END].view.buf, bufs[B_COL].view.buf, 0,
                LEN(B_DOC), record, bufs[B_SCRATCH].view.buf, LEN(B_SCRATCH), NULL, 0};
    /* Room for every occurrence the batch can have: words, bigrams and each n-gram length. */
    Py_ssize_t need = length * (3 + (Py_ssize_t)nmax - nmin);
    int64_t *indptr = bufs[B_INDPTR].view.buf;
    int32_t *indices = bufs[B_INDICES].view.buf;
    float *counts = bufs[B_COUNTS].view.buf;
    int32_t *tmp = bufs[B_TMP].view.buf;
    Py_ssize_t n_scratch = LEN(B_SCRATCH);
    int hits_fit = !record || (LEN(B_DOC) >= need && LEN(B_COL) >= need && LEN(B_START) >= need && LEN(B_END) >= need);
    if (LEN(B_COLS) != LEN(B_KEYS) || (Py_ssize_t)mask + 1 != LEN(B_KEYS) || (mask & (mask + 1)) != 0 || !hits_fit || LEN(B_TMP) < need || LEN(B_INDPTR) < n_docs + 1 ||
        LEN(B_INDICES) < need || LEN(B_COUNTS) < need || nmin < 1 || nmax < nmin || col_bits < 1 || col_bits > 31) {
        release(bufs, N_BUFS);
        PyErr_SetString(PyExc_ValueError, "featurize: inconsistent array sizes");
        return NULL;
    }
    Py_ssize_t nnz = 0, pos = 0, doc = 0;
    int error = 0;
    uint64_t *word_hash = NULL;
    Py_ssize_t *word_start = NULL, *word_end = NULL, word_cap = 0;
    indptr[0] = 0;
    /* A document's distinct columns gather in tmp (first-seen order), then are sorted into
       indices[nnz:], which has room for every occurrence. */
    out.uniq = tmp;
    while (pos < length && doc < n_docs && !error) {
        Py_ssize_t seg_end = pos;
        while (seg_end < length && codes[seg_end] != 0)
            seg_end++;
        /* codes[pos:seg_end] is " text " (or empty); codes[seg_end] is its NUL. */
        out.n_uniq = 0;
        /* Words: maximal runs of alphanumerics, apostrophes allowed between two of them. */
        Py_ssize_t n_words = 0;
        Py_ssize_t i = pos;
        while (i < seg_end) {
            int in_word = is_alnum(codes[i]);
            if (!in_word) {
                i++;
                continue;
            }
            Py_ssize_t s = i;
            while (i < seg_end) {
                uint32_t c = codes[i];
                if (is_alnum(c) || (c == '\'' && i > 0 && i + 1 < length && is_alnum(codes[i - 1]) &&
                                    is_alnum(codes[i + 1]))) {
                    i++;
                } else {
                    break;
                }
            }
            if (n_words == word_cap) {
                Py_ssize_t cap = word_cap ? 2 * word_cap : 256;
                uint64_t *wh = PyMem_Realloc(word_hash, (size_t)cap * sizeof *wh);
                if (wh) word_hash = wh;
                Py_ssize_t *ws = wh ? PyMem_Realloc(word_start, (size_t)cap * sizeof *ws) : NULL;
                if (ws) word_start = ws;
                Py_ssize_t *we = ws ? PyMem_Realloc(word_end, (size_t)cap * sizeof *we) : NULL;
                if (we) word_end = we;
                if (!we) {
                    error = 2;
                    break;
                }
                word_cap = cap;
            }
            uint64_t h = fmix(substring_hash(codes, s, i) ^ SALT_WORD);
            word_hash[n_words] = h;
            word_start[n_words] = s;
            word_end[n_words] = i;
            n_words++;
            if (emit(&out, &table, h, doc, s, i) < 0) {
                error = 1;
                break;
            }
        }
        /* Bigrams of consecutive words. */
        for (Py_ssize_t w = 0; !error && w + 1 < n_words; w++) {
            uint64_t h = fmix((word_hash[w] * BIGRAM_MULT + word_hash[w + 1]) ^ SALT_BIGRAM);
            if (emit(&out, &table, h, doc, word_start[w], word_end[w + 1]) < 0)
                error = 1;
        }
        /* Character n-grams (char_wb): within the segment, no space strictly inside. */
        for (int n = nmin; !error && n <= nmax; n++) {
            if (length < n)
                break;
            Py_ssize_t last = seg_end - n; /* the n-gram [i, i+n) must end at or before the NUL */
            for (Py_ssize_t s = pos; s <= last; s++) {
                int ok = 1;
                for (Py_ssize_t j = s + 1; j < s + n - 1; j++) {
                    if (codes[j] == ' ') {
                        ok = 0;
                        break;
                    }
                }
                if (!ok)
                    continue;
                if (emit(&out, &table, fmix(substring_hash(codes, s, s + n)), doc, s, s + n) < 0) {
                    error = 1;
                    break;
                }
            }
        }
        if (error)
            break;
        /* This document's distinct columns, sorted, with their counts; scratch back to zero. */
        Py_ssize_t u = out.n_uniq;
        sort_columns(tmp, indices + nnz, u, col_bits);
        memcpy(indices + nnz, tmp, (size_t)u * sizeof *indices);
        for (Py_ssize_t k = 0; k < u; k++) {
            int32_t c = indices[nnz + k];
            counts[nnz + k] = (float)out.scratch[c];
            out.scratch[c] = 0;
        }
        nnz += u;
        indptr[doc + 1] = nnz;
        doc++;
        pos = seg_end + 1;
    }
    PyMem_Free(word_hash);
    PyMem_Free(word_start);
    PyMem_Free(word_end);
    if (error) {
        /* Leave the scratch array zero for the next call. */
        memset(out.scratch, 0, (size_t)n_scratch * sizeof *out.scratch);
    }
    release(bufs, N_BUFS);
    if (error == 2)
        return PyErr_NoMemory();
    if (error) {
        PyErr_SetString(PyExc_ValueError, "featurize: an output or scratch array is too small");
        return NULL;
    }
    for (; doc < n_docs; doc++)
        indptr[doc + 1] = nnz;
    return Py_BuildValue("nn", out.n, nnz);
#undef LEN
}

/*
 * One document, one width k: best[f] = the largest response of filter f over the document's
 * windows (q from -(k - 1) to n - 1, tokens outside the document left out), arg[f] = the first
 * window reaching it (only with locate). h: scratch. The response is the bias plus the rows in
 * order, as the numpy path adds them (a left-out token adds its zero row there: the same sum).
 */
static void pool_width(const float *restrict table, const int64_t *ids, int64_t n, Py_ssize_t n_cols, Py_ssize_t col0,
                       int64_t k, Py_ssize_t filters, const float *restrict b, float *restrict h, float *restrict best,
                       int32_t *restrict arg, int locate) {
    for (Py_ssize_t f = 0; f < filters; f++) {
        best[f] = -INFINITY;
        arg[f] = (int32_t)(1 - k);
    }
    for (int64_t q = 1 - k; q < n; q++) {
        const int64_t lo = q < 0 ? -q : 0, hi = n - q < k ? n - q : k;
        const float *restrict r = table + ids[q + lo] * n_cols + col0 + lo * filters;
        for (Py_ssize_t f = 0; f < filters; f++)
            h[f] = b[f] + r[f];
        for (int64_t j = lo + 1; j < hi; j++) {
            r = table + ids[q + j] * n_cols + col0 + j * filters;
            for (Py_ssize_t f = 0; f < filters; f++)
                h[f] += r[f];
        }
        if (locate) {
            const int32_t qq = (int32_t)q;
            for (Py_ssize_t f = 0; f < filters; f++) {
                const int up = h[f] > best[f];
                best[f] = up ? h[f] : best[f];
                arg[f] = up ? qq : arg[f];
            }
        } else {
            for (Py_ssize_t f = 0; f < filters; f++)
                best[f] = h[f] > best[f] ? h[f] : best[f];
        }
    }
}

enum { W_TABLE, W_IDS, W_INDPTR, W_WIDTHS, W_BIAS, W_POOLED, W_WHERE, W_N };

/*
 * window_pool(table, ids, indptr, widths, bias, out_pooled, out_where, locate) -> None
 *
 * The window block's pooling (classifier/window.py, WindowScorer.pooled): for every document
 * (ids[indptr[d]:indptr[d+1]]) and width k, every window of k tokens that touches the document
 * (tokens outside it count as zero), each filter's response: its bias plus, for each token of
 * the window, the token's row of table at the columns of that (width, offset); then the
 * maximum over windows, ReLU'd, and (with locate; else the document's start) where the first
 * window reaching it starts (an index into ids, up to k - 1 before the document). Sums run in
 * the same order as the numpy path, so the two agree bit for bit.
 *
 * table: float32 (rows, filters * sum(widths)); ids, indptr, widths: int64; bias: float32
 * (filters * len(widths)); out_pooled: float32, out_where: int64, both (documents, len(bias)).
 */
static PyObject *window_pool(PyObject *self, PyObject *args) {
    PyObject *objs[W_N];
    int locate;
    if (!PyArg_ParseTuple(args, "OOOOOOOp", &objs[W_TABLE], &objs[W_IDS], &objs[W_INDPTR], &objs[W_WIDTHS],
                          &objs[W_BIAS], &objs[W_POOLED], &objs[W_WHERE], &locate))
        return NULL;
    static const Py_ssize_t sizes[W_N] = {4, 8, 8, 8, 4, 4, 8};
    static const int writable[W_N] = {0, 0, 0, 0, 0, 1, 1};
    static const char *names[W_N] = {"table", "ids", "indptr", "widths", "bias", "out_pooled", "out_where"};
    Buf bufs[W_N];
    if (get_buffers(objs, bufs, W_N, sizes, writable, names) < 0)
        return NULL;
    const float *table = bufs[W_TABLE].view.buf;
    const int64_t *ids = bufs[W_IDS].view.buf, *indptr = bufs[W_INDPTR].view.buf, *widths = bufs[W_WIDTHS].view.buf;
    const float *bias = bufs[W_BIAS].view.buf;
    float *pooled = bufs[W_POOLED].view.buf;
    int64_t *where = bufs[W_WHERE].view.buf;
    Py_ssize_t n_ids = bufs[W_IDS].view.len / 8, n_widths = bufs[W_WIDTHS].view.len / 8;
    Py_ssize_t n_docs = bufs[W_INDPTR].view.len / 8 - 1, n_pool = bufs[W_BIAS].view.len / 4;
    Py_ssize_t sum_widths = 0, filters = n_widths ? n_pool / n_widths : 0;
    const char *problem = NULL;
    for (Py_ssize_t w = 0; w < n_widths; w++) {
        if (widths[w] < 1 || widths[w] > 64)
            problem = "window_pool: a width is out of range";
        sum_widths += widths[w];
    }
    Py_ssize_t n_cols = filters * sum_widths;
    const Py_buffer *tv = &bufs[W_TABLE].view;
    Py_ssize_t n_rows = tv->ndim == 2 ? tv->shape[0] : 0;
    if (!problem && (n_docs < 0 || n_widths == 0 || filters * n_widths != n_pool || n_cols == 0 || tv->ndim != 2 ||
                     tv->shape[1] != n_cols))
        problem = "window_pool: the table, widths and bias do not fit together";
    if (!problem && (bufs[W_POOLED].view.len != n_docs * n_pool * 4 || bufs[W_WHERE].view.len != n_docs * n_pool * 8))
        problem = "window_pool: the output arrays have the wrong size";
    if (!problem && (indptr[0] != 0 || indptr[n_docs] != n_ids))
        problem = "window_pool: indptr does not cover ids";
    for (Py_ssize_t d = 0; !problem && d < n_docs; d++)
        if (indptr[d + 1] < indptr[d])
            problem = "window_pool: indptr is not sorted";
    if (!problem && n_ids >= INT32_MAX)
        problem = "window_pool: too many tokens in one call";
    for (Py_ssize_t i = 0; !problem && i < n_ids; i++)
        if (ids[i] < 0 || ids[i] >= n_rows)
            problem = "window_pool: a token id is outside the table";
    float *h = NULL, *best = NULL;
    int32_t *arg = NULL;
    if (!problem) {
        h = PyMem_Malloc((size_t)filters * sizeof *h);
        best = PyMem_Malloc((size_t)filters * sizeof *best);
        arg = PyMem_Malloc((size_t)filters * sizeof *arg);
        if (!h || !best || !arg) {
            PyMem_Free(h);
            PyMem_Free(best);
            PyMem_Free(arg);
            release(bufs, W_N);
            return PyErr_NoMemory();
        }
    }
    for (Py_ssize_t d = 0; !problem && d < n_docs; d++) {
        const int64_t start = indptr[d], n = indptr[d + 1] - indptr[d];
        float *out = pooled + d * n_pool;
        int64_t *at = where + d * n_pool;
        if (n == 0) {
            memset(out, 0, (size_t)n_pool * sizeof *out);
            for (Py_ssize_t f = 0; f < n_pool; f++)
                at[f] = start;
            continue;
        }
        Py_ssize_t block = 0; /* first column block of this width */
        for (Py_ssize_t w = 0; w < n_widths; w++) {
            pool_width(table, ids + start, n, n_cols, block * filters, widths[w], filters, bias + w * filters, h, best,
                       arg, locate);
            for (Py_ssize_t f = 0; f < filters; f++) {
                out[w * filters + f] = best[f] > 0.0f ? best[f] : 0.0f;
                at[w * filters + f] = locate ? start + arg[f] : start;
            }
            block += widths[w];
        }
    }
    PyMem_Free(h);
    PyMem_Free(best);
    PyMem_Free(arg);
    release(bufs, W_N);
    if (problem) {
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"featurize", featurize, METH_VARARGS,
     "Hash, look up and count every word, bigram and character n-gram of a batch (see features.py)."},
    {"window_pool", window_pool, METH_VARARGS,
     "Max-pool every filter of the window block over each document's windows (see window.py)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_ngrams", NULL, -1, methods};

PyMODINIT_FUNC PyInit__ngrams(void) {
    /* Newton's iteration for the inverse of an odd number modulo 2**64. */
    uint64_t x = P_MULT;
    for (int i = 0; i < 6; i++)
        x *= 2 - P_MULT * x;
    Q_MULT = x;
    return PyModule_Create(&module);
}
