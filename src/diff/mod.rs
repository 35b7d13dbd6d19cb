//! `baseline-diff`: normalized records in, one finding per (host, template) key out.
//!
//! `aggregate.rs` summarises the records per key, `state.rs` is the baseline file, `fold.rs` the learned
//! templating, `score.rs` the scoring, `sample.rs` the bounded samples. This file decides the verdicts
//! and assembles the findings:
//!
//! - the learning window is in event time: `--learn-until` an instant, or `--learn-for` a duration from
//!   the earliest request the state has ever seen; it is written into the state when the state is
//!   created and used by every later run;
//! - a key already in the state is `known`; otherwise its earliest request decides: inside the window
//!   `learned`, after it `new`, whatever order the lines came in;
//! - keys fold into learned families first (see `fold.rs`), so a new blog post is not a new path;
//! - with `--inventory`, findings carry the file that serves them and dormant scripts become findings
//!   (see `inventory.rs`).

pub mod aggregate;
pub mod fold;
pub mod inventory;
pub mod keys;
pub mod replay;
pub mod sample;
pub mod score;
pub mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::cli::{self, Output};
use crate::input;
use crate::record::{Finding, Sample, Verdict};
use crate::time::{self, Timestamp};
use aggregate::{Aggregate, KeyStats};
use fold::{FoldConfig, Rules};
use state::{Lock, State, StateKey, Stored};

/// The tool's name, in messages.
pub const NAME: &str = "baseline-diff";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
# Replay: learn the first two weeks, report what is new after them, highest score first.
log-export access.log* | path-normalize | baseline-diff --state site.state --learn-for 14d
# Cron: findings for this window; commit the state only when the whole pipeline succeeded.
... | baseline-diff --state site.state --state-out site.state.next > findings.jsonl && mv site.state.next site.state
# Only what deserves a look:
... | baseline-diff --state site.state --min-score 50 --exit-code || echo 'new paths found'
# Accept reviewed findings into the baseline:
jq -c 'select(.template == \"/app/report.php\")' findings.jsonl | baseline-diff --state site.state --accept";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "VERDICTS",
        "\
Keys are (host, template). The learning window is in event time (the logs' timestamps, never the clock),
so replaying last year's logs gives the answer a live run would have given then.
  learned   first requested inside the learning window: the baseline
  new       first requested after it: to review
  known     already in the state from an earlier run (printed only with --all)
A key's first sighting is its earliest request, in whatever order lines arrive, across runs.
--learn-until takes an RFC 3339 instant; --learn-for a duration (14d, 36h, 2w, 1d12h) counted from
the earliest request the state has ever seen. The window is written into the state when the state is
created; later runs use it and refuse a different one.",
    ),
    (
        "LEARNED TEMPLATES",
        "\
A folder whose baseline holds at least --fold-min distinct names of one kind (extension; a directory
URL; no extension) becomes one template, such as /blog/{int}/{int}/{name}/ or /images/{name}.png, and
new names of that kind there are no longer new. Names of a server-side script kind fold only when the
baseline itself held at least --fold-min-script distinct scripts of that extension in the folder. When
three or more sibling folders together hold 2 x --fold-min names of one non-script kind, the folder
level folds too (/docs/{dir}/{name}.html). New non-script names of one kind in one folder, --fold-min or
more, are reported as one finding; new scripts never are.",
    ),
    (
        "SCORING",
        "\
Every finding is scored 0-100: the sum of the weights of its reasons, clamped. Each reason carries its
weight, a code and the evidence. The alert threshold is 50; --min-score filters on the score.
  new              +10  first requested after the learning window
  script_ext       +30  script name this server runs (.php; .aspx on IIS; .py only under cgi-bin ...)
  served_as_file     0  script-language name the server serves as a file (instead of script_ext and
                        the folder signals; --exec-ext says what runs)
  double_ext       +40  script extension hidden before another (x.php.jpg)
  hidden_name      +15  script with a hidden (dot) name (/images/.cache.php)
  static_dir       +20  script under an upload or static folder (/uploads/ /images/ /aspnet_client/)
  static_only_dir  +20  script in a folder that served only non-script files in the baseline
  new_dir          +10  script in a folder the baseline never saw
  script_dir       -15  script in a folder (or sibling folders) that already served scripts
  mostly_post      +20  at least half of the requests are POST (some_post +5 below that)
  few_clients      +10  at most 2 clients made 3 or more requests
  many_clients     -20  20 or more distinct clients
  new_clients      +10  new keys: the clients never visited the site in the baseline
  lone_clients     +10  new keys, 3+ requests: its clients asked the site for nothing else
  new_user_agent   +10  new keys: user agents the baseline never saw
  tool_user_agent   +5  scripting-tool user agent (curl, python-requests, Go, PowerShell ...)
  evasion          +10  evasive spellings (+15 with NUL, ADS, overlong UTF-8, %u, double encoding)
  shell_params     +10  query parameters typical of web shells (cmd, exec, z0 ...)
  success           +5  answered 2xx (error_only +5: only 5xx, a shell can fail loudly)
  redirect_only    -20  answered only 3xx (a probe sent elsewhere)
  static_kind      -20  static file type (.html .png .pdf ...)
  family           -10  a family of similar names ({name})
  varied_sizes     +15  3+ answers (200) of 3+ sizes on one file's name: a program's output
  one_size         -15  3+ answers (200) of one size, GET only, no query, not a script: a file
  command_values   +10  one parameter with 2+ values that read as commands or encoded data
  imitated_name    +10  new script, a near-copy of a learned script name in its folder (wp-1ogin.php
                        beside wp-login.php: one edit, two from 8 letters; not digits or separators)
  burst            +10  new key, 3+ requests of one name within 10 min from at most 2 clients, and
                        none in the 15 min or more that the log went on
  no_site_referer  +10  new key, 3+ requests from at most 2 clients, none from a link on the site,
                        where the host's log carries Referers (5 % of its requests or more)
  crawlers_only    -10  only search-engine crawlers
Learned keys are scored too, without the baseline-relative signals, so the baseline can be audited:
a shell that was already there when learning started scores high among the learned findings.",
    ),
    (
        "INVENTORY",
        "\
--inventory FILE joins the web root's files (webroot-inventory's JSON lines, one per file, named by
the URL path each is served as) with the requests. A finding's paths are looked up (a directory URL
by its index file) and the finding gains \"file\": exists, path, kind, size, mtime, ctime, sha256 and
change: added or changed since the previous inventory kept in the state, or, with none, after_window
when mtime or ctime is after the learning window (ctime is set by the kernel: a backdated shell keeps
its true ctime). Signals:
  new_file       +40  a new path served by a script file added or changed since the baseline
  file_changed   +40  a learned or known path whose script file changed: printed even when known
  old_file       -10  a new path served by a script file older than the window's end
  no_file        -30  a new path that no file serves, under the inventory's roots: routed by the
                      application (-10 for a script name: a shell deleted after use serves nothing)
