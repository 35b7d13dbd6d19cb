//! Reading normalized records and summarising them per (host, template) key, in memory bounded by the
//! number of keys (and of distinct clients and user agents per host), never by the number of lines.

use std::borrow::Cow;
use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use compact_str::CompactString;
use hashbrown::{Equivalent, HashMap};
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::keys::{KeyMemo, Keys};
use super::sample::{Distinct, TopK, hash32};
use crate::bytes;
use crate::export::file::Source;
use crate::jsonscan::{self, Field, Scan};
use crate::normalize::path::Profile;
use crate::time::{IsoDay, Timestamp};

/// How many values of each kind a key keeps as samples.
pub const SAMPLE_CLIENTS: usize = 8;
/// Sampled user agents per key.
pub const SAMPLE_UAS: usize = 8;
/// Sampled query strings per key.
pub const SAMPLE_QUERIES: usize = 5;
/// Sampled concrete paths and logged spellings per key.
pub const SAMPLE_PATHS: usize = 5;
/// Hourly buckets kept per key; a key active in more distinct hours keeps no timeline.
pub const MAX_HOURS: usize = 168;
/// Query parameter names kept per key.
pub const MAX_PARAMS: usize = 32;
/// Referring sites kept per key (beyond them a key counts as linked from the site: see [`RefSites`]).
pub const MAX_REF_SITES: usize = 8;

/// Everything a run saw of one key.
#[derive(Debug, Clone)]
pub struct KeyStats {
    /// Requests.
    pub count: u64,
    /// Earliest request.
    pub first: Timestamp,
    /// Latest request.
    pub last: Timestamp,
    /// `source` of the earliest request.
    pub first_source: Option<Box<str>>,
    /// Requests per method (names kept in the entry itself: see [`TopK`]'s values).
    pub methods: Vec<(CompactString, u64)>,
    /// Requests per status.
    pub statuses: Vec<(u16, u64)>,
    /// Top clients.
    pub clients: TopK,
    /// Distinct clients.
    pub distinct_clients: Distinct,
    /// Top user agents.
    pub uas: TopK,
    /// Top query strings.
    pub queries: TopK,
    /// Top concrete canonical paths.
    pub paths: TopK,
    /// Distinct concrete paths.
    pub distinct_paths: Distinct,
    /// Requests whose path was the key's template itself (most keys name one file): counted here rather
    /// than sampled per request, and turned into a path sample by [`KeyStats::materialize`].
    pub template_hits: u64,
    /// Top logged spellings that differed from the canonical path.
    pub raw_paths: TopK,
    /// Every anomaly name seen.
    pub anomalies: Vec<Box<str>>,
    /// Query parameter names seen.
    pub params: Vec<Box<str>>,
    /// Requests per hour (hour start in seconds), while the key has been active in at most
    /// [`MAX_HOURS`] distinct hours.
    pub hours: Option<Vec<(i64, u64)>>,
    /// Response sizes of the 200 answers.
    pub sizes: Sizes,
    /// The path profile its requests were read with (which server runs what), the first one given.
    pub profile: Option<Profile>,
    /// The sites (hashed) whose pages referred to this key, its own page excepted.
    pub ref_sites: RefSites,
}

/// The sites whose pages referred to a key: [`site_hash`] of each Referer's host, for Referers that name
/// another page than the requested one (a shell's own form posts back to itself with its own URL as the
/// Referer, which says nothing about how the client found it). Up to [`MAX_REF_SITES`], the smallest
/// hashes, so that the set does not depend on the order of the requests; `more` when there were more
/// (a key linked from that many sites is linked from the site too, as far as scoring goes).
/// Kept in the key itself rather than in an allocation of its own: it is looked at for most requests
/// of a log with Referers, and another allocation is another cache miss per request on a big log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefSites {
    hashes: [u32; MAX_REF_SITES],
    len: u8,
    /// More distinct sites were seen than are kept.
    pub more: bool,
}

impl RefSites {
    pub(crate) fn add(&mut self, h: u32) {
        let n = self.len as usize;
        // Usually the key's one referring site, already there.
        if n > 0 && self.hashes[0] == h {
            return;
        }
        if let Err(i) = self.hashes[..n].binary_search(&h) {
            if n == MAX_REF_SITES {
                self.more = true;
                if i == n {
                    return;
                }
            } else {
                self.len += 1;
            }
            let end = (self.len as usize).min(MAX_REF_SITES);
            self.hashes.copy_within(i..end - 1, i + 1);
            self.hashes[i] = h;
        }
    }

    fn merge(&mut self, other: &RefSites) {
        for &h in other.hashes() {
            self.add(h);
        }
        self.more |= other.more;
    }

    /// The hashes kept, sorted.
    pub fn hashes(&self) -> &[u32] {
        &self.hashes[..self.len as usize]
    }

    /// Whether a page of the site `h` referred to the key (or too many sites to tell).
    pub fn has(&self, h: u32) -> bool {
        self.more || self.hashes().binary_search(&h).is_ok()
    }
}

/// The hash of a site's host name as scoring compares them: lower case, without a port, user name or a
/// leading `www.` (`https://www.Example.org:443/` and `example.org` are one site).
pub fn site_hash(host: &str) -> u32 {
    let mut b = host.as_bytes();
    if let Some(i) = b.iter().rposition(|&c| c == b'@') {
        b = &b[i + 1..];
    }
    // A port, not the inside of an IPv6 literal.
    if let Some(i) = b.iter().rposition(|&c| c == b':')
        && !b[i..].contains(&b']')
    {
        b = &b[..i];
    }
    let mut buf = [0u8; 64];
    let lower: Cow<'_, [u8]> = if b.len() <= buf.len() {
        buf[..b.len()].copy_from_slice(b);
        buf[..b.len()].make_ascii_lowercase();
        Cow::Borrowed(&buf[..b.len()])
    } else {
        Cow::Owned(b.to_ascii_lowercase())
    };
    let lower = lower.strip_prefix(b"www.").unwrap_or(&lower);
    let x = super::sample::hash64(lower);
    (x ^ (x >> 32)) as u32
}

