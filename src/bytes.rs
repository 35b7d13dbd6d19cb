//! Byte-string primitives of the hot paths: comparing without `memcmp` on empty strings, reading
//! little-endian words (hashing, plain-ASCII checks), finding a byte in a short field, and asking for
//! memory ahead of its use.
//!
//! Each is kept because the plain version costs more end to end: with `==`/`cmp`, `memchr`'s
//! `memchr`/`memchr2`/`memchr_iter` and no prefetch in their place (`docs/experiments/plain-bytes.diff`),
//! `scripts/bench-compare --lines 1000000 --runs 7 --patch docs/experiments/plain-bytes.diff d6a02e3`
//! measured on 1 M combined lines (2026-12-07, plain against these): log-export 0.301 s against
//! 0.227 s, webshell-hunt 0.551 s against 0.392 s, log-export | path-normalize 0.568 s against
//! 0.543 s; and callgrind, on 200 k lines, 754 M against 675 M instructions for log-export and 865 M
//! against 811 M for `baseline-diff --from-logs`. (Instruction counts do not show the empty-`memcmp`
//! stall described below, which is why the times differ by more.)
//!
//! ## Comparing
//!
//! Rust's `==` and `cmp` on strings call the C library's `memcmp` (or `bcmp`) whenever the lengths allow,
//! also with length 0. glibc 2.36 picks `__memcmp_evex_movbe` on CPUs with AVX-512, and for a short
//! length it compares with a masked load; with length 0 the mask is empty, and on AMD Zen 4 (the bench
//! machine of this project) that one load costs about 130 ns, sixty times a 5-byte compare (2.2 ns;
//! `memcmp(p, q, 0)` in a loop, C, measured side by side; with AVX-512 disabled by `GLIBC_TUNABLES` the
//! same call takes 2.7 ns). An empty string is no rarity here: every combined-format request has no host
//! and no server name, and the host and the normalisation cache's server were compared once per request,
//! about 2 CPU-seconds on 10 M lines. The functions below answer for empty strings without the call.

use std::cmp::Ordering;

/// `a == b`, without a `memcmp` call when both are empty, or short: up to sixteen bytes are compared as
/// two overlapping words (a method, an address, a host), which is cheaper than the call.
#[inline(always)]
pub fn eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1 => a[0] == b[0],
        2..4 => le16(a) == le16(b) && le16(&a[n - 2..]) == le16(&b[n - 2..]),
        4..8 => le32(a) == le32(b) && le32(&a[n - 4..]) == le32(&b[n - 4..]),
        8..=16 => le64(a) == le64(b) && le64(&a[n - 8..]) == le64(&b[n - 8..]),
        _ => a == b,
    }
}

/// `a.cmp(b)`, without a `memcmp` call when either is empty.
#[inline]
pub fn cmp(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_empty() || b.is_empty() { a.len().cmp(&b.len()) } else { a.cmp(b) }
}

/// The first eight bytes of `b` as a little-endian word (one unaligned load; `b` has at least eight).
#[inline(always)]
pub fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// The first four bytes of `b` as a little-endian word.
#[inline(always)]
pub fn le32(b: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The first two bytes of `b` as a little-endian word.
#[inline(always)]
pub fn le16(b: &[u8]) -> u64 {
    u64::from(u16::from_le_bytes([b[0], b[1]]))
}

/// The place of the first byte of `s` that is `a` or `b`: `memchr2` for the short fields of a log line
/// (a status, an address, a referer). memchr pays a dispatch and a vector setup on every call that a
/// field of ten or forty bytes does not earn back (~60 instructions a call, three times a line for the
/// CLF parser); this compares sixteen bytes at a time with SSE2 (part of x86-64), the last sixteen
/// overlapping bytes already looked at rather than one by one.
#[inline]
pub fn find2(s: &[u8], a: u8, b: u8) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        let n = s.len();
        // SAFETY: SSE2 is part of x86-64; every load reads 16 bytes inside `s` (`i + 16 <= n`, or the
        // last 16 when `n >= 16`); register operations otherwise.
        let mask = |at: usize| unsafe {
            let v = _mm_loadu_si128(s.as_ptr().add(at).cast());
            let eq = _mm_or_si128(
                _mm_cmpeq_epi8(v, _mm_set1_epi8(a as i8)),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8)),
            );
            _mm_movemask_epi8(eq) as u32
        };
        let mut i = 0;
        while i + 16 <= n {
            let m = mask(i);
            if m != 0 {
                return Some(i + m.trailing_zeros() as usize);
            }
            i += 16;
        }
        if i == n {
            return None;
        }
        if n >= 16 {
            // The last sixteen bytes; the first `i - (n - 16)` of them were looked at above.
            let m = mask(n - 16) >> (i - (n - 16));
            return (m != 0).then(|| i + m.trailing_zeros() as usize);
        }
        s.iter().position(|&c| c == a || c == b)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        memchr::memchr2(a, b, s)
    }
}

