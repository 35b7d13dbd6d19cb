//! What `baseline-diff` costs on records, in layers: a benchmark helper for `scripts/bench --floors`.
//!
//! ```text
//! cargo run --release --example record-floors -- LAYER FILE
//! ```
//!
//! Each layer reads the records of FILE (path-normalize's output) the way `baseline-diff` does, on the
//! same worker threads in the same blocks, and stops at one depth:
//!
//! - `scan`: find the lines and validate each one as JSON, locating its fields: the floor of any stage
//!   that reads these records with this scanner.
//! - `keys`: `scan`, then decode each record's template and count it in a hash map per worker: the least
//!   a baseline diff can do (the set of keys seen), without any of what explains a finding.
//! - `aggregate`: `baseline-diff`'s own aggregation of every record (methods, statuses, hours, client and
//!   user-agent samples and first sightings, distinct clients, sources), and the merge of the workers'
//!   aggregates; what `baseline-diff` adds to it is the state, the scoring and the output.
//!
//! It prints the layer, the records read and the seconds taken to stderr.

use std::collections::HashMap;

use anyhow::{Context, Result, bail};
use webshell_hunt::diff::aggregate::{Aggregate, RecordReader};
use webshell_hunt::jsonscan::Scan;
use webshell_hunt::par::{Block, default_threads, for_each_block};

/// Calls `f` with every line of `block` that is not blank, as [`Aggregate::add_block`] reads them.
fn records(block: &Block, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<u64> {
    let mut n = 0;
    for (no, line, _) in block.lines() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        f(line).with_context(|| format!("line {no}"))?;
        n += 1;
    }
    Ok(n)
}

/// The records (lines that are not blank) of `block`.
fn records_in(block: &Block) -> u64 {
    block.lines().filter(|(_, line, _)| !line.iter().all(u8::is_ascii_whitespace)).count() as u64
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [layer, file] = args.as_slice() else {
        bail!("usage: record-floors scan|keys|aggregate FILE");
    };
    let input = webshell_hunt::input::open(file)?;
    let threads = default_threads();
    let started = std::time::Instant::now();
    let mut n = 0u64;
    let mut count = |k: u64| {
        n += k;
        Ok(())
    };
    match layer.as_str() {
        "scan" => {
            for_each_block(
                file,
                input.into_reader(),
                threads,
                Scan::default,
                |scan, block| records(block, |line| Ok(scan.line(line)?)),
                &mut count,
            )?;
        }
        "keys" => {
            let states = for_each_block(
                file,
                input.into_reader(),
                threads,
                || (Scan::default(), HashMap::<String, u64, rustc_hash::FxBuildHasher>::default()),
                |(scan, keys), block| {
                    records(block, |line| {
                        scan.line(line)?;
                        let f = scan.get(line, "template").context("no template")?;
                        let t = scan.str_value(line, &f).context("template is not a string")?;
                        match keys.get_mut(t.as_ref()) {
                            Some(c) => *c += 1,
                            None => {
                                keys.insert(t.into_owned(), 1);
                            }
                        }
                        Ok(())
                    })
                },
                &mut count,
            )?;
            let keys: usize = states.iter().map(|(_, k)| k.len()).sum();
            eprintln!("keys (summed over workers): {keys}");
        }
        "aggregate" => {
            let states = for_each_block(
                file,
                input.into_reader(),
                threads,
                || (Aggregate::default(), RecordReader::default()),
                // baseline-diff's own loop over a block.
                |(agg, reader), block| {
                    agg.add_block(file, block, reader)?;
                    Ok(records_in(block))
                },
                &mut count,
            )?;
            let mut all = Aggregate::default();
            for (a, _) in states {
                all.merge(a);
            }
        }
        other => bail!("unknown layer {other:?}: scan, keys or aggregate"),
    }
    eprintln!("{layer}: {n} records in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
