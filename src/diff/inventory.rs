//! `--inventory`: the web root's files (`webroot-inventory`'s records) joined with the requests.
//!
//! The logs say what was asked for; the web root says what is there. Together they answer four
//! questions neither answers alone:
//!
//! | case | signal | weight |
//! |---|---|---|
//! | a new path served by a script file added or changed since the baseline | `new_file` | +40 |
//! | a learned (or known) path whose script file changed since the baseline: code appended to a legitimate script | `file_changed` | +40 |
//! | a new path served by a script file that was already there before the learning window ended | `old_file` | −10 |
//! | a new path no file serves: routed by the application (a post, an API route) | `no_file` | −30 (−10 for a script name: a shell deleted after use serves nothing either) |
//! | a script file added or changed since the baseline that no request reached | a finding of its own, verdict `dormant` | `dormant` +30, plus the name signals (`script_ext`, `static_dir`, `hidden_name` …) |
//! | … written within a minute of 10 or more other changed files (a deploy or an update) | `same_batch` | −20 |
//!
//! "Since the baseline": when the state holds an earlier inventory (its file lines), a file is `added`
//! (not in it) or `changed` (another SHA-256, or another size or mtime where there is no hash). With no
//! earlier inventory, a file is `after_window` when its mtime or ctime is after the learning window.
//! mtime can be set by whoever writes the file (`touch -d`); ctime is set by the kernel, so a
//! backdated shell still shows its ctime.
//!
//! A path is joined to the file of the same URL path (an inventory names each file by the URL path it
//! is served as); a directory URL (`/blog/`) to its index file. An inventory entry without a host
//! matches every host, so a single-site inventory needs none. "No file" is said only of paths under the
//! inventory's roots (per host, the longest folder every listed URL path shares).

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use serde::Deserialize;

use super::state::{Digest, State, StateFile};
use crate::input;
use crate::record::{FileFacts, Reason, Verdict};
use crate::time::Timestamp;

/// Names a directory URL is served from, in the order servers usually try them.
const INDEX_NAMES: &[&str] = &[
    "index.php",
    "index.html",
    "index.htm",
    "default.aspx",
    "default.asp",
    "default.htm",
    "index.jsp",
    "index.cgi",
    "index.shtml",
];

/// Files changed within this many seconds of each other belong to one batch.
const BATCH_SECONDS: i64 = 60;
/// Other changed files in a batch that make it a deploy or an update.
const BATCH_MIN: usize = 10;

/// One record of `webroot-inventory`, as read.
#[derive(Deserialize)]
struct Line {
    url_path: String,
    file: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default, rename = "type")]
    file_type: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    mtime: Option<Timestamp>,
    #[serde(default)]
    ctime: Option<Timestamp>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    kind: Option<FileKind>,
}

/// What the inventory classed a file as, for the server that serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// The server runs it.
    Script,
    /// A static file type.
    Static,
    /// Anything else.
    Other,
}

impl FileKind {
    fn name(self) -> &'static str {
        match self {
            FileKind::Script => "script",
            FileKind::Static => "static",
            FileKind::Other => "other",
        }
    }
}

/// A regular file of the inventory. (Boxed strings and the digest's bytes: a million of these are held
/// at once.)
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The host, lower case; empty when the inventory names none (then it matches every host).
    pub host: Box<str>,
    /// The URL path it is served as.
    pub url_path: Box<str>,
    /// The file on disk.
    pub file: Box<str>,
    /// Script, static or other.
    pub kind: Option<FileKind>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Last modification.
    pub mtime: Option<Timestamp>,
    /// Last inode change.
    pub ctime: Option<Timestamp>,
    /// SHA-256.
    pub sha256: Option<Digest>,
}

impl Entry {
    fn is_script(&self) -> bool {
        self.kind == Some(FileKind::Script)
    }

    /// The later of mtime and ctime: when the file last got its present content or name.
    pub fn changed_at(&self) -> Option<Timestamp> {
        self.mtime.max(self.ctime)
    }

