//! Bounded summaries of what a key saw: top-K samples, distinct counts, stable hashes.
//!
//! A key can be requested millions of times by millions of clients; what `baseline-diff` keeps per key
//! must not grow with that. [`TopK`] is the Space-Saving algorithm (Metwally et al., 2005): K counters,
//! exact while a key has at most K distinct values (a web shell has one or two clients), and for busier
//! keys the heavy hitters with counts that overestimate by at most the smallest counter. [`Distinct`]
//! counts distinct values exactly up to a cap, by 32-bit hashes.

/// 64-bit FNV-1a: a stable hash (the same in every run and on every machine), for the state file.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A stable 32-bit hash of a string (FNV-1a 64 folded).
pub fn hash32(s: &str) -> u32 {
    let h = fnv1a64(s.as_bytes());
    (h ^ (h >> 32)) as u32
}

/// The K most frequent values with their counts (Space-Saving).
#[derive(Debug, Clone, Default)]
pub struct TopK {
    items: Vec<(Box<str>, u64)>,
}

impl TopK {
    /// Counts `n` occurrences of `v`, keeping at most `k` values.
    pub fn add(&mut self, v: &str, n: u64, k: usize) {
        if let Some(e) = self.items.iter_mut().find(|e| &*e.0 == v) {
            e.1 += n;
            return;
        }
        if self.items.len() < k {
            self.items.push((v.into(), n));
            return;
        }
        // Replace the smallest counter; the newcomer inherits its count (the Space-Saving bound).
        if let Some(min) = self.items.iter_mut().min_by_key(|e| e.1) {
            *min = (v.into(), min.1 + n);
        }
    }

    /// The values, most frequent first (ties by value, for determinism).
    pub fn sorted(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self.items.iter().map(|(s, n)| (&**s, *n)).collect();
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
        if self.saturated {
            return;
        }
        let h = hash32(v);
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
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
