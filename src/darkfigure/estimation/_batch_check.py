"""Compiled existence and identifiability checks of hierarchical log-linear models, as SparseMSE's
``checkident`` and :mod:`darkfigure.estimation.existence`, without a linear programme for most models.

Every design column is an indicator "the cell holds all lists of mask m", so cross products of the
design are sums over the cells above a mask: with ``S[m] = sum of v[c] over cells c containing m``
(a superset-sum transform) the Gram matrix is ``X'DX[a, b] = S_d[m_a | m_b]``.

* Interactions whose lists share no case (empty overlaps) are fixed at minus infinity and their
  cells left out (the extended MLE); the rest are *kept* cells, the zero-count ones *zero* cells.
* Identifiable when the Gram matrix of the design on kept cells has full rank.
* The MLE exists when no direction ``d`` has ``X d = 0`` on the positive cells and ``X d <= 0``,
  not all zero, on the zero cells. If the design on positive cells alone has the rank of the design
  on kept cells no such direction exists (the fast path). Otherwise the directions with ``X d = 0``
  on positive cells span a space of dimension ``k``; restricted to the zero cells it is the column
  space of an orthonormal ``W``, and the MLE fails exactly when the pointed cone ``{r : W r >= 0}``
  holds a nonzero ray. An extreme ray meets ``k - 1`` independent constraints with equality, so
  every such set of zero cells is tried; when there are too many the verdict is left to the linear
  programme (``UNDECIDED``).
"""

from __future__ import annotations

import numpy as np

from darkfigure._compile import kernel

UNDECIDED = -1  # existence left to the linear programme
RANK_TOLERANCE = 1e-9  # pivots below this share of the column's norm are zero (0/1 designs)
SIGN_TOLERANCE = 1e-9
MAX_RAY_TRIALS = 5_000  # past this the linear programme is the quicker way


# ------------------------------------------------------------------------------------- transforms
@kernel
def superset_sums(values, n_lists):  # pragma: no cover - compiled
    """In place: ``values[m]`` becomes the sum of ``values[c]`` over masks ``c`` containing ``m``."""
    for j in range(n_lists):
        bit = 1 << j
        for mask in range(values.shape[0]):
            if mask & bit == 0:
                values[mask] += values[mask | bit]


@kernel
def subset_sums(values, n_lists):  # pragma: no cover - compiled
    """In place: ``values[m]`` becomes the sum of ``values[c]`` over masks ``c`` inside ``m``."""
    for j in range(n_lists):
        bit = 1 << j
        for mask in range(values.shape[0]):
            if mask & bit:
                values[mask] += values[mask ^ bit]


# ------------------------------------------------------------------------------------- linear algebra
@kernel
def _gram(table, cols, p, g):  # pragma: no cover - compiled
    for a in range(p):
        for b in range(a + 1):
            g[a, b] = table[cols[a] | cols[b]]


@kernel
def _cholesky_skipping(g, p, low, accepted):  # pragma: no cover - compiled
    """Lower Cholesky factor of ``g``; columns dependent on earlier ones are skipped. Returns the rank.

    For a skipped column ``j`` the row ``low[j, :j]`` still holds ``L_S^-1 g[S, j]`` over the
    accepted columns ``S`` before it, which gives its null vector (:func:`_null_vector`).
    """
    rank = 0
    for j in range(p):
        for k in range(j):
            if accepted[k]:
                s = g[j, k]
                for m in range(k):
                    if accepted[m]:
                        s -= low[j, m] * low[k, m]
                low[j, k] = s / low[k, k]
            else:
                low[j, k] = 0.0
        d = g[j, j]
        for m in range(j):
            if accepted[m]:
                d -= low[j, m] * low[j, m]
        if d > RANK_TOLERANCE * g[j, j] and d > 0.0:
            low[j, j] = np.sqrt(d)
            accepted[j] = 1
            rank += 1
        else:
            low[j, j] = 0.0
            accepted[j] = 0
    return rank


@kernel
def _null_vector(low, accepted, j, p, out):  # pragma: no cover - compiled
    """``d`` with ``d[j] = 1`` and ``X d = 0``: column ``j`` less its fit on the accepted columns before it."""
    for k in range(p):
        out[k] = 0.0
    out[j] = 1.0
    for k in range(j - 1, -1, -1):
        if accepted[k]:
            s = low[j, k]
            for m in range(k + 1, j):
                if accepted[m]:
                    s -= low[m, k] * (-out[m])
            out[k] = -s / low[k, k]


# ------------------------------------------------------------------------------------- one model
@kernel
def kept_cells(empty, n_empty, kept):  # pragma: no cover - compiled
    kept[0] = 0.0
    n = 0
    for c in range(1, kept.shape[0]):
        keep = 1.0
        for e in range(n_empty):
            if c & empty[e] == empty[e]:
                keep = 0.0
                break
        kept[c] = keep
        n += int(keep)
    return n


@kernel
def _zero_cell_directions(n_lists, y, kept, cols, p, low, accepted, work, dirs):  # pragma: no cover
    """Columns of ``dirs``: ``X d`` on the zero cells for the null vectors ``d`` of the positive design."""
    n_cells = y.shape[0]
    d = np.zeros(p)
    n_dirs = 0
    for j in range(p):
        if accepted[j]:
            continue
        _null_vector(low, accepted, j, p, d)
        for c in range(n_cells):
            work[c] = 0.0
        for a in range(p):
            work[cols[a]] = d[a]
        subset_sums(work, n_lists)
        row = 0
        for c in range(1, n_cells):
            if kept[c] > 0.0 and y[c] == 0.0:
                dirs[row, n_dirs] = work[c]
                row += 1
        n_dirs += 1
    return n_dirs