Script files added or changed since the baseline that no request of this run or an earlier one
reached become findings of their own, verdict dormant, count 0, first_seen the file's time:
  dormant        +30  plus the name signals a request would get (script_ext, static_dir,
                      hidden_name, double_ext, new_dir ...), and imitated_name against the
                      learned scripts and the unchanged scripts on disk in its folder
  same_batch     -20  written within 60 s of 10 or more other changed files: a deploy or an update
With --commit or --state-out the state keeps the inventory's files, so the next inventory is compared
with this one and a change is reported once.",
    ),
    (
        "STATE FILE",
        "\
JSON lines, readable with jq and editable by hand. Line 1 is the header
({\"webshell_hunt_state\":1,\"learn_until\":...,\"first_event\":...,\"runs\":N}); then one line per host
with the hashes (32-bit, see src/diff/sample.rs, base64) of the clients and user agents its baseline saw; then one line
per key: {\"host\",\"template\",\"verdict\":\"learned|new|accepted\",\"first_seen\",\"last_seen\",\"count\"}.
With --inventory, format 2 adds one line per regular file of the last inventory:
{\"host\",\"url_path\",\"sha256\",\"size\",\"mtime\"}, and the header counts \"inventories\"; a state
without file lines is written as format 1.
A missing file is a new baseline; an empty, corrupt or newer-format file is an error naming the line.
The state is written only with --commit (in place) or --state-out FILE, atomically (temporary file,
fsync, rename), so a caller can commit after the rest of the pipeline succeeded. A second process on the
same state (FILE.lock) is refused at once.",
    ),
    (
        "OUTPUT",
        "\
One finding per key, highest score first:
  {\"host\":\"www.example.org\",\"template\":\"/uploads/{int}/{int}/x.php\",\"verdict\":\"new\",\"score\":100,
   \"reasons\":[{\"weight\":30,\"code\":\"script_ext\",\"text\":\"server-side script name (.php)\"},...],
   \"paths\":[{\"value\":\"/uploads/2026/10/x.php\",\"count\":31}],\"distinct_paths\":1,
   \"raw_paths\":[{\"value\":\"/uploads/2026/10/./x.php\",\"count\":4}],\"anomalies\":[\"dot_segments\"],
   \"first_seen\":\"...\",\"last_seen\":\"...\",\"count\":31,\"methods\":{\"GET\":3,\"POST\":28},
   \"statuses\":{\"200\":31},\"distinct_clients\":1,
   \"clients\":[{\"value\":\"203.0.113.9\",\"count\":31,\"baseline\":false}],
   \"user_agents\":[{\"value\":\"curl/8.5.0\",\"count\":31,\"baseline\":false}],
   \"first_source\":\"access.log:88213\",\"hourly\":{\"2026-10-20T11:00:00Z\":3,...}}
Samples are bounded (8 clients and user agents, 5 paths and queries); distinct_clients is exact up to
1000 (distinct_clients_capped marks a larger count). At the end one line on stderr: records read, keys
learned / new / known.",
    ),
];

/// Learn a site's URL paths and report, ranked and explained, the ones first requested afterwards.
///
/// Reads normalized records (path-normalize's output) and prints one finding per (host, template): keys
/// first requested inside the learning window are learned, keys first requested after it are new, keys
/// already in the state are known (printed with --all). Every finding carries a 0-100 score and the
/// reasons behind it.
#[derive(Parser, Debug)]
#[command(name = "baseline-diff", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// The baseline state file (created when missing).
    #[arg(long, value_name = "FILE")]
    pub state: PathBuf,

    /// End of the learning window (RFC 3339), for a new state.
    #[arg(long, value_name = "TIME", conflicts_with = "learn_for")]
    pub learn_until: Option<String>,

    /// Length of the learning window from the first request ever seen (`14d`, `36h`, `2w`).
    #[arg(long, value_name = "DURATION")]
    pub learn_for: Option<String>,

    /// For a new state without --learn-until/--learn-for: learn the first half of the input's time span,
    /// at most 14 days (said on stderr). Ignored when the state already has a window.
    #[arg(long, conflicts_with_all = ["learn_until", "learn_for"])]
    pub learn_auto: bool,

    /// Write the updated state back to --state.
    #[arg(long, conflicts_with = "state_out")]
    pub commit: bool,

    /// Write the updated state to FILE instead (commit it later by renaming).
    #[arg(long, value_name = "FILE")]
    pub state_out: Option<PathBuf>,

    /// Also print known keys.
    #[arg(long)]
    pub all: bool,

    /// Exit with status 1 when a new finding was printed.
    #[arg(long)]
    pub exit_code: bool,

    /// Print only findings scoring at least N (the alert threshold is 50).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_score: u8,

    /// Accept the keys of the findings (or {"host","template"} objects) read from the input into the
    /// baseline, so they are not reported again; writes the state (to --state-out when given).
    #[arg(long)]
    pub accept: bool,

    /// Distinct names of one kind that make a folder a learned family.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub fold_min: usize,

    /// Distinct script names of one extension that make a folder of scripts a learned family.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub fold_min_script: usize,

    /// The extensions this server runs (e.g. php,py,cgi), instead of what the log's server kind tells:
    /// PHP everywhere, ASP.NET on IIS, Java pages elsewhere, Perl/Python/Ruby/shell only under cgi-bin.
    /// A script name that does not run is scored as the file it is (served_as_file).
    #[arg(long, value_name = "EXT,...", value_delimiter = ',')]
    pub exec_ext: Option<Vec<String>>,

    /// A web-root inventory (webroot-inventory's output; repeatable): findings gain the file that
    /// serves them, script files added or changed since the baseline that no request reached become
    /// dormant findings, and the state keeps the files to compare the next inventory with.
    #[arg(long, value_name = "FILE")]
    pub inventory: Vec<String>,

    /// Write a JSON summary of the run (counts, time span, per-host hourly traffic) to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,

    /// Worker threads (default: the cores available).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// The inputs are access logs, not normalized records: run log-export and path-normalize in this
    /// process (same code, same findings, several times faster than the pipeline). Their options below
    /// apply.
    #[arg(long)]
    pub from_logs: bool,

    /// log-export's options, with --from-logs.
    #[command(flatten, next_help_heading = "Reading logs (with --from-logs)")]
    pub read: crate::export::ReadArgs,

    /// path-normalize's options, with --from-logs.
    #[command(flatten, next_help_heading = "Normalising paths (with --from-logs)")]
    pub norm: crate::normalize::NormArgs,

    /// Input files (`-` is stdin, the default).
    #[arg(value_name = "FILE", default_value = "-")]
    pub inputs: Vec<String>,

    /// Do not print the summary line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Runs `baseline-diff`.
pub fn run(args: Args) -> Result<ExitCode> {
    let _lock = Lock::acquire(&args.state)?;
    let mut st = State::load(&args.state)?;
    if args.accept {
        return accept(&args, st);
    }

    let inv =
        if args.inventory.is_empty() { None } else { Some(inventory::Inventory::load(&args.inventory)?) };
    let agg = if args.from_logs { aggregate_logs(&args)? } else { aggregate_records(&args)? };

    let window_end = learning_window(&args, &mut st, agg.span)?;
    let cfg = FoldConfig { fold_min: args.fold_min.max(2), fold_min_script: args.fold_min_script.max(2) };
    let exec_ext: Option<Vec<String>> = args.exec_ext.as_ref().map(|l| {
        l.iter()
            .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|e| !e.is_empty())
            .collect()
    });
    let out = decide(&mut st, &agg, window_end, cfg, exec_ext.as_deref(), inv.as_ref());
    let inventoried = inv.as_ref().map(|i| i.len() as u64);
    if let Some(inv) = inv {
        inv.record_into(&mut st);
    }

    let mut printed_new = 0u64;
    let mut findings = out.findings;
    // A known key is printed when its file changed since the baseline: code appended to a script.
    findings.retain(|f| {
        f.score >= args.min_score && (args.all || f.verdict != Verdict::Known || f.file_changed())
    });
    let mut w = Output::stdout(false);
    for f in &findings {
        if matches!(f.verdict, Verdict::New | Verdict::Dormant) {
            printed_new += 1;
        }
        w.write_record(f)?;
    }
    w.finish()?;

    if let Some(p) = &args.summary {
        let s = summary_json(&agg, &st, window_end, &out.counts);
        std::fs::write(p, serde_json::to_vec_pretty(&s)?)
            .with_context(|| format!("{}: cannot write summary", p.display()))?;
    }
    if args.commit || args.state_out.is_some() {
        st.header.runs += 1;
        st.save(args.state_out.as_ref().unwrap_or(&args.state))?;
    }
    if !args.quiet {
        let c = &out.counts;
        cli::warn(
            NAME,
            format_args!(
                "{} records ({} requests); keys: {} learned, {} new ({} at score >= {}), {} known{}; learning until {}",
                cli::thousands(agg.records),
                cli::thousands(agg.requests),
                cli::thousands(c.learned),
                cli::thousands(c.new),
                cli::thousands(c.new_alert),
                score::ALERT,
                cli::thousands(c.known),
                inventoried.map_or_else(String::new, |n| format!(
                    "; inventory: {} files, {} dormant scripts",
                    cli::thousands(n),
                    cli::thousands(c.dormant)
                )),
                window_end.map_or_else(|| "(no requests yet)".to_string(), |t| t.to_string()),
            ),
        );
    }
    // Freeing a million small strings one by one takes longer than the rest of a state save; the
    // process is about to exit, so let the kernel take the memory back in one go.
    std::mem::forget(st);
    std::mem::forget(agg);
    if args.exit_code && printed_new > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Aggregates normalized records. Records are aggregated on several cores; aggregates merge exactly
/// (see sample.rs), so the result does not depend on how the input was split.
fn aggregate_records(args: &Args) -> Result<Aggregate> {
    if !args.read.is_default() || !args.norm.is_default() {
        bail!("log-export and path-normalize options apply with --from-logs only");
    }
    let mut agg = Aggregate::default();
    for name in &args.inputs {
        let input = input::open(name)?;
        let name = input.name.clone();
        let states = crate::par::for_each_block(
            &name,
            input.into_reader(),
            args.threads.unwrap_or_else(crate::par::default_threads),
            || (Aggregate::default(), aggregate::RecordReader::default()),
            |(agg, reader), block| agg.add_block(&name, block, reader),
            |()| Ok(()),
        )?;
        for (a, _) in states {
            agg.merge(a);
        }
    }
    Ok(agg)
}

/// `--from-logs`: reads, normalises and aggregates access logs in this process.
fn aggregate_logs(args: &Args) -> Result<Aggregate> {
    let opts = args.read.options(args.threads, false, args.quiet)?;
    let normalizer = replay::Normalizer::new(&args.norm)?;
    let mut totals = crate::export::file::Totals::default();
    let mut stats = crate::normalize::Stats::default();
    let mut agg = Aggregate::default();
    for name in &args.inputs {
        let input = input::open(name)?;
        let workers = crate::export::file::read_file(
            input,
            &opts,
            || replay::Replay::new(&normalizer),
            |_| Ok(()),
            &mut totals,
        )?;
        for w in workers {
            stats.add(&w.stats);
            agg.merge(w.agg);
        }
    }
    if !args.quiet {
        // What log-export and path-normalize would have said.
        if let Some(s) = totals.summary() {
            cli::warn(NAME, s);
        }
        if let Some(s) = stats.summary(&args.norm) {
            cli::warn(NAME, s);
        }
    }
    Ok(agg)
}

/// The longest automatic learning window.
const AUTO_MAX_MS: i64 = 14 * 86_400_000;

/// Resolves the learning window, records it in a new state, refuses a different one for an old state,
/// and extends the state's event span. `None` when no request has ever been seen.
fn learning_window(
    args: &Args,
    st: &mut State,
    span: Option<(Timestamp, Timestamp)>,
) -> Result<Option<Timestamp>> {
    let h = &mut st.header;
    if let Some((a, b)) = span {
        h.first_event = Some(h.first_event.map_or(a, |f| f.min(a)));
        h.last_event = Some(h.last_event.map_or(b, |l| l.max(b)));
    }
    if let Some(u) = &args.learn_until {
        let t =
            Timestamp::parse_rfc3339(u).with_context(|| format!("--learn-until {u:?}: expected RFC 3339"))?;
        match (h.learn_until, &h.learn_for) {
            (Some(old), _) if old != t => bail!("the state learns until {old}; --learn-until {t} differs"),
            (_, Some(f)) => bail!("the state learns for {f}; --learn-until cannot change that"),
            _ => h.learn_until = Some(t),
        }
    }
    if let Some(d) = &args.learn_for {
        time::parse_duration(d)
            .with_context(|| format!("--learn-for {d:?}: expected a duration such as 14d, 36h, 2w"))?;
        match (h.learn_until, &h.learn_for) {
            (Some(u), _) => bail!("the state learns until {u}; --learn-for cannot change that"),
            (_, Some(f)) if f != d => bail!("the state learns for {f}; --learn-for {d} differs"),
            _ => h.learn_for = Some(d.clone()),
        }
    }
    if args.learn_auto
        && h.learn_until.is_none()
        && h.learn_for.is_none()
        && let Some((a, b)) = span
    {
        let half = (b.0 - a.0) / 2;
        let t = Timestamp((a.0 + half.min(AUTO_MAX_MS)).div_euclid(1000) * 1000);
        if !args.quiet {
            cli::warn(
                NAME,
                format_args!(
                    "learning until {t}: the first {} of the logs ({} to {}), at most 14 days (--learn-until to choose)",
                    if half <= AUTO_MAX_MS { "half" } else { "14 days" },
                    a,
                    b
                ),
            );
        }
        h.learn_until = Some(t);
    }
    if let Some(u) = h.learn_until {
        return Ok(Some(u));
    }
    let Some(f) = &h.learn_for else {
        if args.learn_auto {
            // No request yet: nothing to learn from, nothing to decide.
            return Ok(None);
        }
        bail!("no learning window: give --learn-until TIME or --learn-for DURATION (the state remembers it)");
    };
    let ms = time::parse_duration(f).with_context(|| format!("state learn_for {f:?} is not a duration"))?;
    Ok(h.first_event.map(|t| Timestamp(t.0 + ms)))
}

/// Counts for the summary.
#[derive(Debug, Default)]
pub struct Counts {
    learned: u64,
    new: u64,
    new_alert: u64,
    known: u64,
    dormant: u64,
}

struct Decided {
    findings: Vec<Finding>,
    counts: Counts,
}

/// A key's (host, template), ordered with [`crate::bytes::cmp`]: the host is empty for most logs, and
/// comparing empty strings with `cmp` is a slow `memcmp` call (see `crate::bytes`).
#[derive(PartialEq, Eq)]
struct KeyName(String, String);

impl Ord for KeyName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use crate::bytes::cmp;
        cmp(self.0.as_bytes(), other.0.as_bytes()).then_with(|| cmp(self.1.as_bytes(), other.1.as_bytes()))
    }
}

impl PartialOrd for KeyName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A key of the run after folding, with the run keys that fell into it.
struct Resolved {
    stats: KeyStats,
    in_state: bool,
}

/// Folds, decides verdicts, scores, updates the state in memory; returns the findings sorted.
fn decide(
    st: &mut State,
    agg: &Aggregate,
    window_end: Option<Timestamp>,
    cfg: FoldConfig,
    exec_ext: Option<&[String]>,
    inv: Option<&inventory::Inventory>,
) -> Decided {
    let in_window = |t: Timestamp| window_end.is_some_and(|w| t <= w);

    // The baseline: learned and accepted state keys, and this run's keys first seen in the window.
    let mut baseline: Vec<(&str, &str)> = Vec::new();
    for (host, keys) in &st.keys {
        for (t, k) in keys {
            if k.verdict != Stored::New {
                baseline.push((host, t));
            }
        }
    }
    // A script name the server never served in this run (only redirects or errors: a scanner's probes)
    // teaches nothing about its folder: it makes no family and does not count as a script there. (Keys
    // of earlier runs count as they are: the state keeps no statuses.)
    for (host, hd) in &agg.hosts {
        for (t, k) in &hd.keys {
            if in_window(k.first) && st.key(host, t).is_none() && (served(k) || !is_script(t)) {
                baseline.push((host, t));
            }
        }
    }
    // The baseline's script names per (host, folder), for names that imitate them.
    let mut learned_scripts: FxHashMap<(&str, &str), Vec<&str>> = FxHashMap::default();
    for (host, t) in &baseline {
        if let Some(sp) = fold::split(t)
            && !sp.dir
            && fold::kind(&sp).is_script()
            && !fold::is_family(t)
        {
            learned_scripts.entry((host, sp.folder)).or_default().push(sp.name);
        }
    }
    let learned_scripts: FxHashMap<(String, String), Vec<String>> = learned_scripts
        .into_iter()
        .map(|((h, f), mut names)| {
            names.sort_unstable();
            names.dedup();
            ((h.to_string(), f.to_string()), names.into_iter().map(str::to_string).collect())
        })
        .collect();
    let rules = Rules::learn(baseline.into_iter(), cfg);
    // Folders where the baseline shows scripts of an extension running (POSTed to, asked with a query,
    // answering with varied sizes): there that extension runs, whatever the server's kind says.
    let mut ran: BTreeSet<(&str, String)> = BTreeSet::new();
    for (host, hd) in &agg.hosts {
        for (t, k) in &hd.keys {
            if in_window(k.first)
                && runs_here(k)
                && let Some(at) = script_folder(t)
            {
                ran.insert((host, at));
            }
        }
    }

    // Resolve run keys to their final keys.
    let mut resolved: BTreeMap<KeyName, Resolved> = BTreeMap::new();
    let mut pending_new: Vec<(&str, &str, &KeyStats)> = Vec::new();
    let mut hosts: Vec<&Box<str>> = agg.hosts.keys().collect();
    hosts.sort();
    for host in hosts {
        let hd = &agg.hosts[host];
        let mut keys: Vec<(&Box<str>, &KeyStats)> = hd.keys.iter().collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        for (t, k) in keys {
            let in_state = st.key(host, t).is_some();
            let target = if in_state {
                None
            } else {
                slash_twin(t)
                    .filter(|w| hd.keys.get(w).is_some() || st.key(host, w).is_some())
                    .or_else(|| rules.family(host, t))
            };
            match target {
                None if !in_state && !in_window(k.first) => pending_new.push((host, t, k)),
                _ => {
                    let target = target.as_deref().unwrap_or(t);
                    let target_in_state = st.key(host, target).is_some();
                    merge_into(&mut resolved, host, target, t, k, in_state || target_in_state);
                }
            }
        }
    }
    // New keys of one non-script kind in one folder, fold_min or more: one finding.
    let mut groups: BTreeMap<(&str, String), BTreeSet<&str>> = BTreeMap::new();
    for (host, t, _) in &pending_new {
        if let Some(s) = fold::split(t) {
            let k = fold::kind(&s);
            if !k.is_script() && !fold::is_family(t) {
                groups.entry((host, fold::family_template(s.folder, &k))).or_default().insert(t);
            }
        }
    }
    let grouped: FxHashMap<(&str, &str), String> = groups
        .iter()
        .filter(|(_, members)| members.len() >= cfg.fold_min)
        .flat_map(|((host, fam), members)| members.iter().map(move |m| ((*host, *m), fam.clone())))
        .collect();
    for (host, t, k) in pending_new {
        let target = grouped.get(&(host, t)).map_or(t, String::as_str);
        merge_into(&mut resolved, host, target, t, k, false);
    }

    // The baseline's clients and user agents per host.
    let mut known_clients: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
    let mut known_uas: FxHashMap<&str, Vec<u32>> = FxHashMap::default();
    for (host, hd) in &agg.hosts {
        let mut c: Vec<u32> = st.hosts.get(&**host).map(|h| h.clients.clone()).unwrap_or_default();
        c.extend(hd.clients_first.iter().filter(|(_, t)| in_window(Timestamp(t.first))).map(|(h, _)| *h));
        c.sort_unstable();
        c.dedup();
        let mut u: Vec<u32> = st.hosts.get(&**host).map(|h| h.user_agents.clone()).unwrap_or_default();
        u.extend(hd.uas_first.iter().filter(|(_, t)| in_window(Timestamp(**t))).map(|(h, _)| *h));
        u.sort_unstable();
        u.dedup();
        known_clients.insert(host, c);
        known_uas.insert(host, u);
    }

    // Per host, whether its log carries Referers, and the sites that are its own: its name, and the site
    // that referred to the most of its keys (a site's pages link to its pages and load its assets; other
    // sites link to a few landing pages).
    let mut own_sites: FxHashMap<&str, Option<(u32, Option<u32>)>> = FxHashMap::default();
    for (host, hd) in &agg.hosts {
        let carries = hd.referred as f64 >= score::REFERER_SHARE * hd.requests as f64 && hd.referred > 0;
        let mut by: FxHashMap<u32, u64> = FxHashMap::default();
        for (_, k) in &hd.keys {
            for h in k.ref_sites.hashes() {
                *by.entry(*h).or_default() += 1;
            }
        }
        let top = by.into_iter().max_by_key(|(h, n)| (*n, std::cmp::Reverse(*h))).map(|(h, _)| h);
        let named = (!host.is_empty()).then(|| aggregate::site_hash(host));
        own_sites.insert(host, carries.then_some((top.or(named).unwrap_or(0), named)));
    }
    let run_end = agg.span.map(|s| s.1);

    // Verdicts, scores, findings; the state learns as it goes.
    let mut counts = Counts::default();
    let mut findings = Vec::with_capacity(resolved.len());
    for (KeyName(host, template), r) in &resolved {
        let verdict = if r.in_state {
            Verdict::Known
        } else if in_window(r.stats.first) {
            Verdict::Learned
        } else {
            Verdict::New
        };
        let empty = Vec::new();
        let kc = known_clients.get(host.as_str()).unwrap_or(&empty);
        let ku = known_uas.get(host.as_str()).unwrap_or(&empty);
        let client_known = |c: &str| kc.binary_search(&sample::hash32(c)).is_ok();
        let ua_known = |u: &str| ku.binary_search(&sample::hash32(u)).is_ok();
        let seen = agg.hosts.get(host.as_str()).map(|h| &h.clients_first);
        let client_alone = |c: &str| seen.and_then(|m| m.get(&sample::hash32(c))).is_some_and(|c| !c.many);
        let site_referred = own_sites.get(host.as_str()).copied().flatten().map(|(top, named)| {
            let refs = &r.stats.ref_sites;
            refs.has(top) || named.is_some_and(|h| refs.has(h))
        });
        let imitates = match fold::split(template) {
            Some(sp)
                if verdict == Verdict::New
                    && !sp.dir
                    && is_script(template)
                    && !fold::is_family(template) =>
            {
                learned_scripts.get(&(host.clone(), sp.folder.to_string())).and_then(|names| {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    score::imitated(sp.name, &names).map(str::to_string)
                })
            }
            _ => None,
        };
        let cx = score::Context {
            verdict,
            template,
            stats: &r.stats,
            folder: rules.folder(host, template),
            client_known: &client_known,
            ua_known: &ua_known,
            client_alone: &client_alone,
            exec_ext,
            folder_runs: script_folder(template).is_some_and(|at| ran.contains(&(host.as_str(), at))),
            site_referred,
            run_end,
            imitates: imitates.as_deref(),
        };
        let (mut score, mut reasons) = score::score(&cx);
        let mut file = None;
        if let Some(inv) = inv {
            let paths = r.stats.paths.sorted();
            if let Some((facts, joined)) = inv.facts(host, paths.iter().map(|p| p.0), st, window_end) {
                let more = inventory::reasons(verdict, &facts, joined.as_ref(), is_script(template));
                if !more.is_empty() {
                    reasons.extend(more);
                    score = score::total(&mut reasons);
                }
                file = Some(facts);
            }
        }
        match verdict {
            Verdict::Learned => counts.learned += 1,
            Verdict::New => {
                counts.new += 1;
                if score >= score::ALERT {
                    counts.new_alert += 1;
                }
            }
            Verdict::Known | Verdict::Dormant => counts.known += 1,
        }
        let mut f = finding(host, template, verdict, score, reasons, &r.stats, &client_known, &ua_known);
        f.file = file;
        findings.push(f);
        update_state_key(st, host, template, verdict, &r.stats);
    }
    if let Some(inv) = inv {
        let dormant = dormant_findings(st, agg, inv, &rules, &learned_scripts, window_end, exec_ext);
        counts.dormant = dormant.len() as u64;
        findings.extend(dormant);
    }

    // Compact the state: members of a learned family are replaced by the family.
    let mut moves: Vec<(String, String, String)> = Vec::new();
    for (host, keys) in &st.keys {
        for t in keys.keys() {
            if let Some(f) = rules.family(host, t) {
                moves.push((host.clone(), t.clone(), f));
            }
        }
    }
    for (host, from, to) in moves {
        let Some(keys) = st.keys.get_mut(&host) else { continue };
        let Some(k) = keys.remove(&from) else { continue };
        match keys.get_mut(&to) {
            Some(f) => {
                f.first_seen = f.first_seen.min(k.first_seen);
                f.last_seen = f.last_seen.max(k.last_seen);
                f.count += k.count;
                f.verdict = strongest(f.verdict, k.verdict);
            }
            None => {
                keys.insert(to, k);
            }
        }
    }
    for (host, c) in known_clients {
        let hb = st.hosts.entry(host.to_string()).or_default();
        hb.clients = c;
        hb.user_agents = known_uas.remove(host).unwrap_or_default();
    }

    findings.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| verdict_rank(a.verdict).cmp(&verdict_rank(b.verdict)))
            .then_with(|| a.host.cmp(&b.host))
            .then_with(|| a.template.cmp(&b.template))
    });
    Decided { findings, counts }
}