/// What a Referer says of a request: `None` when there is none (absent, empty, `-`), else `Some` of the
/// referring site's [`site_hash`], `None` inside when it names no site (not a URL) or names the requested
/// page itself (`path` or the logged `raw_path`).
pub fn referer_site(referer: &str, path: &str, raw_path: Option<&str>) -> Option<Option<u32>> {
    referer_authority(referer, path, raw_path).map(|a| a.map(site_hash))
}

/// [`referer_site`]'s authority, before hashing.
fn referer_authority<'r>(referer: &'r str, path: &str, raw_path: Option<&str>) -> Option<Option<&'r str>> {
    let b = referer.as_bytes();
    if b.is_empty() || b == b"-" {
        return None;
    }
    // Almost every Referer is http(s); another scheme is short: `android-app://`.
    let rest = match b.strip_prefix(b"https://").or_else(|| b.strip_prefix(b"http://")) {
        Some(rest) => rest,
        None => {
            let Some(i) = memchr::memchr(b':', &b[..b.len().min(24)]) else { return Some(None) };
            let Some(rest) = b[i + 1..].strip_prefix(b"//") else { return Some(None) };
            rest
        }
    };
    // The authority ends at the first `/`, `?` or `#`.
    let end = memchr::memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len());
    if end == 0 {
        return Some(None);
    }
    // The page (the rest up to a `?` or `#`) is compared only where it can be the requested one.
    let tail = &rest[end..];
    let is_page = |p: &str| {
        let p = p.as_bytes();
        tail.starts_with(p)
            && tail.get(p.len()).is_none_or(|&c| c == b'?' || c == b'#')
            && !p.iter().any(|&c| c == b'?' || c == b'#')
    };
    if is_page(path) || raw_path.is_some_and(is_page) {
        return Some(None);
    }
    // The authority ends at an ASCII byte: a valid boundary.
    let start = referer.len() - rest.len();
    Some(Some(&referer[start..start + end]))
}

/// The last referring sites' names (up to [`SiteMemo::LEN`] bytes) and [`site_hash`]es: a log's
/// Referers name a few sites, over and over.
#[derive(Debug, Default)]
struct SiteMemo {
    names: [[u8; SiteMemo::LEN]; SiteMemo::SLOTS],
    lens: [u8; SiteMemo::SLOTS],
    hashes: [u32; SiteMemo::SLOTS],
    next: usize,
}

impl SiteMemo {
    const LEN: usize = 32;
    const SLOTS: usize = 4;

    /// [`site_hash`] of a site's name (not empty).
    fn hash(&mut self, site: &str) -> u32 {
        let b = site.as_bytes();
        for i in 0..Self::SLOTS {
            if usize::from(self.lens[i]) == b.len() && self.names[i][..b.len()] == *b {
                return self.hashes[i];
            }
        }
        let h = site_hash(site);
        if b.len() <= Self::LEN {
            let i = self.next;
            self.names[i][..b.len()].copy_from_slice(b);
            self.lens[i] = b.len() as u8;
            self.hashes[i] = h;
            self.next = (i + 1) % Self::SLOTS;
        }
        h
    }
}

/// The response sizes of a key's 200 answers: how many had a size, and up to [`Sizes::MAX`] distinct
/// sizes (the smallest ones, so that the set does not depend on the order of the requests). A file
/// answers with its one size (two with compression); a program's output varies.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sizes {
    /// 200 answers that logged a size.
    pub sized: u64,
    /// Distinct sizes, sorted, at most [`Sizes::MAX`].
    pub distinct: Vec<u64>,
    /// More distinct sizes were seen than are kept.
    pub more: bool,
}

impl Sizes {
    pub const MAX: usize = 8;

    pub(crate) fn add(&mut self, bytes: u64, n: u64) {
        self.sized += n;
        if let Err(i) = self.distinct.binary_search(&bytes) {
            self.distinct.insert(i, bytes);
            if self.distinct.len() > Self::MAX {
                self.distinct.pop();
                self.more = true;
            }
        }
    }

    fn merge(&mut self, other: &Sizes) {
        let sized = self.sized + other.sized;
        for &b in &other.distinct {
            self.add(b, 0);
        }
        self.sized = sized;
        self.more |= other.more;
    }

    /// Distinct sizes seen (a lower bound when `more`).
    pub fn count(&self) -> usize {
        self.distinct.len()
    }
}

impl KeyStats {
    pub(crate) fn new(t: Timestamp) -> Self {
        KeyStats {
            count: 0,
            first: t,
            last: t,
            first_source: None,
            methods: Vec::new(),
            statuses: Vec::new(),
            clients: TopK::default(),
            distinct_clients: Distinct::default(),
            uas: TopK::default(),
            queries: TopK::default(),
            paths: TopK::default(),
            distinct_paths: Distinct::default(),
            template_hits: 0,
            raw_paths: TopK::default(),
            anomalies: Vec::new(),
            params: Vec::new(),
            hours: Some(Vec::new()),
            sizes: Sizes::default(),
            profile: None,
            ref_sites: RefSites::default(),
        }
    }

