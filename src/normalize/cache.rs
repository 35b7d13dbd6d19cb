//! A bounded cache of normalisations: the same few thousand paths make up most of a log's requests, and
//! choosing the profile, canonicalising and templating them again for every request is most of
//! `path-normalize`'s own work.
//!
//! The result depends only on the profile choice, the server hint and the path, which together are the
//! key. The cache is cleared when it holds [`CAPACITY`] entries, so its memory stays bounded whatever
//! the number of distinct paths (a log of random product ids simply misses more often).
//!
//! A path enters the cache only the second time it is seen (a "doorkeeper" set of key hashes remembers
//! the first sighting): in a log of random product ids most paths are requested once, and storing them
//! would cost an allocation each and push the busy paths out. A path seen once is normalised into a
//! scratch entry whose buffers are reused, so a miss allocates nothing either.

use std::cell::Cell;
use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap};

use super::path::{self, Extra, Profile};
use super::{ProfileArg, choose_profile, template};
use crate::bytes;
use crate::diff::keys::KeyMemo;

/// Entries kept before the cache starts over.
pub const CAPACITY: usize = 1 << 13;
/// First sightings remembered before the doorkeeper starts over.
const SEEN_CAPACITY: usize = 1 << 16;
/// Bits in the doorkeeper: sixteen per first sighting it remembers, so that about one path in sixteen
/// seen once is taken for one seen before (it is then cached a sighting early; nothing else changes).
const SEEN_BITS: usize = SEEN_CAPACITY * 16;

/// One path's normalisation.
///
/// The texts (the key, the canonical path when it differs from the path as given, the template when it
/// differs from the canonical path) share one allocation: a cache hit is bound by memory latency, and
/// reading one run of bytes instead of four separate strings is what makes it cheap. A default entry
/// holds nothing until [`Norm::fill`] fills it.
#[derive(Debug, Clone, Default)]
pub struct Norm {
    /// The profile applied.
    pub profile: Profile,
    /// The canonical path differs from the path as given (the record keeps the logged one as `raw_path`).
    pub changed: bool,
    /// The template is the canonical path itself (nothing in it was a placeholder).
    pub is_template: bool,
    /// Server hint, path as given, canonical path (when changed), template (when not the path).
    text: String,
    server_end: u32,
    path_end: u32,
    canon_end: u32,
    /// Host, query and anomalies, for the few targets that have any.
    extra: Option<Box<Extra>>,
    /// Where `baseline-diff --from-logs` last found this template's statistics (reset by every fill).
    pub key_memo: Cell<KeyMemo>,
}

impl Norm {
    /// The canonical path.
    pub fn path(&self) -> &str {
        if self.changed {
            &self.text[self.path_end as usize..self.canon_end as usize]
        } else {
            &self.text[self.server_end as usize..self.path_end as usize]
        }
    }

    /// The template of the canonical path.
    pub fn template(&self) -> &str {
        if self.is_template { self.path() } else { &self.text[self.canon_end as usize..] }
    }

    /// Host, query split off the target, anomalies.
    pub fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&Extra::NONE)
    }

    /// True when this is the normalisation of `path` served by `server`.
    fn is_for(&self, server: &str, path: &str) -> bool {
        // Not `==`: the server is empty for most logs, see crate::bytes.
        let t = self.text.as_bytes();
        bytes::eq(&t[..self.server_end as usize], server.as_bytes())
            && bytes::eq(&t[self.server_end as usize..self.path_end as usize], path.as_bytes())
    }

    /// Normalises `path` into this entry, reusing its buffers.
    fn fill(&mut self, arg: ProfileArg, server: &str, path: &str) {
        let profile = choose_profile(arg, Some(server).filter(|s| !s.is_empty()), path);
        let c = path::canonicalize(path, profile);
        let t = &mut self.text;
        t.clear();
        t.push_str(server);
        self.server_end = t.len() as u32;
        t.push_str(path);
        self.path_end = t.len() as u32;
        self.changed = c.path != path;
        if self.changed {
            t.push_str(&c.path);
        }
        self.canon_end = t.len() as u32;
        template::template_into(&c.path, t);
        self.is_template = t[self.canon_end as usize..] == *c.path;
        if self.is_template {
            t.truncate(self.canon_end as usize);
        }
        self.extra = (!c.extra.is_empty()).then(|| Box::new(c.extra));
        self.profile = profile;
        self.key_memo.set(KeyMemo::NONE);
    }
}

/// The cache; one per worker thread.
#[derive(Debug)]
pub struct NormCache {
    /// Hash of (server, path) → index in `norms`. Two keys of one hash (rare, or crafted) share the slot:
    /// the first keeps it and the other is normalised afresh each time, so a collision costs time, never
    /// a wrong answer.
    index: FxHashMap<u64, u32>,
    norms: Vec<Norm>,
    /// Doorkeeper: one bit per key hash seen once and not cached (a bit set is a sixteenth of a hash
    /// set's memory, and stays in the core's cache).
    seen: Vec<u64>,
    seen_count: usize,
    /// The normalisation of a path seen once.
    scratch: Norm,
}

