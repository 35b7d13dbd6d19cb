//! Reading one log file: format detection, the line loop (on one core, or on several for formats whose
//! lines stand alone), and the bad-line accounting.
//!
//! The events go to a [`Sink`]: `log-export` writes them as JSON lines; `baseline-diff --from-logs`
//! normalises and aggregates them in the same process. Both share everything in this file, so a log is
//! read, detected and judged the same way whichever tool reads it.

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read};

use anyhow::{Result, bail};

use super::event::{EmitOptions, RawEvent};
use super::{Format, LineParser, NAME, Parsed, ParserOptions, detect};
use crate::cli;
use crate::input::{Input, Lines};
use crate::par;

/// Where an event was read: the `source` field, `file:line`. Kept as its two parts and written out only
/// by a sink that needs the text (log-export, for every event; `--from-logs` for the first request of
/// a key): formatting it for every line was a twentieth of `--from-logs`'s work.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    /// The input's name.
    pub file: &'a str,
    /// The 1-based line number.
    pub line: u64,
}

impl Source<'_> {
    /// Appends `file:line` to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.file.as_bytes());
        out.push(b':');
        crate::jsonw::push_decimal(out, self.line);
    }

    /// Calls `f` with `file:line`. (Formatted: this runs once for each key a worker meets, and for
    /// requests in the same second as a key's first, not per line.)
    pub fn with_text<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        f(&self.to_string())
    }
}

impl std::fmt::Display for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Where events go.
pub trait Sink: Send {
    /// Takes one event; `src` says where it was read, `server` is the format's hint.
    fn event(
        &mut self,
        ev: &RawEvent<'_>,
        src: Source<'_>,
        server: Option<&str>,
        emit: &EmitOptions,
    ) -> Result<()>;

    /// Output produced so far, to be written in input order (JSON lines); empty for sinks that keep what
    /// they read.
    fn take_output(&mut self) -> Vec<u8> {
        Vec::new()
    }

    /// Bytes of output waiting (so the one-core loop can write in chunks).
    fn pending(&self) -> usize {
        0
    }

    /// Offers an empty buffer to write the next output into (one already written, reused).
    fn reuse(&mut self, _buf: Vec<u8>) {}
}

/// `log-export`'s sink: events as JSON lines.
#[derive(Default)]
pub struct JsonLines {
    out: Vec<u8>,
    /// The current event's `file:line`, rebuilt in place.
    src: Vec<u8>,
}

impl Sink for JsonLines {
    fn event(
        &mut self,
        ev: &RawEvent<'_>,
        src: Source<'_>,
        server: Option<&str>,
        emit: &EmitOptions,
    ) -> Result<()> {
        self.src.clear();
        src.write(&mut self.src);
        ev.write(&mut self.out, &self.src, server, emit);
        Ok(())
    }
    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }
    fn pending(&self) -> usize {
        self.out.len()
    }
    fn reuse(&mut self, buf: Vec<u8>) {
        if self.out.is_empty() {
            self.out = buf;
        }
    }
}

/// How files are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// The format, or `Auto`.
    pub format: Format,
    /// Parser settings (`--field`).
    pub parser: ParserOptions,
    /// Host and server defaults.
    pub emit: EmitOptions,
    /// `--max-bad` percent.
    pub max_bad: f64,
    /// `--show-bad`.
    pub show_bad: u64,
    /// `--quiet`.
    pub quiet: bool,
    /// Worker threads for formats whose lines stand alone.
    pub threads: usize,
    /// Hand every event to the sink and flush it at once (streaming input such as `tail -f`).
    pub line_buffered: bool,
}

/// Counts over a run, for the summary line.
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Files read.
    pub files: u64,
    /// Lines read.
    pub lines: u64,
    /// Events.
    pub events: u64,
    /// Header and comment lines.
    pub headers: u64,
    /// Lines without a request.
    pub no_request: u64,
    /// Unparseable lines.
    pub bad: u64,
}