    /// Turns the requests counted in `template_hits` into a path sample of `template` (this key's template),
    /// before the key is merged into another key or reported.
    pub fn materialize(&mut self, template: &str) {
        if self.template_hits > 0 {
            let h = hash32(template);
            self.paths.add_hashed(template, h, self.template_hits, SAMPLE_PATHS);
            self.distinct_paths.add_hashed(h);
            self.template_hits = 0;
        }
    }

    /// Share of requests that used `method`.
    pub fn method_share(&self, method: &str) -> f64 {
        let n: u64 =
            self.methods.iter().filter(|(m, _)| m.eq_ignore_ascii_case(method)).map(|(_, n)| n).sum();
        n as f64 / self.count.max(1) as f64
    }

    /// Adds `other`'s requests to this key's: keys folding into one template, or the same key counted by
    /// two threads. Every part is order-free, so merging gives what one pass over all lines gives.
    pub fn merge(&mut self, other: &KeyStats) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 || (other.first, &other.first_source) < (self.first, &self.first_source) {
            self.first = other.first;
            self.first_source = other.first_source.clone();
        }
        self.last = self.last.max(other.last);
        self.count += other.count;
        for (m, n) in &other.methods {
            bump(&mut self.methods, m, *n);
        }
        for (s, n) in &other.statuses {
            bump_status(&mut self.statuses, *s, *n);
        }
        self.clients.merge(&other.clients, SAMPLE_CLIENTS);
        self.distinct_clients.merge(&other.distinct_clients);
        self.uas.merge(&other.uas, SAMPLE_UAS);
        self.queries.merge(&other.queries, SAMPLE_QUERIES);
        self.paths.merge(&other.paths, SAMPLE_PATHS);
        self.distinct_paths.merge(&other.distinct_paths);
        self.template_hits += other.template_hits;
        self.raw_paths.merge(&other.raw_paths, SAMPLE_PATHS);
        for a in &other.anomalies {
            add_name(&mut self.anomalies, a, 64);
        }
        for p in &other.params {
            add_name(&mut self.params, p, MAX_PARAMS);
        }
        self.sizes.merge(&other.sizes);
        self.ref_sites.merge(&other.ref_sites);
        self.profile = self.profile.or(other.profile);
        match &other.hours {
            Some(theirs) => {
                for (h, n) in theirs {
                    add_hour(&mut self.hours, *h, *n);
                }
            }
            None => self.hours = None,
        }
    }
}

/// Counts per name, sorted by name; at most 32 names (a flood of garbage methods keeps the first 32 in
/// sort order, whatever order they came in).
fn bump(v: &mut Vec<(CompactString, u64)>, k: &str, n: u64) {
    // A key sees one or two methods: look for this one before searching for its place.
    if let Some(e) = v.iter_mut().find(|e| bytes::eq(e.0.as_bytes(), k.as_bytes())) {
        e.1 += n;
        return;
    }
    match v.binary_search_by(|e| (*e.0).cmp(k)) {
        Ok(i) => v[i].1 += n,
        Err(i) if i < 32 => {
            v.insert(i, (CompactString::from(k), n));
            v.truncate(32);
        }
        Err(_) => {}
    }
}

fn bump_status(v: &mut Vec<(u16, u64)>, k: u16, n: u64) {
    match v.iter_mut().find(|e| e.0 == k) {
        Some(e) => e.1 += n,
        None => v.push((k, n)),
    }
}

/// A sorted set of names, capped at the `cap` first in sort order (order-free).
fn add_name(v: &mut Vec<Box<str>>, name: &str, cap: usize) {
    if let Err(i) = v.binary_search_by(|e| (**e).cmp(name))
        && i < cap
    {
        v.insert(i, name.into());
        v.truncate(cap);
    }
}

fn add_hour(hours: &mut Option<Vec<(i64, u64)>>, hour: i64, n: u64) {
    let Some(h) = hours else { return };
    // Logs run forward in time: the hour is usually the last one.
    if let Some(last) = h.last_mut()
        && last.0 == hour
    {
        last.1 += n;
        return;
    }
    match h.binary_search_by_key(&hour, |e| e.0) {
        Ok(i) => h[i].1 += n,
        Err(_) if h.len() >= MAX_HOURS => *hours = None,
        Err(i) => h.insert(i, (hour, n)),
    }
}

/// One host's keys and the first sighting of each client and user agent (by 32-bit hash), from which
/// the baseline's clients are known once the learning window is.
#[derive(Debug, Default)]
pub struct HostData {
    /// Keys by template.
    pub keys: Keys,
    /// Client hash → earliest request time (ms), and whether it asked for one key only.
    pub clients_first: FxHashMap<u32, ClientSeen>,
    /// User-agent hash → earliest request time (ms).
    pub uas_first: FxHashMap<u32, i64>,
    /// Requests per hour over the whole host (for the summary's traffic timeline).
    pub hourly: BTreeMap<i64, u64>,
    /// Requests.
    pub requests: u64,
    /// Requests that carried a Referer (a log without that field has none).
    pub referred: u64,
}

/// What a host saw of one client.
#[derive(Debug, Clone, Copy)]
pub struct ClientSeen {
    /// Earliest request time (ms).
    pub first: i64,
    /// `hash32` of the first key's template it asked for.
    pub key: u32,
    /// It asked for more than one key.
    pub many: bool,
}

impl ClientSeen {
    fn merge(&mut self, o: &ClientSeen) {
        self.first = self.first.min(o.first);
        self.many |= o.many || o.key != self.key;
    }
}

/// A host name looked up in [`Aggregate::hosts`], compared with [`bytes::eq`]: most logs have no host,
/// and `==` on two empty strings is a slow `memcmp` call (see `crate::bytes`). Hashes as the `str`.
#[derive(Hash)]
struct HostName<'a>(&'a str);

