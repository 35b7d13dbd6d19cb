//! Line-oriented work on several cores, with results in input order.
//!
//! One thread reads (and decompresses) the input in blocks of about a megabyte cut at line ends and hands
//! them round-robin to `threads` workers; each worker keeps its own state (a parser, an aggregate, a
//! scratch buffer) and turns a block into a result; the calling thread takes the results in block order.
//! Round-robin assignment and in-order consumption make the outcome independent of scheduling: the same
//! input always gives the same output, byte for byte, and the same per-worker states.
//!
//! Line numbers are kept: a block knows the number of its first line, so messages still read
//! `input:line`.
//!
//! Why std and not a crate: the channels are `std::sync::mpsc::sync_channel`, which since Rust 1.67 is
//! crossbeam-channel's implementation moved into std, so `crossbeam-channel` would bring the same code
//! again; the workers are `std::thread::scope` threads. `rayon` was looked at and not taken: its work
//! stealing hands a block to whichever thread is free, and what this module guarantees (each worker's
//! state sees a fixed, round-robin share of the blocks, results come back in input order, the same
//! input gives the same bytes and states whatever the scheduling) would have to be rebuilt on top of it
//! (`par_bridge` loses order; an indexed `par_iter` needs the blocks in memory first, and a 10 GB log
//! is read as it streams). What is left here is that ordering and the block cutting, about 150 lines.

use std::io::BufRead;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use anyhow::{Context, Result};

/// Bytes per block (a block is cut at the last line end before this size, or holds one longer line).
pub const BLOCK: usize = 1 << 20;

/// A run of whole lines.
pub struct Block {
    /// The lines are `buf[..len]`; the buffer is longer when it held a longer block before (it is
    /// reused, and keeping its bytes spares zeroing it again).
    buf: Vec<u8>,
    len: usize,
    /// The 1-based number of the first line.
    pub first_line: u64,
    /// With [`for_each_block_with`] and `headers`: the last `#` directive line of each name (`#Fields`,
    /// `#Date`, …) that came before this block, in the order the names first appeared.
    prelude: Vec<Vec<u8>>,
}

impl Block {
    /// The header lines in effect where this block starts (see [`for_each_block_with`]).
    pub fn prelude(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.prelude.iter().map(Vec::as_slice)
    }

    /// The lines' bytes, each line ending with `\n` except possibly the input's last.
    pub fn data(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// The lines with their numbers, without line endings (`\n` or `\r\n`); the flag is true for a last
    /// line without its newline (a truncated file).
    pub fn lines(&self) -> impl Iterator<Item = (u64, &[u8], bool)> + '_ {
        let mut rest: &[u8] = self.data();
        let mut no = self.first_line;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let (line, unterminated) = match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    let l = &rest[..i];
                    rest = &rest[i + 1..];
                    (l, false)
                }
                None => {
                    let l = rest;
                    rest = &[];
                    (l, true)
                }
            };
            let n = no;
            no += 1;
            Some((n, line.strip_suffix(b"\r").unwrap_or(line), unterminated))
        })
    }
}

/// Megabyte buffers handed back once used, to be filled again: the blocks read (the workers give them
/// back to the reader) and the output written from them (the consumer gives it back to the workers).
///
/// Allocated fresh for every block, such a buffer is a new mapping each time (glibc serves large
/// requests with mmap, per thread arena), so every page of it is faulted in and zeroed by the kernel,
/// and one grown by doubling is copied on every growth: about a twentieth of a stage's time on a million
/// lines. A pool never holds more buffers than were in flight at once.
#[derive(Default)]
pub struct Buffers(Mutex<Vec<Vec<u8>>>);

impl Buffers {
    /// An empty buffer with room for at least `capacity` bytes, reused when one is free.
    pub fn take(&self, capacity: usize) -> Vec<u8> {
        let mut b = self.spare().unwrap_or_default();
        b.clear();
        b.reserve(capacity);
        b
    }

    /// A buffer given back, as it was given (its length kept: a reader refilling it need not zero it).
    pub fn spare(&self) -> Option<Vec<u8>> {
        self.0.lock().ok()?.pop()
    }

    /// Hands a used buffer back.
    pub fn give(&self, b: Vec<u8>) {
        if b.capacity() > 0
            && let Ok(mut v) = self.0.lock()
        {
            v.push(b);
        }
    }
}

/// The number of worker threads to use by default: the cores available, at most 8.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// Reads `reader` in blocks, runs `work` on each in one of `threads` workers (each with the state
/// `init` made), and passes the results to `consume` in input order. Returns the workers' states in
/// worker order. The first error (from reading, a worker or `consume`) stops everything and is returned.
pub fn for_each_block<S, R>(
    name: &str,
    reader: Box<dyn BufRead + Send>,
    threads: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &Block) -> Result<R> + Sync,
    consume: impl FnMut(R) -> Result<()>,
) -> Result<Vec<S>>
where
    S: Send,
    R: Send,
{
    for_each_block_with(false, name, reader, threads, init, work, consume)
}