impl Totals {
    /// The one-line summary, or `None` when nothing was skipped.
    pub fn summary(&self) -> Option<String> {
        if self.no_request + self.bad == 0 {
            return None;
        }
        let mut skipped = Vec::new();
        if self.no_request > 0 {
            skipped.push(format!("{} without a request", cli::thousands(self.no_request)));
        }
        if self.bad > 0 {
            skipped.push(format!("{} unparseable", cli::thousands(self.bad)));
        }
        Some(format!(
            "{} file{}, {} lines, {} events; skipped {}",
            self.files,
            if self.files == 1 { "" } else { "s" },
            cli::thousands(self.lines),
            cli::thousands(self.events),
            skipped.join(", ")
        ))
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct FileStats {
    lines: u64,
    blank: u64,
    events: u64,
    headers: u64,
    no_request: u64,
    bad: u64,
    truncated: bool,
}

impl FileStats {
    fn add(&mut self, o: &FileStats) {
        self.lines += o.lines;
        self.blank += o.blank;
        self.events += o.events;
        self.headers += o.headers;
        self.no_request += o.no_request;
        self.bad += o.bad;
        self.truncated |= o.truncated;
    }
}

/// A line that could not be used: (line number, reason, whether it was a truncated last line).
type BadLine = (u64, Cow<'static, str>, bool);

/// A worker's parser and sink.
struct Handler<S> {
    parser: Box<dyn LineParser + Send>,
    sink: S,
}

impl<S: Sink> Handler<S> {
    #[allow(clippy::too_many_arguments)]
    fn line(
        &mut self,
        name: &str,
        server: Option<&str>,
        emit: &EmitOptions,
        no: u64,
        line: &[u8],
        unterminated: bool,
        st: &mut FileStats,
        bad: &mut Vec<BadLine>,
        keep_bad: u64,
    ) -> Result<()> {
        st.lines += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            st.blank += 1;
            return Ok(());
        }
        match self.parser.parse(line) {
            Ok(Parsed::Event(ev)) => {
                self.sink.event(&ev, Source { file: name, line: no }, server, emit)?;
                st.events += 1;
            }
            Ok(Parsed::Header) => st.headers += 1,
            Ok(Parsed::NoRequest(_)) => st.no_request += 1,
            Err(why) if unterminated => {
                // A last line without its newline: the file was cut or is still being written.
                st.truncated = true;
                bad.push((no, why, true));
            }
            Err(why) => {
                st.bad += 1;
                if (bad.len() as u64) < keep_bad {
                    bad.push((no, why, false));
                }
            }
        }
        Ok(())
    }
}

/// Reads one file into sinks made by `make_sink`; output the sinks produce goes to `write` in input
/// order. Returns the sinks (one per worker, in worker order).
pub fn read_file<S: Sink>(
    input: Input,
    o: &ReadOptions,
    make_sink: impl Fn() -> S + Sync,
    mut write: impl FnMut(&[u8]) -> Result<()>,
    totals: &mut Totals,
) -> Result<Vec<S>> {
    let name = input.name.clone();
    totals.files += 1;
    let mut reader = input.into_reader();
    skip_bom(&mut reader, &name)?;

    // For auto-detection, read a sample of lines, decide, then put them back in front of the rest.
    let format = if o.format == Format::Auto {
        let (sample, eof) = read_sample(&mut reader, &name)?;
        let lines: Vec<Vec<u8>> = sample
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l).to_vec())
            .filter(|l| !l.is_empty())
            .collect();
        if eof && lines.iter().all(|l| l.iter().all(u8::is_ascii_whitespace)) {
            if !o.quiet {
                cli::warn(NAME, format_args!("{name}: empty, no events"));
            }
            totals.lines += sample.iter().filter(|&&b| b == b'\n').count() as u64;
            return Ok(Vec::new());
        }
        let f = detect::detect(&lines, &o.parser).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        reader = Box::new(BufReader::with_capacity(256 << 10, std::io::Cursor::new(sample).chain(reader)));
        f
    } else {
        o.format
    };
    let server = format.server();
    let detected = o.format == Format::Auto;
    let make_parser = || if detected { format.detected_parser(&o.parser) } else { format.parser(&o.parser) };
    let make_handler = || -> Result<Handler<S>> { Ok(Handler { parser: make_parser()?, sink: make_sink() }) };
    // What a bad line was not: the format, or each format a detected CLF-family file was tried as.
    let tried = match format.clf_variant() {
        Some(v) if detected => super::clf::Mixed::tried(v),
        _ => format.name().to_string(),
    };

