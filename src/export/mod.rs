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
pub mod file;
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

    /// For a parser that reads several formats (`--format auto` on the CLF family): how many lines
    /// each format read, by format name. Empty for a parser of one format.
    fn read_as(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
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
    pub fn parser(self, opts: &ParserOptions) -> Result<Box<dyn LineParser + Send>> {
        Ok(match self {
            Format::Combined | Format::Nginx => Box::new(clf::Clf::new(clf::Variant::Combined, opts.client)),
            Format::Common => Box::new(clf::Clf::new(clf::Variant::Common, opts.client)),
            Format::Vhost => Box::new(clf::Clf::new(clf::Variant::Vhost, opts.client)),
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

    /// The CLF variant this format reads, for the formats of that family.
    pub fn clf_variant(self) -> Option<clf::Variant> {
        match self {
            Format::Combined | Format::Nginx => Some(clf::Variant::Combined),
            Format::Common => Some(clf::Variant::Common),
            Format::Vhost => Some(clf::Variant::Vhost),
            _ => None,
        }
    }

    /// The parser for a file whose format `--format auto` detected as `self`. A detected CLF-family
    /// format reads each line the others of the family read too, when its own reading fails (a file
    /// whose format changed mid-file, or several sites' logs in one); any other format reads as
    /// [`Format::parser`]. With `--format` given, lines are held to that format.
    pub fn detected_parser(self, opts: &ParserOptions) -> Result<Box<dyn LineParser + Send>> {
        match self.clf_variant() {
            Some(v) => Ok(Box::new(clf::Mixed::new(v, opts.client))),
            None => self.parser(opts),
        }
    }

    /// True when `#` header lines change how the following lines read (W3C `#Fields` and `#Date`): such
    /// files are still parsed on several cores, each block with the headers in effect at its start
    /// ([`crate::par::for_each_block_with`]).
    pub fn has_header_state(self) -> bool {
        matches!(self, Format::Iis | Format::Cloudfront)
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
    /// Which address of an X-Forwarded-For chain in the client field is the client (`--client`).
    pub client: ClientRule,
}

/// Which address of a client field that holds an X-Forwarded-For chain (`203.0.113.9, 10.0.0.1`, as
/// logged by an Nginx `log_format` that starts with `$http_x_forwarded_for`) the event's `client` is.
/// The whole chain is kept in `forwarded_for` either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ClientRule {
    /// The first address: the original client as the chain tells it. The client wrote that header
    /// itself and can forge it, unless the first proxy replaces it.
    #[default]
    First,
    /// The last address: the one the nearest proxy saw, which a client cannot forge past that proxy.
    Last,
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
line whose number of values differs from its #Fields header is an error. A value in double quotes
(IIS Advanced Logging, cookie columns) is one value, spaces and all, and a run of spaces is one
separator (IIS writes - for an empty value). IIS Advanced Logging's date-local and time-local are
read when the header has no date and time; the file does not give their offset, so they are taken
as UTC, and the times are off by the server's offset (log date and time, which are UTC, where you
can).

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
sample and at least one request in it, or detection fails and asks for --format.

A detected vhost, combined or common file is read line by line as that format, and a line it cannot
read is tried as the other two before it counts as bad: real files change format mid-file (a
LogFormat edited, several sites' logs in one file, host:port added for one virtual host). When more
than one format read lines, the end of the file is accounted for on stderr (\"the format changes
within the file: lines read 1,200 as combined, 40 as vhost\"), and bad lines name every format tried.
A given --format holds every line to that format.

The CLF family also reads: a client field that is an X-Forwarded-For chain (\"203.0.113.9, 10.0.0.1
- - [...]\", from an Nginx log_format starting with $http_x_forwarded_for; the chain goes to
forwarded_for and --client picks the client), fields appended after the user agent (ignored), a
common line followed by a referer and user agent (read as combined), - for bytes, IPv6 clients, any
UTC offset, CRLF line ends and a UTF-8 byte-order mark. IIS and CloudFront X-Forwarded-For columns
(cs(X-Forwarded-For), X-Forwarded-For, x-forwarded-for) go to forwarded_for; c-ip stays the client.",
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

    /// How to read the logs.
    #[command(flatten)]
    pub read: ReadArgs,

    /// Flush after every event, even into a pipe (reads line by line, on one core).
    #[arg(long)]
    pub line_buffered: bool,

    /// Worker threads (default: the cores available; W3C logs are read on one).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Do not print the summary of skipped lines on stderr (bad lines are still shown).
    #[arg(short, long)]
    pub quiet: bool,
}

/// How log files are read: shared by `log-export` and `baseline-diff --from-logs`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReadArgs {
    /// The log format; `auto` detects it per file from the first lines.
    #[arg(short, long, value_enum, default_value = "auto")]
    pub format: Format,

    /// JSON formats: read the event field NAME from KEY, a top-level key or a dotted path
    /// (`request.uri`). NAME is one of time, host, client, method, request, uri, path, query, status,
    /// bytes, user_agent, referer. Repeatable; see JSON MAPPING in the manual.
    #[arg(long = "field", value_name = "NAME=KEY")]
    pub fields: Vec<json::Mapping>,

    /// Which address of an X-Forwarded-For chain logged as the client (`a, b, c - - [...]`) becomes
    /// `client`; the whole chain goes to `forwarded_for`.
    #[arg(long, value_enum, value_name = "RULE", default_value = "first")]
    pub client: ClientRule,

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
}

impl ReadArgs {
    /// True when no option differs from its default.
    pub fn is_default(&self) -> bool {
        self.format == Format::Auto
            && self.fields.is_empty()
            && self.client == ClientRule::First
            && self.host.is_none()
            && self.server.is_none()
            && self.max_bad == 10.0
            && self.show_bad == 5
    }

    /// Checks the values and makes the reader's settings.
    pub fn options(
        &self,
        threads: Option<usize>,
        line_buffered: bool,
        quiet: bool,
    ) -> Result<file::ReadOptions> {
        if !(0.0..=100.0).contains(&self.max_bad) {
            bail!("--max-bad must be a percentage between 0 and 100");
        }
        if !self.fields.is_empty() && !matches!(self.format, Format::Auto) && !self.format.is_json() {
            bail!("--field applies to --format json and caddy only, not {}", self.format.name());
        }
        Ok(file::ReadOptions {
            format: self.format,
            parser: ParserOptions { fields: self.fields.clone(), client: self.client },
            emit: EmitOptions { default_host: self.host.clone(), server: self.server.clone() },
            max_bad: self.max_bad,
            show_bad: self.show_bad,
            quiet,
            threads: threads.unwrap_or_else(crate::par::default_threads),
            line_buffered,
        })
    }
}

/// Runs `log-export`.
pub fn run(args: Args) -> Result<ExitCode> {
    let mut out = Output::stdout(args.line_buffered);
    let o = args.read.options(args.threads, args.line_buffered || out.is_line_buffered(), args.quiet)?;
    let mut totals = file::Totals::default();
    for name in &args.files {
        let input = input::open(name)?;
        file::read_file(
            input,
            &o,
            file::JsonLines::default,
            |bytes| Ok(out.write_line(bytes)?),
            &mut totals,
        )?;
    }
    out.finish()?;
    // The summary only when something was skipped, so `log-export | head` stays quiet.
    if !args.quiet
        && let Some(s) = totals.summary()
    {
        cli::warn(NAME, s);
    }
    Ok(ExitCode::SUCCESS)
}
