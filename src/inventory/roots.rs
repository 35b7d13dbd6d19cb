//! `--root DIR=URLPREFIX`: which folder is served under which URL, finding the root of a listed path,
//! and whether a symlink's target stays inside its root.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use super::entry::Served;
use crate::normalize::path::{Profile, canonicalize, normalize_host};

/// One served folder.
#[derive(Clone, Debug)]
pub struct Root {
    /// The folder as given.
    pub dir: PathBuf,
    /// The folder as a listed path is matched against it: no leading `./` or `/`, no trailing `/`
    /// (empty for `/` or `.`).
    pub key: Vec<u8>,
    /// The folders a symlink may point into and stay inside the root: the folder as an absolute path
    /// (lexically), and, when walking, where it really is (symlinks resolved).
    pub inside: Vec<Vec<u8>>,
    /// The URL path prefix, canonical, without a trailing `/` (empty for `/`).
    pub prefix: String,
    /// The host of a URL prefix such as `https://www.example.org/blog`.
    pub host: Option<String>,
}

impl Root {
    /// Parses `DIR`, `DIR=/prefix` or `DIR=https://host/prefix`.
    pub fn parse(spec: &str, profile: Profile) -> Result<Root> {
        let (dir, url) = match spec.rfind('=') {
            Some(i) if is_url_prefix(&spec[i + 1..]) => (&spec[..i], &spec[i + 1..]),
            _ => (spec, "/"),
        };
        if dir.is_empty() {
            bail!("--root {spec}: no folder before =");
        }
        let (host, path) = match url.split_once("://") {
            Some((_, rest)) => {
                let end = rest.find('/').unwrap_or(rest.len());
                let authority = &rest[..end];
                let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
                if hostport.is_empty() {
                    bail!("--root {spec}: no host in {url}");
                }
                let path = if end == rest.len() { "/" } else { &rest[end..] };
                (Some(normalize_host(hostport).into_owned()), path)
            }
            None => (None, url),
        };
        let canon = canonicalize(path, profile);
        let prefix = canon.path.trim_end_matches('/').to_string();
        let key = match_key(&listed_key(dir.as_bytes(), profile)).to_vec();
        Ok(Root { dir: PathBuf::from(dir), key, inside: Vec::new(), prefix, host })
    }

    /// How its files are served.
    pub fn served(&self, profile: Profile) -> Served<'_> {
        Served { prefix: &self.prefix, host: self.host.as_deref(), profile }
    }

    /// For a listing: the folder is what was listed, spelled from `/`.
    pub fn set_inside_listed(&mut self) {
        self.inside = vec![lexical(&[b"/", &self.key[..]].concat())];
    }

    /// For a walk: the folder made absolute, and where it really is.
    pub fn set_inside_walked(&mut self) {
        let mut inside = vec![];
        if let Ok(abs) = std::path::absolute(&self.dir) {
            inside.push(lexical(abs.as_os_str().as_bytes()));
        }
        if let Ok(real) = std::fs::canonicalize(&self.dir) {
            let real = lexical(real.as_os_str().as_bytes());
            if !inside.contains(&real) {
                inside.push(real);
            }
        }
        self.inside = inside;
    }

    /// Whether a symlink at `rel` below the root, with text `target`, points outside the root (resolved
    /// lexically, without following further links: a link into a folder that is itself a link out is
    /// not seen).
    pub fn outside(&self, rel: &[u8], target: &[u8]) -> bool {
        let Some(base) = self.inside.first() else { return false };
        let resolved = if target.first() == Some(&b'/') {
            lexical(target)
        } else {
            let parent = rel.iter().rposition(|&b| b == b'/').map_or(&rel[..0], |i| &rel[..i]);
            lexical(&[&base[..], b"/", parent, b"/", target].concat())
        };
        !self.inside.iter().any(|r| is_within(&resolved, r))
    }
}

fn is_url_prefix(s: &str) -> bool {
    s.starts_with('/') || s.starts_with("http://") || s.starts_with("https://")
}

/// A listed path as it is matched against roots: for IIS (a listing from Windows, osquery's
/// `C:\inetpub\wwwroot\x.aspx`), `\` is `/` and case is folded, as NTFS ignores it.
pub fn listed_key(p: &[u8], profile: Profile) -> std::borrow::Cow<'_, [u8]> {
    if profile != Profile::Iis {
        return std::borrow::Cow::Borrowed(p);
    }
    std::borrow::Cow::Owned(
        p.iter().map(|&b| if b == b'\\' { b'/' } else { b.to_ascii_lowercase() }).collect(),
    )
}