fn verdict_rank(v: Verdict) -> u8 {
    match v {
        Verdict::New => 0,
        Verdict::Dormant => 1,
        Verdict::Learned => 2,
        Verdict::Known => 3,
    }
}

/// Script files of the inventory added or changed since the baseline that no request of this run or
/// an earlier one reached, as findings: scored by their names (as a request for them would be) and by
/// [`inventory::dormant_reasons`].
fn dormant_findings(
    st: &State,
    agg: &Aggregate,
    inv: &inventory::Inventory,
    rules: &Rules,
    learned_scripts: &FxHashMap<(String, String), Vec<String>>,
    window_end: Option<Timestamp>,
    exec_ext: Option<&[String]>,
) -> Vec<Finding> {
    let requested_on = |host: &str, t: &str| {
        st.key(host, t).is_some() || agg.hosts.get(host).is_some_and(|hd| hd.keys.get(t).is_some())
    };
    let mut out = Vec::new();
    for (e, change, batch) in inv.changed_scripts(st, window_end) {
        let template = crate::normalize::template::template(&e.url_path);
        let requested = if e.host.is_empty() {
            st.keys
                .keys()
                .map(String::as_str)
                .chain(agg.hosts.keys().map(|h| &**h))
                .any(|h| requested_on(h, &template))
        } else {
            requested_on(&e.host, &template)
        };
        if requested {
            continue;
        }
        let mut stats = KeyStats::new(e.changed_at().or(window_end).unwrap_or(Timestamp(0)));
        // The inventory classed it a script for its server; an ASP.NET name is one only on IIS.
        let iis = crate::pathkind::ext_slices(crate::pathkind::file_name(&e.url_path))
            .any(|x| crate::pathkind::is_in(crate::pathkind::IIS_EXTS, &x.to_ascii_lowercase()));
        stats.profile = iis.then_some(crate::normalize::path::Profile::Iis);
        let never = |_: &str| false;
        // The names it may imitate: the folder's learned scripts, and the scripts on disk beside it that
        // did not change (wp-config.php is never requested, but it is there).
        let imitates = fold::split(&template).filter(|sp| !sp.dir).and_then(|sp| {
            let mut names: Vec<&str> = learned_scripts
                .get(&(e.host.to_string(), sp.folder.to_string()))
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            names.extend(inv.unchanged_scripts_in(&e.host, sp.folder, st, window_end));
            names.sort_unstable();
            names.dedup();
            score::imitated(sp.name, &names).map(str::to_string)
        });
        let cx = score::Context {
            verdict: Verdict::Dormant,
            template: &template,
            stats: &stats,
            folder: rules.folder(&e.host, &template),
            client_known: &never,
            ua_known: &never,
            client_alone: &never,
            exec_ext,
            folder_runs: false,
            site_referred: None,
            run_end: None,
            imitates: imitates.as_deref(),
        };
        let (_, mut reasons) = score::score(&cx);
        reasons.extend(inventory::dormant_reasons(e, &change, batch));
        let score = score::total(&mut reasons);
        let mut f = finding(&e.host, &template, Verdict::Dormant, score, reasons, &stats, &never, &never);
        f.paths = vec![Sample { value: e.url_path.to_string(), count: 0, baseline: None }];
        f.hourly = None;
        f.file = Some(inventory::facts_of(e, &change));
        out.push(f);
    }
    out
}

