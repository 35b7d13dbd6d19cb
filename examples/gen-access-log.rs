//! A realistic access log with planted web shells and their ground truth, deterministic from a seed:
//! the command line of the project's own generator (`tests/gen/mod.rs`, where the site model is
//! described), for `scripts/bench`, `scripts/evaluate` and trying the tools.
//!
//! ```text
//! cargo run --release --example gen-access-log -- --lines 1000000 --seed 7 > access.log
//! cargo run --release --example gen-access-log -- --lines 200000 --webshells 5 --truth truth.jsonl \
//!     --format iis > u_ex.log
//! ```

use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::Parser;

#[path = "../tests/gen/mod.rs"]
mod generator;

use generator::{Format, Options};

/// Generate a realistic web access log with planted web shells (ground truth with --truth).
#[derive(Parser)]
#[command(name = "gen-access-log")]
struct Args {
    /// Lines of requests (IIS header lines not counted).
    #[arg(long, default_value_t = 10_000)]
    lines: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The first day, YYYY-MM-DD (UTC).
    #[arg(long, default_value = "2026-10-01")]
    start: String,
    #[arg(long, default_value_t = 28)]
    days: u32,
    /// Web shells are planted only after this many days.
    #[arg(long, default_value_t = 14)]
    baseline_days: u32,
    #[arg(long, default_value_t = 3)]
    hosts: usize,
    #[arg(long, default_value_t = 0)]
    webshells: usize,
    /// Old pages per site, read with a long-tail popularity (0: none).
    #[arg(long, default_value_t = 400)]
    archive: usize,
    /// Write the planted web shells here as JSON lines.
    #[arg(long)]
    truth: Option<std::path::PathBuf>,
    /// combined, vhost (host:port before each combined line), common, iis (W3C), json.
    #[arg(long, default_value = "combined", value_parser = Format::NAMES)]
    format: String,
}

fn start(s: &str) -> Result<i64> {
    let parts: Vec<&str> = s.split('-').collect();
    let [y, m, d] = parts.as_slice() else { bail!("--start {s}: not YYYY-MM-DD") };
    let (y, m, d): (i64, u32, u32) = (y.parse()?, m.parse()?, d.parse()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        bail!("--start {s}: not a date");
    }
    Ok(generator::days_from_civil(y, m, d) * 86_400)
}

fn main() -> Result<()> {
    let a = Args::parse();
    if a.days == 0 || a.baseline_days >= a.days {
        bail!("--baseline-days must be less than --days");
    }
    let opts = Options {
        lines: a.lines,
        seed: a.seed,
        start: start(&a.start)?,
        days: a.days,
        baseline_days: a.baseline_days,
        hosts: a.hosts,
        webshells: a.webshells,
        archive: a.archive,
        format: Format::parse(&a.format).expect("checked by clap"),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let shells = generator::generate(&opts, &mut out).context("writing the log")?;
    out.flush()?;
    if let Some(p) = a.truth {
        let text: String = shells.iter().map(|s| s.to_json() + "\n").collect();
        std::fs::write(&p, text).with_context(|| format!("{}", p.display()))?;
    }
    Ok(())
}