/// The last header line of each directive name, in first-seen order.
#[derive(Default)]
struct Directives(Vec<(Vec<u8>, Vec<u8>)>);

impl Directives {
    /// Notes the header lines of `data` (whole lines; `at_start` when it begins the input, which may
    /// open with a UTF-8 byte-order mark).
    fn note(&mut self, data: &[u8], at_start: bool) {
        let mut starts: Vec<usize> =
            memchr::memchr_iter(b'#', data).filter(|&p| p == 0 || data[p - 1] == b'\n').collect();
        if at_start && data.starts_with(b"\xEF\xBB\xBF#") {
            starts.insert(0, 3);
        }
        for p in starts {
            let end = memchr::memchr(b'\n', &data[p..]).map_or(data.len(), |e| p + e);
            let line = &data[p..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let name_end =
                line.iter().position(|&b| b == b':' || b.is_ascii_whitespace()).unwrap_or(line.len());
            let name = line[..name_end].to_ascii_lowercase();
            match self.0.iter_mut().find(|(n, _)| *n == name) {
                Some((_, l)) => {
                    l.clear();
                    l.extend_from_slice(line);
                }
                None => self.0.push((name, line.to_vec())),
            }
        }
    }

    fn lines(&self) -> Vec<Vec<u8>> {
        self.0.iter().map(|(_, l)| l.clone()).collect()
    }
}

/// [`for_each_block`]; with `headers`, for formats whose `#` header lines set how the following lines
/// read (W3C `#Fields`): the reader notes every header line (one starting with `#`) as it cuts the
/// blocks, and each block carries, as its [`Block::prelude`], the last header line of each directive
/// name seen before it. A worker replays the prelude into its parser before the block's lines, so it
/// reads them as a single pass over the file would, whichever blocks it saw before.
pub fn for_each_block_with<S, R>(
    headers: bool,
    name: &str,
    mut reader: Box<dyn BufRead + Send>,
    threads: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &Block) -> Result<R> + Sync,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<Vec<S>>
where
    S: Send,
    R: Send,
{
    let threads = threads.max(1);
    // Spent blocks go back to the reader to be filled again: no allocation, and no page faults on fresh
    // memory, per block.
    let spent = &Buffers::default();
    std::thread::scope(|scope| {
        let mut to_workers: Vec<SyncSender<Block>> = Vec::with_capacity(threads);
        let mut from_workers: Vec<Receiver<Result<R>>> = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (tx, rx) = sync_channel::<Block>(2);
            let (rtx, rrx) = sync_channel::<Result<R>>(2);
            to_workers.push(tx);
            from_workers.push(rrx);
            let (init, work) = (&init, &work);
            handles.push(scope.spawn(move || {
                let mut state = init();
                for block in rx {
                    let r = work(&mut state, &block);
                    let failed = r.is_err();
                    spent.give(block.buf);
                    if rtx.send(r).is_err() || failed {
                        break;
                    }
                }
                state
            }));
        }
        // The reader: blocks out round-robin.
        let reader_thread = scope.spawn(move || -> Result<()> {
            let mut carry: Vec<u8> = Vec::new();
            let mut directives = Directives::default();
            let mut line = 1u64;
            let mut i = 0usize;
            let mut want = BLOCK;
            loop {
                let mut buf = spent.spare().unwrap_or_default();
                if buf.len() < carry.len() {
                    buf.resize(carry.len(), 0);
                }
                buf[..carry.len()].copy_from_slice(&carry);
                let (mut len, eof) = fill(&mut reader, &mut buf, carry.len(), want)
                    .with_context(|| format!("{name}: read error"))?;
                if !eof {
                    // Cut after the last newline; the rest starts the next block. A line longer than a
                    // block makes the next read larger until the line ends.
                    match memchr::memrchr(b'\n', &buf[..len]) {
                        Some(j) => {
                            carry.clear();
                            carry.extend_from_slice(&buf[j + 1..len]);
                            len = j + 1;
                            want = BLOCK;
                        }
                        None => {
                            want = len + BLOCK;
                            buf.truncate(len);
                            carry = buf;
                            continue;
                        }
                    }
                }
                if len == 0 {
                    return Ok(());
                }
                let data = &buf[..len];
                let lines =
                    memchr::memchr_iter(b'\n', data).count() as u64 + u64::from(data.last() != Some(&b'\n'));
                let prelude = if headers {
                    let p = directives.lines();
                    directives.note(&buf[..len], line == 1);
                    p
                } else {
                    Vec::new()
                };
                let block = Block { buf, len, first_line: line, prelude };
                line += lines;
                if to_workers[i % threads].send(block).is_err() {
                    // A worker stopped on an error; it is reported from its result.
                    return Ok(());
                }
                i += 1;
                if eof {
                    return Ok(());
                }
            }
        });
        // Results in block order.
        let mut outcome: Result<()> = Ok(());
        let mut i = 0usize;
        loop {
            match from_workers[i % threads].recv() {
                Ok(Ok(r)) => {
                    if let Err(e) = consume(r) {
                        outcome = Err(e);
                        break;
                    }
                }
                Ok(Err(e)) => {
                    outcome = Err(e);
                    break;
                }
                // This worker has no more blocks: the input is done.
                Err(_) => break,
            }
            i += 1;
        }
        // Unblock everyone: dropping the result receivers stops workers, whose input senders the reader
        // then finds closed.
        drop(from_workers);
        let read =
            reader_thread.join().unwrap_or_else(|_| Err(anyhow::anyhow!("{name}: reader thread panicked")));
        let states: Vec<S> = handles
            .into_iter()
            .map(|h| h.join())
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow::anyhow!("{name}: worker thread panicked"))?;
        outcome?;
        read?;
        Ok(states)
    })
}

