//! `findings-report`: findings in, something an analyst would rather look at than read.
//!
//! [`rank`] puts the findings in the order both views show them; `table.rs` is the ranked terminal table
//! (what `webshell-hunt` prints on a tty) and `html.rs` the self-contained HTML review report
//! (`--html FILE`), with `svg.rs` drawing its timelines.

pub mod html;
pub mod svg;
pub mod table;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use serde::Deserialize;

use crate::input;
use crate::record::{Finding, Verdict};
use crate::time::Timestamp;

/// The tool's name, in messages.
pub const NAME: &str = "findings-report";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
log-export access.log | path-normalize | baseline-diff --state s --learn-for 14d | findings-report
findings-report --limit 200 findings.jsonl | less -R
# The HTML review report, with the site's traffic from baseline-diff's summary:
baseline-diff --state s --summary run.json < events.jsonl > findings.jsonl
findings-report --html review.html --summary run.json --title \"Breach 2026-10\" findings.jsonl
scripts/webshell-hunt --html review.html access.log*";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "TABLE",
        "\
New findings first, highest score first, each followed by its three heaviest reasons; then the baseline
audit: learned findings at or above the alert threshold (50). The path shown is the concrete path when
the key had one, else its template. Control characters from the logs are shown as ?, so a logged string
cannot drive the terminal.",
    ),
    (
        "HTML REPORT",
        "\
With --html FILE the same ranking is written as one self-contained HTML file for review in any browser,
offline: inline CSS, inline SVG charts, one small inline script (filtering, expand/collapse), no fetch of
anything. Nothing goes to stdout; one line on stderr says what was written.

On top, a summary: the logs covered (--log), requests, time span, end of the baseline, keys learned,
new and known, the top hosts, and the site's traffic per hour over the whole run with a tick for each new
path's first request. Then every new finding, ranked as in the table: path, host, score and its reasons,
a timeline of the path's requests per hour (red bars) against all requests to its host (grey area, its own
scale), methods, statuses, clients and user agents each marked as seen in the baseline or not, the logged
spellings and anomalies, sample query strings, the first log line. Findings at or above the alert
threshold are expanded (the first 25). Last, the baseline audit: learned findings at or above the
threshold. So that the file stays a few megabytes and opens in about a second however many paths are
new, a section shows the evidence of its first 500 rows and lists at most 5,000 rows, and says so;
the JSON has everything.

The site's traffic comes from baseline-diff --summary FILE (pass the same FILE to --summary). Without
it the report uses the sum of the findings' own hourly counts, and says so on the charts.

Safety: every string from a log is HTML-escaped (& < > \" ') in text and attributes; control characters
and Unicode characters that reorder or hide text (bidi overrides, zero-width) are shown as \\xNN and
\\u{NNNN}. A Content-Security-Policy meta tag forbids every load and every script but the report's own
(by hash), so even injected markup could neither run nor fetch. Paths are not links: following one
would request the attacker's file.",
    ),
];

/// Show findings as a ranked table, or write an HTML review report.
///
/// Reads findings (baseline-diff's output) and prints the new ones ranked by score with their reasons,
/// then the learned ones that score at or above the alert threshold (the baseline audit). With --html,
/// writes the same ranking as one self-contained HTML file instead.
#[derive(Parser, Debug)]
#[command(name = "findings-report", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// Findings files (`-` is stdin, the default).
    #[arg(value_name = "FILE", default_value = "-")]
    pub inputs: Vec<String>,

    /// At most this many new findings in the table (the HTML report lists them all).
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    /// Table width (default: $COLUMNS, else 120).
    #[arg(long, value_name = "N")]
    pub width: Option<usize>,

    /// Colours: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,

    /// Write the HTML review report to FILE (replaced atomically) instead of printing the table.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,

    /// The report's title.
    #[arg(long, value_name = "TEXT", default_value = "Web-shell review", requires = "html")]
    pub title: String,

    /// baseline-diff's --summary JSON of the same run: counts, time span and the site's traffic per hour.
    #[arg(long, value_name = "FILE", requires = "html")]
    pub summary: Option<PathBuf>,

    /// A log the findings came from, named in the report's summary (repeatable).
    #[arg(long = "log", value_name = "NAME", requires = "html")]
    pub logs: Vec<String>,
}

/// Reads every finding of the inputs.
pub fn read_findings(inputs: &[String]) -> Result<Vec<Finding>> {
    let mut all = Vec::new();
    for name in inputs {
        crate::record::for_each_record(input::open(name)?, |f: Finding, _| {
            all.push(f);
            Ok(())
        })?;
    }
    Ok(all)
}

/// The findings in the order both the table and the HTML report show them.
#[derive(Debug)]
pub struct Ranked<'a> {
    /// Findings to review (new, dormant, known with a changed file), highest score first (then host, then
    /// template).
    pub new: Vec<&'a Finding>,
    /// Learned findings at or above the alert threshold, highest score first: the baseline audit.
    pub audit: Vec<&'a Finding>,
    /// How many findings were learned (all scores).
    pub learned: usize,
    /// How many were known from an earlier run.
    pub known: usize,
}

