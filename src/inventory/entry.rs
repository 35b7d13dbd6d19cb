//! One inventory record: what is known of a file, and its JSON line (the contract `baseline-diff
//! --inventory` reads).

use crate::jsonw::{Escape, ObjectWriter};
use crate::normalize::path::{Profile, encode_name};
use crate::pathkind;
use crate::time::Timestamp;

/// What a directory entry is. Directories themselves are never printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    /// A regular file.
    File,
    /// A symbolic link (reported, never followed).
    Symlink,
    /// A fifo, socket or device (never opened).
    Other,
}

impl Type {
    /// The record's `type` value.
    pub fn name(self) -> &'static str {
        match self {
            Type::File => "file",
            Type::Symlink => "symlink",
            Type::Other => "other",
        }
    }

    /// The type of a `st_mode` (`None` for a directory).
    pub fn from_mode(mode: u32) -> Option<Type> {
        match mode & 0o170000 {
            0o040000 => None,
            0o100000 => Some(Type::File),
            0o120000 => Some(Type::Symlink),
            _ => Some(Type::Other),
        }
    }
}

/// A file as found on disk or in a listing; every field but `file` and `ty` may be unknown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The filesystem path as found (walk) or as listed: bytes, not necessarily UTF-8.
    pub file: Vec<u8>,
    /// File, symlink or other.
    pub ty: Type,
    /// Size in bytes (for a symlink, the length of its text, as `lstat` says).
    pub size: Option<u64>,
    /// Last modification.
    pub mtime: Option<Timestamp>,
    /// Last status change.
    pub ctime: Option<Timestamp>,
    /// Owner's user id.
    pub uid: Option<u32>,
    /// Group id.
    pub gid: Option<u32>,
    /// Owner's user name, when the listing gives it or a passwd file resolves the uid.
    pub owner: Option<String>,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: Option<u32>,
    /// SHA-256 of the contents (regular files).
    pub sha256: Option<crate::digest::Digest>,
    /// A symlink's text.
    pub target: Option<Vec<u8>>,
    /// What failed for this file (the rest of the record is what was known before).
    pub error: Option<String>,
}

impl Entry {
    /// An entry of which only the path and type are known.
    pub fn new(file: Vec<u8>, ty: Type) -> Entry {
        Entry {
            file,
            ty,
            size: None,
            mtime: None,
            ctime: None,
            uid: None,
            gid: None,
            owner: None,
            mode: None,
            sha256: None,
            target: None,
            error: None,
        }
    }
}

/// Where a file is served: the URL prefix of its root and the server's rules.
#[derive(Clone, Copy, Debug)]
pub struct Served<'a> {
    /// The URL path prefix, canonical, without a trailing `/` (empty for `/`).
    pub prefix: &'a str,
    /// The host of the URL prefix, when one was given.
    pub host: Option<&'a str>,
    /// How the server spells paths (`--server`).
    pub profile: Profile,
}

impl Served<'_> {
    /// The URL path of the file at `rel` (its path below the root, `/`-separated bytes).
    pub fn url_path(&self, rel: &[u8]) -> String {
        let mut url = String::with_capacity(self.prefix.len() + rel.len() + 8);
        url.push_str(self.prefix);
        for name in rel.split(|&b| b == b'/').filter(|n| !n.is_empty()) {
            url.push('/');
            encode_name(name, self.profile, &mut url);
        }
        if url.is_empty() {
            url.push('/');
        }
        url
    }

    /// `script`, `static` or `other` for a file served at `url_path` (see [`kind`]).
    pub fn kind(&self, url_path: &str) -> &'static str {
        kind(url_path, self.profile == Profile::Iis)
    }
}

