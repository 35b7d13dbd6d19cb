//! Reading an export response line by line, as it arrives.
//!
//! `search/jobs/export` with `output_mode=json` streams one JSON object per line:
//!
//! ```text
//! {"preview":false,"offset":0,"result":{"host":"web01","path":"/login",…}}
//! {"preview":false,"offset":1,"lastrow":true,"result":{…}}
//! {"messages":[{"type":"FATAL","text":"…search process terminated…"}]}
//! ```
//!
//! The rules this reader enforces (see `reference/splunk-api.md` §3):
//! - nothing is buffered beyond one line (lines are capped at [`MAX_LINE`]);
//! - rows with `"preview":true` are partial results and are dropped (`preview=false` is also sent);
//! - every line may carry `messages`; DEBUG/INFO/WARN go to the caller, and any ERROR or FATAL makes the
//!   whole export fail, even after rows and under HTTP 200;
//! - a result set ends with a row (or a bare line) carrying `"lastrow":true`; a stream that ends while a
//!   set is open, or before any final set was closed, was cut short and is a failure, as is a connection
//!   that drops mid-way. An empty result is the single line `{"preview":false,"lastrow":true}`.

use std::io::{self, BufRead, Read};

use serde::Deserialize;

use super::row::Row;

/// The longest response line accepted (a row with bounded samples is a few kilobytes).
pub const MAX_LINE: u64 = 64 << 20;

/// One line of the export stream.
#[derive(Deserialize, Debug, Default)]
struct Line<'a> {
    #[serde(default)]
    preview: bool,
    #[serde(default)]
    lastrow: bool,
    #[serde(default, borrow)]
    result: Option<Row<'a>>,
    #[serde(default, borrow)]
    results: Option<Vec<Row<'a>>>,
    #[serde(default)]
    messages: Vec<Message>,
}

/// A message Splunk attached to a line.
#[derive(Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// DEBUG, INFO, WARN, ERROR or FATAL.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// The text.
    #[serde(default)]
    pub text: String,
}

impl Message {
    /// True for ERROR and FATAL, which fail the export.
    pub fn is_error(&self) -> bool {
        matches!(self.kind.to_ascii_uppercase().as_str(), "ERROR" | "FATAL")
    }
}

/// Counts over one response.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Non-blank lines read.
    pub lines: u64,
    /// Final (non-preview) rows handed on.
    pub rows: u64,
    /// Preview rows dropped.
    pub preview_rows: u64,
}

/// Why an export stream failed.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The connection broke or timed out while reading.
    #[error("connection to Splunk lost after {rows} rows")]
    Transport {
        /// Rows handed on before the failure.
        rows: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Splunk reported an ERROR or FATAL message in the stream.
    #[error("Splunk reported {} after {rows} rows: {}", .message.kind, .message.text)]
    Search {
        /// Rows handed on before the message.
        rows: u64,
        /// The message.
        message: Message,
    },
    /// The response ended before the last row of its result set.
    #[error(
        "the export ended after {rows} rows without its last row (no \"lastrow\"): the search was cut short; \
         nothing after row {rows} can be trusted"
    )]
    Truncated {
        /// Rows handed on.
        rows: u64,
    },
    /// A line that is not a JSON object, or is too long.
    #[error("response line {line}: {why}")]
    BadLine {
        /// 1-based line number in the response.
        line: u64,
        /// What was wrong.
        why: String,
    },
    /// Writing a row failed (stdout closed, disk full).
    #[error("writing output")]
    Sink(#[source] io::Error),
}