fn strongest(a: Stored, b: Stored) -> Stored {
    let rank = |s: Stored| match s {
        Stored::Learned => 2,
        Stored::Accepted => 1,
        Stored::New => 0,
    };
    if rank(a) >= rank(b) { a } else { b }
}

/// Whether a key's requests show a program answering: a POST, a query, or varied response sizes.
fn runs_here(k: &KeyStats) -> bool {
    k.method_share("POST") > 0.0 || !k.queries.is_empty() || k.sizes.count() >= 3
}

/// `folder` and `ext` of a script name's template, as one string (`/cgi/\0py`).
fn script_folder(template: &str) -> Option<String> {
    let s = fold::split(template)?;
    match fold::kind(&s) {
        fold::Kind::Script(ext) => Some(format!("{}\0{}", s.folder, ext.to_ascii_lowercase())),
        _ => None,
    }
}

/// Whether any request of the key was answered 2xx or 304.
fn served(k: &KeyStats) -> bool {
    k.statuses.iter().any(|(c, _)| (200..300).contains(c) || *c == 304) || k.statuses.is_empty()
}

fn is_script(template: &str) -> bool {
    fold::split(template).is_some_and(|s| fold::kind(&s).is_script())
}

/// The template with `%2F` read as `/` (runs of `/` collapsed), when it has one: nginx decodes `%2F`
/// and serves the same file, so such a spelling counts with the plain one when that one is a key too.
fn slash_twin(template: &str) -> Option<String> {
    if !template.contains("%2F") {
        return None;
    }
    let mut out = String::with_capacity(template.len());
    for c in template.replace("%2F", "/").chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    Some(out)
}

