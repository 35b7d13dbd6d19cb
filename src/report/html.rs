//! The HTML review report: one self-contained file an analyst opens in any browser, offline.
//!
//! Inline CSS, inline SVG ([`super::svg`]), one small inline script (filtering and expand/collapse; the
//! report reads fine without it), no reference to anything outside the file. The order is the table's
//! ([`super::rank`]).
//!
//! **Everything that came from a log is hostile.** A path, query string or user agent is whatever an
//! attacker chose to send, and the report exists because attackers were there. So:
//! - every such string is written through [`escape_to`] (via [`Esc`]), the one escaping function, in
//!   text and in attribute values alike (all attribute values are double-quoted);
//! - the inline script never turns data into markup (no `innerHTML`): it only reads `textContent` and
//!   `data-score` and toggles `hidden` and `open`;
//! - a Content-Security-Policy meta tag allows no load of any kind and no script but the report's own,
//!   named by its SHA-256, so inline event handlers (`onerror=…`) cannot run even if markup got in;
//! - paths are never links: following one would request the attacker's file.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};

use anyhow::{Result, bail};
use base64::Engine as _;

use super::svg::{self, Chart, Hour, Tick};
use super::{RunSummary, rank};
use crate::cli::thousands;
use crate::record::{Finding, Sample};
use crate::time::Timestamp;

/// Report settings.
#[derive(Debug, Clone)]
pub struct HtmlOptions<'a> {
    /// The page title.
    pub title: &'a str,
    /// baseline-diff's summary of the run, when given.
    pub summary: Option<&'a RunSummary>,
    /// The logs the findings came from (names, for the summary).
    pub logs: &'a [String],
    /// The alert threshold.
    pub alert: u8,
}

/// Writes `s` HTML-escaped: `& < > " '` become entities, control characters become `\xNN`, and the
/// Unicode characters that reorder or hide text (bidi controls, zero-width characters, BOM) become
/// `\u{NNNN}`, so what the analyst reads is what was logged. Safe in text and in double- or
/// single-quoted attribute values.
pub fn escape_to(out: &mut impl fmt::Write, s: &str) -> fmt::Result {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let rep: Option<&str> = match c {
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' => Some("&quot;"),
            '\'' => Some("&#39;"),
            _ => None,
        };
        let visible = c.is_control() || is_invisible_format(c);
        if rep.is_none() && !visible {
            continue;
        }
        out.write_str(&s[start..i])?;
        match rep {
            Some(r) => out.write_str(r)?,
            None if (c as u32) < 0x100 => write!(out, "\\x{:02x}", c as u32)?,
            None => write!(out, "\\u{{{:04x}}}", c as u32)?,
        }
        start = i + c.len_utf8();
    }
    out.write_str(&s[start..])
}

/// Characters that change how the text around them is displayed, or are not displayed at all.
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `s` HTML-escaped, as a String.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let _ = escape_to(&mut out, s);
    out
}

/// Displays a string HTML-escaped (see [`escape_to`]).
pub struct Esc<'a>(pub &'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        escape_to(f, self.0)
    }
}

/// Longest logged value shown in full; longer ones are cut, saying how much was left out.
const MAX_VALUE: usize = 2000;

/// Rows of a section with their evidence (timeline, tables); the rest are rows only. About 6 KB each
/// at most, so that a report stays a few megabytes and opens in a second however many paths are new.
const MAX_EVIDENCE: usize = 500;

/// Rows of a section at most (about 300 bytes each without evidence).
const MAX_ROWS: usize = 5000;

/// Findings expanded when the page opens (at or above the alert threshold, at most this many).
const MAX_OPEN: usize = 25;

/// A logged value as `<code>`, escaped, cut at [`MAX_VALUE`] characters.
struct Value<'a>(&'a str);

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_VALUE) {
            None => write!(f, "<code>{}</code>", Esc(self.0)),
            Some((cut, _)) => write!(
                f,
                r#"<code>{}</code><span class="cut"> … {} more characters (see the JSON)</span>"#,
                Esc(&self.0[..cut]),
                thousands(self.0[cut..].chars().count() as u64)
            ),
        }
    }
}