/// A path as roots and listed paths are compared: leading `./` and `/` and trailing `/` removed.
pub fn match_key(mut p: &[u8]) -> &[u8] {
    loop {
        if let Some(r) = p.strip_prefix(b"./") {
            p = r;
        } else if let Some(r) = p.strip_prefix(b"/") {
            p = r;
        } else {
            break;
        }
    }
    if p == b"." {
        return &p[..0];
    }
    while let Some(r) = p.strip_suffix(b"/") {
        p = r;
    }
    p
}

/// `p` is `dir` or below it.
fn is_within(p: &[u8], dir: &[u8]) -> bool {
    dir == b"/" || p == dir || (p.starts_with(dir) && p.get(dir.len()) == Some(&b'/'))
}

/// An absolute path with `.`, `..` and repeated `/` resolved lexically, clamped at `/`.
pub fn lexical(p: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for seg in p.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = Vec::with_capacity(p.len() + 1);
    for s in parts {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The root a listed path belongs to (the one with the longest folder) and the path below it.
pub fn find<'p>(roots: &[Root], path: &'p [u8]) -> Option<(usize, &'p [u8])> {
    let key = match_key(path);
    let mut best: Option<(usize, &[u8])> = None;
    for (i, r) in roots.iter().enumerate() {
        let rel = if r.key.is_empty() {
            Some(key)
        } else if key == r.key.as_slice() {
            Some(&key[key.len()..])
        } else if key.starts_with(&r.key) && key.get(r.key.len()) == Some(&b'/') {
            Some(&key[r.key.len() + 1..])
        } else {
            None
        };
        if let Some(rel) = rel
            && best.is_none_or(|(b, _)| roots[b].key.len() < r.key.len())
        {
            best = Some((i, rel));
        }
    }
    best
}

/// The path of `p` as bytes.
pub fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let r = Root::parse("/var/www", Profile::Generic).unwrap();
        assert_eq!((r.prefix.as_str(), r.host.as_deref(), &r.key[..]), ("", None, &b"var/www"[..]));
        let r = Root::parse("/srv/blog/=https://WWW.Example.org:443/Blog/", Profile::Iis).unwrap();
        assert_eq!((r.prefix.as_str(), r.host.as_deref()), ("/blog", Some("www.example.org")));
        assert_eq!(r.dir, PathBuf::from("/srv/blog/"));
        let r = Root::parse("/srv/a=b", Profile::Generic).unwrap();
        assert_eq!((r.dir.to_str().unwrap(), r.prefix.as_str()), ("/srv/a=b", ""));
        let r = Root::parse("./site=/x y", Profile::Generic).unwrap();
        assert_eq!((&r.key[..], r.prefix.as_str()), (&b"site"[..], "/x%20y"));
        assert!(Root::parse("=/x", Profile::Generic).is_err());
    }

    #[test]
    fn longest_root_wins_and_outsiders_are_none() {
        let roots: Vec<Root> = ["/var/www=/", "/var/www/blog=/blog"]
            .iter()
            .map(|s| Root::parse(s, Profile::Generic).unwrap())
            .collect();
        assert_eq!(find(&roots, b"/var/www/index.php"), Some((0, &b"index.php"[..])));
        assert_eq!(find(&roots, b"/var/www/blog/a/b.php"), Some((1, &b"a/b.php"[..])));
        assert_eq!(find(&roots, b"./var/www/blog"), Some((1, &b""[..])));
        assert_eq!(find(&roots, b"/var/wwwx/a"), None);
        let iis = [Root::parse("C:\\inetpub\\WWWroot=/", Profile::Iis).unwrap()];
        let key = listed_key(b"C:\\InetPub\\wwwroot\\Shell.ASPX", Profile::Iis);
        assert_eq!(find(&iis, &key), Some((0, &b"shell.aspx"[..])));
        let any = [Root::parse(".", Profile::Generic).unwrap()];
        assert_eq!(find(&any, b"./x/y"), Some((0, &b"x/y"[..])));
    }

    #[test]
    fn symlinks_inside_and_out() {
        let mut r = Root::parse("/var/www", Profile::Generic).unwrap();
        r.set_inside_listed();
        assert!(!r.outside(b"a/link", b"../index.php"));
        assert!(r.outside(b"a/link", b"../../../etc/passwd"));
        assert!(r.outside(b"link", b"/etc/passwd"));
        assert!(!r.outside(b"link", b"/var/www/x"));
        assert!(r.outside(b"link", b"/var/wwwx"));
        assert!(!r.outside(b"loop", b"loop"));
        assert_eq!(lexical(b"/a/./b/../../../c//d/"), b"/c/d");
    }
}
