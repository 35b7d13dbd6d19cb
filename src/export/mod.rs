//! `log-export`: access-log files in, one event record per request out.
//!
//! Each format lives in its own file behind the [`LineParser`] trait: `clf.rs` (Apache/Nginx text
//! formats), `w3c.rs` (IIS and CloudFront), `alb.rs` (AWS ALB and classic ELB), `json.rs` (JSON lines
//! with a key mapping, and Caddy); `detect.rs` chooses one per file for `--format auto`; `event.rs` writes the
//! events. This file holds the command line and the per-file loop with its bad-line accounting: an
//! unparseable line is counted and skipped, the first few are shown with `file:line`, and a file where
//! more than `--max-bad` percent of the lines fail is an error, because a wrong-format file must never
//! turn silently into an empty or partial baseline.

pub mod alb;
pub mod clf;
pub mod detect;
pub mod event;
pub mod json;
pub mod w3c;

use std::borrow::Cow;
use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::{Parser, ValueEnum};

use crate::cli::{self, Output};
use crate::input;
use event::{EmitOptions, RawEvent};

/// The tool's name, in messages.
pub const NAME: &str = "log-export";

/// What a parser made of one line.
// Parsed lives on the stack for one line; boxing the big variant would allocate once per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed<'a> {
    /// A request.
    Event(RawEvent<'a>),
    /// A line that belongs to the format but is not a request (`#Fields:`, `#Version:`, comments).
    Header,
    /// A well-formed log line without a usable request: a request line of `-` (a 408), junk bytes (TLS
    /// sent to a plain-HTTP port). Counted and reported, not emitted, and not held against the format.
    NoRequest(&'static str),
}

/// A parse result: the reason is shown to the user with `file:line`.
pub type ParseResult<'a> = Result<Parsed<'a>, Cow<'static, str>>;

/// A format's line parser. Parsers may keep state between lines (W3C `#Fields`); a fresh one reads
/// each file.
pub trait LineParser {
    /// Parses one line (without its line ending).
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a>;

    /// Called after the last line of a file: an error when the file as a whole cannot be what the
    /// format says although no single line was wrong (a Caddy log without one access entry).
    fn finish(&mut self) -> Result<(), Cow<'static, str>> {
        Ok(())
    }
}

/// The formats `--format` accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Detect per file from its first lines.
    Auto,
    /// Apache/Nginx combined: common plus "referer" "user agent".
    Combined,
    /// Apache common log format (CLF).
    Common,
    /// Apache vhost_combined: `host:port` before a combined line.
    Vhost,
    /// Nginx's built-in combined format (same layout as Apache combined).
    Nginx,
    /// IIS W3C extended (`#Fields` headers, re-read whenever they change).
    Iis,
    /// JSON lines (Nginx `escape=json` templates and others), keys mapped with `--field`.
    Json,
    /// AWS Application Load Balancer (and classic ELB).
    Alb,
    /// AWS CloudFront standard logs (W3C, tab-separated).
    Cloudfront,
    /// Caddy v2 JSON access log.
    Caddy,
}

