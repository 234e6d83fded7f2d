"""An independent NumPy model of the Philox(seed, offset) normal stream (csrc/include/vision_ext/philox.h),
bit-exact by construction: Philox rounds in exact integers, every float32 operation correctly rounded
(NumPy's float32 +, *, /, sqrt, rint are IEEE), and fmaf emulated exactly from float64 products.
Also the float64 Box-Muller of the same Philox words, to measure accuracy."""
import numpy as np

F32, F64 = np.float32, np.float64
M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK = np.uint64(0xFFFFFFFF)


def philox_words(seed: int, offset: int, groups: np.ndarray):
    """Philox4x32-10 outputs (4 uint64 arrays of 32-bit words) for counters (group, offset) and key seed."""
    g = groups.astype(np.uint64)
    c = [g & MASK, g >> np.uint64(32), np.full_like(g, offset & 0xFFFFFFFF), np.full_like(g, offset >> 32)]
    k0, k1 = seed & 0xFFFFFFFF, seed >> 32
    for _ in range(10):
        p0, p1 = np.uint64(M0) * c[0], np.uint64(M1) * c[2]  # < 2^64: exact
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ np.uint64(k0), p1 & MASK, (p0 >> np.uint64(32)) ^ c[3] ^ np.uint64(k1),
             p0 & MASK]
        k0, k1 = (k0 + W0) & 0xFFFFFFFF, (k1 + W1) & 0xFFFFFFFF
    return c


def fma32(a, b, c):
    """float32 fma(a, b, c) with one rounding. a*b is exact in float64; the float64 sum s and its exact
    error e (TwoSum) give a + b*c = s + e, and rounding s to float32 is only wrong when s sits exactly on a
    float32 midpoint while e pushes the true value past it."""
    a, b, c = np.broadcast_arrays(F32(a) if np.isscalar(a) else a, F32(b) if np.isscalar(b) else b,
                                  F32(c) if np.isscalar(c) else c)
    p = a.astype(F64) * b.astype(F64)
    c64 = c.astype(F64)
    s = p + c64
    bb = s - p
    e = (p - (s - bb)) + (c64 - bb)
    r = s.astype(F32)
    toward = np.nextafter(r, np.where(s > r.astype(F64), F32(np.inf), F32(-np.inf)).astype(F32))
    mid = (r.astype(F64) + toward.astype(F64)) / 2
    past = (s == mid) & (e != 0) & (np.sign(e) == np.sign(s - r.astype(F64)))
    return np.where(past, toward, r).astype(F32)


def uniform(bits):
    return fma32((bits >> np.uint64(9)).astype(F32), F32(1.1920928955078125e-07), F32(5.9604644775390625e-08))


def log32(x):
    b = x.view(np.uint32).astype(np.int64)
    e = ((b >> 23) & 0xFF) - 127
    m = ((b & 0x7FFFFF) | 0x3F800000).astype(np.uint32).view(F32)
    big = m > F32(1.41421356)
    m = np.where(big, m * F32(0.5), m).astype(F32)
    e = np.where(big, e + 1, e)
    s = (m - F32(1)) / (m + F32(1))
    s2 = s * s
    p = fma32(s2, F32(0.11111111), F32(0.14285715))
    p = fma32(s2, p, F32(0.2))
    p = fma32(s2, p, F32(0.33333334))
    p = fma32(s2, p, F32(1))
    return fma32(e.astype(F32), F32(0.693147180559945), (F32(2) * s) * p)


def sincos_2pi32(u):
    v = F32(4) * u
    q = np.rint(v).astype(F32)
    f = v - q
    f2 = f * f
    s = fma32(f2, F32(1.6044118e-04), F32(-4.6817541e-03))
    for k in (7.9692625e-02, -6.4596410e-01, 1.5707964):
        s = fma32(f2, s, F32(k))
    s = s * f
    c = fma32(f2, F32(-2.5202042e-05), F32(9.1926026e-04))
    for k in (-2.0863481e-02, 2.5366950e-01, -1.2337005, 1.0):
        c = fma32(f2, c, F32(k))
    k = q.astype(np.int64) & 3
    sn = np.select([k == 0, k == 1, k == 2], [s, c, -s], -c).astype(F32)
    cs = np.select([k == 0, k == 1, k == 2], [c, -s, -c], s).astype(F32)
    return sn, cs


def normals(seed: int, offset: int, n: int) -> np.ndarray:
    """The first n float32 normals of the stream, exactly as the kernels must produce them."""
    w = philox_words(seed, offset, np.arange((n + 3) // 4))
    out = np.empty((len(w[0]), 4), dtype=F32)
    for k in range(2):
        r = np.sqrt(F32(-2) * log32(uniform(w[2 * k])))
        sn, cs = sincos_2pi32(uniform(w[2 * k + 1]))
        out[:, 2 * k], out[:, 2 * k + 1] = r * cs, r * sn
    return out.reshape(-1)[:n]


def normals_float64(seed: int, offset: int, n: int) -> np.ndarray:
    """Box-Muller in float64 on the same Philox words and float32 uniforms: the accuracy yardstick."""
    w = philox_words(seed, offset, np.arange((n + 3) // 4))
    out = np.empty((len(w[0]), 4))
    for k in range(2):
        u1, u2 = uniform(w[2 * k]).astype(F64), uniform(w[2 * k + 1]).astype(F64)
        r = np.sqrt(-2 * np.log(u1))
        out[:, 2 * k], out[:, 2 * k + 1] = r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)
    return out.reshape(-1)[:n]
