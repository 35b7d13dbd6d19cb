//! Findings → what ThreatQ should hold: the pure, deterministic part of `tq-push`.
//!
//! [`plan`] groups the findings by indicator value, decides each indicator's status role, its attributes
//! and manual score, and describes the run's event. Nothing here talks to a server, so the same input
//! always gives the same plan, in the same order: that is what makes a rerun (after a failure or a kill)
//! converge on the same store.
//!
//! * **Value**: the finding's concrete path when it saw exactly one, else its template: ten thousand
//!   product ids are one indicator `/api/v1/products/{int}`, not ten thousand.
//! * **Hosts**: ThreatQ indicators are global, baselines are per host. Findings of several hosts that map
//!   to one value become one indicator carrying every host; it is a review item when any of them is
//!   `new` (a path new on one site is suspect there), a baseline item only when all are `learned`.
//! * **Attributes**: `Host`, `URL Template`, `Sample Path` hold plain values; the per-finding facts
//!   (`Verdict`, `First Seen`, `Last Seen`, `Hit Count`, `Methods`, `HTTP Statuses`, `Client`,
//!   `User Agent`, `Query String`, `Score`, `Reason`) are prefixed with `host: ` so that an indicator
//!   shared by several sites stays readable. Values are cleaned of control characters and capped in
//!   length, deterministically.
//! * **Score**: 0–100 → ThreatQ's 0–10 manual score, rounded half up (`(s + 5) / 10`), the highest of
//!   the merged findings. `push.rs` sets it on review indicators only.
//! * **Files** (`baseline-diff --inventory`): a script file behind a review finding (a new path's new
//!   file, a dormant script, a learned script that changed) is also a `SHA-256` and a `File Path`
//!   indicator, with the same status rule and attributes, linked to the same event.
//! * **Run id**: 16 hex digits of FNV-1a 64 over the sorted `host, template, first_seen` of the `new`
//!   findings. The same new findings give the same id (a rerun finds its event); different new findings
//!   give another (another event). Learned findings do not enter it: a run without new findings has no
//!   event.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::record::{Finding, Sample, Verdict};
use crate::time::Timestamp;

/// Attribute names, as they appear in ThreatQ.
pub mod attr {
    pub const HOST: &str = "Host";
    pub const TEMPLATE: &str = "URL Template";
    pub const SAMPLE_PATH: &str = "Sample Path";
    pub const VERDICT: &str = "Verdict";
    pub const FIRST_SEEN: &str = "First Seen";
    pub const LAST_SEEN: &str = "Last Seen";
    pub const HIT_COUNT: &str = "Hit Count";
    pub const METHODS: &str = "Methods";
    pub const STATUSES: &str = "HTTP Statuses";
    pub const CLIENT: &str = "Client";
    pub const USER_AGENT: &str = "User Agent";
    pub const QUERY: &str = "Query String";
    pub const SCORE: &str = "Score";
    pub const REASON: &str = "Reason";
    /// On file indicators: the file, its content hash, the URL path it is served as.
    pub const FILE_PATH: &str = "File Path";
    pub const SHA256: &str = "SHA-256";
    pub const URL_PATH: &str = "URL Path";
    /// On the event: the run id it was created for.
    pub const RUN_ID: &str = "webshell-hunt Run ID";
}

/// Longest attribute value sent; longer ones are cut at a character boundary and end with `…`.
pub const MAX_ATTR_CHARS: usize = 1000;
/// Longest event description (ThreatQ's SDK cuts descriptions at 65,500 characters).
pub const MAX_DESCRIPTION_CHARS: usize = 60_000;
/// The event title's prefix.
pub const TITLE_PREFIX: &str = "webshell-hunt:";

/// Which of the two configured statuses an indicator gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Every finding behind it was learned: `--baseline-status`.
    Baseline,
    /// At least one finding behind it is new: `--review-status`.
    Review,
}

/// What an indicator is: its ThreatQ type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A URL path or template of the site.
    UrlPath,
    /// The SHA-256 of a script file of the web root.
    Sha256,
    /// The script file's path on the server.
    FilePath,
}

impl Kind {
    /// The ThreatQ indicator type's name (all three are in ThreatQ's default list).
    pub fn type_name(self) -> &'static str {
        match self {
            Kind::UrlPath => "URL Path",
            Kind::Sha256 => "SHA-256",
            Kind::FilePath => "File Path",
        }
    }
}

