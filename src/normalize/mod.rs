//! `path-normalize`: events in, normalized records out (stdin to stdout).
//!
//! `path.rs` makes the path canonical per server profile and names every trick it undid,
//! `template.rs` derives the template, `filter.rs` holds `--status`/`--method`. This file chooses the
//! profile for each record and assembles the output record.

pub mod filter;
pub mod path;
pub mod template;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use serde::Deserialize;

use crate::cli::{self, Output};
use crate::input;
use crate::pathkind;
use crate::record::{Event, Normalized};
use filter::{MethodFilter, StatusFilter};
use path::Profile;

/// The tool's name, in messages.
pub const NAME: &str = "path-normalize";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
log-export access.log | path-normalize | baseline-diff --state site.state
log-export u_ex*.log | path-normalize --profile iis --status 2xx,3xx,5xx
# What evasive spellings reached the site?
log-export access.log | path-normalize | jq -c 'select(.anomalies) | [.raw_path, .path, .anomalies]'
# Keep only POSTs that succeeded:
log-export access.log | path-normalize --status 2xx --method POST";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "CANONICAL PATH",
        "\
The path is made canonical the way the server resolves it, in this order: the query is split off;
escapes of unreserved characters (A-Z a-z 0-9 - . _ ~) are decoded once and the remaining escapes
upper-cased; dot segments are removed, clamped at the root; runs of / are collapsed. %00, %2F, %5C,
%uXXXX, overlong UTF-8 and double encoding are never decoded. Characters that may not stand raw in a
path (space, quotes, <>{}|^, controls, non-ASCII) are percent-encoded, so a canonical path is
printable ASCII.

Profiles: generic (Apache, Nginx): case-sensitive, \\ and ; are ordinary characters. iis: \\ is /, case
is folded, ::$DATA and :stream suffixes, a ;... tail, and trailing dots and spaces per segment are cut.
java (Tomcat, Jetty): ;params are dropped from every segment, ..;/ included.
auto (the default) follows the event's server hint: iis; tomcat, jetty, java, wildfly, jboss, weblogic,
websphere for java; apache, nginx, caddy and others for generic. A Java script name in the path
(.jsp, .do, .action) selects java whatever the hint, because front ends such as Apache and Nginx log
the raw request of the servlet container behind them. With no hint (combined, ALB, CloudFront logs),
an ASP.NET name (.aspx, .asp, .ashx, ...) selects iis.",
    ),
    (
        "ANOMALIES",
        "\
Every trick undone or odd spelling is named in the record's anomalies list:
  absolute_form       GET http://host/path
  non_origin_form     a target not starting with / (*, an authority, relative)
  fragment            a #fragment was sent
  percent_encoded     unreserved characters were percent-encoded (/%73hell.php)
  double_encoding     %25 followed by hex (%252e)
  bad_escape          % not followed by two hex digits
  u_encoding          IIS %uXXXX
  overlong_utf8       %C0%AF and other overlong forms
  encoded_nul         %00
  encoded_slash       %2F
  encoded_backslash   %5C
  dot_segments        . or .. segments
  above_root          .. beyond the root
  multi_slash         //
  backslash           a raw backslash
  case_folded         iis: upper case folded
  ads_stream          iis: ::$DATA or :stream suffix
  trailing_dot_space  iis: trailing dots or spaces
  path_params         ;params (java ;jsessionid=, ..;/, iis x.asp;.jpg)
  raw_space           a raw space
  raw_unsafe          raw characters not allowed in a path
  raw_control         (from the source) control bytes, kept as %XX
  raw_non_utf8        (from the source) bytes that are not UTF-8, kept as %XX",
    ),
    (
        "TEMPLATES",
        "\
template replaces dynamic parts of the canonical path: {int} (digits), {uuid}, {date} (YYYY-MM-DD),
{hex} (hashes: 16+ hex digits, or 8+ in a later part of a file name such as app.3f2a9c1b.js) and
{token} (20+ characters of [A-Za-z0-9_-] mixing letters and digits). A segment naming a server-side
script (.php, .aspx, .jsp, ... anywhere in the name) always stays literal, whole.",
    ),
    (
        "OUTPUT",
        "\
The input record with path canonical, plus: raw_path (the logged spelling, when it differs),
template, params (the query's parameter names), profile and anomalies. A host named by an
absolute-form target fills host when the record has none; hosts are lower-cased without port.
Every other field passes through unchanged. For example:
  {\"time\":\"2026-10-15T13:55:36Z\",\"method\":\"POST\",\"path\":\"/uploads/x.php\",
   \"raw_path\":\"/uploads/./x.php\",\"template\":\"/uploads/x.php\",\"profile\":\"generic\",
   \"anomalies\":[\"dot_segments\"],\"status\":200,\"source\":\"access.log:7\"}
Records dropped by --status or --method are counted in one line on stderr at the end.",
    ),
];

/// The `--profile` choices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProfileArg {
    /// Follow each event's server hint (and, without one, the script kind in its path).
    Auto,
    /// Apache, Nginx and most servers.
    Generic,
    /// IIS / Windows.
    Iis,
    /// Servlet containers.
    Java,
}