/// Reads from `reader` into `buf` after its first `len` bytes until it holds `want` bytes or the input
/// ends: (bytes held, input ended). Reads go straight into `buf` (a buffered reader hands a read this
/// large to the file without copying); `buf` is only ever grown, so a reused one is not zeroed again.
fn fill(
    reader: &mut Box<dyn BufRead + Send>,
    buf: &mut Vec<u8>,
    mut len: usize,
    want: usize,
) -> std::io::Result<(usize, bool)> {
    if buf.len() < want {
        buf.resize(want, 0);
    }
    while len < want {
        match reader.read(&mut buf[len..want]) {
            Ok(0) => return Ok((len, true)),
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((len, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_in_order_with_line_numbers() {
        let text: String = (1..=300_000).map(|i| format!("line {i}\n")).collect();
        let mut text = text.into_bytes();
        text.extend_from_slice(b"last without newline");
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text));
        let mut seen = Vec::new();
        let states = for_each_block(
            "t",
            reader,
            3,
            || 0u64,
            |count, block| {
                let mut out = Vec::new();
                for (no, line, unterminated) in block.lines() {
                    *count += 1;
                    out.push((no, String::from_utf8(line.to_vec()).unwrap(), unterminated));
                }
                Ok(out)
            },
            |r| {
                seen.extend(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen.len(), 300_001);
        for (i, (no, l, u)) in seen.iter().enumerate().take(300_000) {
            assert_eq!((*no, l.as_str(), *u), (i as u64 + 1, format!("line {}", i + 1).as_str(), false));
        }
        assert_eq!(seen[300_000], (300_001, "last without newline".to_string(), true));
        assert_eq!(states.iter().sum::<u64>(), 300_001);
    }

    #[test]
    fn a_worker_error_stops_the_run() {
        let text: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text.into_bytes()));
        let r = for_each_block(
            "t",
            reader,
            2,
            || (),
            |_, block| {
                for (no, line, _) in block.lines() {
                    if line == b"77777" {
                        anyhow::bail!("t:{no}: bad");
                    }
                }
                Ok(())
            },
            |_| Ok(()),
        );
        assert_eq!(format!("{:#}", r.err().unwrap()), "t:77777: bad");
    }

    #[test]
    fn blocks_carry_the_headers_before_them() {
        // Header lines every 50,000 lines, a byte-order mark on the first, CRLF endings: each block's
        // prelude is the last line of each directive before it, names compared case-insensitively.
        let mut text = b"\xEF\xBB\xBF#Software: x\r\n".to_vec();
        for i in 0..300_000 {
            if i % 50_000 == 0 {
                text.extend_from_slice(format!("#FIELDS: v{i}\r\n#Date: d{i}\r\n").as_bytes());
            }
            text.extend_from_slice(format!("{i}\r\n").as_bytes());
        }
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text));
        let mut checked = 0;
        for_each_block_with(
            true,
            "t",
            reader,
            2,
            || (),
            |_, b| {
                let prelude: Vec<String> =
                    b.prelude().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
                let first: u64 =
                    b.lines().find_map(|l| std::str::from_utf8(l.1).ok()?.parse().ok()).unwrap_or(0);
                Ok((prelude, first, b.first_line))
            },
            |(prelude, first, first_line)| {
                if first_line > 1 {
                    let v = first / 50_000 * 50_000;
                    assert_eq!(
                        prelude,
                        ["#Software: x".to_string(), format!("#FIELDS: v{v}"), format!("#Date: d{v}")]
                    );
                    checked += 1;
                }
                Ok(())
            },
        )
        .unwrap();
        assert!(checked > 1);
    }

    #[test]
    fn long_lines_and_empty_input() {
        let long = "x".repeat(3 * BLOCK);
        let text = format!("a\n{long}\nb\n");
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(text.into_bytes()));
        let mut lens = Vec::new();
        for_each_block(
            "t",
            reader,
            2,
            || (),
            |_, b| Ok(b.lines().map(|l| l.1.len()).collect::<Vec<_>>()),
            |r| {
                lens.extend(r);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(lens, [1, 3 * BLOCK, 1]);
        let reader: Box<dyn BufRead + Send> = Box::new(std::io::Cursor::new(Vec::new()));
        let states = for_each_block("t", reader, 2, || 5, |_, _| Ok(()), |_| Ok(())).unwrap();
        assert_eq!(states, [5, 5]);
    }
}