/// One indicator to be in ThreatQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// Its type.
    pub kind: Kind,
    /// The URL path or template.
    pub value: String,
    /// Which status it gets.
    pub role: Role,
    /// The sites it stands for, sorted.
    pub hosts: Vec<String>,
    /// 0–10.
    pub score: u8,
    /// (name, value), sorted and without duplicates.
    pub attributes: Vec<(String, String)>,
}

/// One new finding as listed in the event's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub value: String,
    pub host: String,
    pub score: u8,
    pub first_seen: Timestamp,
    pub count: u64,
    pub reasons: Vec<String>,
    /// The script file behind it (`--inventory`): path and SHA-256.
    pub file: Option<(String, String)>,
}

/// The run's event, when it has new findings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub run_id: String,
    pub title: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC), the earliest first sighting of the new findings.
    pub happened_at: String,
    /// HTML.
    pub description: String,
    /// The indicators to link (type, value), sorted.
    pub indicators: Vec<(Kind, String)>,
}

/// Everything a run writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by type, then value.
    pub indicators: Vec<Indicator>,
    pub event: Option<Event>,
    /// `known` findings, which have nothing to write.
    pub skipped_known: u64,
}

/// The indicator value for a finding: its one concrete path, else its template.
pub fn value_of(f: &Finding) -> &str {
    match f.paths.as_slice() {
        [only] if f.distinct_paths <= 1 => &only.value,
        _ => &f.template,
    }
}

/// 0–100 → 0–10, half up.
pub fn tq_score(score: u8) -> u8 {
    ((u16::from(score.min(100)) + 5) / 10) as u8
}

/// ThreatQ's date-time spelling, `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn tq_time(t: Timestamp) -> String {
    let s = t.to_string();
    format!("{} {}", &s[..10], &s[11..19])
}

/// Makes a value safe to show: control characters become `\xHH` (or `\u{…}`), the length is capped.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(MAX_ATTR_CHARS + 4));
    for (n, c) in s.chars().enumerate() {
        if n == MAX_ATTR_CHARS {
            out.push('…');
            break;
        }
        if c.is_control() {
            if (c as u32) < 0x100 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes text for the event's HTML description.
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// FNV-1a, 64 bits: small, stable across Rust versions and platforms (unlike `DefaultHasher`).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn host_of(f: &Finding) -> &str {
    f.host.as_deref().unwrap_or("")
}

fn samples(v: &[Sample]) -> impl Iterator<Item = String> + '_ {
    v.iter().map(|s| format!("{} ({} hits)", clean(&s.value), s.count))
}

fn counts(m: &BTreeMap<String, u64>) -> String {
    m.iter().map(|(k, v)| format!("{} {v}", clean(k))).collect::<Vec<_>>().join(", ")
}

/// The attributes one finding contributes to its indicator.
fn finding_attributes(f: &Finding, value: &str, out: &mut BTreeSet<(String, String)>) {
    let host = host_of(f);
    let mut put = |name: &str, v: String| {
        out.insert((name.to_string(), v));
    };
    if !host.is_empty() {
        put(attr::HOST, clean(host));
    }
    put(attr::TEMPLATE, clean(&f.template));
    for p in &f.paths {
        if p.value != value {
            put(attr::SAMPLE_PATH, clean(&p.value));
        }
    }
    // Per-finding facts carry their host, so that an indicator shared by several sites stays readable.
    let pre = if host.is_empty() { String::new() } else { format!("{}: ", clean(host)) };
    let mut per = |name: &str, v: String| put(name, clean(&format!("{pre}{v}")));
    per(attr::VERDICT, f.verdict.as_str().to_string());
    per(attr::FIRST_SEEN, f.first_seen.to_string());
    per(attr::LAST_SEEN, f.last_seen.to_string());
    per(attr::HIT_COUNT, f.count.to_string());
    per(attr::METHODS, counts(&f.methods));
    per(attr::STATUSES, counts(&f.statuses));
    per(attr::SCORE, format!("{}/100", f.score));
    for s in samples(&f.clients) {
        per(attr::CLIENT, s);
    }
    for s in samples(&f.user_agents) {
        per(attr::USER_AGENT, s);
    }
    for s in samples(&f.queries) {
        per(attr::QUERY, s);
    }
    for r in &f.reasons {
        per(attr::REASON, format!("{:+} {}: {}", r.weight, r.code, r.text));
    }
}

