//! Bounded summaries of what a key saw: top-K samples, distinct counts, stable hashes.
//!
//! A key can be requested millions of times by millions of clients; what `baseline-diff` keeps per key
//! must not grow with that. [`TopK`] is the Space-Saving algorithm (Metwally et al., 2005): K counters,
//! exact while a key has at most K distinct values (a web shell has one or two clients), and for busier
//! keys the heavy hitters with counts that overestimate by at most the smallest counter. [`Distinct`]
//! counts distinct values exactly up to a cap, by 32-bit hashes.

/// A stable 64-bit hash (the same in every run, build and machine: it is written into state files):
/// eight bytes at a time, multiply-rotate, then the MurmurHash3 finaliser so every output bit depends
/// on every input bit. Not for adversarial keys: a collision only makes a client look familiar.
pub fn hash64(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h: u64 = (bytes.len() as u64).wrapping_mul(K);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// A stable 32-bit hash of a string.
pub fn hash32(s: &str) -> u32 {
    let h = hash64(s.as_bytes());
    (h ^ (h >> 32)) as u32
}

/// The K most frequent values with their counts (Space-Saving).
#[derive(Debug, Clone, Default)]
pub struct TopK {
    /// (hash of the value, value, count). The hash makes the common miss cheap; the `String` keeps its
    /// capacity when Space-Saving replaces the value, so a busy key does not allocate per request.
    items: Vec<(u32, String, u64)>,
}

impl TopK {
    /// Counts `n` occurrences of `v`, keeping at most `k` values.
    pub fn add(&mut self, v: &str, n: u64, k: usize) {
        self.add_hashed(v, hash32(v), n, k);
    }

    /// [`TopK::add`] with `v`'s [`hash32`] already computed.
    pub fn add_hashed(&mut self, v: &str, h: u32, n: u64, k: usize) {
        if let Some(e) = self.items.iter_mut().find(|e| e.0 == h && e.1 == v) {
            e.2 += n;
            return;
        }
        if self.items.len() < k {
            self.items.push((h, v.to_string(), n));
            return;
        }
        // Replace the smallest counter; the newcomer inherits its count (the Space-Saving bound).
        if let Some(min) = self.items.iter_mut().min_by_key(|e| e.2) {
            min.0 = h;
            min.1.clear();
            min.1.push_str(v);
            min.2 += n;
        }
    }

    /// The values, most frequent first (ties by value, for determinism).
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

/// Distinct values counted exactly up to [`Distinct::CAP`].
#[derive(Debug, Clone, Default)]
pub struct Distinct {
    hashes: Vec<u32>,
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
        if let Err(i) = self.hashes.binary_search(&h) {
            if self.hashes.len() == Self::CAP {
                self.saturated = true;
                self.hashes = Vec::new();
                return;
            }
            self.hashes.insert(i, h);
        }
    }

    /// Adds a count reported by a source (an aggregated row's `distinct_clients`) that is at least `n`.
    pub fn add_at_least(&mut self, n: u64) {
        if n as usize > Self::CAP {
            self.saturated = true;
            self.hashes = Vec::new();
        }
    }

    /// The count, and whether it is only a lower bound.
    pub fn count(&self) -> (u64, bool) {
        if self.saturated { (Self::CAP as u64, true) } else { (self.hashes.len() as u64, false) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_exact_when_small_and_keeps_heavy_hitters() {
        let mut t = TopK::default();
        for (v, n) in [("a", 5), ("b", 1), ("a", 2)] {
            t.add(v, n, 3);
        }
        assert_eq!(t.sorted(), vec![("a", 7), ("b", 1)]);
        let mut t = TopK::default();
        for i in 0..1000 {
            t.add(&format!("noise{i}"), 1, 4);
            t.add("heavy", 3, 4);
        }
        assert_eq!(t.sorted()[0].0, "heavy");
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