impl Equivalent<Box<str>> for HostName<'_> {
    fn equivalent(&self, key: &Box<str>) -> bool {
        bytes::eq(self.0.as_bytes(), key.as_bytes())
    }
}

/// What a run read, per host (`""` for records without a host).
#[derive(Debug, Default)]
pub struct Aggregate {
    /// Hosts.
    pub hosts: HashMap<Box<str>, HostData, FxBuildHasher>,
    /// Records read.
    pub records: u64,
    /// Requests they stand for.
    pub requests: u64,
    /// Earliest and latest request times.
    pub span: Option<(Timestamp, Timestamp)>,
    /// The last referring sites' [`site_hash`]es.
    site_memo: SiteMemo,
}

impl Aggregate {
    /// Adds another aggregate (of other lines): the result is the aggregate of all the lines.
    pub fn merge(&mut self, other: Aggregate) {
        self.records += other.records;
        self.requests += other.requests;
        self.span = match (self.span, other.span) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
        for (host, od) in other.hosts {
            let hd = self.hosts.entry(host).or_default();
            hd.requests += od.requests;
            hd.referred += od.referred;
            for (h, n) in od.hourly {
                *hd.hourly.entry(h).or_default() += n;
            }
            for (c, seen) in od.clients_first {
                hd.clients_first.entry(c).and_modify(|e| e.merge(&seen)).or_insert(seen);
            }
            for (u, t) in od.uas_first {
                let e = hd.uas_first.entry(u).or_insert(t);
                *e = (*e).min(t);
            }
            for (t, k) in od.keys {
                match hd.keys.get_mut(&t) {
                    Some(mine) => mine.merge(&k),
                    None => {
                        hd.keys.insert(t, k);
                    }
                }
            }
        }
    }

    /// Adds one record, the JSON text of one line; `reader` is reused from line to line.
    pub fn add_line(&mut self, line: &[u8], reader: &mut RecordReader) -> Result<()> {
        let RecordReader { scan, day } = reader;
        scan.line(line).map_err(|e| anyhow::anyhow!("invalid record: {e}"))?;
        let scan = &*scan;
        let mut r = Request {
            host: None,
            template: Cow::Borrowed(""),
            path: Cow::Borrowed(""),
            is_template: false,
            raw_path: None,
            method: None,
            status: None,
            client: None,
            user_agent: None,
            referer: None,
            query: None,
            bytes: None,
            profile: None,
            first: Timestamp(0),
            last: Timestamp(0),
            count: 1,
            distinct_clients: None,
            clients: Vec::new(),
            user_agents: Vec::new(),
            queries: Vec::new(),
            anomalies: Vec::new(),
            params: Vec::new(),
            params_of: None,
            source: None,
            key_memo: None,
        };
        let (mut template, mut path) = (None, None);
        let (mut time, mut first_seen, mut last_seen) = (None, None, None);
        // One pass over the fields decodes each one this stage reads as it is met: a record has a dozen
        // fields of the twenty this stage knows. A null is as absent; of a key given twice, the last
        // value that is not null wins (every value is checked).
        for fd in &scan.fields {
            let Some(key) = RecordKey::of(jsonscan::raw(line, fd.key)) else { continue };
            if jsonscan::is_null(line, fd) {
                continue;
            }
            let text = || string_value(scan, line, fd);
            let list = || list_value(line, fd);
            match key {
                RecordKey::Host => r.host = Some(text()?),
                RecordKey::Template => template = Some(text()?),
                RecordKey::Path => path = Some(text()?),
                RecordKey::RawPath => r.raw_path = Some(text()?),
                RecordKey::Method => r.method = Some(text()?),
                RecordKey::Status => {
                    r.status = Some(
                        count_value(line, fd)?
                            .try_into()
                            .map_err(|_| anyhow::anyhow!("invalid record: status is not an HTTP status"))?,
                    )
                }
                RecordKey::Client => r.client = Some(text()?),
                RecordKey::UserAgent => r.user_agent = Some(text()?),
                RecordKey::Referer => r.referer = Some(text()?),
                RecordKey::Query => r.query = Some(text()?),
                RecordKey::Bytes => r.bytes = Some(count_value(line, fd)?),
                // Compared raw: the three names need no unescaping, and this runs for every record.
                RecordKey::Profile => r.profile = profile_value(line, fd),
                RecordKey::Time => time = Some(time_value(scan, line, fd, day)?),
                RecordKey::FirstSeen => first_seen = Some(time_value(scan, line, fd, day)?),
                RecordKey::LastSeen => last_seen = Some(time_value(scan, line, fd, day)?),
                RecordKey::Count => r.count = count_value(line, fd)?,
                RecordKey::DistinctClients => r.distinct_clients = Some(count_value(line, fd)?),
                RecordKey::Clients => r.clients = list()?,
                RecordKey::UserAgents => r.user_agents = list()?,
                RecordKey::Queries => r.queries = list()?,
                RecordKey::Anomalies => r.anomalies = list()?,
                RecordKey::Params => r.params = list()?,
                RecordKey::Source => r.source = Some(RequestSource::Text(text()?)),
            }
        }
        let Some(template) = template else {
            bail!("record has no template: baseline-diff reads path-normalize's output");
        };
        let Some(path) = path else { bail!("invalid record: no path") };
        (r.first, r.last) = match (first_seen.or(time), last_seen.or(time).or(first_seen)) {
            (Some(a), Some(b)) => (a.min(b), a.max(b)),
            _ => bail!("record has no time (time, or first_seen and last_seen)"),
        };
        r.is_template = template == path;
        (r.template, r.path) = (template, path);
        self.add(&r);
        Ok(())
    }