/// The file indicators of a review finding: its script file's SHA-256 and path, when the inventory
/// showed the file added or changed since the baseline.
fn file_values(f: &Finding) -> Vec<(Kind, String)> {
    let Some(file) = f.file.as_ref().filter(|x| {
        x.exists
            && x.kind.as_deref() == Some("script")
            && x.change.as_deref().is_some_and(|c| c != "unchanged")
    }) else {
        return vec![];
    };
    let mut v = Vec::new();
    if let Some(h) = &file.sha256 {
        v.push((Kind::Sha256, h.clone()));
    }
    if let Some(p) = &file.path {
        v.push((Kind::FilePath, p.clone()));
    }
    v
}

/// Builds the plan. `findings` may come in any order; the plan does not depend on it. With `files`,
/// review findings with a new or changed script file also give its SHA-256 and File Path indicators.
pub fn plan(findings: &[Finding], files: bool) -> Plan {
    struct Acc {
        role: Role,
        hosts: BTreeSet<String>,
        score: u8,
        attributes: BTreeSet<(String, String)>,
    }
    let mut by_value: BTreeMap<(Kind, String), Acc> = BTreeMap::new();
    let mut skipped_known = 0;
    let mut new: Vec<&Finding> = Vec::new();
    for f in findings {
        let role = match f.verdict {
            // A known or learned path whose script file changed since the baseline is reviewed again.
            Verdict::Known if !f.file_changed() => {
                skipped_known += 1;
                continue;
            }
            Verdict::Learned if !f.file_changed() => Role::Baseline,
            // A dormant script is reviewed like a new path: the URL path it would be served as.
            _ => {
                new.push(f);
                Role::Review
            }
        };
        let value = value_of(f);
        let mut keys = vec![(Kind::UrlPath, value.to_string())];
        if files && role == Role::Review {
            keys.extend(file_values(f));
        }
        for key in keys {
            let kind = key.0;
            let acc = by_value.entry(key).or_insert_with(|| Acc {
                role,
                hosts: BTreeSet::new(),
                score: 0,
                attributes: BTreeSet::new(),
            });
            acc.role = acc.role.max(role);
            acc.hosts.insert(host_of(f).to_string());
            acc.score = acc.score.max(tq_score(f.score));
            finding_attributes(f, value, &mut acc.attributes);
            if let (Some(file), true) = (&f.file, kind != Kind::UrlPath) {
                let mut put = |n: &str, v: &Option<String>| {
                    if let Some(v) = v {
                        acc.attributes.insert((n.to_string(), clean(v)));
                    }
                };
                put(attr::URL_PATH, &file.url_path);
                put(if kind == Kind::Sha256 { attr::FILE_PATH } else { attr::SHA256 }, {
                    if kind == Kind::Sha256 { &file.path } else { &file.sha256 }
                });
            }
        }
    }
    let indicators = by_value
        .into_iter()
        .map(|((kind, value), a)| Indicator {
            kind,
            value,
            role: a.role,
            hosts: a.hosts.into_iter().filter(|h| !h.is_empty()).collect(),
            score: a.score,
            attributes: a.attributes.into_iter().collect(),
        })
        .collect();
    Plan { indicators, event: event(&new, files), skipped_known }
}

/// The run id of a set of new findings (see the module docs).
pub fn run_id(new: &[&Finding]) -> String {
    let mut keys: Vec<String> =
        new.iter().map(|f| format!("{}\t{}\t{}\n", host_of(f), f.template, f.first_seen)).collect();
    keys.sort();
    keys.dedup();
    format!("{:016x}", fnv1a64(keys.concat().as_bytes()))
}