impl Format {
    /// The name used in messages (`--format` spelling).
    pub fn name(self) -> &'static str {
        match self {
            Format::Auto => "auto",
            Format::Combined => "combined",
            Format::Common => "common",
            Format::Vhost => "vhost",
            Format::Nginx => "nginx",
            Format::Iis => "iis",
            Format::Json => "json",
            Format::Alb => "alb",
            Format::Cloudfront => "cloudfront",
            Format::Caddy => "caddy",
        }
    }

    /// The `server` hint this format's events carry, when the format tells.
    pub fn server(self) -> Option<&'static str> {
        match self {
            Format::Vhost => Some("apache"),
            Format::Nginx => Some("nginx"),
            Format::Iis => Some("iis"),
            Format::Alb => Some("alb"),
            Format::Cloudfront => Some("cloudfront"),
            Format::Caddy => Some("caddy"),
            Format::Auto | Format::Combined | Format::Common | Format::Json => None,
        }
    }

    /// A fresh parser for this format.
    pub fn parser(self, opts: &ParserOptions) -> Result<Box<dyn LineParser>> {
        Ok(match self {
            Format::Combined | Format::Nginx => Box::new(clf::Clf::new(clf::Variant::Combined)),
            Format::Common => Box::new(clf::Clf::new(clf::Variant::Common)),
            Format::Vhost => Box::new(clf::Clf::new(clf::Variant::Vhost)),
            Format::Iis => Box::new(w3c::W3c::new(w3c::Flavor::Iis)),
            Format::Cloudfront => Box::new(w3c::W3c::new(w3c::Flavor::CloudFront)),
            Format::Alb => Box::new(alb::Alb),
            Format::Json => {
                Box::new(json::Json::new(json::Flavor::Generic, &opts.fields).map_err(anyhow::Error::msg)?)
            }
            Format::Caddy => {
                Box::new(json::Json::new(json::Flavor::Caddy, &opts.fields).map_err(anyhow::Error::msg)?)
            }
            Format::Auto => bail!("auto is resolved per file before parsing"),
        })
    }

    /// True for the formats that `--field` applies to.
    pub fn is_json(self) -> bool {
        matches!(self, Format::Json | Format::Caddy)
    }
}

