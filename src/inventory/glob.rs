//! `--exclude GLOB`: shell-style patterns over paths below a root.
//!
//! A pattern without `/` is matched against every name (a folder that matches is not descended, so
//! `--exclude cache` leaves out everything below any folder called `cache`); a pattern with `/` is
//! matched against the whole path below the root (`--exclude 'wp-content/cache/*'`, a leading `/`
//! ignored). `*` and `?` do not match `/`, `**` matches anything including `/`, `[abc]`, `[a-z]` and
//! `[!a-z]` are classes, `\` quotes the next character.

/// One `--exclude` pattern.
#[derive(Clone, Debug)]
pub struct Glob {
    pat: Vec<u8>,
    /// Matched against the whole relative path (the pattern has a `/`), not a name.
    anchored: bool,
}

impl Glob {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Glob {
        let p = pattern.trim_end_matches('/');
        let anchored = p.contains('/');
        Glob { pat: p.trim_start_matches('/').as_bytes().to_vec(), anchored }
    }

    /// Whether the entry at `rel` (its path below the root) is excluded by this pattern itself (not by
    /// one of its folders).
    pub fn matches(&self, rel: &[u8]) -> bool {
        if self.anchored {
            matches(&self.pat, rel)
        } else {
            let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
            matches(&self.pat, name)
        }
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

fn matches(p: &[u8], s: &[u8]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some(b'*') if p.get(1) == Some(&b'*') => {
            let rest = &p[2..];
            // `**/` also matches no folder at all.
            if let Some(after) = rest.strip_prefix(b"/")
                && matches(after, s)
            {
                return true;
            }
            (0..=s.len()).any(|i| matches(rest, &s[i..]))
        }
        Some(b'*') => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if matches(rest, &s[i..]) {
                    return true;
                }
                if s.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some(b'?') => s.first().is_some_and(|&c| c != b'/') && matches(&p[1..], &s[1..]),
        Some(b'[') => match s.first() {
            Some(&c) => match class(&p[1..], c) {
                Some((hit, len)) => c != b'/' && hit && matches(&p[1 + len..], &s[1..]),
                None => c == b'[' && matches(&p[1..], &s[1..]),
            },
            None => false,
        },
        Some(b'\\') if p.len() > 1 => s.first() == Some(&p[1]) && matches(&p[2..], &s[1..]),
        Some(&c) => s.first() == Some(&c) && matches(&p[1..], &s[1..]),
    }
}

/// A `[...]` class after its `[`, tested on `c`: whether `c` is in it and the class's length up to and
/// including `]`; `None` when there is no `]` (the `[` is then an ordinary character).
fn class(p: &[u8], c: u8) -> Option<(bool, usize)> {
    let (neg, start) = match p.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    // A `]` right after `[` or `[!` is a member.
    let close = p.get(start + 1..)?.iter().position(|&b| b == b']')? + start + 1;
    let set = &p[start..close];
    let mut i = 0;
    let mut hit = false;
    while i < set.len() {
        if i + 2 < set.len() && set[i + 1] == b'-' {
            hit |= (set[i]..=set[i + 2]).contains(&c);
            i += 3;
        } else {
            hit |= set[i] == c;
            i += 1;
        }
    }
    Some((hit != neg, close + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        let g = Glob::new("*.log");
        assert!(g.matches(b"a/b/error.log") && !g.matches(b"a/b/error.log.php"));
        let g = Glob::new("cache");
        assert!(g.matches(b"wp-content/cache") && !g.matches(b"cache2"));
        let g = Glob::new("wp-content/cache/*");
        assert!(g.matches(b"wp-content/cache/x.html") && !g.matches(b"wp-content/cache/a/b"));
        assert!(!g.matches(b"x/wp-content/cache/y"));
        let g = Glob::new("/**/node_modules");
        assert!(g.matches(b"node_modules") && g.matches(b"a/b/node_modules"));
        let g = Glob::new("img[0-9].p?g");
        assert!(g.matches(b"img3.png") && !g.matches(b"imgx.png"));
        assert!(Glob::new("[!a]*").matches(b"b") && !Glob::new("[!a]*").matches(b"abc"));
        assert!(Glob::new("[]x]").matches(b"]"));
        assert!(Glob::new("\\*").matches(b"*") && !Glob::new("\\*").matches(b"a"));
        let globs = [Glob::new("cache")];
        assert!(excluded_path(&globs, b"a/cache/b/c.php") && !excluded_path(&globs, b"a/b/c.php"));
    }
}