    let mut st = FileStats::default();
    let mut read_as: Vec<(&'static str, u64)> = Vec::new();
    let mut shown = 0u64;
    let report = |bad: &[BadLine], shown: &mut u64| {
        for (no, why, truncated) in bad {
            if *truncated {
                cli::warn(NAME, format_args!("{name}:{no}: truncated last line skipped ({why})"));
            } else if *shown < o.show_bad {
                *shown += 1;
                cli::warn(NAME, format_args!("{name}:{no}: not {tried}: {why}"));
            }
        }
    };
    let sinks = if o.line_buffered || o.threads <= 1 {
        // One core, line by line; with --line-buffered every event is written at once.
        let mut h = make_handler()?;
        let mut lines = Lines::from_reader(name.clone(), reader);
        let mut bad = Vec::new();
        while let Some(l) = lines.next_line()? {
            h.line(&name, server, &o.emit, l.no, l.bytes, l.unterminated, &mut st, &mut bad, o.show_bad)?;
            report(&bad, &mut shown);
            bad.clear();
            if o.line_buffered || h.sink.pending() >= 64 << 10 {
                let mut out = h.sink.take_output();
                write(&out)?;
                out.clear();
                h.sink.reuse(out);
            }
        }
        write(&h.sink.take_output())?;
        add_read_as(&mut read_as, h.parser.read_as());
        vec![h.sink]
    } else {
        let bufs = par::Buffers::default();
        let handlers = par::for_each_block_with(
            format.has_header_state(),
            &name,
            reader,
            o.threads,
            make_handler,
            |h, block| {
                let h = h.as_mut().map_err(|e| anyhow::anyhow!("{e:#}"))?;
                // The headers in effect where the block starts (already counted where they stand).
                for header in block.prelude() {
                    let _ = h.parser.parse(header);
                }
                h.sink.reuse(bufs.take(0));
                let mut bst = FileStats::default();
                let mut bad = Vec::new();
                for (no, line, unterminated) in block.lines() {
                    h.line(&name, server, &o.emit, no, line, unterminated, &mut bst, &mut bad, o.show_bad)?;
                }
                Ok((h.sink.take_output(), bst, bad))
            },
            |(out, bst, bad)| {
                st.add(&bst);
                report(&bad, &mut shown);
                write(&out)?;
                bufs.give(out);
                Ok(())
            },
        )?;
        let handlers: Vec<_> = handlers.into_iter().filter_map(Result::ok).collect();
        handlers.iter().for_each(|h| add_read_as(&mut read_as, h.parser.read_as()));
        handlers.into_iter().map(|h| h.sink).collect()
    };
    // A file read as more than one format says how many lines each read.
    if read_as.iter().filter(|(_, n)| *n > 0).count() > 1 && !o.quiet {
        read_as.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
        let parts: Vec<String> = read_as
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(f, n)| format!("{} as {f}", cli::thousands(*n)))
            .collect();
        cli::warn(
            NAME,
            format_args!("{name}: the format changes within the file: lines read {}", parts.join(", ")),
        );
    }

    totals.lines += st.lines;
    totals.events += st.events;
    totals.headers += st.headers;
    totals.no_request += st.no_request;
    totals.bad += st.bad;
    if format == Format::Caddy && st.events == 0 && st.no_request > 0 {
        bail!(
            "{name}: not caddy: {} Caddy log entries and not one access entry (logger http.log.access…, msg \
             \"handled request\"): is this Caddy's access log? Caddy writes one only for sites with a `log` \
             directive",
            st.no_request
        );
    }
    let counted = st.lines - st.blank - st.headers - u64::from(st.truncated);
    if st.bad > 0 {
        let pct = 100.0 * st.bad as f64 / counted.max(1) as f64;
        if pct > o.max_bad {
            bail!(
                "{name}: {} of {} lines ({pct:.1}%) are not valid {tried} lines, more than --max-bad {}%; \
                 is this the right --format?",
                cli::thousands(st.bad),
                cli::thousands(counted),
                o.max_bad
            );
        }
        if st.bad > o.show_bad {
            cli::warn(NAME, format_args!("{name}: {} more unparseable lines not shown", st.bad - o.show_bad));
        }
    }
    if st.events == 0 && !o.quiet {
        cli::warn(NAME, format_args!("{name}: no requests in {} lines", st.lines));
    }
    Ok(sinks)
}

/// Sums per-format line counts of several workers' parsers.
fn add_read_as(total: &mut Vec<(&'static str, u64)>, part: Vec<(&'static str, u64)>) {
    for (f, n) in part {
        match total.iter_mut().find(|(t, _)| *t == f) {
            Some((_, t)) => *t += n,
            None => total.push((f, n)),
        }
    }
}

/// Drops a UTF-8 byte-order mark at the start of the input (Windows tools write one; it would otherwise
/// stick to the first line's first field, the client address).
fn skip_bom(reader: &mut Box<dyn BufRead + Send>, name: &str) -> Result<()> {
    let head = reader.fill_buf().map_err(|e| anyhow::anyhow!("{name}: read error: {e}"))?;
    if head.starts_with(b"\xEF\xBB\xBF") {
        reader.consume(3);
    }
    Ok(())
}

/// Reads whole lines until there are [`detect::SAMPLE_LINES`] or the input ends: (bytes, at end).
fn read_sample(reader: &mut Box<dyn BufRead + Send>, name: &str) -> Result<(Vec<u8>, bool)> {
    let mut sample = Vec::new();
    let mut lines = 0;
    while lines < detect::SAMPLE_LINES {
        let n =
            reader.read_until(b'\n', &mut sample).map_err(|e| anyhow::anyhow!("{name}: read error: {e}"))?;
        if n == 0 {
            return Ok((sample, true));
        }
        lines += 1;
    }
    Ok((sample, false))
}
