//! `path-normalize`: events in, normalized records out (stdin to stdout).
//!
//! `path.rs` makes the path canonical per server profile and names every trick it undid,
//! `template.rs` derives the template, `filter.rs` holds `--status`/`--method`. This file chooses the
//! profile for each record and assembles the output record.

pub mod cache;
pub mod filter;
pub mod path;
pub mod template;

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, ValueEnum};

use crate::cli::{self, Output};
use crate::input;
use crate::jsonscan::{self, Scan};
use crate::jsonw::{self, Escape};
use crate::pathkind;
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
    /// Profile and filters.
    #[command(flatten)]
    pub norm: NormArgs,

    /// Worker threads (default: the cores available; --line-buffered reads line by line on one).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

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

/// How paths are normalised and which requests are kept: shared by `path-normalize` and
/// `baseline-diff --from-logs`.
#[derive(clap::Args, Debug, Clone)]
pub struct NormArgs {
    /// How the server resolves paths.
    #[arg(short, long, value_enum, default_value = "auto")]
    pub profile: ProfileArg,

    /// Statuses to keep: codes, classes, ranges, `!` to exclude (`!4xx`, `2xx,3xx,5xx`, `200-299,!204`).
    #[arg(long, value_name = "SPEC", default_value = "!4xx")]
    pub status: String,

    /// Methods to keep (`GET,POST`, `!OPTIONS`, `all`).
    #[arg(long, value_name = "SPEC", default_value = "all")]
    pub method: String,
}

impl NormArgs {
    /// True when no option differs from its default.
    pub fn is_default(&self) -> bool {
        self.profile == ProfileArg::Auto && self.status == "!4xx" && self.method == "all"
    }

    /// The parsed filters.
    pub fn filters(&self) -> Result<(StatusFilter, MethodFilter)> {
        let status = StatusFilter::parse(&self.status).map_err(|e| anyhow::anyhow!("--status: {e}"))?;
        let method = MethodFilter::parse(&self.method).map_err(|e| anyhow::anyhow!("--method: {e}"))?;
        Ok((status, method))
    }
}

/// Requests kept and dropped by the filters.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Kept.
    pub kept: u64,
    /// Dropped by `--status`.
    pub by_status: u64,
    /// Dropped by `--method`.
    pub by_method: u64,
}

impl Stats {
    /// Adds another count.
    pub fn add(&mut self, o: &Stats) {
        self.kept += o.kept;
        self.by_status += o.by_status;
        self.by_method += o.by_method;
    }

    /// The stderr line, when something was dropped.
    pub fn summary(&self, n: &NormArgs) -> Option<String> {
        (self.by_status + self.by_method > 0).then(|| {
            format!(
                "kept {} requests; dropped {} by --status {}, {} by --method {}",
                cli::thousands(self.kept),
                cli::thousands(self.by_status),
                n.status,
                cli::thousands(self.by_method),
                n.method
            )
        })
    }
}

/// Runs `path-normalize`.
pub fn run(args: Args) -> Result<ExitCode> {
    let (status, method) = args.norm.filters()?;
    let mut out = Output::stdout(args.line_buffered);
    let mut st = Stats::default();
    let input = input::open(&args.input)?;
    let name = input.name.clone();
    let line_buffered = args.line_buffered || out.is_line_buffered();
    if line_buffered {
        // Streaming input (`tail -f | log-export | path-normalize --line-buffered`): one record at a time.
        let mut lines = input.lines();
        let mut sc = Scratch::default();
        let mut obuf = Vec::new();
        while let Some(l) = lines.next_line()? {
            if l.bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let no = l.no;
            transform(l.bytes, args.norm.profile, &status, &method, &mut sc, &mut obuf, &mut st)
                .with_context(|| format!("{name}:{no}"))?;
            out.write_line(&obuf)?;
            obuf.clear();
        }
    } else {
        // Blocks of records are normalised on several cores and written back in input order.
        let bufs = crate::par::Buffers::default();
        crate::par::for_each_block(
            &name,
            input.into_reader(),
            args.threads.unwrap_or_else(crate::par::default_threads),
            Scratch::default,
            |sc, block| {
                let mut obuf = bufs.take(block.data().len() + block.data().len() / 4);
                let mut bst = Stats::default();
                for (no, line, _) in block.lines() {
                    if line.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    transform(line, args.norm.profile, &status, &method, sc, &mut obuf, &mut bst)
                        .with_context(|| format!("{name}:{no}"))?;
                }
                Ok((obuf, bst))
            },
            |(obuf, bst)| {
                st.add(&bst);
                out.write_line(&obuf)?;
                bufs.give(obuf);
                Ok(())
            },
        )?;
    }
    out.finish()?;
    if !args.quiet
        && let Some(line) = st.summary(&args.norm)
    {
        cli::warn(NAME, line);
    }
    Ok(ExitCode::SUCCESS)
}

