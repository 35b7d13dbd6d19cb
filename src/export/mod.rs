//! `log-export`: access-log files in, one event record per request out.
//!
//! Each format lives in its own file (`clf.rs` for the Apache/Nginx text formats, …) behind the
//! [`LineParser`] trait; `detect.rs` chooses one per file for `--format auto`; `event.rs` writes the
//! events. This file holds the command line and the per-file loop with its bad-line accounting: an
//! unparseable line is counted and skipped, the first few are shown with `file:line`, and a file where
//! more than `--max-bad` percent of the lines fail is an error, because a wrong-format file must never
//! turn silently into an empty or partial baseline.

pub mod clf;
pub mod detect;
pub mod event;

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

/// A format's line parser. Parsers may keep state between lines (W3C `#Fields`).
pub trait LineParser {
    /// Parses one line (without its line ending).
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a>;
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
        }
    }

    /// The `server` hint this format's events carry, when the format tells.
    pub fn server(self) -> Option<&'static str> {
        match self {
            Format::Vhost => Some("apache"),
            Format::Nginx => Some("nginx"),
            Format::Auto | Format::Combined | Format::Common => None,
        }
    }

    /// A fresh parser for this format.
    pub fn parser(self, _opts: &ParserOptions) -> Result<Box<dyn LineParser>> {
        Ok(match self {
            Format::Combined | Format::Nginx => Box::new(clf::Clf::new(clf::Variant::Combined)),
            Format::Common => Box::new(clf::Clf::new(clf::Variant::Common)),
            Format::Vhost => Box::new(clf::Clf::new(clf::Variant::Vhost)),
            Format::Auto => bail!("auto is resolved per file before parsing"),
        })
    }
}

/// Settings some parsers need.
#[derive(Debug, Default, Clone)]
pub struct ParserOptions {}

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
log-export /var/log/apache2/access.log* | path-normalize | baseline-diff --state site.state
log-export --format iis W3SVC1/u_ex26*.log > events.jsonl
zcat old.log.gz | log-export --host www.example.org -
log-export access.log | jq -r 'select(.status == 200) | .path' | sort | uniq -c | sort -n | head";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[
    (
        "FORMATS",
        "\
auto        detected per file from its first 64 lines
combined    Apache/Nginx combined: %h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"
common      Apache common log format (CLF)
vhost       Apache vhost_combined: %v:%p before a combined line
nginx       Nginx combined (same layout; events carry server \"nginx\")

Compressed input (gzip) is recognised by its first bytes, whatever the file's name.",
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
    let popts = ParserOptions::default();
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
    let mut parser = format.parser(popts)?;
    let server = format.server();

    let mut st = FileStats::default();
    let mut obuf: Vec<u8> = Vec::with_capacity(128 << 10);
    let mut src: Vec<u8> = Vec::with_capacity(name.len() + 24);
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    let mut replay = pending.into_iter();
    loop {
        let unterminated;
        if let Some(l) = replay.next() {
            buf = l;
            line_no += 1;
            unterminated = false;
        } else if lines.next_into(&mut buf)? {
            line_no = lines.line;
            unterminated = lines.unterminated;
        } else {
            break;
        }
        st.lines += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            st.blank += 1;
            continue;
        }
        match parser.parse(&buf) {
            Ok(Parsed::Event(ev)) => {
                src.clear();
                src.extend_from_slice(name.as_bytes());
                src.push(b':');
                src.extend_from_slice(line_no.to_string().as_bytes());
                ev.write(&mut obuf, &src, server, emit);
                st.events += 1;
                if out.is_line_buffered() || obuf.len() >= 64 << 10 {
                    out.write_line(&obuf)?;
                    obuf.clear();
                }
            }
            Ok(Parsed::Header) => st.headers += 1,
            Ok(Parsed::NoRequest(_)) => st.no_request += 1,
            Err(why) if unterminated => {
                // A last line without its newline: the file was cut or is still being written.
                st.truncated = true;
                cli::warn(NAME, format_args!("{name}:{line_no}: truncated last line skipped ({why})"));
            }
            Err(why) => {
                st.bad += 1;
                if st.bad <= args.show_bad {
                    cli::warn(NAME, format_args!("{name}:{line_no}: not {}: {why}", format.name()));
                }
            }
        }
    }
    out.write_line(&obuf)?;
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