    /// Adds the records of a block of `name` (blank lines skipped); an error names `name:line`.
    /// `#[inline]`: compiled into its caller, as the loop was before it moved here; out of line the same
    /// loop took 3.6 % more instructions (callgrind, 100 k records, one thread), from code placement.
    #[inline]
    pub fn add_block(
        &mut self,
        name: &str,
        block: &crate::par::Block,
        reader: &mut RecordReader,
    ) -> Result<()> {
        for (no, line, _) in block.lines() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.add_line(line, reader).with_context(|| format!("{name}:{no}"))?;
        }
        Ok(())
    }

    /// Adds one request (or aggregated row).
    pub fn add(&mut self, r: &Request<'_>) {
        let (first, last, n) = (r.first, r.last, r.count);
        if n == 0 {
            return;
        }
        self.records += 1;
        self.requests += n;
        self.span = Some(match self.span {
            None => (first, last),
            Some((a, b)) => (a.min(first), b.max(last)),
        });
        let host = r.host.as_deref().unwrap_or("");
        // Most logs are of one host (or name none): that one is found without hashing the name.
        let only = self.hosts.len() == 1
            && self.hosts.keys().next().is_some_and(|h| bytes::eq(h.as_bytes(), host.as_bytes()));
        let hd = if only {
            self.hosts.values_mut().next().expect("one host")
        } else {
            match self.hosts.get_mut(&HostName(host)) {
                Some(h) => h,
                None => self.hosts.entry(host.into()).or_default(),
            }
        };
        hd.requests += n;
        let referer = r.referer.as_deref().and_then(|f| referer_authority(f, &r.path, r.raw_path.as_deref()));
        let ref_site = match referer {
            Some(site) => {
                hd.referred += n;
                site.map(|a| self.site_memo.hash(a))
            }
            None => None,
        };
        let hour = first.secs().div_euclid(3600) * 3600;
        match hd.hourly.last_entry() {
            // The same hour as the last request, usually.
            Some(mut e) if *e.key() == hour => *e.get_mut() += n,
            _ => *hd.hourly.entry(hour).or_default() += n,
        }

        let k = hd.keys.entry(&r.template, r.key_memo, || KeyStats::new(first));
        // What the request updates is in allocations of their own, cold on a big log: all are asked for
        // now, so that their loads overlap instead of each waiting for the one before. The user agent
        // is compared with the key's sample last, and its stored text is loaded meanwhile.
        let client_hash = r.client.as_deref().map(hash32);
        let ua_hash = r.user_agent.as_deref().map(hash32);
        bytes::prefetch(k.methods.as_ptr());
        bytes::prefetch(k.statuses.as_ptr());
        if let Some(h) = k.hours.as_ref().and_then(|h| h.last()) {
            bytes::prefetch(h);
        }
        k.clients.prefetch_items();
        if let Some(h) = client_hash {
            k.distinct_clients.prefetch(h);
        }
        if let Some(h) = ua_hash {
            k.uas.prefetch(h);
        }
        // The earliest request's source; among requests at the same instant the smallest source, so the
        // answer does not depend on line order. (Logs run forward: after a key's first second this is
        // one comparison of times, and a source is written out once per key.)
        if k.count == 0
            || first < k.first
            || (first == k.first && RequestSource::text_lt(r.source.as_ref(), k.first_source.as_deref()))
        {
            k.first = first;
            k.first_source = r.source.as_ref().map(|s| s.with_text(|t| Box::from(t)));
        }
        k.last = k.last.max(last);
        k.count += n;
        if let Some(m) = r.method.as_deref() {
            bump(&mut k.methods, m, n);
        }
        if let Some(s) = r.status {
            bump_status(&mut k.statuses, s, n);
        }
        if let (Some(200), Some(b)) = (r.status, r.bytes) {
            k.sizes.add(b, n);
        }
        if k.profile.is_none() {
            k.profile = r.profile;
        }
        if let Some(h) = ref_site {
            k.ref_sites.add(h);
        }
        add_hour(&mut k.hours, hour, n);
        if r.is_template {
            k.template_hits += n;
        } else {
            let hp = hash32(&r.path);
            k.paths.add_hashed(&r.path, hp, n, SAMPLE_PATHS);
            k.distinct_paths.add_hashed(hp);
        }
        if let Some(raw) = r.raw_path.as_deref() {
            k.raw_paths.add(raw, n, SAMPLE_PATHS);
        }
        if let Some(q) = r.query.as_deref().filter(|q| !q.is_empty()) {
            k.queries.add(q, n, SAMPLE_QUERIES);
        }
        for q in &r.queries {
            k.queries.add(q, 1, SAMPLE_QUERIES);
        }
        for a in &r.anomalies {
            add_name(&mut k.anomalies, a, 64);
        }
        for p in &r.params {
            add_name(&mut k.params, p, MAX_PARAMS);
        }
        if let Some(q) = r.params_of {
            for p in crate::normalize::param_names(q) {
                add_name(&mut k.params, p, MAX_PARAMS);
            }
        }
        let t0 = first.0;
        // The template's hash only for a client not yet seen on two keys (most soon are).
        let mut key_hash = None;
        let template = &r.template;
        let mut client = |c: &str, h: u32, count: u64| {
            k.clients.add_hashed(c, h, count, SAMPLE_CLIENTS);
            k.distinct_clients.add_hashed(h);
            let mut kh = || *key_hash.get_or_insert_with(|| hash32(template));
            match hd.clients_first.entry(h) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let e = e.get_mut();
                    e.first = e.first.min(t0);
                    if !e.many && e.key != kh() {
                        e.many = true;
                    }
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(ClientSeen { first: t0, key: kh(), many: false });
                }
            }
        };
        if let (Some(c), Some(h)) = (r.client.as_deref(), client_hash) {
            client(c, h, n);
        }
        // An aggregated row's samples: spread its count over them, at least one each.
        let each = (n / r.clients.len().max(1) as u64).max(1);
        for c in &r.clients {
            client(c, hash32(c), each);
        }
        if let Some(d) = r.distinct_clients {
            k.distinct_clients.add_at_least(d);
        }
        let mut ua = |u: &str, h: u32, count: u64| {
            k.uas.add_hashed(u, h, count, SAMPLE_UAS);
            let e = hd.uas_first.entry(h).or_insert(t0);
            *e = (*e).min(t0);
        };
        if let (Some(u), Some(h)) = (r.user_agent.as_deref(), ua_hash) {
            ua(u, h, n);
        }
        let each = (n / r.user_agents.len().max(1) as u64).max(1);
        for u in &r.user_agents {
            ua(u, hash32(u), each);
        }
    }
}