fn merge_into(
    resolved: &mut BTreeMap<KeyName, Resolved>,
    host: &str,
    target: &str,
    member: &str,
    k: &KeyStats,
    in_state: bool,
) {
    let mut k = k.clone();
    k.materialize(member);
    let name = KeyName(host.to_string(), target.to_string());
    match resolved.get_mut(&name) {
        Some(r) => {
            r.stats.merge(&k);
            r.in_state |= in_state;
        }
        None => {
            resolved.insert(name, Resolved { stats: k, in_state });
        }
    }
}

fn update_state_key(st: &mut State, host: &str, template: &str, verdict: Verdict, s: &KeyStats) {
    let keys = st.keys.entry(host.to_string()).or_default();
    match keys.get_mut(template) {
        Some(k) => {
            k.first_seen = k.first_seen.min(s.first);
            k.last_seen = k.last_seen.max(s.last);
            k.count += s.count;
        }
        None => {
            let stored = if verdict == Verdict::New { Stored::New } else { Stored::Learned };
            keys.insert(
                template.to_string(),
                StateKey { verdict: stored, first_seen: s.first, last_seen: s.last, count: s.count },
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    host: &str,
    template: &str,
    verdict: Verdict,
    score: u8,
    reasons: Vec<crate::record::Reason>,
    s: &KeyStats,
    client_known: &dyn Fn(&str) -> bool,
    ua_known: &dyn Fn(&str) -> bool,
) -> Finding {
    let samples = |t: &sample::TopK, known: Option<&dyn Fn(&str) -> bool>| -> Vec<Sample> {
        t.sorted()
            .into_iter()
            .map(|(v, n)| Sample { value: v.to_string(), count: n, baseline: known.map(|f| f(v)) })
            .collect()
    };
    let (distinct_clients, capped) = s.distinct_clients.count();
    let (distinct_paths, _) = s.distinct_paths.count();
    let mut anomalies: Vec<String> = s.anomalies.iter().map(|a| a.to_string()).collect();
    anomalies.sort();
    let mut params: Vec<String> = s.params.iter().map(|a| a.to_string()).collect();
    params.sort();
    let hourly = s.hours.as_ref().map(|h| {
        h.iter().map(|(hour, n)| (Timestamp(hour * 1000).to_string(), *n)).collect::<BTreeMap<_, _>>()
    });
    Finding {
        host: (!host.is_empty()).then(|| host.to_string()),
        template: template.to_string(),
        verdict,
        score,
        reasons,
        paths: samples(&s.paths, None),
        distinct_paths,
        raw_paths: samples(&s.raw_paths, None),
        anomalies,
        first_seen: s.first,
        last_seen: s.last,
        count: s.count,
        methods: s.methods.iter().map(|(m, n)| (m.to_string(), *n)).collect(),
        statuses: s.statuses.iter().map(|(c, n)| (c.to_string(), *n)).collect(),
        distinct_clients,
        distinct_clients_capped: capped,
        clients: samples(&s.clients, Some(client_known)),
        user_agents: samples(&s.uas, Some(ua_known)),
        queries: samples(&s.queries, None),
        params,
        first_source: s.first_source.as_deref().map(str::to_string),
        hourly,
        file: None,
        extra: Default::default(),
    }
}

/// `--accept`: mark the keys read from the input as accepted.
fn accept(args: &Args, mut st: State) -> Result<ExitCode> {
    #[derive(Deserialize)]
    struct Key {
        #[serde(default)]
        host: Option<String>,
        template: String,
        #[serde(default)]
        first_seen: Option<Timestamp>,
        #[serde(default)]
        last_seen: Option<Timestamp>,
    }
    let (mut added, mut changed) = (0u64, 0u64);
    for name in &args.inputs {
        crate::record::for_each_record(input::open(name)?, |k: Key, _| {
            let keys = st.keys.entry(k.host.unwrap_or_default()).or_default();
            match keys.get_mut(&k.template) {
                Some(e) if e.verdict == Stored::Accepted => {}
                Some(e) => {
                    e.verdict = Stored::Accepted;
                    changed += 1;
                }
                None => {
                    let now = k.first_seen.unwrap_or(Timestamp(0));
                    keys.insert(
                        k.template,
                        StateKey {
                            verdict: Stored::Accepted,
                            first_seen: now,
                            last_seen: k.last_seen.unwrap_or(now),
                            count: 0,
                        },
                    );
                    added += 1;
                }
            }
            Ok(())
        })?;
    }
    let out = args.state_out.as_ref().unwrap_or(&args.state);
    st.save(out)?;
    if !args.quiet {
        cli::warn(
            NAME,
            format_args!(
                "accepted {} keys ({added} added, {changed} changed) into {}",
                added + changed,
                out.display()
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn summary_json(agg: &Aggregate, st: &State, window_end: Option<Timestamp>, c: &Counts) -> serde_json::Value {
    let mut hosts: Vec<serde_json::Value> = agg
        .hosts
        .iter()
        .map(|(h, hd)| {
            let hourly: BTreeMap<String, u64> = hd.hourly.iter().map(|(t, n)| (Timestamp(t * 1000).to_string(), *n)).collect();
            serde_json::json!({"host": &**h, "requests": hd.requests, "keys": hd.keys.len(), "hourly": hourly})
        })
        .collect();
    hosts.sort_by(|a, b| {
        b["requests"]
            .as_u64()
            .cmp(&a["requests"].as_u64())
            .then_with(|| a["host"].as_str().cmp(&b["host"].as_str()))
    });
    serde_json::json!({
        "records": agg.records,
        "requests": agg.requests,
        "first_event": agg.span.map(|s| s.0),
        "last_event": agg.span.map(|s| s.1),
        "learn_until": window_end,
        "state_keys": st.len(),
        "keys": {"learned": c.learned, "new": c.new, "known": c.known, "dormant": c.dormant},
        "new_at_alert": c.new_alert,
        "alert_threshold": score::ALERT,
        "hosts": hosts,
    })
}