    fn as_state(&self) -> StateFile {
        StateFile { sha256: self.sha256, size: self.size, mtime: self.mtime }
    }
}

/// How a file compares with the baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Not in the previous inventory.
    Added,
    /// In it with other content (its SHA-256 then).
    Changed(Option<Digest>),
    /// No previous inventory; mtime or ctime after the learning window.
    AfterWindow,
    /// As before (or, with no previous inventory, older than the window's end).
    Unchanged,
}

impl Change {
    fn is_new(&self) -> bool {
        *self != Change::Unchanged
    }

    fn name(&self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed(_) => "changed",
            Change::AfterWindow => "after_window",
            Change::Unchanged => "unchanged",
        }
    }

    fn words(&self, e: &Entry) -> String {
        match self {
            Change::Added => "is not in the previous inventory".into(),
            Change::Changed(_) => "changed since the previous inventory".into(),
            Change::AfterWindow => match (e.mtime, e.ctime) {
                (m, Some(c)) if m.is_none_or(|m| c >= m) => {
                    format!("changed after the learning window (ctime {c})")
                }
                (Some(m), _) => format!("changed after the learning window (mtime {m})"),
                _ => "changed after the learning window".into(),
            },
            Change::Unchanged => "predates the end of the learning window".into(),
        }
    }
}

/// The inventory: its regular files, sorted for lookups.
#[derive(Debug, Default)]
pub struct Inventory {
    /// Sorted by (host, URL path), one per (host, URL path): the order the inputs came in does not
    /// matter.
    entries: Vec<Entry>,
    /// The distinct hosts.
    hosts: Vec<Box<str>>,
    /// Per host, the longest folder every URL path of the host shares (`/`, `/blog/`).
    roots: BTreeMap<Box<str>, String>,
    /// Entries that were not regular files (symlinks, others), for the summary.
    pub skipped: u64,
}

impl Inventory {
    /// Reads inventories (webroot-inventory's JSON lines; `-` is stdin). A file that lists nothing, or a
    /// line that is not an inventory record, is an error naming the file and line.
    pub fn load(names: &[String]) -> Result<Inventory> {
        let mut skipped = 0;
        let mut entries = Vec::new();
        for name in names {
            let input = input::open(name)?;
            let shown = input.name.clone();
            let n = crate::record::for_each_record(input, |l: Line, at| {
                if l.file_type.as_deref().is_some_and(|t| t != "file") {
                    skipped += 1;
                    return Ok(());
                }
                let sha256 = match &l.sha256 {
                    None => None,
                    Some(h) => Some(
                        Digest::parse_hex(h)
                            .ok_or_else(|| anyhow::anyhow!("{}: sha256 {h:?} is not 64 hex digits", at()))?,
                    ),
                };
                entries.push(Entry {
                    host: l.host.unwrap_or_default().to_ascii_lowercase().into(),
                    url_path: l.url_path.into(),
                    file: l.file.into(),
                    kind: l.kind,
                    size: l.size,
                    mtime: l.mtime,
                    ctime: l.ctime,
                    sha256,
                });
                Ok(())
            })?;
            if n == 0 {
                bail!("{shown}: the inventory lists no files (expected webroot-inventory's JSON lines)");
            }
        }
        Ok(Inventory::from_entries(entries, skipped))
    }

    /// Indexes entries (any order).
    pub fn from_entries(mut entries: Vec<Entry>, skipped: u64) -> Inventory {
        entries
            .sort_unstable_by(|a, b| (&a.host, &a.url_path, &a.file).cmp(&(&b.host, &b.url_path, &b.file)));
        // Two roots serving one URL path: the first by file name stands, whatever the input order.
        entries.dedup_by(|b, a| a.host == b.host && a.url_path == b.url_path);
        let mut hosts: Vec<Box<str>> = Vec::new();
        let mut roots: BTreeMap<Box<str>, String> = BTreeMap::new();
        for e in &entries {
            if hosts.last() != Some(&e.host) {
                hosts.push(e.host.clone());
            }
            let folder = &e.url_path[..=e.url_path.rfind('/').unwrap_or(0)];
            match roots.get_mut(&e.host) {
                Some(r) => {
                    let common = r.bytes().zip(folder.bytes()).take_while(|(a, b)| a == b).count();
                    let keep = r[..common].rfind('/').map_or(0, |i| i + 1);
                    r.truncate(keep);
                }
                None => {
                    roots.insert(e.host.clone(), folder.to_string());
                }
            }
        }
        Inventory { entries, hosts, roots, skipped }
    }

