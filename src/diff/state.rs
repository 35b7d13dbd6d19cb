//! The baseline state file: what a site has served, kept between runs.
//!
//! JSON lines, so it can be read with `jq`/`grep`, edited by hand and diffed, and every error names a
//! line. The first line is the header; then one line per host; then one line per key, sorted:
//!
//! ```text
//! {"webshell_hunt_state":1,"learn_until":"2026-10-15T00:00:00Z","first_event":"2026-10-01T00:00:00Z","last_event":"2026-10-29T00:00:00Z","runs":1}
//! {"host":"www.example.org","baseline_clients":4981,"baseline_client_hashes":"<base64>","baseline_user_agents":7,"baseline_user_agent_hashes":"<base64>"}
//! {"host":"www.example.org","template":"/index.php","verdict":"learned","first_seen":"2026-10-01T00:00:03Z","last_seen":"2026-10-29T00:00:00Z","count":40213}
//! {"host":"www.example.org","template":"/uploads/{int}/{int}/x.php","verdict":"new","first_seen":"2026-10-20T11:02:00Z","last_seen":"2026-10-21T09:00:00Z","count":31}
//! {"host":"www.example.org","url_path":"/index.php","sha256":"9f86d0…","size":405,"mtime":"2026-09-01T10:00:00Z"}
//! ```
//!
//! Header: `webshell_hunt_state` is the format version; `learn_until` or `learn_for` (a duration from
//! `first_event`, the earliest request the state has ever seen) is the learning window, fixed when the
//! state is created; `runs` counts committed runs.
//!
//! Host lines: the clients and user agents the host's baseline saw, as sorted stable 32-bit hashes (`sample::hash32`)
//! (little-endian, base64), so that a finding can say whether a client is new to the site without the
//! state holding the addresses themselves.
//!
//! Key lines: `verdict` is `learned` (first seen inside the learning window), `new` (first seen after
//! it, reported once) or `accepted` (an analyst accepted it with `--accept`); the key is not reported
//! again either way. Templates with `{name}` or `{dir}` are learned families (see `fold.rs`).
//!
//! File lines (format 2, written only by runs given `--inventory`): the web root's regular files as the
//! last inventory listed them, by URL path, so that the next inventory tells which files were added or
//! changed since. `inventories` in the header counts the inventories read in. A state without file
//! lines is still written as format 1, which older builds read.
//!
//! Writing is atomic (temporary file in the same directory, fsync, rename, fsync of the directory), so a
//! crash leaves the old state or the new one. A lock (`flock` on `FILE.lock`, released by the kernel when
//! the process dies) keeps a second process off the same state.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

pub use crate::digest::Digest;
use crate::input::Lines;
use crate::jsonw;
use crate::time::Timestamp;

/// The newest state format this build reads and writes: 2 adds file lines (`--inventory`).
pub const VERSION: u32 = 2;

/// The format of a state without file lines, which builds before format 2 read too.
const VERSION_NO_FILES: u32 = 1;

/// The state header.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Header {
    /// Format version.
    pub webshell_hunt_state: u32,
    /// End of the learning window, when given as an instant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn_until: Option<Timestamp>,
    /// Length of the learning window from `first_event`, when given as a duration (as written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learn_for: Option<String>,
    /// Earliest request ever seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<Timestamp>,
    /// Latest request ever seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<Timestamp>,
    /// Committed runs.
    #[serde(default)]
    pub runs: u64,
    /// Web-root inventories read into the file lines.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub inventories: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// How a key entered the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stored {
    /// First seen inside the learning window.
    Learned,
    /// First seen after it (reported).
    New,
    /// Accepted by an analyst.
    Accepted,
}

impl Stored {
    fn as_str(self) -> &'static str {
        match self {
            Stored::Learned => "learned",
            Stored::New => "new",
            Stored::Accepted => "accepted",
        }
    }
}

/// A key line.
#[derive(Debug, Clone, PartialEq)]
pub struct StateKey {
    /// How it entered.
    pub verdict: Stored,
    /// Earliest request.
    pub first_seen: Timestamp,
    /// Latest request.
    pub last_seen: Timestamp,
    /// Requests over all committed runs.
    pub count: u64,
}

/// A host line: the baseline's clients and user agents, as sorted hashes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostBaseline {
    /// Client hashes, sorted, unique.
    pub clients: Vec<u32>,
    /// User-agent hashes, sorted, unique.
    pub user_agents: Vec<u32>,
}