/// Settings some parsers need.
#[derive(Debug, Default, Clone)]
pub struct ParserOptions {
    /// `--field NAME=KEY` mappings for the JSON formats, in command-line order.
    pub fields: Vec<json::Mapping>,
}

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
log-export /var/log/apache2/access.log* | path-normalize | baseline-diff --state site.state
log-export --format iis W3SVC1/u_ex26*.log > events.jsonl
log-export --format json --field time=@t --field uri=req.url --field client=req.ip app.jsonl
log-export AWSLogs/*/elasticloadbalancing/*/2026/10/*/*.log.gz | path-normalize | baseline-diff --state alb.state
zcat old.log.gz | log-export --host www.example.org -
log-export access.log | jq -r 'select(.status == 200) | .path' | sort | uniq -c | sort -n | head";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "FORMATS",
        "\
Each format, and the server hint its events carry (--server overrides it):
  auto        detected per file from its first 64 lines (see DETECTION)
  combined    Apache/Nginx combined: %h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"
  common      Apache common log format (CLF)
  vhost       Apache vhost_combined: %v:%p before a combined line          server apache
  nginx       Nginx combined (same layout as combined)                     server nginx
  iis         IIS W3C extended, space-separated, #Fields headers           server iis
  cloudfront  AWS CloudFront standard log: W3C, tab-separated              server cloudfront
  alb         AWS Application Load Balancer (classic ELB lines too)        server alb (elb)
  json        one JSON object a line, keys mapped (see JSON MAPPING)
  caddy       Caddy v2 JSON access log                                     server caddy

iis: the #Fields header is re-read whenever it appears, so the column set may change within a file.
Data lines before any #Fields use IIS's default field set when they have its 15 values. Times are UTC.
The path is cs-uri-stem as logged (a + in it stays a +: it is a legal path character) and the query
cs-uri-query (- = none). IIS writes spaces as +; they are turned back into spaces in the user agent
and referer (a literal + there, as in bingbot's +http://, cannot be told apart and becomes a space
too). host is s-sitename (W3SVC1: the server's own name for the site, which a client cannot forge,
the same for all of the site's bindings), else cs-host without its port. bytes is sc-bytes. A data
line whose number of values differs from its #Fields header is an error.

cloudfront: times are UTC; sc-status 000 (the viewer went away first) is status 0. The user agent and
referer are percent-decoded once (CloudFront encodes space, <, >, \", %, \\, { and }; what the client
had encoded itself stays encoded); the path and query are kept as logged. host is x-host-header (the
name the viewer asked for), else cs(Host) (the *.cloudfront.net name). Columns beyond the #Fields
header, which AWS appends over time, are ignored.

alb: the request's absolute-form URL gives host (without port) and path; client loses its port (IPv6
too); status is elb_status_code, what the client got (a WAF block: 403, target -); bytes is
sent_bytes; \\xHH escapes in the request and user agent are undone; fields after the user agent are
ignored. A request the load balancer could not read (\"- - - \") is a line without a request.
Classic ELB lines (no leading type) are read too, with server elb.

caddy: request.uri holds path and query; host request.host; client request.client_ip (trusted-proxy
aware), else request.remote_ip, else request.remote_addr; user agent and referer are the first values
of request.headers.User-Agent and .Referer; status, size, ts (epoch seconds, or a string when Caddy's
time_format is set). Entries from Caddy's other loggers (logger not http.log.access…; with no logger
key, msg not \"handled request\") are lines without a request: counted, never held against the
format. A file with Caddy entries but not one access entry is an error.

Compressed input (gzip) is recognised by its first bytes, whatever the file's name.",
    ),
    (
        "JSON MAPPING",
        "\
--format json reads one JSON object a line. Each event field is taken from the first of its
candidate keys present with a string or number value; --field NAME=KEY replaces one field's
candidates with KEY (--field NAME= reads it from nowhere). KEY is a top-level key or a dotted path
into nested objects (request.uri; a flattened key \"request.uri\" matches too); for an array the
first element is used. The default candidates (Nginx template names, then others and ECS names):
  time        time_iso8601 time_local time timestamp ts @timestamp msec
  host        host server_name http_host url.domain
  client      remote_addr remote_ip client_ip client source.ip client.ip
  method      request_method method http.request.method
  request     request            (a request line: GET /p?q HTTP/1.1)
  uri         request_uri uri url.original     (path and query)
  path        path url.path      (path alone)
  query       args query_string query url.query
  status      status response status_code http.response.status_code
  bytes       body_bytes_sent bytes_sent bytes size http.response.body.bytes
  user_agent  http_user_agent user_agent agent user_agent.original
  referer     http_referer referrer referer http.request.referrer
The target is request if present, else uri (query is used only when uri has no ?), else path with
query; a line with none of them is an error. Nginx's $uri is decoded and normalised by Nginx, so the
evasive spelling of a path is lost: log $request_uri or $request instead. A port on host or client is
dropped. Values may be strings or numbers. Times: RFC 3339/ISO 8601 with a zone, CLF
(10/Oct/2000:13:55:36 -0700), or epoch seconds as a number or numeric string, fractions allowed
($msec); values of 1e11 and more are read as milliseconds, 1e14 microseconds, 1e17 nanoseconds.

Lines are read as bytes: invalid UTF-8 in a value (Nginx escape=json passes bytes above 0x7f
through) is kept and escaped in the event. Nginx's default escaping writes \\xHH, which is not valid
JSON; log-export accepts it and turns it into the byte it stands for, so a template without
escape=json still reads. Unquoted empty or - values (from unquoted Nginx variables) read as absent.
--field applies to --format caddy too, replacing its own keys.",
    ),
    (
        "DETECTION",
        "\
--format auto decides per file from its first 64 lines. A #Fields: header means W3C: cloudfront when
it names x-edge-location or the data lines are tab-separated, else iis. Lines that mostly start with
{ mean JSON: caddy when the objects carry request.uri, else json (with the --field mappings).
Otherwise alb (lines start with a connection type such as http, https, h2, grpcs, ws, wss, then an
ISO time), vhost, combined, common, and headerless iis and cloudfront compete: the format that reads
the most sample lines wins, the more specific one on a tie. A format must read at least half of the
sample and at least one request in it, or detection fails and asks for --format.",
    ),
    (
        "OUTPUT",
        "\
One JSON object per request, for example:
  {\"time\":\"2026-10-15T13:55:36Z\",\"host\":\"www.example.org\",\"client\":\"203.0.113.9\",
   \"method\":\"POST\",\"path\":\"/uploads/x.php\",\"status\":200,\"bytes\":1935,
   \"user_agent\":\"curl/8.5.0\",\"source\":\"access.log:1042\",\"server\":\"apache\"}
Fields the log does not carry are left out. time is RFC 3339 UTC. path and query are as logged (the
log's own escaping undone); bytes that are not printable UTF-8 are percent-encoded and the event gets
anomalies [\"raw_control\"] or [\"raw_non_utf8\"]. Other text fields write invalid UTF-8 as \\xHH.",
    ),
    (
        "BAD INPUT",
        "\
A line that does not parse is skipped and counted; the first --show-bad of each file are shown as
FILE:LINE: not FORMAT: reason. When more than --max-bad percent of a file's lines fail, log-export stops
with exit status 2: the file is probably in another format. Lines with a request of \"-\" (408s) or junk
bytes (TLS sent to a plain-HTTP port) are valid lines without a request: counted, not emitted. A last
line without its newline that does not parse is reported as truncated. An empty file yields nothing.",
    ),
];

/// Print access-log requests as JSON-lines events.
///
/// Reads Apache, Nginx, IIS, AWS and Caddy access logs (plain or gzip, detected by content) and prints
/// one event per request on stdout, in the order the files are given. Times become RFC 3339 UTC, and
/// `source` says which file and line each event came from. Unparseable lines are counted and skipped;
/// the first few are shown on stderr. A file where more than --max-bad percent of the lines fail is an
/// error (exit 2), so a log in the wrong format never becomes an empty baseline unnoticed.
#[derive(Parser, Debug)]
#[command(name = "log-export", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// Log files to read, in order; `-` is standard input (the default).
    #[arg(value_name = "FILE", default_value = "-")]
    pub files: Vec<String>,

    /// The log format; `auto` detects it per file from the first lines.
    #[arg(short, long, value_enum, default_value = "auto")]
    pub format: Format,

    /// JSON formats: read the event field NAME from KEY, a top-level key or a dotted path
    /// (`request.uri`). NAME is one of time, host, client, method, request, uri, path, query, status,
    /// bytes, user_agent, referer. Repeatable; see JSON MAPPING in the manual.
    #[arg(long = "field", value_name = "NAME=KEY")]
    pub fields: Vec<json::Mapping>,

    /// Host for requests whose log line names none (common and combined logs carry no host).
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,

    /// Server hint to put on every event (apache, nginx, iis, tomcat, …), overriding the format's.
    #[arg(long, value_name = "NAME")]
    pub server: Option<String>,

    /// Fail when more than this percentage of a file's lines cannot be parsed.
    #[arg(long, value_name = "PERCENT", default_value_t = 10.0)]
    pub max_bad: f64,

    /// How many unparseable lines to show per file.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub show_bad: u64,

    /// Flush after every event, even into a pipe.
    #[arg(long)]
    pub line_buffered: bool,

    /// Do not print the summary of skipped lines on stderr (bad lines are still shown).
    #[arg(short, long)]
    pub quiet: bool,
}

/// Counts over a run, for the summary line.
#[derive(Debug, Default)]
struct Totals {
    files: u64,
    lines: u64,
    events: u64,
    headers: u64,
    no_request: u64,
    bad: u64,
}

/// Runs `log-export`.
pub fn run(args: Args) -> Result<ExitCode> {
    if !(0.0..=100.0).contains(&args.max_bad) {
        bail!("--max-bad must be a percentage between 0 and 100");
    }
    let mut out = Output::stdout(args.line_buffered);
    let emit = EmitOptions { default_host: args.host.clone(), server: args.server.clone() };
    if !args.fields.is_empty() && !matches!(args.format, Format::Auto) && !args.format.is_json() {
        bail!("--field applies to --format json and caddy only, not {}", args.format.name());
    }
    let popts = ParserOptions { fields: args.fields.clone() };
    let mut totals = Totals::default();
    for file in &args.files {
        let input = input::open(file)?;
        export_file(input, &args, &popts, &emit, &mut out, &mut totals)?;
    }
    out.finish()?;
    // The summary only when something was skipped, so `log-export | head` stays quiet.
    if !args.quiet && totals.no_request + totals.bad > 0 {
        let mut skipped = Vec::new();
        if totals.no_request > 0 {
            skipped.push(format!("{} without a request", cli::thousands(totals.no_request)));
        }
        if totals.bad > 0 {
            skipped.push(format!("{} unparseable", cli::thousands(totals.bad)));
        }
        cli::warn(
            NAME,
            format_args!(
                "{} file{}, {} lines, {} events{}{}",
                totals.files,
                if totals.files == 1 { "" } else { "s" },
                cli::thousands(totals.lines),
                cli::thousands(totals.events),
                if skipped.is_empty() { "" } else { "; skipped " },
                skipped.join(", ")
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Exports one file: detects the format if asked, parses every line, accounts for bad ones.
fn export_file(
    input: input::Input,
    args: &Args,
    popts: &ParserOptions,
    emit: &EmitOptions,
    out: &mut Output,
    totals: &mut Totals,
) -> Result<()> {
    let mut lines = input.lines();
    let name = lines.name.clone();
    totals.files += 1;

    // For auto-detection, read ahead a sample of lines, decide, then replay them.
    let mut pending: Vec<Vec<u8>> = Vec::new();
    let format = if args.format == Format::Auto {
        let mut buf = Vec::new();
        while pending.len() < detect::SAMPLE_LINES && lines.next_into(&mut buf)? {
            pending.push(std::mem::take(&mut buf));
        }
        if pending.iter().all(|l| l.iter().all(u8::is_ascii_whitespace)) {
            if !args.quiet {
                cli::warn(NAME, format_args!("{name}: empty, no events"));
            }
            totals.lines += pending.len() as u64;
            return Ok(());
        }
        detect::detect(&pending, popts).map_err(|e| anyhow::anyhow!("{name}: {e}"))?
    } else {
        args.format
    };
    let parser = format.parser(popts)?;

    let mut fx = FileExport {
        name: &name,
        format,
        server: format.server(),
        parser,
        emit,
        show_bad: args.show_bad,
        st: FileStats::default(),
        obuf: Vec::with_capacity(128 << 10),
        src: Vec::with_capacity(name.len() + 24),
    };
    for (i, l) in pending.iter().enumerate() {
        fx.line(l, i as u64 + 1, false, out)?;
    }
    while let Some(l) = lines.next_line()? {
        fx.line(l.bytes, l.no, l.unterminated, out)?;
    }
    let FileExport { st, obuf, mut parser, .. } = fx;
    out.write_line(&obuf)?;
    parser.finish().map_err(|why| anyhow::anyhow!("{name}: not {}: {why}", format.name()))?;
    totals.lines += st.lines;
    totals.events += st.events;
    totals.headers += st.headers;
    totals.no_request += st.no_request;
    totals.bad += st.bad;

    let counted = st.lines - st.blank - st.headers - u64::from(st.truncated);
    if st.bad > 0 {
        let pct = 100.0 * st.bad as f64 / counted.max(1) as f64;
        if pct > args.max_bad {
            bail!(
                "{name}: {} of {} lines ({pct:.1}%) are not valid {} lines, more than --max-bad {}%; \
                 is this the right --format?",
                cli::thousands(st.bad),
                cli::thousands(counted),
                format.name(),
                args.max_bad
            );
        }
        if st.bad > args.show_bad {
            cli::warn(
                NAME,
                format_args!("{name}: {} more unparseable lines not shown", st.bad - args.show_bad),
            );
        }
    }
    if st.events == 0 && !args.quiet {
        cli::warn(NAME, format_args!("{name}: no requests in {} lines", st.lines));
    }
    Ok(())
}

/// One file's export: its parser, counts, output buffer.
struct FileExport<'a> {
    name: &'a str,
    format: Format,
    server: Option<&'static str>,
    parser: Box<dyn LineParser>,
    emit: &'a EmitOptions,
    show_bad: u64,
    st: FileStats,
    obuf: Vec<u8>,
    src: Vec<u8>,
}

impl FileExport<'_> {
    /// Parses one line and writes its event, or counts it.
    fn line(&mut self, line: &[u8], line_no: u64, unterminated: bool, out: &mut Output) -> Result<()> {
        let st = &mut self.st;
        st.lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            st.blank += 1;
            return Ok(());
        }
        match self.parser.parse(line) {
            Ok(Parsed::Event(ev)) => {
                self.src.clear();
                self.src.extend_from_slice(self.name.as_bytes());
                self.src.push(b':');
                crate::jsonw::push_decimal(&mut self.src, line_no);
                ev.write(&mut self.obuf, &self.src, self.server, self.emit);
                st.events += 1;
                if out.is_line_buffered() || self.obuf.len() >= 64 << 10 {
                    out.write_line(&self.obuf)?;
                    self.obuf.clear();
                }
            }
            Ok(Parsed::Header) => st.headers += 1,
            Ok(Parsed::NoRequest(_)) => st.no_request += 1,
            Err(why) if unterminated => {
                // A last line without its newline: the file was cut or is still being written.
                st.truncated = true;
                cli::warn(NAME, format_args!("{}:{line_no}: truncated last line skipped ({why})", self.name));
            }
            Err(why) => {
                st.bad += 1;
                if st.bad <= self.show_bad {
                    cli::warn(
                        NAME,
                        format_args!("{}:{line_no}: not {}: {why}", self.name, self.format.name()),
                    );
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct FileStats {
    lines: u64,
    blank: u64,
    events: u64,
    headers: u64,
    no_request: u64,
    bad: u64,
    truncated: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A valid line of each format (after its header), to mutate.
    const SAMPLES: &[(Format, &[&str], &str)] = &[
        (
            Format::Combined,
            &[],
            r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /a?b HTTP/1.1" 200 1 "-" "ua""#,
        ),
        (
            Format::Iis,
            &["#Fields: date time cs-method cs-uri-stem cs-uri-query c-ip cs(User-Agent) sc-status sc-bytes"],
            "2026-10-15 13:55:36 GET /a.aspx x=1 192.0.2.1 Mozilla/5.0+(X) 200 15",
        ),
        (
            Format::Cloudfront,
            &["#Fields: date time cs-method cs-uri-stem sc-status cs(User-Agent) x-host-header"],
            "2026-10-15\t13:55:36\tGET\t/a\t000\tMozilla/5.0%20(X)\th.example",
        ),
        (
            Format::Alb,
            &[],
            r#"h2 2026-10-15T13:55:36.1Z app/w/1 [2001:db8::1]:5 - 0 0 0 403 - 1 2 "GET https://h:443/a?b HTTP/2.0" "u\x22a" - -"#,
        ),
        (
            Format::Json,
            &[],
            r#"{"time":1760536536.5,"request":"GET /a\x22?q HTTP/1.1","status":"200","h":{"x":[1,{"y":null}]}}"#,
        ),
        (
            Format::Caddy,
            &[],
            r#"{"ts":1760536536.5,"logger":"http.log.access","request":{"uri":"/a?b","headers":{"User-Agent":["x"]}},"status":200}"#,
        ),
    ];

    fn mutate(line: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
        let mut l = line.as_bytes().to_vec();
        for &(pos, byte, op) in edits {
            let at = pos % (l.len() + 1);
            match op % 3 {
                0 if at < l.len() => l[at] = byte,
                1 => l.insert(at, byte),
                _ if at < l.len() => {
                    l.remove(at);
                }
                _ => l.push(byte),
            }
        }
        l
    }

    proptest! {
        /// No bytes make a parser panic, and every error has a reason.
        #[test]
        fn parsers_never_panic(
            edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..8),
            noise in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let opts = ParserOptions::default();
            for &(format, headers, line) in SAMPLES {
                let mut p = format.parser(&opts).unwrap();
                for h in headers {
                    prop_assert!(matches!(p.parse(h.as_bytes()), Ok(Parsed::Header)));
                }
                for input in [mutate(line, &edits), noise.clone()] {
                    if let Err(why) = p.parse(&input) {
                        prop_assert!(!why.is_empty());
                    }
                    let mut out = Vec::new();
                    if let Ok(Parsed::Event(ev)) = p.parse(&input) {
                        ev.write(&mut out, b"t:1", None, &event::EmitOptions::default());
                        prop_assert!(serde_json::from_slice::<serde_json::Value>(&out).is_ok());
                    }
                }
                // The unmutated line still reads after whatever came before.
                prop_assert!(matches!(p.parse(line.as_bytes()), Ok(Parsed::Event(_))));
            }
        }
    }
}