/// Buffers reused from one record to the next.
#[derive(Default)]
struct Scratch {
    scan: Scan,
    cache: cache::NormCache,
}

/// Normalises one record (`line`) into `out`, or drops it by the filters.
///
/// The output is the input line with `path` (and `host`) rewritten and the derived fields added: every
/// other field is copied byte for byte, which is both the pass-through the record contract promises and
/// much cheaper than re-serialising the record. Derived fields from an earlier run (`template`,
/// `params`, `profile`) are recomputed; an earlier `raw_path` is kept, so normalising twice is the same
/// as normalising once.
fn transform(
    line: &[u8],
    profile_arg: ProfileArg,
    status: &StatusFilter,
    method: &MethodFilter,
    sc: &mut Scratch,
    out: &mut Vec<u8>,
    st: &mut Stats,
) -> Result<()> {
    sc.scan.line(line).map_err(|e| anyhow::anyhow!("invalid record: {e}"))?;
    let scan = &sc.scan;
    // One pass over the fields finds the ones this stage reads (the last of a duplicated key wins) and
    // notes derived fields from an earlier run.
    let mut found: [Option<jsonscan::Field>; 9] = [None; 9];
    let mut derived = false;
    for f in &scan.fields {
        match key_slot(jsonscan::raw(line, f.key)) {
            Some(Slot::Derived) => derived = true,
            Some(slot) => found[slot as usize] = (!jsonscan::is_null(line, f)).then_some(*f),
            None => {}
        }
    }
    let field = |slot: Slot| found[slot as usize];
    let string = |slot: Slot| -> Result<Option<std::borrow::Cow<'_, str>>> {
        match field(slot) {
            None => Ok(None),
            Some(f) => match scan.str_value(line, &f) {
                Some(v) => Ok(Some(v)),
                None => bail!("invalid record: {} is not a string", slot.name()),
            },
        }
    };
    let hits = match field(Slot::Count) {
        None => 1,
        Some(f) => jsonscan::u64_value(line, &f)
            .ok_or_else(|| anyhow::anyhow!("invalid record: count is not a count"))?,
    };
    let code = match field(Slot::Status) {
        None => None,
        Some(f) => Some(
            jsonscan::u64_value(line, &f)
                .and_then(|v| u16::try_from(v).ok())
                .ok_or_else(|| anyhow::anyhow!("invalid record: status is not an HTTP status"))?,
        ),
    };
    if !status.keeps(code) {
        st.by_status += hits;
        return Ok(());
    }
    let m = string(Slot::Method)?;
    if !method.keeps(m.as_deref()) {
        st.by_method += hits;
        return Ok(());
    }
    st.kept += hits;

    let Some(path) = string(Slot::Path)? else { bail!("invalid record: no path") };
    let server = string(Slot::Server)?;
    let norm = sc.cache.get(profile_arg, server.as_deref(), &path);
    let (profile, canon) = (norm.profile, norm.extra());
    let had_raw_path = field(Slot::RawPath).is_some();
    let host = string(Slot::Host)?;
    let final_host = canon.final_host(host.as_deref());
    let new_host = final_host.as_deref().filter(|h| host.as_deref() != Some(*h));
    let query_field = string(Slot::Query)?;
    let query = canon.final_query(query_field.as_deref());
    let mut anomalies: Vec<std::borrow::Cow<'_, str>> = match field(Slot::Anomalies) {
        None => Vec::new(),
        Some(f) => jsonscan::str_array(line, &f)
            .ok_or_else(|| anyhow::anyhow!("invalid record: anomalies is not a list"))?,
    };
    let had_anomalies = field(Slot::Anomalies).is_some();
    canon.add_anomalies_to(&mut anomalies);

    // The common case: nothing in the record changes, the derived fields are only added. The line is
    // copied whole, up to its closing brace, and they are appended: no per-field work at all.
    let untouched = !norm.changed
        && new_host.is_none()
        && (had_anomalies || canon.anomalies.is_empty())
        && query_field.is_some() == query.is_some()
        && !derived;
    if untouched {
        let body = line.trim_ascii_end();
        out.extend_from_slice(&body[..body.len() - 1]);
        append_derived(out, norm.template(), query, profile);
        return Ok(());
    }

    out.push(b'{');
    // A field follows `{` directly, any other field after a comma.
    let sep = |out: &mut Vec<u8>| {
        if out.last() != Some(&b'{') {
            out.push(b',');
        }
    };
    let key = |out: &mut Vec<u8>, k: &str| {
        sep(out);
        out.push(b'"');
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(b"\":");
    };
    for f in &scan.fields {
        match key_slot(jsonscan::raw(line, f.key)) {
            Some(Slot::Path) => {
                key(out, "path");
                write_plain(out, norm.path());
            }
            Some(Slot::Host) if new_host.is_some() => {
                key(out, "host");
                jsonw::write_str(out, new_host.unwrap_or_default().as_bytes(), Escape::Backslash);
            }
            Some(Slot::Anomalies) => {
                key(out, "anomalies");
                write_names(out, &anomalies);
            }
            Some(Slot::Derived) => {}
            _ => {
                sep(out);
                out.extend_from_slice(jsonscan::raw(line, f.span));
            }
        }
    }
    if !had_raw_path && norm.changed {
        key(out, "raw_path");
        jsonw::write_str(out, path.as_bytes(), Escape::Backslash);
    }
    if host.is_none()
        && let Some(h) = &final_host
    {
        key(out, "host");
        jsonw::write_str(out, h.as_bytes(), Escape::Backslash);
    }
    if query_field.is_none()
        && let Some(q) = query
    {
        key(out, "query");
        jsonw::write_str(out, q.as_bytes(), Escape::Backslash);
    }
    if !had_anomalies && !anomalies.is_empty() {
        key(out, "anomalies");
        write_names(out, &anomalies);
    }
    append_derived(out, norm.template(), query, profile);
    Ok(())
}