/// The place of the first `b` in `s`: [`find2`] for one byte.
#[inline]
pub fn find(s: &[u8], b: u8) -> Option<usize> {
    find2(s, b, b)
}

/// Calls `f` with the place of every `b` in `s`, in order: sixteen bytes compared at a time (SSE2), so a
/// log line is split into its fields without a test and a branch per byte.
#[inline]
pub fn each_position(s: &[u8], b: u8, mut f: impl FnMut(usize)) {
    let mut i = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while i + 16 <= s.len() {
            // SAFETY: SSE2 is part of x86-64; the load reads s[i..i + 16], inside `s`.
            let mut m = unsafe {
                let v = _mm_loadu_si128(s.as_ptr().add(i).cast());
                _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8))) as u32
            };
            while m != 0 {
                f(i + m.trailing_zeros() as usize);
                m &= m - 1;
            }
            i += 16;
        }
    }
    for (j, &c) in s.iter().enumerate().skip(i) {
        if c == b {
            f(j);
        }
    }
}

/// Starts loading the cache line at `p` (a hint that changes no result; no-op off x86-64). For memory a
/// caller will read after other work, on a path where it is often not in the cache.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_strings() {
        assert!(eq(b"", b""));
        assert!(!eq(b"", b"a"));
        assert!(!eq(b"a", b""));
        assert_eq!(cmp(b"", b""), Ordering::Equal);
        assert_eq!(cmp(b"", b"a"), Ordering::Less);
        assert_eq!(cmp(b"a", b""), Ordering::Greater);
    }

    #[test]
    fn little_endian_words() {
        let b = b"\x01\x02\x03\x04\x05\x06\x07\x08\x09";
        assert_eq!(le64(b), 0x0807_0605_0403_0201);
        assert_eq!(le32(&b[1..]), 0x0504_0302);
        assert_eq!(le16(&b[7..]), 0x0908);
    }

    proptest! {
        #[test]
        fn find2_is_the_first_of_either(s in proptest::collection::vec(prop_oneof![8 => Just(b'a'), 1 => Just(b'"'), 1 => Just(b'\\'), 1 => Just(b' ')], 0..70), start in 0usize..70) {
            let s = &s[start.min(s.len())..];
            for (a, b) in [(b'"', b'\\'), (b' ', b' '), (b'x', b'y')] {
                prop_assert_eq!(find2(s, a, b), s.iter().position(|&c| c == a || c == b));
            }
        }

        #[test]
        fn each_position_is_every_place(s in proptest::collection::vec(prop_oneof![6 => Just(b'a'), 1 => Just(b' '), 1 => Just(b'\t')], 0..70)) {
            let mut got = Vec::new();
            each_position(&s, b' ', |i| got.push(i));
            let want: Vec<usize> = (0..s.len()).filter(|&i| s[i] == b' ').collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn same_answers_as_std(a in proptest::collection::vec(0u8..3, 0..20), b in proptest::collection::vec(0u8..3, 0..20)) {
            prop_assert_eq!(eq(&a, &b), a == b);
            prop_assert_eq!(cmp(&a, &b), a.cmp(&b));
        }
    }
}
