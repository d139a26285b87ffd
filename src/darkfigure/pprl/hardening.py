"""Hardening of Bloom filters against frequency and pattern-mining attacks.

Each step works on a block of filters held as a boolean matrix (records x bits) and is driven by a key
derived from the shared secret, so that every organisation hardens the same way:

- :func:`flip_bits`: RAPPOR-style random bit flipping; the coin of each bit comes from a keyed hash
  of the record id, so re-encoding a list gives the same filters.
- :func:`xor_fold`: the two halves XORed (halves the length; blurs which q-gram set which bit).
- :func:`rule90`: each bit becomes the XOR of its two neighbours (cellular automaton rule 90).
- :func:`diffuse` (the default): each written bit is the XOR of t keyed-randomly chosen bits of the
  Bloom filter (Armknecht, Heng & Schnell 2023). Records that agree on most bits still agree on most
  written bits (the Hamming distance grows, in expectation, as ``(1 - (1 - 2d)^t) / 2`` of the share
  ``d`` of differing bits), but no written bit belongs to one q-gram any more: the positions that
  a name sets together, which pattern-mining attacks look for, are spread over XORs with other fields.
- :func:`balance`: the filter followed by its negation (every filter then has exactly half its bits
  set, so the number of set bits no longer tells the length of a name), then permuted with a keyed
  permutation (Schnell & Borgs 2016).
"""

from __future__ import annotations

import functools
import hashlib
import hmac

import numpy as np

from darkfigure._compile import kernel

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def subkey(secret: bytes, label: str) -> bytes:
    """A 32-byte key for one purpose, derived from the secret with HMAC-SHA256.

    >>> len(subkey(b"s" * 32, "bloom")), subkey(b"s" * 32, "a") != subkey(b"s" * 32, "b")
    (32, True)
    """
    return hmac.new(secret, f"darkfigure-pprl/{label}".encode(), hashlib.sha256).digest()


def keyed_permutation(key: bytes, n_bits: int) -> np.ndarray:
    """A permutation of ``0..n_bits-1`` determined by the key (the same for every organisation).

    >>> sorted(keyed_permutation(b"k" * 32, 8)) == list(range(8))
    True
    """
    seed = np.frombuffer(hashlib.blake2b(b"permutation", key=key, digest_size=32).digest(), dtype=np.uint32)
    return np.random.Generator(np.random.PCG64(seed)).permutation(n_bits)


def balance(bits: np.ndarray, permutation: np.ndarray) -> np.ndarray:
    """The filter concatenated with its negation, then permuted: exactly half the bits are set.

    >>> b = balance(np.array([[True, False, False, False]]), np.arange(8))
    >>> b.astype(int).tolist(), int(b.sum())
    ([[1, 0, 0, 0, 0, 1, 1, 1]], 4)
    """
    return np.concatenate([bits, ~bits], axis=1)[:, permutation]


def xor_fold(bits: np.ndarray) -> np.ndarray:
    """The first half of each filter XOR the second half.

    >>> xor_fold(np.array([[True, True, False, True]])).astype(int).tolist()
    [[1, 0]]
    """
    half = bits.shape[1] // 2
    return bits[:, :half] ^ bits[:, half:]


def rule90(bits: np.ndarray) -> np.ndarray:
    """Each bit replaced by the XOR of its left and right neighbours (wrapping around).

    >>> rule90(np.array([[False, True, False, False]])).astype(int).tolist()
    [[1, 0, 1, 0]]
    """
    return np.roll(bits, 1, axis=1) ^ np.roll(bits, -1, axis=1)