/// What [`Aggregate::add_line`] keeps from one line to the next: the scanner's buffers and the last
/// day read.
#[derive(Debug, Default)]
pub struct RecordReader {
    scan: Scan,
    day: IsoDay,
}

/// The fields of a record that [`Aggregate::add_line`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecordKey {
    Host,
    Template,
    Path,
    RawPath,
    Method,
    Status,
    Client,
    UserAgent,
    Referer,
    Query,
    Time,
    FirstSeen,
    LastSeen,
    Count,
    DistinctClients,
    Clients,
    UserAgents,
    Queries,
    Anomalies,
    Params,
    Source,
    Bytes,
    Profile,
}

impl RecordKey {
    /// Every key with its name in the record.
    #[cfg(test)]
    const ALL: [(&'static [u8], RecordKey); 23] = [
        (b"host", RecordKey::Host),
        (b"template", RecordKey::Template),
        (b"path", RecordKey::Path),
        (b"raw_path", RecordKey::RawPath),
        (b"method", RecordKey::Method),
        (b"status", RecordKey::Status),
        (b"client", RecordKey::Client),
        (b"user_agent", RecordKey::UserAgent),
        (b"referer", RecordKey::Referer),
        (b"query", RecordKey::Query),
        (b"time", RecordKey::Time),
        (b"first_seen", RecordKey::FirstSeen),
        (b"last_seen", RecordKey::LastSeen),
        (b"count", RecordKey::Count),
        (b"distinct_clients", RecordKey::DistinctClients),
        (b"clients", RecordKey::Clients),
        (b"user_agents", RecordKey::UserAgents),
        (b"queries", RecordKey::Queries),
        (b"anomalies", RecordKey::Anomalies),
        (b"params", RecordKey::Params),
        (b"source", RecordKey::Source),
        (b"bytes", RecordKey::Bytes),
        (b"profile", RecordKey::Profile),
    ];

    /// The key named `k`. A match rather than a search of a table: it dispatches on the length first and
    /// compares words (records have a dozen fields, and this runs for each).
    fn of(k: &[u8]) -> Option<RecordKey> {
        Some(match k {
            b"host" => RecordKey::Host,
            b"template" => RecordKey::Template,
            b"path" => RecordKey::Path,
            b"raw_path" => RecordKey::RawPath,
            b"method" => RecordKey::Method,
            b"status" => RecordKey::Status,
            b"client" => RecordKey::Client,
            b"user_agent" => RecordKey::UserAgent,
            b"referer" => RecordKey::Referer,
            b"query" => RecordKey::Query,
            b"time" => RecordKey::Time,
            b"first_seen" => RecordKey::FirstSeen,
            b"last_seen" => RecordKey::LastSeen,
            b"count" => RecordKey::Count,
            b"distinct_clients" => RecordKey::DistinctClients,
            b"clients" => RecordKey::Clients,
            b"user_agents" => RecordKey::UserAgents,
            b"queries" => RecordKey::Queries,
            b"anomalies" => RecordKey::Anomalies,
            b"params" => RecordKey::Params,
            b"source" => RecordKey::Source,
            b"bytes" => RecordKey::Bytes,
            b"profile" => RecordKey::Profile,
            _ => return None,
        })
    }
}

/// The field's value as text.
fn string_value<'a>(scan: &Scan, line: &'a [u8], fd: &Field) -> Result<Cow<'a, str>> {
    scan.str_value(line, fd).ok_or_else(|| not_a(line, fd, "a string"))
}

/// The `profile` field's value, as written by path-normalize (anything else: unknown).
fn profile_value(line: &[u8], fd: &Field) -> Option<Profile> {
    match jsonscan::raw(line, fd.val) {
        b"\"generic\"" => Some(Profile::Generic),
        b"\"iis\"" => Some(Profile::Iis),
        b"\"java\"" => Some(Profile::Java),
        _ => None,
    }
}

/// The field's value as a count (an unsigned integer).
fn count_value(line: &[u8], fd: &Field) -> Result<u64> {
    jsonscan::u64_value(line, fd).ok_or_else(|| not_a(line, fd, "a count"))
}

/// The string elements of the field's list value.
fn list_value<'a>(line: &'a [u8], fd: &Field) -> Result<Vec<Cow<'a, str>>> {
    jsonscan::str_array(line, fd).ok_or_else(|| not_a(line, fd, "a list"))
}