/// Make request paths canonical, name the evasions undone, and derive templates.
///
/// Reads events (from log-export or splunk-export) on stdin and prints them with path made canonical
/// the way the target server resolves it, the logged spelling kept in raw_path when it differs, the
/// dynamic parts templated, and every evasive spelling named in anomalies. Drops records by status
/// (by default 4xx, scanner noise) and method.
#[derive(Parser, Debug)]
#[command(name = "path-normalize", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// How the server resolves paths.
    #[arg(short, long, value_enum, default_value = "auto")]
    pub profile: ProfileArg,

    /// Statuses to keep: codes, classes, ranges, `!` to exclude (`!4xx`, `2xx,3xx,5xx`, `200-299,!204`).
    #[arg(long, value_name = "SPEC", default_value = "!4xx")]
    pub status: String,

    /// Methods to keep (`GET,POST`, `!OPTIONS`, `all`).
    #[arg(long, value_name = "SPEC", default_value = "all")]
    pub method: String,

    /// Input file instead of stdin (`-` is stdin).
    #[arg(value_name = "FILE", default_value = "-")]
    pub input: String,

    /// Flush after every record, even into a pipe.
    #[arg(long)]
    pub line_buffered: bool,

    /// Do not print the count of dropped records on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The input record: an event, possibly normalized before (then `raw_path` is kept as it is).
#[derive(Deserialize)]
struct In {
    #[serde(flatten)]
    event: Event,
    #[serde(default)]
    raw_path: Option<String>,
    // Derived fields from an earlier run are recomputed, not passed through.
    #[serde(default, rename = "template")]
    _template: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "params")]
    _params: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "profile")]
    _profile: Option<serde::de::IgnoredAny>,
}

/// Runs `path-normalize`.
pub fn run(args: Args) -> Result<ExitCode> {
    let status = StatusFilter::parse(&args.status).map_err(|e| anyhow::anyhow!("--status: {e}"))?;
    let method = MethodFilter::parse(&args.method).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
    let mut out = Output::stdout(args.line_buffered);
    let (mut kept, mut by_status, mut by_method) = (0u64, 0u64, 0u64);
    let input = input::open(&args.input)?;
    crate::record::for_each_record(input, |rec: In, _where| {
        if !status.keeps(rec.event.status) {
            by_status += rec.event.hits();
            return Ok(());
        }
        if !method.keeps(rec.event.method.as_deref()) {
            by_method += rec.event.hits();
            return Ok(());
        }
        kept += rec.event.hits();
        out.write_record(&normalize(rec.event, rec.raw_path, args.profile))?;
        Ok(())
    })?;
    out.finish()?;
    if !args.quiet && by_status + by_method > 0 {
        cli::warn(
            NAME,
            format_args!(
                "kept {} requests; dropped {} by --status {}, {} by --method {}",
                cli::thousands(kept),
                cli::thousands(by_status),
                args.status,
                cli::thousands(by_method),
                args.method
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Normalises one event. `raw_path` is the logged spelling from an earlier run, if any.
pub fn normalize(mut ev: Event, raw_path: Option<String>, profile: ProfileArg) -> Normalized {
    let profile = choose_profile(profile, ev.server.as_deref(), &ev.path);
    let canon = path::canonicalize(&ev.path, profile);
    if let Some(h) = ev.host.as_mut() {
        let n = path::normalize_host(h);
        if n != *h {
            *h = n;
        }
    } else if let Some(h) = canon.host.clone() {
        ev.host = Some(h);
    }
    if ev.query.is_none() {
        ev.query = canon.query.clone().filter(|q| !q.is_empty());
    }
    let raw_path = raw_path.or_else(|| (canon.path != ev.path).then(|| ev.path.clone()));
    ev.path = canon.path;
    if !canon.anomalies.is_empty() {
        let list = ev.anomalies.get_or_insert_with(Vec::new);
        for name in canon.anomalies.names() {
            if !list.iter().any(|a| a == name) {
                list.push(name.to_string());
            }
        }
    }
    let template = template::template(&ev.path);
    let params = ev.query.as_deref().map(param_names);
    Normalized { event: ev, raw_path, template, params, profile: Some(profile.name().to_string()) }
}

/// The profile for one event.
pub fn choose_profile(arg: ProfileArg, server: Option<&str>, path: &str) -> Profile {
    match arg {
        ProfileArg::Generic => return Profile::Generic,
        ProfileArg::Iis => return Profile::Iis,
        ProfileArg::Java => return Profile::Java,
        ProfileArg::Auto => {}
    }
    let server = server.map(str::to_ascii_lowercase);
    match server.as_deref() {
        Some("iis" | "microsoft-iis" | "w3svc") => return Profile::Iis,
        Some("tomcat" | "jetty" | "java" | "wildfly" | "jboss" | "weblogic" | "websphere" | "undertow") => {
            return Profile::Java;
        }
        _ => {}
    }
    // The script kind in the path: look at every segment's name, before any `;` or `:` tail.
    let known_front_end = server.is_some_and(|s| !matches!(s.as_str(), "alb" | "elb" | "cloudfront"));
    let mut iis = false;
    for seg in path.split(['/', '\\']) {
        let name = seg.split([';', ':']).next().unwrap_or(seg).trim_end_matches(['.', ' ']);
        for ext in pathkind::extensions(name) {
            if pathkind::is_in(pathkind::JAVA_EXTS, &ext) {
                return Profile::Java;
            }
            iis |= pathkind::is_in(pathkind::IIS_EXTS, &ext);
        }
    }
    if iis && !known_front_end { Profile::Iis } else { Profile::Generic }
}

/// The parameter names of a query, in order of first appearance, without duplicates; at most 64.
pub fn param_names(query: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for pair in query.split('&') {
        let name = pair.split('=').next().unwrap_or(pair);
        if name.is_empty() || names.iter().any(|n| n == name) {
            continue;
        }
        if names.len() == 64 {
            break;
        }
        names.push(name.chars().take(128).collect());
    }
    names
}