    /// Regular files listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no regular file is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry serving `path` on `host`: the host's own, else one without a host; for a log without
    /// hosts, any.
    fn lookup(&self, host: &str, path: &str) -> Option<&Entry> {
        let host = host.to_ascii_lowercase();
        let on = |h: &str, p: &str| -> Option<&Entry> {
            let i = self.entries.binary_search_by(|e| (&*e.host, &*e.url_path).cmp(&(h, p))).ok()?;
            Some(&self.entries[i])
        };
        let found = |p: &str| -> Option<&Entry> {
            on(&host, p)
                .or_else(|| on("", p))
                .or_else(|| if host.is_empty() { self.hosts.iter().find_map(|h| on(h, p)) } else { None })
        };
        if path.ends_with('/') {
            return INDEX_NAMES.iter().find_map(|n| found(&format!("{path}{n}")));
        }
        found(path)
    }

    /// Whether `path` on `host` lies under the inventory's roots, so that finding no file there means
    /// something.
    fn covers(&self, host: &str, path: &str) -> bool {
        self.roots.iter().any(|(h, root)| {
            (h.is_empty() || host.is_empty() || h.eq_ignore_ascii_case(host))
                && path.starts_with(root.as_str())
        })
    }

    /// How `e` compares with the state's previous inventory, or with the learning window.
    pub fn change(&self, e: &Entry, st: &State, window_end: Option<Timestamp>) -> Change {
        if st.header.inventories > 0 {
            return match st.files.get(&*e.host).and_then(|f| f.get(&*e.url_path)) {
                None => Change::Added,
                Some(prev) if prev.differs(&e.as_state()) => Change::Changed(prev.sha256),
                Some(_) => Change::Unchanged,
            };
        }
        match (e.changed_at(), window_end) {
            (Some(t), Some(w)) if t > w => Change::AfterWindow,
            _ => Change::Unchanged,
        }
    }