/// The field's value as an RFC 3339 time.
fn time_value(scan: &Scan, line: &[u8], fd: &Field, day: &mut IsoDay) -> Result<Timestamp> {
    let t = string_value(scan, line, fd)?;
    Timestamp::parse_rfc3339_with(&t, day)
        .ok_or_else(|| anyhow::anyhow!("invalid record: invalid time {t:?}, expected RFC 3339"))
}

#[cold]
fn not_a(line: &[u8], fd: &Field, what: &str) -> anyhow::Error {
    anyhow::anyhow!("invalid record: {} is not {what}", String::from_utf8_lossy(jsonscan::raw(line, fd.key)))
}

/// The fields of a normalized record that `baseline-diff` reads: from a JSON line
/// ([`Aggregate::add_line`]) or straight from a log (`baseline-diff --from-logs`).
#[allow(missing_docs)]
pub struct Request<'a> {
    pub host: Option<Cow<'a, str>>,
    pub template: Cow<'a, str>,
    pub path: Cow<'a, str>,
    /// `path == template`, which the caller may know without comparing them.
    pub is_template: bool,
    pub raw_path: Option<Cow<'a, str>>,
    pub method: Option<Cow<'a, str>>,
    pub status: Option<u16>,
    pub client: Option<Cow<'a, str>>,
    pub user_agent: Option<Cow<'a, str>>,
    pub referer: Option<Cow<'a, str>>,
    pub query: Option<Cow<'a, str>>,
    /// Response bytes, when logged.
    pub bytes: Option<u64>,
    pub profile: Option<Profile>,
    pub first: Timestamp,
    pub last: Timestamp,
    pub count: u64,
    pub distinct_clients: Option<u64>,
    pub clients: Vec<Cow<'a, str>>,
    pub user_agents: Vec<Cow<'a, str>>,
    pub queries: Vec<Cow<'a, str>>,
    pub anomalies: Vec<Cow<'a, str>>,
    pub params: Vec<Cow<'a, str>>,
    /// A query whose parameter names are counted as `params` (saves collecting them per request).
    pub params_of: Option<&'a str>,
    pub source: Option<RequestSource<'a>>,
    /// Where this request's template was found last time (kept by the caller with the template; see
    /// [`Keys::entry`]).
    pub key_memo: Option<&'a std::cell::Cell<KeyMemo>>,
}