/// The input fields `transform` reads, by their place in its table.
#[derive(Clone, Copy)]
enum Slot {
    Path,
    Count,
    Status,
    Method,
    Server,
    RawPath,
    Host,
    Query,
    Anomalies,
    /// `template`, `params`, `profile`: written by this stage, recomputed.
    Derived,
}

impl Slot {
    fn name(self) -> &'static str {
        match self {
            Slot::Path => "path",
            Slot::Count => "count",
            Slot::Status => "status",
            Slot::Method => "method",
            Slot::Server => "server",
            Slot::RawPath => "raw_path",
            Slot::Host => "host",
            Slot::Query => "query",
            Slot::Anomalies => "anomalies",
            Slot::Derived => "template",
        }
    }
}

/// The slot of a key. Runs for every field of every record: the length picks the candidates and each is
/// compared as a fixed-size array (one integer compare) instead of a call to memcmp.
#[inline(always)]
fn key_slot(k: &[u8]) -> Option<Slot> {
    fn arr<const N: usize>(k: &[u8]) -> [u8; N] {
        k.try_into().unwrap_or([0; N])
    }
    match k.len() {
        4 => match &arr::<4>(k) {
            b"path" => Some(Slot::Path),
            b"host" => Some(Slot::Host),
            _ => None,
        },
        5 => match &arr::<5>(k) {
            b"count" => Some(Slot::Count),
            b"query" => Some(Slot::Query),
            _ => None,
        },
        6 => match &arr::<6>(k) {
            b"status" => Some(Slot::Status),
            b"method" => Some(Slot::Method),
            b"server" => Some(Slot::Server),
            b"params" => Some(Slot::Derived),
            _ => None,
        },
        7 => (&arr::<7>(k) == b"profile").then_some(Slot::Derived),
        8 => match &arr::<8>(k) {
            b"raw_path" => Some(Slot::RawPath),
            b"template" => Some(Slot::Derived),
            _ => None,
        },
        9 => (&arr::<9>(k) == b"anomalies").then_some(Slot::Anomalies),
        _ => None,
    }
}