/// A file line: a regular file of the last inventory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateFile {
    /// SHA-256, when the inventory hashed the file.
    pub sha256: Option<Digest>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Last modification.
    pub mtime: Option<Timestamp>,
}

impl StateFile {
    /// Whether `other` has different content: by hash when both have one, else by size and mtime.
    pub fn differs(&self, other: &StateFile) -> bool {
        match (&self.sha256, &other.sha256) {
            (Some(a), Some(b)) => a != b,
            _ => self.size != other.size || self.mtime != other.mtime,
        }
    }
}

/// The whole state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// The header.
    pub header: Header,
    /// Per host.
    pub hosts: BTreeMap<String, HostBaseline>,
    /// Keys by host, then template.
    pub keys: BTreeMap<String, BTreeMap<String, StateKey>>,
    /// The last inventory's files by host, then URL path.
    pub files: BTreeMap<String, BTreeMap<String, StateFile>>,
}

enum Parsed {
    Key(String, String, StateKey),
    Host(String, HostBaseline),
    File(String, String, StateFile),
}

/// The header line, checked: a state file of a format this version reads.
fn header(line: &[u8]) -> Result<Header> {
    let header: Header = serde_json::from_slice(line)
        .map_err(|e| anyhow::anyhow!("1: not a baseline-diff state file (bad header: {e})"))?;
    if header.webshell_hunt_state > VERSION {
        bail!(
            "1: state format {} was written by a newer baseline-diff; this one reads format {VERSION}",
            header.webshell_hunt_state
        );
    }
    if header.webshell_hunt_state == 0 {
        bail!("1: not a baseline-diff state file (format version 0)");
    }
    Ok(header)
}

/// One line after the header.
fn parse_line(raw: &[u8], scan: &mut crate::jsonscan::Scan) -> Result<Parsed> {
    use crate::jsonscan::{raw as span, str_value};
    scan.line(raw)?;
    let get = |k: &str| scan.get(raw, k).filter(|f| !crate::jsonscan::is_null(raw, f));
    let string = |k: &str| -> Result<Option<String>> {
        match get(k) {
            None => Ok(None),
            Some(f) => str_value(raw, &f)
                .map(|v| Some(v.into_owned()))
                .ok_or_else(|| anyhow::anyhow!("{k} is not a string")),
        }
    };
    let time = |k: &str| -> Result<Option<Timestamp>> {
        match string(k)? {
            None => Ok(None),
            Some(t) => Timestamp::parse_rfc3339(&t)
                .map(Some)
                .ok_or_else(|| anyhow::anyhow!("{k} {t:?} is not RFC 3339")),
        }
    };
    let host = string("host")?.unwrap_or_default();
    if let Some(t) = string("template")? {
        let verdict = match string("verdict")?.as_deref() {
            Some("learned") => Stored::Learned,
            Some("new") => Stored::New,
            Some("accepted") => Stored::Accepted,
            Some(v) => bail!("unknown verdict {v:?} (learned, new or accepted)"),
            None => bail!("key line needs verdict, first_seen and last_seen"),
        };
        let (Some(first_seen), Some(last_seen)) = (time("first_seen")?, time("last_seen")?) else {
            bail!("key line needs verdict, first_seen and last_seen");
        };
        let count = match get("count") {
            None => 0,
            Some(f) => {
                crate::jsonscan::u64_value(raw, &f).ok_or_else(|| anyhow::anyhow!("count is not a count"))?
            }
        };
        return Ok(Parsed::Key(host, t, StateKey { verdict, first_seen, last_seen, count }));
    }
    if let Some(p) = string("url_path")? {
        let size = match get("size") {
            None => None,
            Some(f) => Some(
                crate::jsonscan::u64_value(raw, &f).ok_or_else(|| anyhow::anyhow!("size is not a count"))?,
            ),
        };
        let sha256 = match string("sha256")? {
            None => None,
            Some(h) => Some(
                Digest::parse_hex(&h).ok_or_else(|| anyhow::anyhow!("sha256 {h:?} is not 64 hex digits"))?,
            ),
        };
        return Ok(Parsed::File(host, p, StateFile { sha256, size, mtime: time("mtime")? }));
    }
    let (c, u) = (get("baseline_client_hashes"), get("baseline_user_agent_hashes"));
    if c.is_none() && u.is_none() {
        bail!(
            "neither a key line (template), a file line (url_path) nor a host line (baseline_client_hashes)"
        );
    }
    let hashes = |f: Option<crate::jsonscan::Field>, what: &str| -> Result<Vec<u32>> {
        match f {
            None => Ok(Vec::new()),
            Some(f) => {
                let v = span(raw, f.val);
                let body = v
                    .strip_prefix(b"\"")
                    .and_then(|v| v.strip_suffix(b"\""))
                    .ok_or_else(|| anyhow::anyhow!("{what} is not a string"))?;
                decode_hashes(std::str::from_utf8(body)?).with_context(|| what.to_string())
            }
        }
    };
    Ok(Parsed::Host(
        host,
        HostBaseline {
            clients: hashes(c, "baseline_client_hashes")?,
            user_agents: hashes(u, "baseline_user_agent_hashes")?,
        },
    ))
}

