//! A bounded cache of normalisations: the same few thousand paths make up most of a log's requests, and
//! choosing the profile, canonicalising and templating them again for every request is most of
//! `path-normalize`'s own work.
//!
//! The result depends only on the profile choice, the server hint and the path, which together are the
//! key. The cache is cleared when it holds [`CAPACITY`] entries, so its memory stays bounded whatever
//! the number of distinct paths (a log of random product ids simply misses more often).

use rustc_hash::FxHashMap;

use super::path::{self, Canonical, Profile};
use super::{ProfileArg, choose_profile, template};

/// Entries kept before the cache starts over.
pub const CAPACITY: usize = 1 << 13;

/// One path's normalisation.
#[derive(Debug, Clone)]
pub struct Norm {
    /// The profile applied.
    pub profile: Profile,
    /// The canonical form, split query and host, anomalies.
    pub canon: Canonical<'static>,
    /// The template of the canonical path.
    pub template: String,
}

/// The cache; one per worker thread.
#[derive(Debug, Default)]
pub struct NormCache {
    map: FxHashMap<(Box<str>, Box<str>), Norm>,
}

impl NormCache {
    /// The normalisation of `path` as served by `server` under `arg`.
    pub fn get(&mut self, arg: ProfileArg, server: Option<&str>, path: &str) -> &Norm {
        let server = server.unwrap_or("");
        // Two lookups on a miss, but no key allocation on a hit (the common case).
        if self.map.contains_key(&(server, path) as &dyn KeyPair) {
            return &self.map[&(server, path) as &dyn KeyPair];
        }
        if self.map.len() >= CAPACITY {
            self.map.clear();
        }
        let profile = choose_profile(arg, Some(server).filter(|s| !s.is_empty()), path);
        let c = path::canonicalize(path, profile);
        let canon = Canonical {
            host: c.host,
            path: std::borrow::Cow::Owned(c.path.into_owned()),
            query: c.query,
            anomalies: c.anomalies,
        };
        let mut t = String::new();
        template::template_into(&canon.path, &mut t);
        self.map.entry((server.into(), path.into())).or_insert(Norm { profile, canon, template: t })
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
            // A hit gives the same.
            assert_eq!(c.get(ProfileArg::Auto, None, &p).template, n.template);
        }
        assert!(c.map.len() <= CAPACITY);
        // The server hint is part of the key.
        assert_eq!(c.get(ProfileArg::Auto, Some("iis"), "/A.txt").canon.path, "/a.txt");
        assert_eq!(c.get(ProfileArg::Auto, None, "/A.txt").canon.path, "/A.txt");
    }
}
