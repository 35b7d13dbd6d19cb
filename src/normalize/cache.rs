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
//! would cost four allocations each and push the busy paths out. A path seen once is normalised into a
//! scratch entry whose buffers are reused, so a miss allocates nothing either.

use std::borrow::Cow;
use std::hash::BuildHasher;

use rustc_hash::{FxBuildHasher, FxHashMap, FxHashSet};

use super::path::{self, Canonical, Profile};
use super::{ProfileArg, choose_profile, template};

/// Entries kept before the cache starts over.
pub const CAPACITY: usize = 1 << 13;
/// First sightings remembered before the doorkeeper starts over.
const SEEN_CAPACITY: usize = 1 << 16;

/// One path's normalisation.
#[derive(Debug, Clone)]
pub struct Norm {
    /// The profile applied.
    pub profile: Profile,
    /// The canonical form, split query and host, anomalies.
    pub canon: Canonical<'static>,
    /// The template of the canonical path.
    pub template: String,
    /// The canonical path differs from the path as given (the record keeps the logged one as `raw_path`).
    pub changed: bool,
    /// The template is the canonical path itself (nothing in it was a placeholder).
    pub is_template: bool,
}

impl Default for Norm {
    fn default() -> Self {
        Norm {
            profile: Profile::Generic,
            canon: Canonical {
                host: None,
                path: Cow::Owned(String::new()),
                query: None,
                anomalies: Default::default(),
            },
            template: String::new(),
            changed: false,
            is_template: true,
        }
    }
}

impl Norm {
    /// Normalises `path` into this entry, reusing its buffers.
    fn fill(&mut self, arg: ProfileArg, server: &str, path: &str) {
        let profile = choose_profile(arg, Some(server).filter(|s| !s.is_empty()), path);
        let c = path::canonicalize(path, profile);
        let mut buf = match std::mem::take(&mut self.canon.path) {
            Cow::Owned(s) => s,
            Cow::Borrowed(_) => String::new(),
        };
        buf.clear();
        buf.push_str(&c.path);
        self.changed = buf != path;
        self.canon =
            Canonical { host: c.host, path: Cow::Owned(buf), query: c.query, anomalies: c.anomalies };
        template::template_into(&self.canon.path, &mut self.template);
        self.is_template = self.template == *self.canon.path;
        self.profile = profile;
    }
}

/// The cache; one per worker thread.
#[derive(Debug, Default)]
pub struct NormCache {
    /// (server, path) → index in `norms`.
    index: FxHashMap<(Box<str>, Box<str>), u32>,
    norms: Vec<Norm>,
    /// Hashes of keys seen once and not cached.
    seen: FxHashSet<u64>,
    /// The normalisation of a path seen once.
    scratch: Norm,
}

impl NormCache {
    /// The normalisation of `path` as served by `server` under `arg`.
    pub fn get(&mut self, arg: ProfileArg, server: Option<&str>, path: &str) -> &Norm {
        let server = server.unwrap_or("");
        let key = &(server, path) as &dyn KeyPair;
        if let Some(&i) = self.index.get(key) {
            return &self.norms[i as usize];
        }
        let h = FxBuildHasher.hash_one(key);
        if self.seen.len() >= SEEN_CAPACITY {
            self.seen.clear();
        }
        if self.seen.insert(h) {
            self.scratch.fill(arg, server, path);
            return &self.scratch;
        }
        if self.norms.len() >= CAPACITY {
            self.index.clear();
            self.norms.clear();
        }
        let mut n = Norm::default();
        n.fill(arg, server, path);
        self.index.insert((server.into(), path.into()), self.norms.len() as u32);
        self.norms.push(n);
        self.norms.last().expect("just pushed")
    }
}

/// Lets the map be searched with borrowed `(&str, &str)` keys (the usual trick for tuple keys).
trait KeyPair {
    fn a(&self) -> &str;
    fn b(&self) -> &str;
}

impl KeyPair for (Box<str>, Box<str>) {
    fn a(&self) -> &str {
        &self.0
    }
    fn b(&self) -> &str {
        &self.1
    }
}

impl KeyPair for (&str, &str) {
    fn a(&self) -> &str {
        self.0
    }
    fn b(&self) -> &str {
        self.1
    }
}

impl<'a> std::borrow::Borrow<dyn KeyPair + 'a> for (Box<str>, Box<str>) {
    fn borrow(&self) -> &(dyn KeyPair + 'a) {
        self
    }
}

impl std::hash::Hash for dyn KeyPair + '_ {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.a().hash(state);
        self.b().hash(state);
    }
}

impl PartialEq for dyn KeyPair + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.a() == other.a() && self.b() == other.b()
    }
}

impl Eq for dyn KeyPair + '_ {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_equals_computed_and_stays_bounded() {
        let mut c = NormCache::default();
        for i in 0..(CAPACITY + 10) {
            let p = format!("/a/./{i}/X.aspx");
            let n = c.get(ProfileArg::Auto, None, &p).clone();
            let profile = choose_profile(ProfileArg::Auto, None, &p);
            assert_eq!(n.profile, profile);
            assert_eq!(n.canon.path, path::canonicalize(&p, profile).path);
            assert_eq!(n.template, template::template(&n.canon.path));
            assert_eq!(n.changed, n.canon.path != p);
            assert_eq!(n.is_template, n.template == n.canon.path);
            // The second sighting is cached, the third a hit: both give the same.
            for _ in 0..2 {
                let again = c.get(ProfileArg::Auto, None, &p);
                assert_eq!((&again.template, &again.canon.path), (&n.template, &n.canon.path));
            }
        }
        assert!(c.norms.len() <= CAPACITY && c.index.len() == c.norms.len());
        // The server hint is part of the key.
        assert_eq!(c.get(ProfileArg::Auto, Some("iis"), "/A.txt").canon.path, "/a.txt");
        assert_eq!(c.get(ProfileArg::Auto, None, "/A.txt").canon.path, "/A.txt");
    }
}