    /// The file facts of a key of `host` whose concrete paths are `paths`: the first path a file serves,
    /// else "no file" when the paths lie under the inventory's roots, else nothing is known.
    pub fn facts<'a>(
        &'a self,
        host: &str,
        paths: impl IntoIterator<Item = &'a str>,
        st: &State,
        window_end: Option<Timestamp>,
    ) -> Option<(FileFacts, Option<(&'a Entry, Change)>)> {
        let mut covered = false;
        for p in paths {
            if let Some(e) = self.lookup(host, p) {
                let change = self.change(e, st, window_end);
                return Some((facts_of(e, &change), Some((e, change))));
            }
            covered |= self.covers(host, p);
        }
        covered.then(|| (FileFacts { exists: false, ..FileFacts::default() }, None))
    }

    /// The names of the script files directly in `folder` (a URL folder ending in `/`) of `host` that did
    /// not change since the baseline: the site's own names, which a dropped shell may imitate.
    pub fn unchanged_scripts_in<'a>(
        &'a self,
        host: &str,
        folder: &'a str,
        st: &'a State,
        window_end: Option<Timestamp>,
    ) -> impl Iterator<Item = &'a str> + 'a {
        let host: Box<str> = host.to_ascii_lowercase().into();
        let start = self.entries.partition_point(|e| (&e.host, &*e.url_path) < (&host, folder));
        self.entries[start..]
            .iter()
            .take_while(move |e| e.host == host && e.url_path.starts_with(folder))
            .filter(move |e| e.is_script() && !e.url_path[folder.len()..].contains('/'))
            .filter(move |e| self.change(e, st, window_end) == Change::Unchanged)
            .map(move |e| &e.url_path[folder.len()..])
    }

    /// Script files added or changed since the baseline, with how, and the number of other changed
    /// files written within [`BATCH_SECONDS`] of each.
    pub fn changed_scripts(&self, st: &State, window_end: Option<Timestamp>) -> Vec<(&Entry, Change, usize)> {
        let changed: Vec<(&Entry, Change)> = self
            .entries
            .iter()
            .map(|e| (e, self.change(e, st, window_end)))
            .filter(|(_, c)| c.is_new())
            .collect();
        let mut times: Vec<i64> = changed.iter().filter_map(|(e, _)| e.changed_at()).map(|t| t.0).collect();
        times.sort_unstable();
        changed
            .into_iter()
            .filter(|(e, _)| e.is_script())
            .map(|(e, c)| {
                let batch = e.changed_at().map_or(0, |t| {
                    let lo = times.partition_point(|&x| x < t.0 - BATCH_SECONDS * 1000);
                    let hi = times.partition_point(|&x| x <= t.0 + BATCH_SECONDS * 1000);
                    hi - lo - 1
                });
                (e, c, batch)
            })
            .collect()
    }

    /// Replaces the state's file lines of every host this inventory lists by its files, and counts it.
    pub fn record_into(self, st: &mut State) {
        let mut entries = self.entries.into_iter().peekable();
        while let Some(first) = entries.next() {
            let mut files = vec![(String::from(first.url_path.clone()), first.as_state())];
            while let Some(e) = entries.next_if(|e| e.host == first.host) {
                files.push((e.url_path.clone().into(), e.as_state()));
            }
            // Sorted by URL path already: the map is built in one pass.
            st.files.insert(first.host.into(), files.into_iter().collect());
        }
        st.header.inventories += 1;
    }
}

/// The facts of a file of the inventory, with how it compares with the baseline.
pub fn facts_of(e: &Entry, change: &Change) -> FileFacts {
    FileFacts {
        exists: true,
        url_path: Some(e.url_path.to_string()),
        path: Some(e.file.to_string()),
        kind: e.kind.map(|k| k.name().to_string()),
        size: e.size,
        mtime: e.mtime,
        ctime: e.ctime,
        sha256: e.sha256.map(|h| h.to_string()),
        change: Some(change.name().to_string()),
        previous_sha256: match change {
            Change::Changed(h) => h.map(|h| h.to_string()),
            _ => None,
        },
    }
}

fn reason(weight: i32, code: &str, text: String) -> Reason {
    Reason { weight, code: code.to_string(), text }
}

/// The signals of a requested key's file facts.
pub fn reasons(
    verdict: Verdict,
    facts: &FileFacts,
    joined: Option<&(&Entry, Change)>,
    script_name: bool,
) -> Vec<Reason> {
    let mut r = Vec::new();
    match joined {
        Some((e, change)) if e.is_script() && change.is_new() => {
            let (code, what) = if verdict == Verdict::New {
                ("new_file", "served by")
            } else {
                ("file_changed", "its file")
            };
            r.push(reason(40, code, format!("{what} {}, which {}", e.file, change.words(e))));
        }
        Some((e, Change::Unchanged)) if e.is_script() && verdict == Verdict::New => {
            r.push(reason(
                -10,
                "old_file",
                format!("served by {}, which {}", e.file, Change::Unchanged.words(e)),
            ));
        }
        None if !facts.exists && verdict == Verdict::New => {
            if script_name {
                r.push(reason(
                    -10,
                    "no_file",
                    "no file of the inventory serves it: routed by the application, or deleted after use"
                        .into(),
                ));
            } else {
                r.push(reason(
                    -30,
                    "no_file",
                    "no file of the inventory serves it: a page routed by the application".into(),
                ));
            }
        }
        _ => {}
    }
    r
}