@kernel
def _orthonormal_basis(dirs, n_rows, n_dirs):  # pragma: no cover - compiled
    """Gram-Schmidt in place on the first ``n_dirs`` columns; returns how many independent ones remain."""
    k = 0
    for j in range(n_dirs):
        norm0 = 0.0
        for i in range(n_rows):
            norm0 += dirs[i, j] * dirs[i, j]
        for _ in range(2):  # twice is enough (Giraud et al.)
            for q in range(k):
                dot = 0.0
                for i in range(n_rows):
                    dot += dirs[i, q] * dirs[i, j]
                for i in range(n_rows):
                    dirs[i, j] -= dot * dirs[i, q]
        norm = 0.0
        for i in range(n_rows):
            norm += dirs[i, j] * dirs[i, j]
        if norm0 == 0.0 or norm <= RANK_TOLERANCE * norm0:
            continue
        scale = 1.0 / np.sqrt(norm)
        for i in range(n_rows):
            dirs[i, k] = dirs[i, j] * scale
        k += 1
    return k


@kernel
def _one_signed(w, n_rows, k, ray):  # pragma: no cover - compiled
    """Whether ``W ray`` is all >= 0 or all <= 0 (it is not zero: W has independent columns)."""
    big = 0.0
    values = np.zeros(n_rows)
    for i in range(n_rows):
        s = 0.0
        for q in range(k):
            s += w[i, q] * ray[q]
        values[i] = s
        big = max(big, abs(s))
    tol = SIGN_TOLERANCE * big
    nonneg = True
    nonpos = True
    for i in range(n_rows):
        if values[i] < -tol:
            nonneg = False
        if values[i] > tol:
            nonpos = False
    return nonneg or nonpos


@kernel
def _ray_through(w, rows, k, ray):  # pragma: no cover - compiled
    """``ray`` orthogonal to the ``k - 1`` rows ``w[rows]``; False when those rows are dependent."""
    m = np.zeros((k - 1, k))
    for r in range(k - 1):
        for q in range(k):
            m[r, q] = w[rows[r], q]
    pivot_col = np.full(k - 1, -1)
    col = 0
    for r in range(k - 1):
        while col < k:
            best = r
            for i in range(r + 1, k - 1):
                if abs(m[i, col]) > abs(m[best, col]):
                    best = i
            if abs(m[best, col]) > RANK_TOLERANCE:
                break
            col += 1
        if col == k:
            return False
        for q in range(k):
            m[r, q], m[best, q] = m[best, q], m[r, q]
        for i in range(k - 1):
            if i != r:
                f = m[i, col] / m[r, col]
                for q in range(k):
                    m[i, q] -= f * m[r, q]
        pivot_col[r] = col
        col += 1
    free = 0
    for q in range(k):
        is_pivot = False
        for r in range(k - 1):
            if pivot_col[r] == q:
                is_pivot = True
        if not is_pivot:
            free = q
            break
    for q in range(k):
        ray[q] = 0.0
    ray[free] = 1.0
    for r in range(k - 1):
        ray[pivot_col[r]] = -m[r, free] / m[r, pivot_col[r]]
    return True


@kernel
def _has_recession_ray(w, n_rows, k):  # pragma: no cover - compiled
    """1 when a nonzero ray of ``{r: W r >= 0}`` exists, 0 when not, -1 when too many trials."""
    ray = np.zeros(k)
    if k == 1:
        ray[0] = 1.0
        return 1 if _one_signed(w, n_rows, k, ray) else 0
    if n_rows < k - 1:
        return 0
    rows = np.arange(k - 1)
    trials = 0
    while True:
        trials += 1
        if trials > MAX_RAY_TRIALS:
            return -1
        if _ray_through(w, rows, k, ray) and _one_signed(w, n_rows, k, ray):
            return 1
        i = k - 2  # next combination of k - 1 rows out of n_rows
        while i >= 0 and rows[i] == n_rows - (k - 1) + i:
            i -= 1
        if i < 0:
            return 0
        rows[i] += 1
        for q in range(i + 1, k - 1):
            rows[q] = rows[q - 1] + 1


@kernel
def check_model(n_lists, y, pos_sup, kept, cols, p, g, low, accepted, work, dirs):  # pragma: no cover
    """(code, rank deficiency) as SparseMSE's checkident, or (UNDECIDED, deficiency)."""
    _gram(pos_sup, cols, p, g)
    rank_pos = _cholesky_skipping(g, p, low, accepted)
    if rank_pos == p:
        return 0, 0
    for c in range(work.shape[0]):
        work[c] = kept[c]
    superset_sums(work, n_lists)
    g2 = np.zeros((p, p))
    low2 = np.zeros((p, p))
    accepted2 = np.zeros(p, dtype=np.uint8)
    _gram(work, cols, p, g2)
    rank_kept = _cholesky_skipping(g2, p, low2, accepted2)
    deficiency = p - rank_kept
    ident = 2 if deficiency > 0 else 0
    k = rank_kept - rank_pos
    if k <= 0:
        return ident, deficiency
    n_dirs = _zero_cell_directions(n_lists, y, kept, cols, p, low, accepted, work, dirs)
    n_rows = 0
    for c in range(1, y.shape[0]):
        if kept[c] > 0.0 and y[c] == 0.0:
            n_rows += 1
    if _orthonormal_basis(dirs, n_rows, n_dirs) != k:
        return UNDECIDED, deficiency
    ray = _has_recession_ray(dirs, n_rows, k)
    if ray < 0:
        return UNDECIDED, deficiency
    return ray + ident, deficiency