/// Ranks findings: new ones by score, and the learned ones at or above `alert` for the baseline audit.
pub fn rank(findings: &[Finding], alert: u8) -> Ranked<'_> {
    // To review: new paths, dormant scripts (never requested), and known paths whose file changed.
    let review = |f: &Finding| {
        matches!(f.verdict, Verdict::New | Verdict::Dormant)
            || f.verdict == Verdict::Known && f.file_changed()
    };
    let mut new: Vec<&Finding> = findings.iter().filter(|f| review(f)).collect();
    new.sort_by(|a, b| {
        b.score.cmp(&a.score).then_with(|| a.host.cmp(&b.host)).then_with(|| a.template.cmp(&b.template))
    });
    let mut audit: Vec<&Finding> =
        findings.iter().filter(|f| f.verdict == Verdict::Learned && f.score >= alert).collect();
    audit.sort_by(|a, b| {
        b.score.cmp(&a.score).then_with(|| a.host.cmp(&b.host)).then_with(|| a.template.cmp(&b.template))
    });
    Ranked {
        new,
        audit,
        learned: findings.iter().filter(|f| f.verdict == Verdict::Learned).count(),
        known: findings.iter().filter(|f| f.verdict == Verdict::Known).count(),
    }
}

/// The review section's title: new paths, and with `--inventory` dormant scripts and changed files,
/// counted apart (`New paths: 3, dormant scripts: 1`).
pub fn review_title(review: &[&Finding]) -> String {
    let dormant = review.iter().filter(|f| f.verdict == Verdict::Dormant).count();
    let changed = review.iter().filter(|f| !matches!(f.verdict, Verdict::New | Verdict::Dormant)).count();
    let mut t = format!("New paths: {}", crate::cli::thousands((review.len() - dormant - changed) as u64));
    if dormant > 0 {
        t += &format!(", dormant scripts: {}", crate::cli::thousands(dormant as u64));
    }
    if changed > 0 {
        t += &format!(", changed scripts of learned paths: {}", crate::cli::thousands(changed as u64));
    }
    t
}

/// A mark after a finding's path when it is not a plain new path.
pub fn review_mark(f: &Finding) -> &'static str {
    match f.verdict {
        Verdict::Dormant => " (dormant: never requested)",
        Verdict::New => "",
        _ if f.file_changed() => " (its file changed)",
        _ => "",
    }
}

/// `baseline-diff --summary FILE`: what the report uses of it. Every field is optional, so a summary
/// from an older or newer version still reads.
#[derive(Deserialize, Debug, Default, Clone)]
pub struct RunSummary {
    /// Records read.
    #[serde(default)]
    pub records: Option<u64>,
    /// Requests they stand for.
    #[serde(default)]
    pub requests: Option<u64>,
    /// The earliest request.
    #[serde(default)]
    pub first_event: Option<Timestamp>,
    /// The latest request.
    #[serde(default)]
    pub last_event: Option<Timestamp>,
    /// The end of the learning window.
    #[serde(default)]
    pub learn_until: Option<Timestamp>,
    /// Keys per verdict.
    #[serde(default)]
    pub keys: Option<BTreeMap<String, u64>>,
    /// New keys at or above the alert threshold.
    #[serde(default)]
    pub new_at_alert: Option<u64>,
    /// The alert threshold baseline-diff used.
    #[serde(default)]
    pub alert_threshold: Option<u8>,
    /// Per host, busiest first.
    #[serde(default)]
    pub hosts: Vec<HostSummary>,
}

/// One host of a [`RunSummary`].
#[derive(Deserialize, Debug, Default, Clone)]
pub struct HostSummary {
    /// The host ("" when the logs name none).
    pub host: String,
    /// Requests to it.
    #[serde(default)]
    pub requests: u64,
    /// Its keys.
    #[serde(default)]
    pub keys: Option<u64>,
    /// Requests per hour (hour start, RFC 3339 → count).
    #[serde(default)]
    pub hourly: BTreeMap<String, u64>,
}

/// Reads a `baseline-diff --summary` file.
pub fn read_summary(path: &Path) -> Result<RunSummary> {
    let text = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("{}: not a baseline-diff --summary file", path.display()))
}

/// Writes `data` to `path` through a temporary file in the same folder and a rename, so a reader never
/// sees half a report.
fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let res = std::fs::write(&tmp, data).and_then(|()| std::fs::rename(&tmp, path));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res.with_context(|| format!("{}: cannot write", path.display()))
}

/// Runs `findings-report`.
pub fn run(args: Args) -> Result<ExitCode> {
    let findings = read_findings(&args.inputs)?;
    if let Some(path) = &args.html {
        let summary = args.summary.as_deref().map(read_summary).transpose()?;
        let alert = summary.as_ref().and_then(|s| s.alert_threshold).unwrap_or(crate::diff::score::ALERT);
        let opts =
            html::HtmlOptions { title: &args.title, summary: summary.as_ref(), logs: &args.logs, alert };
        let page = html::render(&findings, &opts)?;
        write_atomic(path, page.as_bytes())?;
        let ranked = rank(&findings, alert);
        crate::cli::warn(
            NAME,
            format_args!(
                "wrote {} ({} new, {} in the baseline audit, {} KB)",
                path.display(),
                ranked.new.len(),
                ranked.audit.len(),
                page.len().div_ceil(1024)
            ),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let tty = std::io::stdout().is_terminal();
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let width = args.width.or_else(|| std::env::var("COLUMNS").ok()?.parse().ok()).unwrap_or(120);
    let text = table::render(
        &findings,
        &table::TableOptions { width, limit: args.limit, color, alert: crate::diff::score::ALERT },
    );
    let mut out = crate::cli::Output::stdout(false);
    out.write_line(text.as_bytes())?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}