/// The signals of a dormant script, beyond its name's: never requested, and whether it came in a batch.
pub fn dormant_reasons(e: &Entry, change: &Change, batch: usize) -> Vec<Reason> {
    let mut r =
        vec![reason(30, "dormant", format!("{} {}, and no request reached it", e.file, change.words(e)))];
    if batch >= BATCH_MIN {
        r.push(reason(
            -20,
            "same_batch",
            format!("written within {BATCH_SECONDS} s of {batch} other changed files: a deploy or an update"),
        ));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<Timestamp> {
        Timestamp::parse_rfc3339(s)
    }

    /// A digest of 32 times the byte `b`, written as `b` in hex 32 times ("aa" → aaaa…).
    fn digest(hex: &str) -> Digest {
        Digest::parse_hex(&hex.repeat(32)).unwrap()
    }

    fn entry(host: &str, url_path: &str, kind: &str, ctime: &str, sha: &str) -> Entry {
        let kind = match kind {
            "script" => FileKind::Script,
            "static" => FileKind::Static,
            _ => FileKind::Other,
        };
        Entry {
            host: host.into(),
            url_path: url_path.into(),
            file: format!("/var/www{url_path}").into(),
            kind: Some(kind),
            size: Some(10),
            mtime: t("2026-01-01T00:00:00Z"),
            ctime: t(ctime),
            sha256: Some(digest(sha)),
        }
    }

    fn inv(entries: Vec<Entry>) -> Inventory {
        Inventory::from_entries(entries, 0)
    }

    #[test]
    fn lookup_prefers_the_hosts_own_then_hostless_and_finds_index_files() {
        let i = inv(vec![
            entry("a.example", "/x.php", "script", "2026-01-01T00:00:00Z", "aa"),
            entry("", "/x.php", "script", "2026-01-01T00:00:00Z", "bb"),
            entry("", "/blog/index.php", "script", "2026-01-01T00:00:00Z", "cc"),
        ]);
        assert_eq!(i.lookup("a.example", "/x.php").unwrap().sha256, Some(digest("aa")));
        assert_eq!(i.lookup("b.example", "/x.php").unwrap().sha256, Some(digest("bb")));
        assert_eq!(i.lookup("", "/x.php").unwrap().sha256, Some(digest("bb")));
        assert_eq!(&*i.lookup("", "/blog/").unwrap().url_path, "/blog/index.php");
        assert!(i.lookup("", "/nothing.php").is_none());
    }

    #[test]
    fn roots_are_the_folder_every_path_shares() {
        let i = inv(vec![
            entry("", "/blog/a.php", "script", "2026-01-01T00:00:00Z", "aa"),
            entry("", "/blog/wp/b.php", "script", "2026-01-01T00:00:00Z", "bb"),
        ]);
        assert!(i.covers("", "/blog/2026/10/a-post/"));
        assert!(!i.covers("", "/shop/cart.php"), "outside the inventoried root: nothing is known");
        let i = inv(vec![entry("", "/blogs.php", "script", "2026-01-01T00:00:00Z", "aa")]);
        assert!(i.covers("", "/anything"), "a file at the top: the root is /");
    }

    #[test]
    fn the_order_of_the_entries_does_not_matter() {
        let a = entry("", "/x.php", "script", "2026-01-01T00:00:00Z", "aa");
        let mut b = entry("", "/x.php", "script", "2026-01-01T00:00:00Z", "bb");
        b.file = "/srv/other/x.php".into();
        let one = inv(vec![a.clone(), b.clone()]);
        let two = inv(vec![b, a]);
        assert_eq!(one.entries, two.entries);
        assert_eq!(&*one.lookup("", "/x.php").unwrap().file, "/srv/other/x.php");
    }

    #[test]
    fn change_against_the_window_then_against_the_previous_inventory() {
        let w = t("2026-10-15T00:00:00Z");
        let old = entry("", "/a.php", "script", "2026-10-01T00:00:00Z", "aa");
        let late = entry("", "/b.php", "script", "2026-10-20T00:00:00Z", "bb");
        let i = inv(vec![old.clone(), late.clone()]);
        let mut st = State::new();
        assert_eq!(i.change(&old, &st, w), Change::Unchanged);
        assert_eq!(i.change(&late, &st, w), Change::AfterWindow);
        inv(vec![old.clone(), late.clone()]).record_into(&mut st);
        assert_eq!(i.change(&late, &st, w), Change::Unchanged, "the previous inventory had it as it is");
        let mut appended = old.clone();
        appended.sha256 = Some(digest("a2"));
        let added = entry("", "/c.php", "script", "2026-01-01T00:00:00Z", "cc");
        assert_eq!(i.change(&appended, &st, w), Change::Changed(Some(digest("aa"))));
        assert_eq!(i.change(&added, &st, w), Change::Added, "new since, whatever its times say");
    }

    #[test]
    fn batches_count_the_other_files_changed_within_a_minute() {
        let w = t("2026-10-15T00:00:00Z");
        let mut entries: Vec<Entry> = (0..12)
            .map(|n| {
                entry(
                    "",
                    &format!("/wp-includes/f{n}.php"),
                    "script",
                    &format!("2026-11-01T10:00:{n:02}Z"),
                    "01",
                )
            })
            .collect();
        entries.push(entry("", "/uploads/.x.php", "script", "2026-11-02T03:00:00Z", "02"));
        entries.push(entry("", "/old.php", "script", "2026-10-01T00:00:00Z", "03"));
        let i = inv(entries);
        let changed = i.changed_scripts(&State::new(), w);
        assert_eq!(changed.len(), 13, "the old file is not changed");
        for (e, c, batch) in &changed {
            assert_eq!(*c, Change::AfterWindow);
            let expect = if e.url_path.starts_with("/wp-includes/") { 11 } else { 0 };
            assert_eq!(*batch, expect, "{}", e.url_path);
        }
        let (e, c, b) = &changed.iter().find(|x| &*x.0.url_path == "/uploads/.x.php").unwrap();
        let r = dormant_reasons(e, c, *b);
        assert_eq!(r.iter().map(|r| r.weight).sum::<i32>(), 30);
        let (e, c, b) = &changed.iter().find(|x| &*x.0.url_path == "/wp-includes/f3.php").unwrap();
        assert!(dormant_reasons(e, c, *b).iter().any(|r| r.code == "same_batch"));
    }

    #[test]
    fn reasons_for_each_case() {
        let w = t("2026-10-15T00:00:00Z");
        let st = State::new();
        let i = inv(vec![
            entry("", "/shell.php", "script", "2026-10-20T00:00:00Z", "aa"),
            entry("", "/index.php", "script", "2026-10-01T00:00:00Z", "bb"),
            entry("", "/logo.png", "static", "2026-10-20T00:00:00Z", "cc"),
        ]);
        let codes = |verdict, path: &str, script| -> Vec<(String, i32)> {
            let Some((f, j)) = i.facts("", [path], &st, w) else { return vec![] };
            reasons(verdict, &f, j.as_ref(), script).into_iter().map(|r| (r.code, r.weight)).collect()
        };
        assert_eq!(codes(Verdict::New, "/shell.php", true), [("new_file".to_string(), 40)]);
        assert_eq!(codes(Verdict::Known, "/shell.php", true), [("file_changed".to_string(), 40)]);
        assert_eq!(codes(Verdict::New, "/index.php", true), [("old_file".to_string(), -10)]);
        assert_eq!(codes(Verdict::New, "/2026/12/a-post/", false), [("no_file".to_string(), -30)]);
        assert_eq!(codes(Verdict::New, "/gone.php", true), [("no_file".to_string(), -10)]);
        assert!(codes(Verdict::New, "/logo.png", false).is_empty(), "a new image is no signal");
        let (f, _) = i.facts("", ["/shell.php"], &st, w).unwrap();
        assert_eq!(
            (f.exists, f.change.as_deref(), f.path.as_deref()),
            (true, Some("after_window"), Some("/var/www/shell.php"))
        );
    }
}