/// Reads `body` to its end, handing each final row to `on_row` and each message to `on_msg` (ERROR and
/// FATAL end the stream with [`StreamError::Search`] right after `on_msg` saw them).
pub fn read<R: BufRead>(
    mut body: R,
    mut on_row: impl FnMut(&Row<'_>) -> io::Result<()>,
    mut on_msg: impl FnMut(&Message),
) -> Result<Stats, StreamError> {
    let mut st = Stats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
    let mut line_no = 0u64;
    // A final set has been closed by lastrow / a final row arrived since the last lastrow.
    let mut closed = false;
    let mut open = false;
    loop {
        buf.clear();
        let n = (&mut body)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .map_err(|source| StreamError::Transport { rows: st.rows, source })?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let terminated = buf.last() == Some(&b'\n');
        if !terminated && n as u64 == MAX_LINE {
            return Err(StreamError::BadLine { line: line_no, why: format!("longer than {MAX_LINE} bytes") });
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        st.lines += 1;
        let line: Line<'_> = match serde_json::from_slice(text) {
            Ok(l) => l,
            // A last line cut in the middle: the connection ended early.
            Err(_) if !terminated => return Err(StreamError::Truncated { rows: st.rows }),
            Err(e) => {
                return Err(StreamError::BadLine {
                    line: line_no,
                    why: format!("not a JSON result line ({e}): {}", snippet(text)),
                });
            }
        };
        for m in &line.messages {
            on_msg(m);
            if m.is_error() {
                return Err(StreamError::Search { rows: st.rows, message: m.clone() });
            }
        }
        let rows = line.result.iter().chain(line.results.iter().flatten());
        if line.preview {
            st.preview_rows += rows.count() as u64;
            continue;
        }
        for r in rows {
            on_row(r).map_err(StreamError::Sink)?;
            st.rows += 1;
            open = true;
        }
        if line.lastrow {
            closed = true;
            open = false;
        }
    }
    if open || !closed {
        return Err(StreamError::Truncated { rows: st.rows });
    }
    Ok(st)
}

/// The first 120 characters of a line, escaped, for an error message.
fn snippet(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(120)]);
    s.escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> (Result<Stats, StreamError>, Vec<String>, Vec<String>) {
        let mut rows = vec![];
        let mut msgs = vec![];
        let r = read(
            body.as_bytes(),
            |r| {
                rows.push(r.one("p").unwrap_or("").to_string());
                Ok(())
            },
            |m| msgs.push(format!("{}:{}", m.kind, m.text)),
        );
        (r, rows, msgs)
    }

    #[test]
    fn final_rows_only_and_lastrow_required() {
        let body = "{\"preview\":true,\"offset\":0,\"result\":{\"p\":\"early\"}}\n\
                    {\"preview\":true,\"offset\":0,\"lastrow\":true,\"result\":{\"p\":\"early2\"}}\n\
                    \n\
                    {\"preview\":false,\"offset\":0,\"result\":{\"p\":\"a\"}}\n\
                    {\"preview\":false,\"offset\":1,\"lastrow\":true,\"result\":{\"p\":\"b\"}}\n";
        let (r, rows, _) = run(body);
        let st = r.unwrap();
        assert_eq!(rows, ["a", "b"]);
        assert_eq!((st.rows, st.preview_rows), (2, 2));
        // Same stream without its last line: cut short.
        let cut = body.rsplit_once("{\"preview\":false,\"offset\":1").unwrap().0;
        assert!(matches!(run(cut).0, Err(StreamError::Truncated { rows: 1 })));
        // Only preview sets: never a final one.
        let only_preview = body.split("\n\n").next().unwrap();
        assert!(matches!(run(only_preview).0, Err(StreamError::Truncated { rows: 0 })));
    }

    #[test]
    fn empty_results_and_empty_body() {
        let (r, rows, _) = run("{\"preview\":false,\"lastrow\":true}\n");
        assert_eq!(r.unwrap().rows, 0);
        assert!(rows.is_empty());
        assert!(matches!(run("").0, Err(StreamError::Truncated { rows: 0 })));
    }

    #[test]
    fn fatal_after_rows_fails_and_info_passes() {
        let body = "{\"preview\":false,\"messages\":[{\"type\":\"INFO\",\"text\":\"hello\"}],\"result\":{\"p\":\"a\"}}\n\
                    {\"messages\":[{\"type\":\"FATAL\",\"text\":\"search process terminated\"}]}\n\
                    {\"preview\":false,\"lastrow\":true,\"result\":{\"p\":\"b\"}}\n";
        let (r, rows, msgs) = run(body);
        let e = r.unwrap_err();
        assert!(matches!(e, StreamError::Search { rows: 1, .. }));
        assert!(e.to_string().contains("FATAL after 1 rows: search process terminated"), "{e}");
        assert_eq!(rows, ["a"]);
        assert_eq!(msgs, ["INFO:hello", "FATAL:search process terminated"]);
        let e = run("{\"messages\":[{\"type\":\"error\",\"text\":\"x\"}]}\n").0.unwrap_err();
        assert!(matches!(e, StreamError::Search { .. }));
    }

    #[test]
    fn garbage_and_cut_lines() {
        let e = run("<html>proxy error</html>\n").0.unwrap_err();
        assert!(e.to_string().contains("line 1: not a JSON result line"), "{e}");
        let e = run("{\"preview\":false,\"result\":{\"p\":\"a\"}}\n{\"preview\":fal").0.unwrap_err();
        assert!(matches!(e, StreamError::Truncated { rows: 1 }));
    }

    #[test]
    fn results_array_and_multiple_sets() {
        let body = "{\"preview\":false,\"lastrow\":true,\"results\":[{\"p\":\"a\"},{\"p\":\"b\"}]}\n\
                    {\"preview\":false,\"result\":{\"p\":\"c\"}}\n";
        let (r, rows, _) = run(body);
        assert_eq!(rows, ["a", "b", "c"]);
        assert!(matches!(r, Err(StreamError::Truncated { rows: 3 })));
    }

    #[test]
    fn transport_errors_carry_the_row_count() {
        struct Cut(&'static [u8], bool);
        impl Read for Cut {
            fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
                if self.1 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset"));
                }
                self.1 = true;
                b[..self.0.len()].copy_from_slice(self.0);
                Ok(self.0.len())
            }
        }
        let body = io::BufReader::new(Cut(b"{\"preview\":false,\"result\":{\"p\":\"a\"}}\n", false));
        let e = read(body, |_| Ok(()), |_| {}).unwrap_err();
        assert!(matches!(e, StreamError::Transport { rows: 1, .. }), "{e}");
    }
}