def expand(seeds: np.ndarray, count: int, n_bits: int) -> np.ndarray:
    """``count`` bit positions in ``0..n_bits-1`` per seed: SplitMix64 draws, vectorised.

    >>> p = expand(np.array([1, 2], dtype=np.uint64), 5, 512)
    >>> p.shape, bool((p < 512).all()), bool((p[0] != p[1]).any())
    ((2, 5), True, True)
    """
    draws = np.arange(1, count + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        state = seeds.astype(np.uint64)[:, None] + draws[None, :] * _GOLDEN
    return (_splitmix64(state) % np.uint64(n_bits)).astype(np.int64)


def record_keys(record_ids: np.ndarray, key: bytes) -> np.ndarray:
    """One 64-bit keyed hash per record id (seeds the record's bit flips).

    >>> record_keys(np.array(["a", "b"]), b"k" * 32).dtype
    dtype('uint64')
    """
    digests = b"".join(hashlib.blake2b(str(r).encode(), key=key, digest_size=8).digest() for r in record_ids)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def flip_bits(bits: np.ndarray, keys: np.ndarray, probability: float) -> np.ndarray:
    """Flip each bit with ``probability``, the coins drawn from each record's key (reproducible).

    >>> b = np.zeros((2, 1000), dtype=bool)
    >>> f = flip_bits(b, np.array([1, 2], dtype=np.uint64), 0.1)
    >>> 150 < int(f.sum()) < 250, bool((f == flip_bits(b, np.array([1, 2], dtype=np.uint64), 0.1)).all())
    (True, True)
    """
    if probability <= 0:
        return bits
    positions = np.arange(bits.shape[1], dtype=np.uint64)
    with np.errstate(over="ignore"):
        state = keys[:, None] + (positions[None, :] + np.uint64(1)) * _GOLDEN
        coins = _splitmix64(state)
    limit = np.uint64(int(probability * 2.0**64))
    return bits ^ (coins < limit)


def _splitmix64(z: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


@functools.lru_cache(maxsize=8)
def diffusion_taps(key: bytes, n_input: int, n_output: int, t: int) -> np.ndarray:
    """For each of ``n_output`` written bits, ``t`` distinct input positions, drawn from the key with
    SplitMix64 (the same on every machine and NumPy version).

    >>> taps = diffusion_taps(b"k" * 32, 64, 128, 3)
    >>> taps.shape, bool((taps < 64).all()), all(len(set(row)) == 3 for row in taps.tolist())
    ((128, 3), True, True)
    """
    root = int.from_bytes(hashlib.blake2b(b"diffusion", key=key, digest_size=8).digest(), "little")
    seeds = np.uint64(root) + np.arange(n_output, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03)
    draws = expand(seeds, 4 * t + 8, n_input)
    taps = np.empty((n_output, t), dtype=np.int64)
    for j, row in enumerate(draws.tolist()):
        taps[j] = list(dict.fromkeys(row))[:t]
    taps.flags.writeable = False  # cached: shared by every call with the same key
    return taps


def diffuse(words: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Diffused filters (uint64 words): written bit j is the XOR of the input bits ``taps[j]``.

    >>> words = np.array([[0b0110]], dtype=np.uint64)
    >>> diffuse(words, np.array([[1, 2], [0, 1], [2, 3]] + [[0, 3]] * 61)).tolist() == [[0b110]]
    True
    """
    out = np.zeros((len(words), -(-len(taps) // 64)), dtype=np.uint64)
    _diffuse_kernel(np.ascontiguousarray(words, dtype=np.uint64), np.ascontiguousarray(taps, dtype=np.int64), out)
    return out


def set_positions(words: np.ndarray, table: np.ndarray, codes: np.ndarray) -> None:
    """Set, in each record's filter (uint64 words, in place), the positions ``table[codes[r]]``;
    a code of -1 (missing value) and a position past the filter's end set nothing.

    >>> w = np.zeros((2, 1), dtype=np.uint64)
    >>> set_positions(w, np.array([[0, 3, 64]]), np.array([0, -1]))
    >>> w.tolist()
    [[9], [0]]
    """
    _set_kernel(words, np.ascontiguousarray(table, dtype=np.int64), np.ascontiguousarray(codes, dtype=np.int64))


@kernel
def _set_kernel(words, table, codes):  # type: ignore[no-untyped-def]
    n_bits = words.shape[1] * 64
    one = np.uint64(1)
    for r in range(codes.shape[0]):
        c = codes[r]
        if c < 0:
            continue
        for k in range(table.shape[1]):
            p = table[c, k]
            if p < n_bits:
                words[r, p // 64] |= one << np.uint64(p % 64)


@kernel
def _diffuse_kernel(words, taps, out):  # type: ignore[no-untyped-def]
    n_input = words.shape[1] * 64
    bits = np.zeros(n_input, dtype=np.uint8)
    for r in range(words.shape[0]):
        for i in range(n_input):  # the record's input bits, one byte each: the gathers below stay cheap
            bits[i] = np.uint8((words[r, i // 64] >> np.uint64(i % 64)) & np.uint64(1))
        for w in range(out.shape[1]):
            word = np.uint64(0)
            for b in range(64):
                j = w * 64 + b
                if j >= taps.shape[0]:
                    break
                x = np.uint8(0)
                for k in range(taps.shape[1]):
                    x ^= bits[taps[j, k]]
                word |= np.uint64(x) << np.uint64(b)
            out[r, w] = word
