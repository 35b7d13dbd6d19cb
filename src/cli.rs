//! What every binary shares: the `main` wrapper, exit status, error and warning printing, and stdout.
//!
//! Exit status, the same for every tool:
//!
//! | code | meaning |
//! |------|---------|
//! | 0 | success (also when `baseline-diff` found new paths, unless `--exit-code` was given) |
//! | 1 | only `baseline-diff --exit-code`: new paths were found |
//! | 2 | any error: usage, I/O, bad input, HTTP |
//!
//! Rust ignores SIGPIPE, so a closed downstream pipe (`tool | head -1`) arrives as an `EPIPE` write
//! error. [`main`] looks for a `BrokenPipe` anywhere in the error chain and turns it into a quiet exit 0,
//! the way ripgrep and xsv do.

use std::fmt::Display;
use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};
use std::process::ExitCode;

use clap::Parser;

/// Exit status 2: any error.
pub const EXIT_ERROR: u8 = 2;

/// The text every man page and `--help` carries under EXIT STATUS.
pub const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success
  1  only baseline-diff --exit-code: new paths were found
  2  any error (usage, I/O, bad input, HTTP); a closed output pipe is not an error";

/// Parses the arguments of `A`, runs `run`, and maps the outcome to an exit status.
///
/// Errors print as `name: {err:#}` (the whole context chain on one line), except a broken pipe,
/// which ends the program quietly with status 0.
pub fn main<A: Parser>(name: &str, run: impl FnOnce(A) -> anyhow::Result<ExitCode>) -> ExitCode {
    let args = match A::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(EXIT_ERROR) } else { ExitCode::SUCCESS };
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = writeln!(io::stderr().lock(), "{name}: {err:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// True when any cause in the chain is an I/O error of kind `BrokenPipe`.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|e| e.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `name: message` on stderr. A failure to write to stderr is ignored: there is nowhere left
/// to report it.
pub fn warn(name: &str, msg: impl Display) {
    let _ = writeln!(io::stderr().lock(), "{name}: {msg}");
}

/// Where records go: stdout, block-buffered when it is a pipe or file, flushed after every record when
/// it is a terminal (so a person watching sees lines as they come).
pub struct Output {
    inner: BufWriter<StdoutLock<'static>>,
    line_buffered: bool,
}

impl Output {
    /// Standard output; `line_buffered` forces a flush after every record even into a pipe.
    pub fn stdout(line_buffered: bool) -> Self {
        let out = io::stdout();
        let tty = out.is_terminal();
        if !line_buffered && !tty {
            grow_pipe(1);
        }
        Output { inner: BufWriter::with_capacity(64 << 10, out.lock()), line_buffered: line_buffered || tty }
    }

    /// True when every record is flushed at once (a terminal, or asked for).
    pub fn is_line_buffered(&self) -> bool {
        self.line_buffered
    }

    /// Writes one complete record line (the caller includes the trailing newline).
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.inner.write_all(line)?;
        if self.line_buffered {
            self.inner.flush()?;
        }
        Ok(())
    }

    /// Serialises `rec` as one JSON line.
    pub fn write_record<T: serde::Serialize>(&mut self, rec: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.inner, rec).map_err(io::Error::from)?;
        self.write_line(b"\n")
    }

    /// Flushes, reporting the error that `BufWriter`'s drop would swallow.
    pub fn finish(mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// When `fd` is a pipe, asks the kernel for a 1 MiB pipe buffer instead of the default 64 KiB (the most
/// an unprivileged process may ask for by default). Stages stream hundreds of megabytes to each other; a
/// larger buffer means 16 times fewer wake-ups of the reader and the writer. Failure changes nothing.
pub fn grow_pipe(fd: i32) {
    // SAFETY: fstat and fcntl on a descriptor number only read and set kernel state; a closed or
    // foreign descriptor makes them fail, which is ignored.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFIFO {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

/// Formats a count with thousands separators, for the summaries printed on stderr.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_pipe_found_anywhere_in_the_chain() {
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("writing");
        assert!(is_broken_pipe(&e));
        let e = anyhow::Error::from(io::Error::from(io::ErrorKind::NotFound)).context("reading");
        assert!(!is_broken_pipe(&e));
        let json = serde_json::Error::io(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(is_broken_pipe(&anyhow::Error::from(json)));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
