//! Bounded summaries of what a key saw: samples, distinct counts, stable hashes.
//!
//! A key can be requested millions of times by millions of clients; what `baseline-diff` keeps per key
//! must not grow with that. [`TopK`] keeps the K distinct values with the smallest hashes (a bottom-K
//! sketch) with exact counts: a web shell's one or two clients are all there, a busy page keeps a fair
//! sample of its clients. Unlike heavy-hitter sketches it does not depend on the order of the lines, and
//! two sketches merge into exactly the sketch of the combined input, so results are the same whatever
//! order lines arrive in and however the input is split between threads. [`Distinct`] counts distinct
//! values exactly up to a cap, by 32-bit hashes, with the same two properties.

use compact_str::CompactString;

use crate::bytes::{le16, le32, le64};

/// A stable 64-bit hash (the same in every run, build and machine: it is written into state files):
/// eight bytes at a time, multiply-rotate, then the MurmurHash3 finaliser so every output bit depends
/// on every input bit. Not for adversarial keys: a collision only makes a client look familiar.
pub fn hash64(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ le64(c)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = (h ^ tail_word(bytes, rest)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The last 1-7 bytes of `bytes` (`rest`) as a little-endian word, zero above them: what copying them
/// into a zeroed `[u8; 8]` gives, without the copy (a `memcpy` call, then a load that waits for its
/// stores; on user agents and clients this was a tenth of the aggregation's time). With 8 bytes or more
/// the last eight are read and shifted; a shorter string is read in two overlapping halves.
#[inline(always)]
fn tail_word(bytes: &[u8], rest: &[u8]) -> u64 {
    let r = rest.len();
    debug_assert!((1..8).contains(&r));
    if bytes.len() >= 8 {
        return le64(&bytes[bytes.len() - 8..]) >> (8 * (8 - r));
    }
    match r {
        4.. => le32(rest) | le32(&rest[r - 4..]) << (8 * (r - 4)),
        2.. => le16(rest) | le16(&rest[r - 2..]) << (8 * (r - 2)),
        _ => u64::from(rest[0]),
    }
}

/// A stable 32-bit hash of a string.
pub fn hash32(s: &str) -> u32 {
    let h = hash64(s.as_bytes());
    (h ^ (h >> 32)) as u32
}

/// K distinct values (those with the smallest [`hash32`], ties by value) with exact counts.
#[derive(Debug, Clone, Default)]
pub struct TopK {
    /// (hash, value, count), sorted by (hash, value). Values of up to 24 bytes (client addresses, most
    /// query strings) are stored in the entry itself, so finding a value there does not chase a pointer
    /// to another allocation, a cache miss per request on a big log. A replaced slot keeps its capacity.
    items: Vec<(u32, CompactString, u64)>,
}

impl TopK {
    /// Counts `n` occurrences of `v`, keeping at most `k` values.
    pub fn add(&mut self, v: &str, n: u64, k: usize) {
        self.add_hashed(v, hash32(v), n, k);
    }

    /// [`TopK::add`] with `v`'s [`hash32`] already computed.
    pub fn add_hashed(&mut self, v: &str, h: u32, n: u64, k: usize) {
        // The common cases first: the sketch is full and the value's hash is above every kept one (so it
        // is not there and does not enter: one comparison, for most requests to a busy key), or the value
        // is there.
        if self.items.len() >= k && self.items.last().is_some_and(|last| h > last.0) {
            return;
        }
        if let Some(e) =
            self.items.iter_mut().find(|e| e.0 == h && crate::bytes::eq(e.1.as_bytes(), v.as_bytes()))
        {
            e.2 += n;
            return;
        }
        if self.items.len() >= k
            && let Some(last) = self.items.last()
            && (h, v) > (last.0, last.1.as_str())
        {
            return;
        }
        let at = self.items.partition_point(|e| (e.0, e.1.as_str()) < (h, v));
        if self.items.len() >= k {
            let Some(mut slot) = self.items.pop() else { return };
            slot.0 = h;
            slot.1.clear();
            slot.1.push_str(v);
            slot.2 = n;
            self.items.insert(at, slot);
        } else {
            self.items.insert(at, (h, CompactString::from(v), n));
        }
    }

    /// Starts loading into the cache the stored text of the value hashed `h`, when the sketch holds one:
    /// a caller that looks the value up after other work then finds it there. A long value (a user
    /// agent) lives in an allocation of its own, and on a big log comparing the request's with it was a
    /// cache miss for most requests. A hint only: it changes no result.
    #[inline]
    pub fn prefetch(&self, h: u32) {
        if let Some(e) = self.items.iter().find(|e| e.0 == h) {
            crate::bytes::prefetch(e.1.as_ptr());
        }
    }

    /// Starts loading the sketch's entries (see [`crate::bytes::prefetch`]).
    #[inline]
    pub fn prefetch_items(&self) {
        crate::bytes::prefetch(self.items.as_ptr());
    }

    /// Adds another sketch (of other lines); the result is the sketch of all the lines.
    pub fn merge(&mut self, other: &TopK, k: usize) {
        for (h, v, n) in &other.items {
            self.add_hashed(v, *h, *n, k);
        }
    }

    /// The values, most frequent first (ties by value).
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.items.iter().map(|(_, s, n)| (s.as_str(), *n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// True when no value was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// Distinct values counted exactly up to [`Distinct::CAP`], by their 32-bit hashes.
///
/// An open-addressing set (linear probing, at most half full): one or two probes per request, where a
/// sorted list needed a binary search and a shift of up to 4 KB on every new value. Hash 0 marks an
/// empty slot, so a value hashing to 0 is remembered apart.
#[derive(Debug, Clone, Default)]
pub struct Distinct {
    /// A power of two long, or empty.
    slots: Vec<u32>,
    /// Values counted (including a zero hash).
    len: usize,
    zero: bool,
    saturated: bool,
}

impl Distinct {
    /// Counting stops here; a saturated count means "at least this many".
    pub const CAP: usize = 1000;

    /// Adds a value.
    pub fn add(&mut self, v: &str) {
        self.add_hashed(hash32(v));
    }

    /// Adds a value by its [`hash32`].
    pub fn add_hashed(&mut self, h: u32) {
        if self.saturated {
            return;
        }
        if h == 0 {
            if !self.zero {
                self.zero = true;
                self.counted();
            }
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![0; 8];
        }
        let i = self.probe(h);
        if self.slots[i] == h {
            return;
        }
        self.slots[i] = h;
        self.counted();
        if !self.saturated && self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    /// Starts loading the slot where `h` would be (see [`crate::bytes::prefetch`]).
    #[inline]
    pub fn prefetch(&self, h: u32) {
        if !self.slots.is_empty() {
            crate::bytes::prefetch(&self.slots[h as usize & (self.slots.len() - 1)]);
        }
    }

    /// The slot holding `h`, or the empty slot where it goes.
    fn probe(&self, h: u32) -> usize {
        let mask = self.slots.len() - 1;
        // The hash is well mixed already; its low bits pick the slot.
        let mut i = h as usize & mask;
        while self.slots[i] != 0 && self.slots[i] != h {
            i = (i + 1) & mask;
        }
        i
    }

    fn counted(&mut self) {
        self.len += 1;
        if self.len > Self::CAP {
            self.saturated = true;
            self.slots = Vec::new();
        }
    }

    fn grow(&mut self) {
        let bigger = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        for h in old.into_iter().filter(|&h| h != 0) {
            let i = self.probe(h);
            self.slots[i] = h;
        }
    }

    /// Adds another counter's values.
    pub fn merge(&mut self, other: &Distinct) {
        if other.saturated {
            self.saturated = true;
            self.slots = Vec::new();
            return;
        }
        if other.zero {
            self.add_hashed(0);
        }
        for &h in other.slots.iter().filter(|&&h| h != 0) {
            self.add_hashed(h);
        }
    }

    /// Adds a count reported by a source (an aggregated row's `distinct_clients`) that is at least `n`.
    pub fn add_at_least(&mut self, n: u64) {
        if n as usize > Self::CAP {
            self.saturated = true;
            self.slots = Vec::new();
        }
    }

    /// The count, and whether it is only a lower bound.
    pub fn count(&self) -> (u64, bool) {
        if self.saturated { (Self::CAP as u64, true) } else { (self.len as u64, false) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_exact_when_small_and_order_free() {
        let mut t = TopK::default();
        for (v, n) in [("a", 5), ("b", 1), ("a", 2)] {
            t.add(v, n, 3);
        }
        assert_eq!(t.sorted(), vec![("a", 7), ("b", 1)]);
        // Any order, any split: the same sketch.
        let vals: Vec<String> = (0..500).map(|i| format!("10.0.{}.{}", i % 7, i % 113)).collect();
        let mut fwd = TopK::default();
        vals.iter().for_each(|v| fwd.add(v, 1, 4));
        let mut rev = TopK::default();
        vals.iter().rev().for_each(|v| rev.add(v, 1, 4));
        let (mut a, mut b) = (TopK::default(), TopK::default());
        vals[..200].iter().for_each(|v| a.add(v, 1, 4));
        vals[200..].iter().for_each(|v| b.add(v, 1, 4));
        a.merge(&b, 4);
        assert_eq!(fwd.sorted(), rev.sorted());
        assert_eq!(fwd.sorted(), a.sorted());
        // Counts of the sampled values are exact.
        for (v, n) in fwd.sorted() {
            assert_eq!(n as usize, vals.iter().filter(|x| *x == v).count());
        }
    }

    #[test]
    fn distinct_exact_then_saturated() {
        let mut d = Distinct::default();
        for i in 0..10 {
            d.add(&format!("10.0.0.{}", i % 4));
        }
        assert_eq!(d.count(), (4, false));
        for i in 0..5000 {
            d.add(&i.to_string());
        }
        assert_eq!(d.count(), (1000, true));
        // Exactly CAP values is still exact; a zero hash counts; merging is a set union.
        let (mut a, mut b) = (Distinct::default(), Distinct::default());
        for h in 0..Distinct::CAP as u32 {
            if h % 3 == 0 {
                a.add_hashed(h)
            } else {
                b.add_hashed(h)
            }
            b.add_hashed(h / 2);
        }
        a.merge(&b);
        assert_eq!(a.count(), (1000, false));
        a.add_hashed(999);
        assert_eq!(a.count(), (1000, false));
        a.add_hashed(u32::MAX);
        assert_eq!(a.count(), (1000, true));
    }

    proptest::proptest! {
        #[test]
        fn tail_word_is_the_zero_padded_copy(bytes in proptest::collection::vec(proptest::num::u8::ANY, 1..40)) {
            let rest = &bytes[bytes.len() - bytes.len() % 8..];
            proptest::prop_assume!(!rest.is_empty());
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            proptest::prop_assert_eq!(tail_word(&bytes, rest), u64::from_le_bytes(w));
        }
    }

    #[test]
    fn hash_is_stable() {
        // Written into state files: must never change.
        assert_eq!(hash64(b""), 0);
        assert_eq!(hash64(b"203.0.113.9"), hash64(b"203.0.113.9"));
        assert_eq!(hash32("203.0.113.9"), 0x4f13_a16c);
        assert_eq!(hash32("curl/8.5.0"), 0x8d64_f634);
        assert_ne!(hash32("10.0.0.1"), hash32("10.0.0.2"));
    }
}
