//! `--exclude GLOB`: shell-style patterns over paths below a root, matched by the `globset` crate.
//!
//! A pattern without `/` is matched against every name (a folder that matches is not descended, so
//! `--exclude cache` leaves out everything below any folder called `cache`); a pattern with `/` is
//! matched against the whole path below the root (`--exclude 'wp-content/cache/*'`, a leading `/`
//! ignored). `*` and `?` do not match `/`, `**` matches anything including `/`, `[abc]`, `[a-z]` and
//! `[!a-z]` are classes, `\` quotes the next character.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use anyhow::{Context, Result};
use globset::{GlobBuilder, GlobMatcher};

/// One `--exclude` pattern.
#[derive(Clone, Debug)]
pub struct Glob {
    matcher: GlobMatcher,
    /// Matched against the whole relative path (the pattern has a `/`), not a name.
    anchored: bool,
}

impl Glob {
    /// Compiles a pattern; a malformed one (`[a-`) is an error naming it.
    pub fn new(pattern: &str) -> Result<Glob> {
        let p = pattern.trim_end_matches('/');
        let anchored = p.contains('/');
        let matcher = GlobBuilder::new(p.trim_start_matches('/'))
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .with_context(|| format!("--exclude {pattern:?}"))?
            .compile_matcher();
        Ok(Glob { matcher, anchored })
    }

    /// Whether the entry at `rel` (its path below the root) is excluded by this pattern itself (not by
    /// one of its folders).
    pub fn matches(&self, rel: &[u8]) -> bool {
        let s = if self.anchored { rel } else { rel.rsplit(|&b| b == b'/').next().unwrap_or(rel) };
        self.matcher.is_match(OsStr::from_bytes(s))
    }
}

/// Whether any pattern excludes the entry at `rel` itself.
pub fn excluded(globs: &[Glob], rel: &[u8]) -> bool {
    globs.iter().any(|g| g.matches(rel))
}

/// Whether any pattern excludes `rel` or one of the folders above it (for listings, which need not
/// list a folder before what is in it).
pub fn excluded_path(globs: &[Glob], rel: &[u8]) -> bool {
    if globs.is_empty() {
        return false;
    }
    rel.iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'/')
        .map(|(i, _)| &rel[..i])
        .chain(std::iter::once(rel))
        .any(|prefix| excluded(globs, prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str) -> Glob {
        Glob::new(p).unwrap()
    }

    #[test]
    fn names_and_paths() {
        assert!(g("*.log").matches(b"a/b/error.log") && !g("*.log").matches(b"a/b/error.log.php"));
        assert!(g("cache").matches(b"wp-content/cache") && !g("cache").matches(b"cache2"));
        let c = g("wp-content/cache/*");
        assert!(c.matches(b"wp-content/cache/x.html") && !c.matches(b"wp-content/cache/a/b"));
        assert!(!c.matches(b"x/wp-content/cache/y"));
        let n = g("/**/node_modules");
        assert!(n.matches(b"node_modules") && n.matches(b"a/b/node_modules"));
        assert!(g("img[0-9].p?g").matches(b"img3.png") && !g("img[0-9].p?g").matches(b"imgx.png"));
        assert!(g("[!a]*").matches(b"b") && !g("[!a]*").matches(b"abc"));
        assert!(g("[]x]").matches(b"]"));
        assert!(g("\\*").matches(b"*") && !g("\\*").matches(b"a"));
        assert!(g("*.php").matches(b"up/sh\xffell.php"), "names that are not UTF-8");
        let globs = [g("cache")];
        assert!(excluded_path(&globs, b"a/cache/b/c.php") && !excluded_path(&globs, b"a/b/c.php"));
        assert!(format!("{:#}", Glob::new("[a-").unwrap_err()).contains("--exclude \"[a-\""));
    }
}