fn event(new: &[&Finding], files: bool) -> Option<Event> {
    // The title is made of what the run id is made of (hosts, first sightings), so that redoing a
    // window that has grown since (later hits of the same new paths) finds the same event.
    let first = new.iter().map(|f| f.first_seen).min()?;
    let last = new.iter().map(|f| f.first_seen).max()?;
    let id = run_id(new);
    let hosts: BTreeSet<&str> = new.iter().map(|f| host_of(f)).filter(|h| !h.is_empty()).collect();
    let mut host_list: Vec<String> = hosts.iter().take(3).map(|h| clean(h)).collect();
    if hosts.len() > 3 {
        host_list.push(format!("{} more", hosts.len() - 3));
    }
    let on = if host_list.is_empty() { String::new() } else { format!(" on {}", host_list.join(", ")) };
    let (from, to) = (tq_time(first), tq_time(last));
    let n = new.len();
    let range = if from[..16] == to[..16] {
        format!("first seen {}", &from[..16])
    } else {
        format!("first seen {} to {}", &from[..16], &to[..16])
    };
    let title = format!(
        "{TITLE_PREFIX} {n} new URL path{}{on}, {range} UTC [run {id}]",
        if n == 1 { "" } else { "s" }
    );

    // Ranked: highest score first, then by host and value, so the order never depends on the input's.
    let mut listed: Vec<Listed> = new
        .iter()
        .map(|f| Listed {
            value: value_of(f).to_string(),
            host: host_of(f).to_string(),
            score: f.score,
            first_seen: f.first_seen,
            count: f.count,
            reasons: f.reasons.iter().map(|r| format!("{:+} {}", r.weight, r.text)).collect(),
            file: f.file.as_ref().filter(|x| x.exists).map(|x| {
                (x.path.clone().unwrap_or_default(), x.sha256.clone().unwrap_or_else(|| "not hashed".into()))
            }),
        })
        .collect();
    let file_keys: Vec<(Kind, String)> =
        if files { new.iter().flat_map(|f| file_values(f)).collect() } else { vec![] };
    listed.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| (&a.host, &a.value).cmp(&(&b.host, &b.value))));
    let mut d = format!(
        "<p>{n} URL path{} first requested after the baseline, found by webshell-hunt (run {id}), \
         highest score first. Review each; none of them is for blocking.</p><ol>",
        if n == 1 { "" } else { "s" }
    );
    for (i, l) in listed.iter().enumerate() {
        let mut item = format!(
            "<li><b>{}/100</b> <code>{}</code>{}{}: first seen {}, {} hit{}",
            l.score,
            html(&l.value),
            if l.host.is_empty() { "" } else { " on " },
            html(&l.host),
            l.first_seen,
            l.count,
            if l.count == 1 { "" } else { "s" }
        );
        if let Some((path, sha)) = &l.file {
            let _ = write!(item, "; file <code>{}</code>, SHA-256 <code>{}</code>", html(path), html(sha));
        }
        if !l.reasons.is_empty() {
            item.push_str("<ul>");
            for r in &l.reasons {
                let _ = write!(item, "<li>{}</li>", html(r));
            }
            item.push_str("</ul>");
        }
        item.push_str("</li>");
        if d.len() + item.len() + 64 > MAX_DESCRIPTION_CHARS {
            let _ = write!(d, "</ol><p>… and {} more, not listed (description size limit).</p>", n - i);
            break;
        }
        d.push_str(&item);
    }
    if !d.ends_with("</p>") {
        d.push_str("</ol>");
    }
    let indicators: BTreeSet<(Kind, String)> =
        listed.into_iter().map(|l| (Kind::UrlPath, l.value)).chain(file_keys).collect();
    Some(Event {
        run_id: id,
        title,
        happened_at: from,
        description: d,
        indicators: indicators.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(host: &str, template: &str, paths: &[&str], verdict: &str, score: u8, first: &str) -> Finding {
        serde_json::from_value(json!({
            "host": host, "template": template, "verdict": verdict, "score": score,
            "reasons": [{"weight": 40, "code": "script_ext", "text": "ends in .php"}],
            "paths": paths.iter().map(|p| json!({"value": p, "count": 2})).collect::<Vec<_>>(),
            "distinct_paths": paths.len(), "first_seen": first, "last_seen": "2026-10-20T00:00:00Z",
            "count": 2 * paths.len(), "methods": {"GET": 2}, "statuses": {"200": 2}, "distinct_clients": 1,
            "clients": [{"value": "203.0.113.9", "count": 2}],
            "user_agents": [{"value": "Mozilla\u{1b}[31m<x>", "count": 2}],
        }))
        .unwrap()
    }

    #[test]
    fn one_concrete_path_else_template() {
        let f = finding("a", "/p/{int}", &["/p/1", "/p/2"], "learned", 0, "2026-10-01T00:00:00Z");
        assert_eq!(value_of(&f), "/p/{int}");
        let f = finding("a", "/feed/{int}", &["/feed/2"], "learned", 0, "2026-10-01T00:00:00Z");
        assert_eq!(value_of(&f), "/feed/2");
        let f = finding("a", "/x.php", &[], "new", 0, "2026-10-01T00:00:00Z");
        assert_eq!(value_of(&f), "/x.php");
    }

    #[test]
    fn score_rounds_half_up_into_0_to_10() {
        let got: Vec<u8> = [0, 4, 5, 14, 15, 94, 95, 100, 255].map(tq_score).to_vec();
        assert_eq!(got, [0, 0, 1, 1, 2, 9, 10, 10, 10]);
    }

    #[test]
    fn hosts_merge_and_new_wins() {
        let a = finding("b.test", "/s.php", &["/s.php"], "learned", 10, "2026-10-01T00:00:00Z");
        let b = finding("a.test", "/s.php", &["/s.php"], "new", 77, "2026-10-15T00:00:00Z");
        let c = finding("c.test", "/s.php", &["/s.php"], "known", 99, "2026-10-15T00:00:00Z");
        let p = plan(&[a.clone(), b.clone(), c], true);
        assert_eq!(p.indicators.len(), 1);
        let i = &p.indicators[0];
        assert_eq!(
            (i.role, i.score, i.hosts.clone()),
            (Role::Review, 8, vec!["a.test".into(), "b.test".into()])
        );
        assert!(i.attributes.contains(&("Verdict".into(), "a.test: new".into())));
        assert!(i.attributes.contains(&("Verdict".into(), "b.test: learned".into())));
        assert_eq!(p.skipped_known, 1);
        let e = p.event.unwrap();
        assert_eq!(e.indicators, [(Kind::UrlPath, "/s.php".to_string())]);
        assert_eq!(e.happened_at, "2026-10-15 00:00:00");
        // Order of input does not matter.
        assert_eq!(plan(&[b, a], true).indicators, p.indicators);
    }

    #[test]
    fn hostile_strings_are_cleaned_and_escaped() {
        let f = finding("h", "/x.php", &["/x.php"], "new", 90, "2026-10-15T00:00:00Z");
        let p = plan(&[f], true);
        let ua = p.indicators[0].attributes.iter().find(|(n, _)| n == "User Agent").unwrap();
        assert_eq!(ua.1, "h: Mozilla\\x1b[31m<x> (2 hits)");
        assert_eq!(html("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
        assert_eq!(clean(&"é".repeat(MAX_ATTR_CHARS + 5)).chars().count(), MAX_ATTR_CHARS + 1);
    }

    #[test]
    fn run_id_depends_on_new_findings_only() {
        let n1 = finding("h", "/x.php", &["/x.php"], "new", 90, "2026-10-15T00:00:00Z");
        let n2 = finding("h", "/y.php", &["/y.php"], "new", 90, "2026-10-15T00:00:00Z");
        let l = finding("h", "/", &["/"], "learned", 0, "2026-10-01T00:00:00Z");
        let id = |fs: &[Finding]| plan(fs, true).event.map(|e| e.run_id);
        assert_eq!(id(&[n1.clone(), n2.clone()]), id(&[n2.clone(), l.clone(), n1.clone()]));
        assert_ne!(id(std::slice::from_ref(&n1)), id(&[n1.clone(), n2]));
        assert_eq!(id(&[l]), None);
        // A stable hash: this value must never change between builds.
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
    }

    #[test]
    fn event_lists_ranked_and_caps_description() {
        let mut fs = vec![];
        for i in 0..400 {
            let long = format!("/{}{i}.php", "d".repeat(300));
            fs.push(finding("h", &long, &[&long], "new", (i % 100) as u8, "2026-10-15T00:00:00Z"));
        }
        let e = plan(&fs, true).event.unwrap();
        assert!(e.description.len() <= MAX_DESCRIPTION_CHARS, "{}", e.description.len());
        assert!(e.description.contains("more, not listed"));
        assert!(e.description.find("<b>99/100</b>").unwrap() < e.description.find("<b>98/100</b>").unwrap());
        assert_eq!(e.indicators.len(), 400);
        assert_eq!(
            e.title,
            format!(
                "webshell-hunt: 400 new URL paths on h, first seen 2026-10-15 00:00 UTC [run {}]",
                e.run_id
            )
        );
    }
}