/// Appends `template`, `params` and `profile` and closes the record (`out` ends inside the object).
fn append_derived(out: &mut Vec<u8>, template: &str, query: Option<&str>, profile: Profile) {
    out.extend_from_slice(b",\"template\":");
    write_plain(out, template);
    if let Some(q) = query {
        out.extend_from_slice(b",\"params\":[");
        for (i, name) in param_names(q).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            jsonw::write_str(out, name.as_bytes(), Escape::Backslash);
        }
        out.push(b']');
    }
    out.extend_from_slice(b",\"profile\":");
    write_plain(out, profile.name());
    out.extend_from_slice(b"}\n");
}

/// Writes a string that needs no JSON escaping: canonical paths and templates are printable ASCII without
/// `"` or `\\` (those are percent-encoded), by construction.
fn write_plain(out: &mut Vec<u8>, s: &str) {
    debug_assert!(s.bytes().all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\'), "{s:?}");
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

fn write_names(out: &mut Vec<u8>, names: &[std::borrow::Cow<'_, str>]) {
    out.push(b'[');
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        jsonw::write_str(out, n.as_bytes(), Escape::Backslash);
    }
    out.push(b']');
}

/// The profile for one event.
pub fn choose_profile(arg: ProfileArg, server: Option<&str>, path: &str) -> Profile {
    match arg {
        ProfileArg::Generic => return Profile::Generic,
        ProfileArg::Iis => return Profile::Iis,
        ProfileArg::Java => return Profile::Java,
        ProfileArg::Auto => {}
    }
    const JAVA_SERVERS: &[&str] =
        &["tomcat", "jetty", "java", "wildfly", "jboss", "weblogic", "websphere", "undertow"];
    const BACK_END_UNKNOWN: &[&str] = &["alb", "elb", "cloudfront"];
    if let Some(s) = server {
        if ["iis", "microsoft-iis", "w3svc"].iter().any(|x| x.eq_ignore_ascii_case(s)) {
            return Profile::Iis;
        }
        if JAVA_SERVERS.iter().any(|x| x.eq_ignore_ascii_case(s)) {
            return Profile::Java;
        }
    }
    // The script kind in the path: every extension of every segment (`/x.jsp/info` is a JSP too). An
    // extension is the run of letters and digits after a dot, so `x.jsp;jsessionid=1`, `x.aspx::$DATA`
    // and `x.aspx.` show theirs.
    let b = path.as_bytes();
    let mut iis = false;
    for dot in memchr::memchr_iter(b'.', b) {
        let ext = &b[dot + 1..];
        let n = ext.iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        if n == 0 || n > 6 {
            continue;
        }
        let Ok(ext) = std::str::from_utf8(&ext[..n]) else { continue };
        if pathkind::find_in(pathkind::JAVA_EXTS, ext).is_some() {
            return Profile::Java;
        }
        iis |= pathkind::find_in(pathkind::IIS_EXTS, ext).is_some();
    }
    let known_front_end = server.is_some_and(|s| !BACK_END_UNKNOWN.iter().any(|x| x.eq_ignore_ascii_case(s)));
    if iis && !known_front_end { Profile::Iis } else { Profile::Generic }
}

/// The parameter names of a query, in order of first appearance, without duplicates; at most 64.
pub fn param_names(query: &str) -> impl Iterator<Item = &str> {
    // On the stack: this runs for every request that has a query.
    let mut seen: [&str; 64] = [""; 64];
    let mut n = 0;
    query.split('&').filter_map(move |pair| {
        let name = pair.split('=').next().unwrap_or(pair);
        let name = &name[..name.char_indices().nth(128).map_or(name.len(), |(i, _)| i)];
        if name.is_empty() || n == seen.len() || seen[..n].contains(&name) {
            return None;
        }
        seen[n] = name;
        n += 1;
        Some(name)
    })
}