/// A request's `source`: the text of a record's field, or the file and line `--from-logs` read it from
/// (formatted only when a key keeps it).
#[derive(Debug, Clone)]
pub enum RequestSource<'a> {
    /// `file:line` as a record gave it.
    Text(Cow<'a, str>),
    /// Where a log line was read.
    Line(Source<'a>),
}

impl RequestSource<'_> {
    /// Calls `f` with the `file:line` text.
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            RequestSource::Text(t) => f(t),
            RequestSource::Line(s) => s.with_text(f),
        }
    }

    /// `a < b` for the texts, absent first (the order of `Option<&str>`).
    fn text_lt(a: Option<&Self>, b: Option<&str>) -> bool {
        match (a, b) {
            (None, b) => b.is_some(),
            (Some(_), None) => false,
            (Some(a), Some(b)) => a.with_text(|a| a < b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_compare_as_their_text() {
        let long = "d/".repeat(80) + "access.log";
        let texts = ["a.log:9", "a.log:10", "a.log:100", "b:1", ""];
        for (file, line) in [("a.log", 9u64), ("a.log", 10), ("a.log", 100), ("b", 1), (long.as_str(), 7)] {
            let s = RequestSource::Line(Source { file, line });
            let text = format!("{file}:{line}");
            s.with_text(|t| assert_eq!(t, text));
            for other in texts {
                assert_eq!(
                    RequestSource::text_lt(Some(&s), Some(other)),
                    text.as_str() < other,
                    "{text} {other}"
                );
                let t = RequestSource::Text(Cow::Borrowed(other));
                assert_eq!(RequestSource::text_lt(Some(&t), Some(&text)), other < text.as_str());
            }
            assert!(!RequestSource::text_lt(Some(&s), None));
            assert!(RequestSource::text_lt(None, Some(&text)));
        }
        assert!(!RequestSource::text_lt(None, None));
    }

    #[test]
    fn referers_name_their_site_unless_they_are_the_page_itself() {
        let site = Some(Some(site_hash("example.org")));
        for r in ["https://www.example.org/", "http://Example.ORG:8080/a?b", "https://u@example.org#x"] {
            assert_eq!(referer_site(r, "/x.php", None), site, "{r}");
        }
        assert_eq!(referer_site("https://example.org/x.php?a=1", "/x.php", None), Some(None), "itself");
        assert_eq!(referer_site("https://example.org/./x.php", "/x.php", Some("/./x.php")), Some(None));
        assert_eq!(
            referer_site("android-app://com.google", "/x.php", None),
            Some(Some(site_hash("com.google")))
        );
        assert_eq!(referer_site("not a url", "/x.php", None), Some(None));
        for r in ["", "-"] {
            assert_eq!(referer_site(r, "/x.php", None), None);
        }
        assert_ne!(site_hash("example.org"), site_hash("example.com"));
        assert_eq!(site_hash("[2001:db8::1]:443"), site_hash("[2001:db8::1]"));
        // The set keeps the smallest hashes whatever the order, and says when it lost some.
        let (mut a, mut b) = (RefSites::default(), RefSites::default());
        for h in 0..12u32 {
            a.add(h * 7 % 12);
            b.add(11 - h);
        }
        assert_eq!(a, b);
        assert!(a.more && a.has(99) && a.hashes() == [0, 1, 2, 3, 4, 5, 6, 7]);
        let mut one = RefSites::default();
        one.add(5);
        assert!(one.has(5) && !one.has(6));
    }

    #[test]
    fn record_keys_are_found_by_name() {
        for (name, key) in RecordKey::ALL {
            assert_eq!(RecordKey::of(name), Some(key), "{}", String::from_utf8_lossy(name));
        }
        for near in [&b"hosts"[..], b"Host", b"", b"time ", b"source\0"] {
            assert_eq!(RecordKey::of(near), None);
        }
    }

    #[test]
    fn host_lookup_finds_the_stored_host_empty_or_not() {
        let mut a = Aggregate::default();
        let mut sc = RecordReader::default();
        for host in ["", "h", "", "h", "hh"] {
            let line =
                format!(r#"{{"host":"{host}","template":"/a","path":"/a","time":"2026-10-01T00:00:05Z"}}"#);
            a.add_line(line.as_bytes(), &mut sc).unwrap();
        }
        // The query type hashes as the stored key: every request after the first of a host found it.
        assert_eq!(a.hosts.len(), 3);
        for (host, n) in [("", 2), ("h", 2), ("hh", 1)] {
            assert_eq!(a.hosts.get(&HostName(host)).map(|h| h.requests), Some(n), "{host:?}");
        }
        assert!(a.hosts.get(&HostName("x")).is_none());
    }

    #[test]
    fn record_fields_null_repeated_and_mistyped() {
        let mut a = Aggregate::default();
        let mut rd = RecordReader::default();
        // A null is as absent (it neither sets nor clears); of a repeated key the last value counts;
        // keys this stage does not read are passed over whatever their type.
        a.add_line(br#"{"template":"/a","path":"/a","time":"2026-10-01T00:00:05Z","method":"GET","method":"POST","client":"1.1.1.1","client":null,"status":null,"extra":[1,{"x":null}],"count":2}"#, &mut rd).unwrap();
        let k = &a.hosts[""].keys["/a"];
        assert_eq!(k.count, 2);
        assert!((k.method_share("POST") - 1.0).abs() < 1e-9);
        assert_eq!(k.clients.sorted(), [("1.1.1.1", 2)]);
        assert!(k.statuses.is_empty());
        // A value of the wrong type is an error naming the key as the record spells it, wherever the
        // key is and whatever else the record lacks.
        let base = r#""template":"/a","path":"/a","time":"2026-10-01T00:00:05Z""#;
        for (field, why) in [
            (r#""host":1"#, "host is not a string"),
            (r#""status":"200""#, "status is not a count"),
            (r#""status":70000"#, "status is not an HTTP status"),
            (r#""count":-1"#, "count is not a count"),
            (r#""clients":"x""#, "clients is not a list"),
            (r#""first_seen":"yesterday""#, "invalid time \"yesterday\""),
            (r#""method":"GET","method":7"#, "method is not a string"),
        ] {
            for line in [format!("{{{field},{base}}}"), format!("{{{base},{field}}}")] {
                let e = a.add_line(line.as_bytes(), &mut rd).unwrap_err().to_string();
                assert!(e.contains(why), "{line}: {e}");
            }
        }
        for (line, why) in [
            (r#"{"path":"/a","time":"2026-10-01T00:00:05Z"}"#, "no template"),
            (r#"{"template":"/a","time":"2026-10-01T00:00:05Z"}"#, "no path"),
            (r#"{"template":"/a","path":"/a","time":null}"#, "no time"),
        ] {
            let e = a.add_line(line.as_bytes(), &mut rd).unwrap_err().to_string();
            assert!(e.contains(why), "{line}: {e}");
        }
        assert_eq!(a.requests, 2, "no failed record was counted");
    }

    #[test]
    fn raw_and_aggregated_rows_add_up() {
        let mut a = Aggregate::default();
        let mut sc = RecordReader::default();
        a.add_line(br#"{"host":"h","template":"/x/{int}","path":"/x/1","time":"2026-10-01T00:00:05Z","method":"GET","client":"1.1.1.1","status":200,"source":"f:1"}"#, &mut sc).unwrap();
        a.add_line(br#"{"host":"h","template":"/x/{int}","path":"/x/2","time":"2026-10-01T00:00:01Z","method":"POST","client":"2.2.2.2","status":200,"source":"f:2"}"#, &mut sc).unwrap();
        a.add_line(br#"{"host":"h","template":"/x/{int}","path":"/x/2","count":3,"first_seen":"2026-10-02T00:00:00Z","last_seen":"2026-10-03T00:00:00Z","clients":["3.3.3.3"],"distinct_clients":1,"method":"GET","status":500}"#, &mut sc).unwrap();
        let k = &a.hosts["h"].keys["/x/{int}"];
        assert_eq!(k.count, 5);
        assert_eq!(k.first.to_string(), "2026-10-01T00:00:01Z");
        assert_eq!(k.last.to_string(), "2026-10-03T00:00:00Z");
        assert_eq!(k.first_source.as_deref(), Some("f:2"));
        assert_eq!(k.distinct_clients.count(), (3, false));
        assert_eq!(k.distinct_paths.count(), (2, false));
        assert!((k.method_share("post") - 0.2).abs() < 1e-9);
        assert_eq!(a.requests, 5);
    }

    #[test]
    fn records_without_template_or_time_are_errors() {
        let mut a = Aggregate::default();
        let mut sc = RecordReader::default();
        let e =
            a.add_line(br#"{"path":"/x","time":"2026-10-01T00:00:05Z"}"#, &mut sc).unwrap_err().to_string();
        assert!(e.contains("path-normalize"), "{e}");
        let e = a.add_line(br#"{"path":"/x","template":"/x"}"#, &mut sc).unwrap_err().to_string();
        assert!(e.contains("no time"), "{e}");
    }
}