/// The page's one script. Reads text and data attributes, toggles `hidden` and `open`; never writes
/// markup. At `load` it forces style and layout and writes the time since navigation began into
/// `#render-ms` (`data-render-ms`; the tests read it), and the time of the next frame into
/// `data-frame-ms` when there is one.
const SCRIPT: &str = r#"
(function () {
  "use strict";
  var cards = Array.prototype.slice.call(document.querySelectorAll("details.finding"));
  var q = document.getElementById("q"), min = document.getElementById("min");
  var shown = document.getElementById("shown"), texts = null;
  function apply() {
    if (texts === null) texts = cards.map(function (c) { return c.textContent.toLowerCase(); });
    var t = q.value.trim().toLowerCase(), m = Number(min.value) || 0, n = 0;
    cards.forEach(function (c, i) {
      var ok = Number(c.dataset.score) >= m && (t === "" || texts[i].indexOf(t) >= 0);
      c.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = (t !== "" || m > 0) ? n + " of " + cards.length + " shown" : "";
  }
  function openAll(open) {
    cards.forEach(function (c) { if (!c.hidden) c.open = open; });
  }
  q.addEventListener("input", apply);
  min.addEventListener("input", apply);
  document.getElementById("expand").addEventListener("click", function () { openAll(true); });
  document.getElementById("collapse").addEventListener("click", function () { openAll(false); });
  document.getElementById("tools").hidden = false;
  var out = document.getElementById("render-ms");
  addEventListener("load", function () {
    void document.documentElement.getBoundingClientRect().height;
    var t = performance.now().toFixed(0);
    out.dataset.renderMs = t;
    out.textContent = "Loaded and laid out in " + t + " ms.";
    requestAnimationFrame(function () { out.dataset.frameMs = performance.now().toFixed(0); });
  });
})();
"#;

const STYLE: &str = r#"
:root { --fg: #1d2330; --dim: #5f6b7a; --line: #d9dee5; --bg: #ffffff; --panel: #f5f7fa;
        --red: #c0262d; --amber: #b86e00; --green: #2f7d32; --blue: #2456a6; }
* { box-sizing: border-box; }
body { margin: 0; padding: 0 24px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto,
       "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 18px 0 8px; border-bottom: 2px solid var(--fg); }
h1 { font-size: 22px; margin: 0; }
h2 { font-size: 18px; margin: 28px 0 8px; }
h3 { font-size: 13px; margin: 12px 0 4px; color: var(--dim); text-transform: uppercase; letter-spacing: .04em; }
.sub, .note, figcaption { color: var(--dim); font-size: 12.5px; }
code, .mono, .path { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
       font-size: 12.5px; overflow-wrap: anywhere; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; }
.facts dt { color: var(--dim); }
.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 2px 10px 2px 0; vertical-align: top; border-bottom: 1px solid var(--line); }
th { color: var(--dim); font-weight: 600; font-size: 12px; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { display: block; max-width: 100%; height: auto; }
.chart .grid { stroke: #e6e9ee; }
.chart .axis { stroke: #9aa4b1; }
.chart .area { fill: #c9d0da; }
.chart .bar { fill: var(--red); }
.chart .tick { stroke: #7d8794; stroke-width: 1.2; }
.chart .tick.alert { stroke: var(--red); stroke-width: 1.5; opacity: .8; }
.chart .marker { stroke: var(--blue); stroke-dasharray: 4 3; fill: var(--blue); font-size: 10px; }
.chart text.marker { stroke: none; }
.chart text { font-size: 10px; fill: var(--dim); }
.chart .scale.bars { fill: var(--red); font-weight: 600; }
.chart .scale.area { fill: #6b7684; font-weight: 600; }
#tools { position: sticky; top: 0; z-index: 1; background: var(--bg); padding: 8px 0;
         border-bottom: 1px solid var(--line); display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
#tools input[type=search] { width: 28em; max-width: 100%; }
#tools input[type=number] { width: 4.5em; }
.row { display: grid; grid-template-columns: 2.6em 3.2em minmax(0, 1fr) minmax(6em, 13em) 5em 5em 9.5em;
       gap: 0 10px; align-items: baseline; padding: 4px 6px; }
.row.head { color: var(--dim); font-size: 12px; font-weight: 600; border-bottom: 1px solid var(--line); }
.row .n { text-align: right; font-variant-numeric: tabular-nums; }
.row .host { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; color: var(--dim); }
details.finding { border-bottom: 1px solid var(--line); content-visibility: auto; contain-intrinsic-size: auto 30px; }
details.finding > summary { cursor: pointer; list-style: none; }
details.finding > summary::-webkit-details-marker { display: none; }
details.finding > summary:hover { background: var(--panel); }
details.finding[open] > summary { background: var(--panel); }
.score { font-weight: 700; text-align: right; font-variant-numeric: tabular-nums; }
.score.alert { color: var(--red); }
.score.mid { color: var(--amber); }
.body { padding: 4px 6px 16px 6.4em; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 0 28px; }
td.seen, td.unseen { font-size: 11.5px; white-space: nowrap; }
td.unseen { color: var(--red); font-weight: 700; }
td.seen { color: var(--green); }
.chip { display: inline-block; font-size: 11.5px; padding: 0 6px; margin: 0 4px 2px 0; border-radius: 3px;
        background: #eef1f5; }
.w { font-variant-numeric: tabular-nums; text-align: right; white-space: nowrap; }
.w.neg { color: var(--green); }
.reasons td.note { white-space: nowrap; }
.cut { color: var(--dim); font-size: 11.5px; }
.hosts td, .hosts th { padding-right: 18px; }
footer { margin-top: 32px; color: var(--dim); font-size: 12px; }
"#;

/// The site's traffic per hour: per host and in total, from the summary or from the findings.
struct Traffic {
    hosts: BTreeMap<String, BTreeMap<Hour, u64>>,
    total: BTreeMap<Hour, u64>,
    from_summary: bool,
}

fn hour_of(t: Timestamp) -> Hour {
    t.secs().div_euclid(3600)
}

/// Parses `{"2026-10-20T11:00:00Z": n}` into hours.
fn parse_hourly(map: &BTreeMap<String, u64>, what: &dyn Fn() -> String) -> Result<Vec<(Hour, u64)>> {
    let mut out = Vec::with_capacity(map.len());
    for (k, &n) in map {
        let Some(t) = Timestamp::parse_rfc3339(k) else {
            bail!("{}: hourly key {k:?} is not an RFC 3339 time", what());
        };
        out.push((hour_of(t), n));
    }
    out.sort_unstable();
    Ok(out)
}

fn finding_name(f: &Finding) -> String {
    format!("finding {} {}", f.host.as_deref().unwrap_or("-"), f.template)
}

impl Traffic {
    fn build(findings: &[Finding], summary: Option<&RunSummary>) -> Result<Traffic> {
        let mut t = Traffic { hosts: BTreeMap::new(), total: BTreeMap::new(), from_summary: false };
        if let Some(s) = summary.filter(|s| s.hosts.iter().any(|h| !h.hourly.is_empty())) {
            t.from_summary = true;
            for h in &s.hosts {
                let series = parse_hourly(&h.hourly, &|| format!("summary host {:?}", h.host))?;
                let m = t.hosts.entry(h.host.clone()).or_default();
                for (hour, n) in series {
                    *m.entry(hour).or_default() += n;
                    *t.total.entry(hour).or_default() += n;
                }
            }
        } else {
            for f in findings {
                let Some(hourly) = &f.hourly else { continue };
                let m = t.hosts.entry(f.host.clone().unwrap_or_default()).or_default();
                for (hour, n) in parse_hourly(hourly, &|| finding_name(f))? {
                    *m.entry(hour).or_default() += n;
                    *t.total.entry(hour).or_default() += n;
                }
            }
        }
        Ok(t)
    }

    fn host(&self, host: Option<&str>) -> &BTreeMap<Hour, u64> {
        self.hosts.get(host.unwrap_or("")).unwrap_or(&self.total)
    }
}

/// What the page needs to know besides the finding being drawn.
struct Ctx {
    traffic: Traffic,
    /// The logs' span in hours, [from, to).
    span: Option<(Hour, Hour)>,
    learn_until: Option<Timestamp>,
    alert: u8,
}

fn fmt_time(t: Timestamp) -> String {
    let s = t.to_string();
    s.get(..19).unwrap_or(&s).replace('T', " ")
}

fn fmt_duration(ms: i64) -> String {
    let m = ms / 60_000;
    match m {
        _ if ms < 60_000 => format!("{} s", ms / 1000),
        0..=59 => format!("{m} min"),
        60..=1439 => format!("{} h {} min", m / 60, m % 60),
        _ => format!("{} d {} h", m / 1440, m % 1440 / 60),
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// The path a row shows: the concrete path when the key had exactly one, else the template.
fn shown_path(f: &Finding) -> &str {
    super::table::display_path(f)
}

/// The SHA-256 CSP source of the script.
fn script_hash() -> String {
    let d = <sha2::Sha256 as sha2::Digest>::digest(SCRIPT.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(d))
}

/// Renders the whole report.
pub fn render(findings: &[Finding], o: &HtmlOptions) -> Result<String> {
    for f in findings {
        if let Some(h) = &f.hourly {
            parse_hourly(h, &|| finding_name(f))?;
        }
    }
    let ranked = rank(findings, o.alert);
    let traffic = Traffic::build(findings, o.summary)?;
    let (mut first, mut last) = (o.summary.and_then(|s| s.first_event), o.summary.and_then(|s| s.last_event));
    if first.is_none() || last.is_none() {
        first = findings.iter().map(|f| f.first_seen).min();
        last = findings.iter().map(|f| f.last_seen).max();
    }
    let span = first.zip(last).map(|(a, b)| (hour_of(a), hour_of(b) + 1));
    let ctx = Ctx { traffic, span, learn_until: o.summary.and_then(|s| s.learn_until), alert: o.alert };

    let mut s = String::with_capacity(64 * 1024 + findings.len() * 4096);
    let _ = write!(
        s,
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'none'; style-src 'unsafe-inline'; script-src {}; base-uri 'none'; form-action 'none'">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="findings-report {}">
<title>{}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>{}</h1>
<p class="sub">Web-shell review report · findings-report {} · times in UTC · paths are not links: opening one would request the attacker's file.</p></header>
"#,
        script_hash(),
        env!("CARGO_PKG_VERSION"),
        Esc(o.title),
        Esc(o.title),
        env!("CARGO_PKG_VERSION"),
    );

    summary_section(&mut s, findings, &ranked, o, &ctx, first, last);

    let alerts = ranked.new.iter().filter(|f| f.score >= o.alert).count();
    let _ = write!(
        s,
        r#"<nav id="tools" hidden><input id="q" type="search" placeholder="filter: path, host, client, user agent, reason…" aria-label="filter">
<label>min score <input id="min" type="number" min="0" max="100" value="0"></label>
<button id="expand" type="button">expand all</button><button id="collapse" type="button">collapse all</button>
<span id="shown" class="note"></span></nav>
<section id="new"><h2>{} ({} at score ≥ {})</h2>
<p class="note">First requested after the baseline (dormant: a script file new since the baseline that no request reached), highest score first. Click a row for its evidence.</p>
"#,
        Esc(&super::review_title(&ranked.new)),
        thousands(alerts as u64),
        o.alert
    );
    rows(&mut s, &ranked.new, "n", &ctx, true);
    let _ = write!(
        s,
        r#"</section>
<section id="audit"><h2>Baseline audit: learned paths scoring ≥ {}: {}</h2>
<p class="note">Paths first requested during the baseline that look like web shells anyway: a shell that was already there is learned as legitimate.</p>
"#,
        o.alert,
        thousands(ranked.audit.len() as u64)
    );
    rows(&mut s, &ranked.audit, "a", &ctx, false);
    let _ = write!(
        s,
        r#"</section>
<footer><p>{} · generated by findings-report {} from {} · <span id="render-ms"></span></p></footer>
<script>{SCRIPT}</script>
</body>
</html>
"#,
        Esc(o.title),
        env!("CARGO_PKG_VERSION"),
        plural(findings.len() as u64, "finding", "findings"),
    );
    Ok(s)
}

fn summary_section(
    s: &mut String,
    findings: &[Finding],
    ranked: &super::Ranked,
    o: &HtmlOptions,
    ctx: &Ctx,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
) {
    s.push_str("<section id=\"summary\"><h2>Summary</h2><dl class=\"facts\">\n");
    // Logs: as named on the command line, else the files the findings' first lines came from.
    let mut logs: Vec<String> = o.logs.to_vec();
    let logs_note = if logs.is_empty() {
        let set: BTreeSet<&str> = findings
            .iter()
            .filter_map(|f| f.first_source.as_deref())
            .map(|src| src.rsplit_once(':').map_or(src, |(file, _)| file))
            .collect();
        logs = set.into_iter().map(str::to_string).collect();
        " (from the findings' first lines)"
    } else {
        ""
    };
    if !logs.is_empty() {
        let _ = write!(s, "<dt>Logs{logs_note}</dt><dd>");
        for (i, l) in logs.iter().enumerate().take(20) {
            let _ = write!(s, "{}<code>{}</code>", if i > 0 { ", " } else { "" }, Esc(l));
        }
        if logs.len() > 20 {
            let _ = write!(s, " and {} more", logs.len() - 20);
        }
        s.push_str("</dd>\n");
    }
    match o.summary {
        Some(sum) => {
            if let Some(req) = sum.requests {
                let _ = write!(s, "<dt>Requests</dt><dd>{}", thousands(req));
                if let Some(rec) = sum.records.filter(|&r| r != req) {
                    let _ = write!(s, " in {} records", thousands(rec));
                }
                s.push_str(" (after path-normalize's status and method filters)</dd>\n");
            }
        }
        None => {
            let req: u64 = findings.iter().map(|f| f.count).sum();
            let _ = writeln!(
                s,
                "<dt>Requests</dt><dd>{} in the findings (no --summary: the run's total is not known)</dd>",
                thousands(req)
            );
        }
    }
    if let (Some(a), Some(b)) = (first, last) {
        let _ = writeln!(
            s,
            "<dt>Time span</dt><dd>{} – {} UTC ({})</dd>",
            fmt_time(a),
            fmt_time(b),
            fmt_duration(b.0 - a.0)
        );
    }
    if let Some(l) = ctx.learn_until {
        let _ = writeln!(s, "<dt>Baseline</dt><dd>learned until {} UTC</dd>", fmt_time(l));
    }
    let keys = o.summary.and_then(|s| s.keys.as_ref());
    let count = |k: &str, fallback: usize| keys.and_then(|m| m.get(k).copied()).unwrap_or(fallback as u64);
    let alerts = ranked.new.iter().filter(|f| f.score >= o.alert).count();
    let _ = writeln!(
        s,
        "<dt>Keys</dt><dd>{} learned · <strong>{} new</strong> ({} at score ≥ {}) · {} known from earlier runs{}</dd>",
        thousands(count("learned", ranked.learned)),
        thousands(count("new", ranked.new.len())),
        thousands(o.summary.and_then(|s| s.new_at_alert).unwrap_or(alerts as u64)),
        o.alert,
        thousands(count("known", ranked.known)),
        if keys.is_some() { "" } else { " (counted in the findings)" }
    );
    s.push_str("</dl>\n");

    // The whole run: the site's traffic, the end of the baseline, a tick per new path's first request.
    if let Some((from, to)) = ctx.span {
        let ticks: Vec<Tick> = ranked
            .new
            .iter()
            .map(|f| Tick {
                hour: hour_of(f.first_seen),
                alert: f.score >= ctx.alert,
                title: format!(
                    "{} · score {} · {} · first request {} UTC",
                    shown_path(f),
                    f.score,
                    f.host.as_deref().unwrap_or("-"),
                    fmt_time(f.first_seen)
                ),
            })
            .collect();
        let label = "Requests per hour to every host, with the end of the baseline and a tick at each new path's first request";
        let chart = Chart {
            from,
            to,
            bars: &[],
            area: Some(&ctx.traffic.total),
            marker: ctx.learn_until.map(|t| (t.0 as f64 / 3_600_000.0, "baseline ends")),
            ticks: &ticks,
            width: 1000,
            height: 130,
            label,
        };
        let bin = svg::bin_hours(to - from, chart.width);
        let _ = writeln!(
            s,
            "<figure>{}<figcaption>Requests {} to every host (grey{}; peak at the right), the end of the baseline (blue), and a tick at each new path's first request (red: score ≥ {}; hover for the path).</figcaption></figure>",
            svg::render(&chart),
            if bin == 1 { "per hour".to_string() } else { format!("per {bin} hours") },
            if ctx.traffic.from_summary {
                ""
            } else {
                ": only the findings' own requests, no --summary given"
            },
            ctx.alert
        );
    }

    // Top hosts.
    #[derive(Default)]
    struct H {
        requests: u64,
        keys: Option<u64>,
        new: u64,
        alert: u64,
    }
    let mut hosts: BTreeMap<&str, H> = BTreeMap::new();
    if let Some(sum) = o.summary {
        for h in &sum.hosts {
            let e = hosts.entry(&h.host).or_default();
            e.requests += h.requests;
            e.keys = Some(e.keys.unwrap_or(0) + h.keys.unwrap_or(0));
        }
    } else {
        for f in findings {
            hosts.entry(f.host.as_deref().unwrap_or("")).or_default().requests += f.count;
        }
    }
    for f in &ranked.new {
        let e = hosts.entry(f.host.as_deref().unwrap_or("")).or_default();
        e.new += 1;
        e.alert += u64::from(f.score >= ctx.alert);
    }
    let mut hosts: Vec<(&str, H)> = hosts.into_iter().collect();
    hosts.sort_by(|a, b| b.1.alert.cmp(&a.1.alert).then(b.1.requests.cmp(&a.1.requests)).then(a.0.cmp(b.0)));
    if !hosts.is_empty() {
        let _ = writeln!(
            s,
            "<h3>Top hosts</h3><table class=\"hosts\"><thead><tr><th>host</th><th class=\"n\">requests{}</th><th class=\"n\">keys</th><th class=\"n\">new paths</th><th class=\"n\">score ≥ {}</th></tr></thead><tbody>",
            if o.summary.is_some() { "" } else { " in findings" },
            ctx.alert
        );
        for (h, v) in hosts.iter().take(10) {
            let _ = writeln!(
                s,
                "<tr><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                if h.is_empty() { "(not logged)".to_string() } else { escape(h) },
                thousands(v.requests),
                v.keys.map_or("–".to_string(), thousands),
                thousands(v.new),
                thousands(v.alert)
            );
        }
        s.push_str("</tbody></table>\n");
        if hosts.len() > 10 {
            let _ = writeln!(s, "<p class=\"note\">and {} more hosts</p>", hosts.len() - 10);
        }
    }
    s.push_str("</section>\n");
}

/// The ranked rows, each a `<details>` whose summary is the row and whose body is the evidence.
fn rows(s: &mut String, list: &[&Finding], id: &str, ctx: &Ctx, open_alerts: bool) {
    if list.is_empty() {
        s.push_str("<p>(none)</p>\n");
        return;
    }
    s.push_str(
        "<div class=\"row head\"><span class=\"n\">#</span><span class=\"score\">score</span><span>path</span><span>host</span><span class=\"n\">requests</span><span class=\"n\">clients</span><span>first request</span></div>\n",
    );
    for (i, f) in list.iter().enumerate().take(MAX_ROWS) {
        let open = open_alerts && f.score >= ctx.alert && i < MAX_OPEN;
        let class = if f.score >= ctx.alert {
            "score alert"
        } else if f.score >= ctx.alert / 2 {
            "score mid"
        } else {
            "score"
        };
        let _ = write!(
            s,
            r#"<details class="finding" id="{id}{}" data-score="{}"{}><summary class="row"><span class="n">{}</span><span class="{class}">{}</span><span class="path">{}{}</span><span class="host">{}</span><span class="n">{}</span><span class="n">{}{}</span><span class="mono">{}</span></summary>"#,
            i + 1,
            f.score,
            if open { " open" } else { "" },
            i + 1,
            f.score,
            Esc(shown_path(f)),
            Esc(super::review_mark(f)),
            Esc(f.host.as_deref().unwrap_or("-")),
            thousands(f.count),
            thousands(f.distinct_clients),
            if f.distinct_clients_capped { "+" } else { "" },
            fmt_time(f.first_seen).get(..16).unwrap_or_default(),
        );
        if i < MAX_EVIDENCE {
            card(s, f, ctx);
        } else {
            let _ = write!(
                s,
                "<div class=\"body\"><p class=\"note\">The report shows the evidence of the first {} rows of a section only; this finding's is in the JSON (findings-report's input).</p></div>",
                thousands(MAX_EVIDENCE as u64)
            );
        }
        s.push_str("</details>\n");
    }
    if list.len() > MAX_ROWS {
        let _ = writeln!(
            s,
            "<p class=\"note\">… and {} more, scoring {} or less: the report lists the first {} rows of a section; the JSON has them all.</p>",
            thousands((list.len() - MAX_ROWS) as u64),
            list[MAX_ROWS].score,
            thousands(MAX_ROWS as u64)
        );
    }
}

fn samples_table(s: &mut String, title: &str, list: &[Sample], baseline_col: bool, more: Option<u64>) {
    if list.is_empty() {
        return;
    }
    let _ = write!(s, "<div><h3>{title}</h3><table><thead><tr><th>value</th><th class=\"n\">requests</th>");
    if baseline_col {
        s.push_str("<th>in baseline</th>");
    }
    s.push_str("</tr></thead><tbody>");
    for x in list {
        let _ = write!(s, "<tr><td>{}</td><td class=\"n\">{}</td>", Value(&x.value), thousands(x.count));
        if baseline_col {
            s.push_str(match x.baseline {
                Some(true) => "<td class=\"seen\">seen</td>",
                Some(false) => "<td class=\"unseen\">never</td>",
                None => "<td>–</td>",
            });
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    if let Some(n) = more.filter(|&n| n > list.len() as u64) {
        let _ = write!(s, "<p class=\"note\">a sample: {} distinct in all</p>", thousands(n));
    }
    s.push_str("</div>");
}

/// The evidence for one finding.
fn card(s: &mut String, f: &Finding, ctx: &Ctx) {
    s.push_str("<div class=\"body\">");
    // Why: the reasons, heaviest first (as baseline-diff wrote them).
    let _ = write!(s, "<h3>Score {} — why</h3><table class=\"reasons\"><tbody>", f.score);
    for r in &f.reasons {
        let _ = write!(
            s,
            "<tr><td class=\"w{}\">{:+}</td><td>{}</td><td class=\"note mono\">{}</td></tr>",
            if r.weight < 0 { " neg" } else { "" },
            r.weight,
            Esc(&r.text),
            Esc(&r.code)
        );
    }
    s.push_str("</tbody></table>");

    timeline(s, f, ctx);

    // Facts.
    s.push_str("<dl class=\"facts\">");
    let _ = write!(
        s,
        "<dt>Host</dt><dd class=\"mono\">{}</dd><dt>Path</dt><dd>{}</dd>",
        Esc(f.host.as_deref().unwrap_or("(not logged)")),
        Value(shown_path(f))
    );
    if f.template != shown_path(f) || f.distinct_paths > 1 {
        let _ = write!(
            s,
            "<dt>Template</dt><dd>{} ({})</dd>",
            Value(&f.template),
            plural(f.distinct_paths, "concrete path", "concrete paths")
        );
    }
    let _ = write!(
        s,
        "<dt>Requests</dt><dd>{} from {}{}</dd><dt>First · last</dt><dd>{} · {} UTC ({} apart)</dd>",
        thousands(f.count),
        plural(f.distinct_clients, "client", "clients"),
        if f.distinct_clients_capped { " or more" } else { "" },
        fmt_time(f.first_seen),
        fmt_time(f.last_seen),
        fmt_duration(f.last_seen.0 - f.first_seen.0)
    );
    let mut methods: Vec<(&String, &u64)> = f.methods.iter().collect();
    methods.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    s.push_str("<dt>Methods</dt><dd>");
    for (m, n) in methods {
        let _ = write!(s, "<span class=\"chip\">{} {}</span>", Esc(m), thousands(*n));
    }
    s.push_str("</dd><dt>Statuses</dt><dd>");
    for (c, n) in &f.statuses {
        let _ = write!(s, "<span class=\"chip\">{} × {}</span>", Esc(c), thousands(*n));
    }
    s.push_str("</dd>");
    if !f.anomalies.is_empty() {
        s.push_str("<dt>Anomalies</dt><dd>");
        for a in &f.anomalies {
            let _ = write!(s, "<span class=\"chip\">{}</span>", Esc(a));
        }
        s.push_str("</dd>");
    }
    if !f.params.is_empty() {
        s.push_str("<dt>Query parameters</dt><dd>");
        for p in &f.params {
            let _ = write!(s, "<span class=\"chip mono\">{}</span>", Esc(p));
        }
        s.push_str("</dd>");
    }
    if let Some(src) = &f.first_source {
        let _ = write!(s, "<dt>First logged at</dt><dd>{}</dd>", Value(src));
    }
    if let Some(file) = &f.file {
        file_facts(s, file);
    }
    s.push_str("</dl><div class=\"cols\">");
    samples_table(s, "Clients", &f.clients, true, Some(f.distinct_clients));
    samples_table(s, "User agents", &f.user_agents, true, None);
    if f.distinct_paths > 1 || f.paths.len() > 1 {
        samples_table(s, "Concrete paths", &f.paths, false, Some(f.distinct_paths));
    }
    samples_table(s, "Logged spellings (differing from the path)", &f.raw_paths, false, None);
    samples_table(s, "Query strings (sample)", &f.queries, false, None);
    s.push_str("</div></div>");
}

/// What the web-root inventory says of the finding's file (`baseline-diff --inventory`).
fn file_facts(s: &mut String, f: &crate::record::FileFacts) {
    if !f.exists {
        s.push_str("<dt>File</dt><dd>no file of the inventory serves this path</dd>");
        return;
    }
    let _ = write!(s, "<dt>File</dt><dd>{}", Value(f.path.as_deref().unwrap_or("?")));
    if let Some(k) = &f.kind {
        let _ = write!(s, " <span class=\"chip\">{}</span>", Esc(k));
    }
    if let Some(c) = &f.change {
        let _ = write!(s, " <span class=\"chip\">{}</span>", Esc(&c.replace('_', " ")));
    }
    s.push_str("</dd>");
    if let Some(n) = f.size {
        let _ = write!(s, "<dt>Size</dt><dd>{} bytes</dd>", thousands(n));
    }
    for (name, t) in [("Modified (mtime)", f.mtime), ("Changed (ctime)", f.ctime)] {
        if let Some(t) = t {
            let _ = write!(s, "<dt>{name}</dt><dd>{} UTC</dd>", fmt_time(t));
        }
    }
    if let Some(h) = &f.sha256 {
        let _ = write!(s, "<dt>SHA-256</dt><dd>{}</dd>", Value(h));
    }
    if let Some(h) = &f.previous_sha256 {
        let _ = write!(s, "<dt>SHA-256 before</dt><dd>{}</dd>", Value(h));
    }
}

/// The finding's requests per hour against its host's traffic, over the days around its activity.
fn timeline(s: &mut String, f: &Finding, ctx: &Ctx) {
    let (first, last) = (hour_of(f.first_seen), hour_of(f.last_seen));
    let mut from = (first.div_euclid(24) - 1) * 24;
    let mut to = (last.div_euclid(24) + 2) * 24;
    if let Some((a, b)) = ctx.span {
        from = from.max(a.div_euclid(24) * 24).min(first);
        to = to.min((b + 23).div_euclid(24) * 24).max(last + 1);
    }
    let bars = match &f.hourly {
        Some(h) => parse_hourly(h, &|| finding_name(f)).unwrap_or_default(),
        None => Vec::new(),
    };
    let site = ctx.traffic.host(f.host.as_deref());
    let label = format!("Requests per hour to {} against all requests to its host", shown_path(f));
    let chart = Chart {
        from,
        to,
        bars: &bars,
        area: Some(site),
        marker: ctx.learn_until.map(|t| (t.0 as f64 / 3_600_000.0, "baseline ends")),
        ticks: &[],
        width: 760,
        height: 110,
        label: &label,
    };
    let bin = svg::bin_hours(to - from, chart.width);
    let per = if bin == 1 { "per hour".to_string() } else { format!("per {bin} hours") };
    let _ = write!(
        s,
        "<figure>{}<figcaption>Requests {per}, UTC: this path (red bars, left scale){}; all requests to {} (grey, right scale{}).</figcaption></figure>",
        svg::render(&chart),
        if f.hourly.is_none() { ": no hourly counts kept (active in too many distinct hours)" } else { "" },
        if ctx.traffic.hosts.contains_key(f.host.as_deref().unwrap_or("")) {
            "its host"
        } else {
            "every host"
        },
        if ctx.traffic.from_summary { "" } else { "; only the findings' own requests, no --summary given" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_hidden_characters() {
        assert_eq!(escape("plain /a/b.php?x=1"), "plain /a/b.php?x=1");
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(escape("\"><img src=x onerror=alert(1)>"), "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
        assert_eq!(escape("a\x1b[2Jb\u{9b}c\0"), "a\\x1b[2Jb\\x9bc\\x00");
        // Trojan-source style reordering and invisible characters are shown, not obeyed.
        assert_eq!(escape("shell\u{202e}gpj.php\u{200b}"), "shell\\u{202e}gpj.php\\u{200b}");
        // Other non-ASCII text is kept as it is.
        assert_eq!(escape("/données/пример.php"), "/données/пример.php");
        assert_eq!(Esc("&amp;").to_string(), "&amp;amp;");
    }

    #[test]
    fn escaped_text_holds_no_markup_whatever_the_input() {
        // Every byte value, and a few multi-byte characters, never leave a raw < > " ' or & that is
        // not the start of one of the five entities.
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let e = escape(&all);
        assert!(!e.contains(['<', '>', '"', '\'']), "raw markup character left");
        for (i, _) in e.match_indices('&') {
            let rest = &e[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].iter().any(|ent| rest.starts_with(ent)),
                "bare & at {i}"
            );
        }
    }

    #[test]
    fn long_values_are_cut_and_say_so() {
        let v = "A".repeat(MAX_VALUE + 1234);
        let html = Value(&v).to_string();
        assert!(html.contains(&"A".repeat(MAX_VALUE)) && !html.contains(&"A".repeat(MAX_VALUE + 1)));
        assert!(html.contains("1,234 more characters"), "{html}");
    }

    #[test]
    fn csp_names_the_script_by_its_hash() {
        let page = render(&[], &HtmlOptions { title: "t", summary: None, logs: &[], alert: 50 }).unwrap();
        let hash = script_hash();
        assert!(page.contains(&format!("script-src {hash};")), "{page}");
        assert!(page.contains(&format!("<script>{SCRIPT}</script>")));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(
            !SCRIPT.contains("innerHTML")
                && !SCRIPT.contains("outerHTML")
                && !SCRIPT.contains("insertAdjacent")
        );
    }

    const HOSTILE: &str =
        r#"<script>document.title='pwned'</script>"><img src=x onerror=alert(1)><i id=injected>'"#;

    fn hostile_finding() -> Finding {
        let h = HOSTILE;
        serde_json::from_value(serde_json::json!({
            "host": h, "template": format!("/up/{h}.php"), "verdict": "new", "score": 90,
            "reasons": [{"weight": 10, "code": h, "text": format!("user agent never seen: {h}")}],
            "paths": [{"value": format!("/up/{h}.php"), "count": 2}], "distinct_paths": 1,
            "raw_paths": [{"value": format!("/up/./{h}.php"), "count": 1}], "anomalies": [h],
            "first_seen": "2026-10-20T11:00:00Z", "last_seen": "2026-10-20T12:00:00Z", "count": 2,
            "methods": {h: 2}, "statuses": {h: 2}, "distinct_clients": 1,
            "clients": [{"value": h, "count": 2, "baseline": false}],
            "user_agents": [{"value": h, "count": 2, "baseline": false}],
            "queries": [{"value": format!("a={h}"), "count": 2}], "params": [h], "first_source": h,
            "hourly": {"2026-10-20T11:00:00Z": 1, "2026-10-20T12:00:00Z": 1}
        }))
        .unwrap()
    }

    #[test]
    fn a_hostile_finding_is_only_text() {
        let page = render(
            &[hostile_finding()],
            &HtmlOptions { title: HOSTILE, summary: None, logs: &[HOSTILE.to_string()], alert: 50 },
        )
        .unwrap();
        assert_eq!(page.matches("<script").count(), 1, "only the report's own script");
        for bad in ["<img", "<i id", "<i>", "'pwned'"] {
            assert!(!page.contains(bad), "{bad} in the page");
        }
        let escaped = escape(HOSTILE);
        // Every place a logged string lands: title, host, paths, spellings, reasons, methods, statuses,
        // anomalies, clients, user agents, queries, parameters, first line, tooltips.
        assert!(page.matches(escaped.as_str()).count() >= 18, "{}", page.matches(escaped.as_str()).count());
    }

    #[test]
    fn long_sections_keep_their_size_bounded_and_say_so() {
        let many: Vec<Finding> = (0..MAX_ROWS + 7)
            .map(|i| {
                let mut f = hostile_finding();
                f.template = format!("/p/{i:05}.php");
                f.paths[0].value = f.template.clone();
                f.score = if i < 3 { 90 } else { 10 };
                f
            })
            .collect();
        let page = render(&many, &HtmlOptions { title: "t", summary: None, logs: &[], alert: 50 }).unwrap();
        assert_eq!(page.matches("<details class=\"finding\"").count(), MAX_ROWS);
        assert_eq!(page.matches("<svg class=\"chart\"").count(), MAX_EVIDENCE + 1, "cards and the overview");
        assert!(page.contains("… and 7 more, scoring 10 or less"), "the cut is said");
        assert!(page.contains("this finding's is in the JSON"));
        assert_eq!(page.matches(" open>").count(), 3, "alerts open");
    }

    #[test]
    fn bad_hourly_keys_are_an_error() {
        let mut f = hostile_finding();
        f.hourly = Some([("yesterday".to_string(), 1)].into_iter().collect());
        let err = render(&[f], &HtmlOptions { title: "t", summary: None, logs: &[], alert: 50 }).unwrap_err();
        assert!(err.to_string().contains("hourly key \"yesterday\""), "{err}");
    }
}