impl Default for NormCache {
    fn default() -> Self {
        NormCache {
            index: FxHashMap::default(),
            norms: Vec::new(),
            seen: vec![0; SEEN_BITS / 64],
            seen_count: 0,
            scratch: Norm::default(),
        }
    }
}

impl NormCache {
    /// The normalisation of `path` as served by `server` under `arg`.
    pub fn get(&mut self, arg: ProfileArg, server: Option<&str>, path: &str) -> &Norm {
        let server = server.unwrap_or("");
        let h = FxBuildHasher.hash_one((server, path));
        let slot = self.index.get(&h).copied();
        if let Some(i) = slot
            && self.norms[i as usize].is_for(server, path)
        {
            return &self.norms[i as usize];
        }
        // The high bits: FxHash mixes upwards.
        let bit = (h >> (64 - SEEN_BITS.trailing_zeros())) as usize;
        let (word, mask) = (bit / 64, 1u64 << (bit % 64));
        if slot.is_some() || self.seen[word] & mask == 0 {
            if self.seen_count >= SEEN_CAPACITY {
                self.seen.fill(0);
                self.seen_count = 0;
            }
            self.seen[word] |= mask;
            self.seen_count += 1;
            self.scratch.fill(arg, server, path);
            return &self.scratch;
        }
        if self.norms.len() >= CAPACITY {
            self.index.clear();
            self.norms.clear();
        }
        let mut n = Norm::default();
        n.fill(arg, server, path);
        self.index.insert(h, self.norms.len() as u32);
        self.norms.push(n);
        self.norms.last().expect("just pushed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(n: &Norm, arg: ProfileArg, server: Option<&str>, p: &str) {
        let profile = choose_profile(arg, server, p);
        let c = path::canonicalize(p, profile);
        assert_eq!(n.profile, profile);
        assert_eq!(n.path(), c.path);
        assert_eq!(n.template(), template::template(&c.path));
        assert_eq!(n.changed, c.path != p);
        assert_eq!(n.is_template, n.template() == n.path());
        assert_eq!(*n.extra(), c.extra);
    }

    #[test]
    fn cached_equals_computed_and_stays_bounded() {
        let mut c = NormCache::default();
        for i in 0..(CAPACITY + 10) {
            let p = format!("/a/./{i}/X.aspx");
            check(c.get(ProfileArg::Auto, None, &p), ProfileArg::Auto, None, &p);
            // The second sighting is cached, the third a hit: both give the same.
            for _ in 0..2 {
                check(c.get(ProfileArg::Auto, None, &p), ProfileArg::Auto, None, &p);
            }
        }
        assert!(c.norms.len() <= CAPACITY && c.index.len() == c.norms.len());
        // The server hint is part of the key.
        assert_eq!(c.get(ProfileArg::Auto, Some("iis"), "/A.txt").path(), "/a.txt");
        assert_eq!(c.get(ProfileArg::Auto, None, "/A.txt").path(), "/A.txt");
    }

    #[test]
    fn every_kind_of_entry_reads_back() {
        // Unchanged and templated, changed and not, with host, query and anomalies; a key that is a prefix
        // of another; the server hint split differently over the same bytes.
        let cases: &[(Option<&str>, &str)] = &[
            (None, "/index.html"),
            (None, "/post/2026-10-01/x"),
            (None, "/a//b/../c.php"),
            (None, "/a/%2e%2e/12345/x"),
            (None, "http://Example.COM:80/x/1234?a=1#f"),
            (None, "/x?q=1"),
            (None, "/x"),
            (None, "/x/"),
            (Some("iis"), "/X.ASPX::$DATA"),
            (Some("i"), "is/x"),
            (Some("tomcat"), "/app;jsessionid=1/a.jsp"),
        ];
        let mut c = NormCache::default();
        for _ in 0..3 {
            for &(server, p) in cases {
                check(c.get(ProfileArg::Auto, server, p), ProfileArg::Auto, server, p);
            }
        }
    }

    #[test]
    fn a_hash_collision_gives_the_right_answer() {
        let mut c = NormCache::default();
        for _ in 0..2 {
            c.get(ProfileArg::Auto, None, "/a/1");
        }
        // Point another key's hash at the entry of /a/1, as a collision would.
        let h = FxBuildHasher.hash_one(("", "/b/./2"));
        let i = c.index[&FxBuildHasher.hash_one(("", "/a/1"))];
        c.index.insert(h, i);
        for _ in 0..3 {
            check(c.get(ProfileArg::Auto, None, "/b/./2"), ProfileArg::Auto, None, "/b/./2");
            check(c.get(ProfileArg::Auto, None, "/a/1"), ProfileArg::Auto, None, "/a/1");
        }
    }
}
