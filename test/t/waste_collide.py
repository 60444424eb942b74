#!/usr/bin/env python3
"""Strings that all collide under tokacct's first, unkeyed waste_hash.

    waste_collide.py COUNT SEED      print COUNT distinct 16-byte strings, in hex

The first waste_hash (tokacct 0.1.0) hashed a string of len bytes as:

    h = len * 0x9E3779B97F4A7C15
    per 8-byte little-endian block v:  h = (h ^ v) * C1;  h ^= h >> 31
    (a 1-7 byte tail packed into one more block the same way)
    then MurmurHash3's 64-bit finaliser, and the low 32 bits

with no key.  Its block step can be inverted: for a 16-byte string whose
first block v1 leaves the state h1, the second block v2 = h1 ^ X brings the
state to mix(X) whatever v1 was.  So every string v1 + (h1(v1) ^ X) has the
same full 64-bit hash, and all of them fall into one slot of any table:
a table of n such ids probes n^2 / 2 times.  Here X = 0.

The ids must be valid text in any server encoding, so every byte is kept in
1..127 (ASCII, no NUL): v1 is drawn from letters and digits, and the v1 whose
v2 has a byte of 0 or >= 128 are dropped (about 269 of 270).  Vectorised with
numpy; a few candidates are checked against a plain-Python copy of the hash.
"""
import sys

import numpy as np

G = 0x9E3779B97F4A7C15
C1 = 0xBF58476D1CE4E5B9
M64 = (1 << 64) - 1


def old_waste_hash(b):
    """The unkeyed waste_hash, in plain Python (for checking)."""
    n = len(b)
    h = (n * G) & M64

    def block(h, v):
        h = ((h ^ v) * C1) & M64
        return h ^ (h >> 31)

    p = 0
    while n - p >= 8:
        h = block(h, int.from_bytes(b[p:p + 8], 'little'))
        p += 8
    rest = n - p
    if rest > 0:
        v = 0
        if rest & 4:
            v = int.from_bytes(b[p:p + 4], 'little')
            p += 4
        if rest & 2:
            v = (v << 16) | int.from_bytes(b[p:p + 2], 'little')
            p += 2
        if rest & 1:
            v = (v << 8) | b[p]
        h = block(h, v)
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & M64
    h ^= h >> 33
    return h & 0xFFFFFFFF


def colliding(count, seed):
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b'abcdefghijklmnopqrstuvwxyz0123456789', dtype=np.uint8)
    h0 = np.uint64((16 * G) & M64)
    c1 = np.uint64(C1)
    out = []
    seen = set()
    while len(out) < count:
        m = 1 << 20
        v1b = alphabet[rng.integers(0, len(alphabet), size=(m, 8))]
        v1 = v1b.copy().view('<u8').reshape(m)
        with np.errstate(over='ignore'):
            h1 = (h0 ^ v1) * c1
        h1 ^= h1 >> np.uint64(31)
        v2 = h1                                   # X = 0: v2 = h1
        v2b = v2.view(np.uint8).reshape(m, 8)     # little-endian bytes
        ok = np.all((v2b >= 1) & (v2b <= 127), axis=1)
        for a, b in zip(v1b[ok], v2b[ok]):
            s = bytes(a) + bytes(b)
            if s not in seen:
                seen.add(s)
                out.append(s)
                if len(out) == count:
                    break
    return out


def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    ids = colliding(count, seed)
    want = old_waste_hash(ids[0])
    for s in ids[:: max(1, count // 50)]:
        assert old_waste_hash(s) == want, s
    for s in ids:
        print(s.hex())


if __name__ == '__main__':
    main()