impl State {
    /// A fresh state.
    pub fn new() -> Self {
        State { header: Header { webshell_hunt_state: VERSION, ..Header::default() }, ..State::default() }
    }

    /// Loads `path`; a missing file is a fresh state, anything unreadable an error naming file and line.
    pub fn load(path: &Path) -> Result<State> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::new()),
            Err(e) => return Err(e).with_context(|| format!("{}: cannot read state", path.display())),
        };
        // Read a line at a time: a million keys are 160 MB of text, which need not all be in memory
        // beside the keys built from them (the whole file read at once made the peak 255 MB, and its
        // pages were faulted in and zeroed only to be read once).
        let name = path.display().to_string();
        Self::read(Lines::from_reader(name.clone(), Box::new(BufReader::with_capacity(1 << 20, file))))
            .with_context(|| name)
    }

    /// Parses state text; errors carry `N:` (the caller adds the file name).
    pub fn parse(text: &[u8]) -> Result<State> {
        Self::read(Lines::from_reader("state".into(), Box::new(std::io::Cursor::new(text.to_vec()))))
    }

    /// Reads state lines (blank ones skipped); errors carry `N:`.
    fn read(mut lines: Lines) -> Result<State> {
        // The header (the first line that is not blank), then hosts and keys.
        let mut st: Option<State> = None;
        // Keys are collected per host and bulk-loaded: a file written by `save` is sorted, and building a
        // BTreeMap from sorted input is linear.
        let mut keys: BTreeMap<String, Vec<(String, StateKey)>> = BTreeMap::new();
        let mut files: Vec<(String, String, StateFile)> = Vec::new();
        let mut scan = crate::jsonscan::Scan::default();
        while let Some(line) = lines.next_line()? {
            if line.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let Some(st) = &mut st else {
                // In memory a state is of this build's format; `write_to` picks the format to write.
                let header = Header { webshell_hunt_state: VERSION, ..header(line.bytes)? };
                st = Some(State { header, ..State::default() });
                continue;
            };
            let n = line.no;
            let l = parse_line(line.bytes, &mut scan).with_context(|| format!("{n}: invalid state line"))?;
            match l {
                Parsed::Key(host, t, key) => keys.entry(host).or_default().push((t, key)),
                Parsed::Host(host, hb) => {
                    st.hosts.insert(host, hb);
                }
                Parsed::File(host, p, f) => files.push((host, p, f)),
            }
        }
        let Some(mut st) = st else {
            bail!("1: empty state file (no header); remove it to start a new baseline");
        };
        for (host, mut v) in keys {
            let before = v.len();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v.dedup_by(|a, b| a.0 == b.0);
            if v.len() != before {
                bail!("duplicate key for host {host:?}");
            }
            st.keys.insert(host, v.into_iter().collect());
        }
        for (host, p, f) in files {
            if st.files.entry(host.clone()).or_default().insert(p.clone(), f).is_some() {
                bail!("duplicate file line for host {host:?}, url_path {p:?}");
            }
        }
        Ok(st)
    }

    /// The state as text.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out).expect("writing to memory");
        out
    }

    /// Writes the state as text, a line at a time.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(1 << 16);
        let mut header = self.header.clone();
        header.webshell_hunt_state = if self.files.is_empty() { VERSION_NO_FILES } else { VERSION };
        serde_json::to_writer(&mut out, &header).map_err(std::io::Error::from)?;
        out.push(b'\n');
        for (host, hb) in &self.hosts {
            out.extend_from_slice(b"{\"host\":");
            jsonw::write_str(&mut out, host.as_bytes(), jsonw::Escape::Backslash);
            out.extend_from_slice(b",\"baseline_clients\":");
            jsonw::push_decimal(&mut out, hb.clients.len() as u64);
            out.extend_from_slice(b",\"baseline_client_hashes\":\"");
            out.extend_from_slice(encode_hashes(&hb.clients).as_bytes());
            out.extend_from_slice(b"\",\"baseline_user_agents\":");
            jsonw::push_decimal(&mut out, hb.user_agents.len() as u64);
            out.extend_from_slice(b",\"baseline_user_agent_hashes\":\"");
            out.extend_from_slice(encode_hashes(&hb.user_agents).as_bytes());
            out.extend_from_slice(b"\"}\n");
            w.write_all(&out)?;
            out.clear();
        }
        for (host, keys) in &self.keys {
            let mut hbuf = Vec::new();
            jsonw::write_str(&mut hbuf, host.as_bytes(), jsonw::Escape::Backslash);
            for (t, k) in keys {
                out.extend_from_slice(b"{\"host\":");
                out.extend_from_slice(&hbuf);
                out.extend_from_slice(b",\"template\":");
                jsonw::write_str(&mut out, t.as_bytes(), jsonw::Escape::Backslash);
                out.extend_from_slice(b",\"verdict\":\"");
                out.extend_from_slice(k.verdict.as_str().as_bytes());
                out.extend_from_slice(b"\",\"first_seen\":\"");
                k.first_seen.write_rfc3339(&mut out);
                out.extend_from_slice(b"\",\"last_seen\":\"");
                k.last_seen.write_rfc3339(&mut out);
                out.extend_from_slice(b"\",\"count\":");
                jsonw::push_decimal(&mut out, k.count);
                out.extend_from_slice(b"}\n");
                if out.len() >= 1 << 16 {
                    w.write_all(&out)?;
                    out.clear();
                }
            }
        }
        for (host, files) in &self.files {
            let mut hbuf = Vec::new();
            jsonw::write_str(&mut hbuf, host.as_bytes(), jsonw::Escape::Backslash);
            for (p, f) in files {
                out.extend_from_slice(b"{\"host\":");
                out.extend_from_slice(&hbuf);
                out.extend_from_slice(b",\"url_path\":");
                jsonw::write_str(&mut out, p.as_bytes(), jsonw::Escape::Backslash);
                if let Some(h) = &f.sha256 {
                    out.extend_from_slice(b",\"sha256\":\"");
                    out.extend_from_slice(h.to_string().as_bytes());
                    out.push(b'"');
                }
                if let Some(n) = f.size {
                    out.extend_from_slice(b",\"size\":");
                    jsonw::push_decimal(&mut out, n);
                }
                if let Some(t) = f.mtime {
                    out.extend_from_slice(b",\"mtime\":\"");
                    t.write_rfc3339(&mut out);
                    out.push(b'"');
                }
                out.extend_from_slice(b"}\n");
                if out.len() >= 1 << 16 {
                    w.write_all(&out)?;
                    out.clear();
                }
            }
        }
        w.write_all(&out)
    }

    /// Writes the state to `path` atomically: a temporary file beside it, fsync, rename, fsync the
    /// directory.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
        let result = (|| -> Result<()> {
            let f = File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            self.write_to(&mut w)?;
            let f = w.into_inner().map_err(|e| e.into_error())?;
            f.sync_all().with_context(|| format!("{}: fsync", tmp.display()))?;
            drop(f);
            std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot replace", path.display()))?;
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .with_context(|| format!("{}: fsync", dir.display()))?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.with_context(|| format!("writing state {}", path.display()))
    }

    /// The stored key, if any.
    pub fn key(&self, host: &str, template: &str) -> Option<&StateKey> {
        self.keys.get(host)?.get(template)
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.values().map(BTreeMap::len).sum()
    }

    /// True when the state has no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn encode_hashes(h: &[u32]) -> String {
    let mut bytes = Vec::with_capacity(h.len() * 4);
    for v in h {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    B64.encode(bytes)
}

fn decode_hashes(s: &str) -> Result<Vec<u32>> {
    let bytes = B64.decode(s).context("not base64")?;
    if bytes.len() % 4 != 0 {
        bail!("length is not a multiple of 4 bytes");
    }
    let mut v: Vec<u32> =
        bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    v.sort_unstable();
    v.dedup();
    Ok(v)
}

/// An exclusive lock on a state file, held until dropped (or the process dies).
pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock on `state` (through `state.lock`), or fails at once naming the holder.
    pub fn acquire(state: &Path) -> Result<Lock> {
        let mut name = state.as_os_str().to_owned();
        name.push(".lock");
        let lock_path = PathBuf::from(name);
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .with_context(|| format!("{}: cannot open lock file", lock_path.display()))?;
        // SAFETY: flock on a descriptor we own; LOCK_NB makes it return at once.
        let rc = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
            let holder = holder.trim();
            bail!(
                "{}: state is in use by another process{}; try again when it has finished",
                state.display(),
                if holder.is_empty() { String::new() } else { format!(" (pid {holder})") }
            );
        }
        f.set_len(0)?;
        write!(f, "{}", std::process::id())?;
        Ok(Lock { _file: f })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> State {
        let mut st = State::new();
        st.header.learn_until = Timestamp::parse_rfc3339("2026-10-15T00:00:00Z");
        st.header.first_event = Timestamp::parse_rfc3339("2026-10-01T00:00:00Z");
        st.header.runs = 2;
        st.hosts.insert("h".into(), HostBaseline { clients: vec![1, 5, 9], user_agents: vec![7] });
        let t = Timestamp::parse_rfc3339("2026-10-02T00:00:00Z").unwrap();
        st.keys.entry("h".into()).or_default().insert(
            "/a \"q\"/{int}".into(),
            StateKey { verdict: Stored::Learned, first_seen: t, last_seen: t, count: 3 },
        );
        st
    }

    #[test]
    fn round_trip() {
        let st = sample();
        let text = st.to_bytes();
        assert!(text.starts_with(b"{\"webshell_hunt_state\":1,"), "no file lines: format 1");
        assert_eq!(State::parse(&text).unwrap(), st);
    }

    #[test]
    fn file_lines_round_trip_as_format_2() {
        let mut st = sample();
        st.header.inventories = 1;
        let f = StateFile {
            sha256: Digest::parse_hex(&"ab".repeat(32)),
            size: Some(405),
            mtime: Timestamp::parse_rfc3339("2026-09-01T10:00:00Z"),
        };
        st.files.entry("h".into()).or_default().insert("/index.php".into(), f.clone());
        st.files.entry("h".into()).or_default().insert("/a b\n.txt".into(), StateFile::default());
        let text = st.to_bytes();
        assert!(text.starts_with(b"{\"webshell_hunt_state\":2,"), "{}", String::from_utf8_lossy(&text));
        assert_eq!(State::parse(&text).unwrap(), st);
        let mut other = f.clone();
        other.mtime = None;
        assert!(!f.differs(&other), "same hash, same content");
        other.sha256 = Digest::parse_hex(&"CD".repeat(32));
        assert!(f.differs(&other));
        let unhashed = StateFile { sha256: None, ..f.clone() };
        assert!(!unhashed.differs(&f) && unhashed.differs(&StateFile { size: Some(1), ..f.clone() }));
    }

    #[test]
    fn errors_name_lines() {
        let mut text = sample().to_bytes();
        text.extend_from_slice(b"{\"host\":\"h\",\"template\":\"/x\"}\n");
        let e = format!("{:#}", State::parse(&text).unwrap_err());
        assert!(e.starts_with("4: invalid state line: key line needs"), "{e}");
        let e = format!("{:#}", State::parse(b"{\"webshell_hunt_state\":9}\n").unwrap_err());
        assert!(e.contains("newer baseline-diff"), "{e}");
        let e = format!("{:#}", State::parse(b"").unwrap_err());
        assert!(e.contains("empty state file"), "{e}");
        let e = format!("{:#}", State::parse(b"{\"path\":\"/x\"}\n").unwrap_err());
        assert!(e.contains("not a baseline-diff state file"), "{e}");
        let e = format!("{:#}", State::parse(b"{\"webshell_hunt_state\":1}\n{garbage\n").unwrap_err());
        assert!(e.starts_with("2: invalid state line"), "{e}");
    }

    #[test]
    fn save_is_atomic_and_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.state");
        let lock = Lock::acquire(&p).unwrap();
        let e = format!("{:#}", Lock::acquire(&p).err().unwrap());
        assert!(e.contains("in use by another process"), "{e}");
        sample().save(&p).unwrap();
        assert_eq!(State::load(&p).unwrap(), sample());
        drop(lock);
        Lock::acquire(&p).unwrap();
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty());
    }
}