/// `script` when the server runs a file at `url_path` (any extension of its name, the way
/// [`pathkind::script_ext`] looks at double extensions, runs in its folder on that server), `static`
/// when its last extension is one of [`pathkind::STATIC_EXTS`], else `other`.
pub fn kind(url_path: &str, windows: bool) -> &'static str {
    let (folder, name) = url_path.rsplit_once('/').map_or(("", url_path), |(f, n)| (f, n));
    let folder_slash = format!("{folder}/");
    if pathkind::ext_slices(name).any(|e| pathkind::executes(windows, e, &folder_slash)) {
        return "script";
    }
    match pathkind::ext_slices(name).last() {
        Some(e) if pathkind::find_in(pathkind::STATIC_EXTS, e).is_some() => "static",
        _ => "other",
    }
}

/// Appends the JSON line of `e`, served at `url_path` as `kind`. `outside_root` is true for a symlink
/// whose target resolves outside its root.
pub fn write_record(out: &mut Vec<u8>, e: &Entry, s: &Served<'_>, url_path: &str, outside_root: bool) {
    let mut w = ObjectWriter::new(out);
    w.str("url_path", url_path.as_bytes(), Escape::Percent);
    if let Some(h) = s.host {
        w.str("host", h.as_bytes(), Escape::Backslash);
    }
    w.str("file", &e.file, Escape::Backslash);
    w.str("type", e.ty.name().as_bytes(), Escape::Backslash);
    if let Some(n) = e.size {
        w.uint("size", n);
    }
    if let Some(t) = e.mtime {
        w.time("mtime", t);
    }
    if let Some(t) = e.ctime {
        w.time("ctime", t);
    }
    if let Some(n) = e.uid {
        w.uint("uid", u64::from(n));
    }
    if let Some(n) = e.gid {
        w.uint("gid", u64::from(n));
    }
    if let Some(o) = &e.owner {
        w.str("owner", o.as_bytes(), Escape::Backslash);
    }
    if let Some(m) = e.mode {
        w.str("mode", format!("{:04o}", m & 0o7777).as_bytes(), Escape::Backslash);
    }
    if let Some(h) = &e.sha256 {
        w.str("sha256", h.to_string().as_bytes(), Escape::Backslash);
    }
    w.str("kind", s.kind(url_path).as_bytes(), Escape::Backslash);
    if let Some(t) = &e.target {
        w.str("target", t, Escape::Backslash);
        if outside_root {
            w.raw("outside_root", b"true");
        }
    }
    if let Some(err) = &e.error {
        w.str("error", err.as_bytes(), Escape::Backslash);
    }
    w.end_line();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_server() {
        assert_eq!(kind("/index.php", false), "script");
        assert_eq!(kind("/images/x.php.jpg", false), "script");
        assert_eq!(kind("/images/logo.png", false), "static");
        assert_eq!(kind("/default.aspx", false), "other");
        assert_eq!(kind("/default.aspx", true), "script");
        assert_eq!(kind("/cgi-bin/run.pl", false), "script");
        assert_eq!(kind("/tools/run.pl", false), "other");
        assert_eq!(kind("/.htaccess", false), "other");
        assert_eq!(kind("/README", false), "other");
    }

    #[test]
    fn url_paths_and_json() {
        let s = Served { prefix: "/blog", host: Some("www.example.org"), profile: Profile::Generic };
        assert_eq!(s.url_path(b"a b/\xff.php"), "/blog/a%20b/%FF.php");
        let s0 = Served { prefix: "", host: None, profile: Profile::Iis };
        assert_eq!(s0.url_path(b"Up/Shell.ASPX"), "/up/shell.aspx");
        assert_eq!(s0.url_path(b""), "/");
        let mut e = Entry::new(b"/srv/a\nb\xff".to_vec(), Type::Symlink);
        e.mode = Some(0o120777);
        e.target = Some(b"../../etc/passwd".to_vec());
        let mut out = vec![];
        write_record(&mut out, &e, &s, "/blog/x", true);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["file"], "/srv/a\nb\\xFF");
        assert_eq!(v["mode"], "0777");
        assert_eq!(v["outside_root"], true);
        assert_eq!(v["host"], "www.example.org");
        assert!(v.get("sha256").is_none() && v.get("size").is_none());
    }
}
