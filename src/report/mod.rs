//! `findings-report`: findings in, something an analyst would rather look at than read.
//!
//! `table.rs` is the ranked terminal table (shared with `webshell-hunt` on a tty).

pub mod table;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::input;
use crate::record::Finding;

/// The tool's name, in messages.
pub const NAME: &str = "findings-report";

/// Examples shown by `--help` and the man page.
pub const EXAMPLES: &str = "\
log-export access.log | path-normalize | baseline-diff --state s --learn-for 14d | findings-report
findings-report --limit 200 findings.jsonl | less -R";

/// Man-page sections beyond the flags.
pub const MAN_SECTIONS: &[(&str, &str)] = &[(
    "TABLE",
    "\
New findings first, highest score first, each followed by its three heaviest reasons; then the baseline
audit: learned findings at or above the alert threshold (50). The path shown is the concrete path when
the key had one, else its template. Control characters from the logs are shown as ?, so a logged string
cannot drive the terminal.",
)];

/// Show findings as a ranked table.
///
/// Reads findings (baseline-diff's output) and prints the new ones ranked by score with their reasons,
/// then the learned ones that score at or above the alert threshold (the baseline audit).
#[derive(Parser, Debug)]
#[command(name = "findings-report", version, after_long_help = crate::manual::after_help(EXAMPLES))]
pub struct Args {
    /// Findings files (`-` is stdin, the default).
    #[arg(value_name = "FILE", default_value = "-")]
    pub inputs: Vec<String>,

    /// At most this many new findings in the table.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub limit: usize,

    /// Table width (default: $COLUMNS, else 120).
    #[arg(long, value_name = "N")]
    pub width: Option<usize>,

    /// Colours: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
}

/// Reads every finding of the inputs.
pub fn read_findings(inputs: &[String]) -> Result<Vec<Finding>> {
    let mut all = Vec::new();
    for name in inputs {
        crate::record::for_each_record(input::open(name)?, |f: Finding, _| {
            all.push(f);
            Ok(())
        })?;
    }
    Ok(all)
}

/// Runs `findings-report`.
pub fn run(args: Args) -> Result<ExitCode> {
    let findings = read_findings(&args.inputs)?;
    let tty = std::io::stdout().is_terminal();
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => tty && std::env::var_os("NO_COLOR").is_none(),
    };
    let width = args.width.or_else(|| std::env::var("COLUMNS").ok()?.parse().ok()).unwrap_or(120);
    let text = table::render(
        &findings,
        &table::TableOptions { width, limit: args.limit, color, alert: crate::diff::score::ALERT },
    );
    let mut out = crate::cli::Output::stdout(false);
    out.write_line(text.as_bytes())?;
    out.finish()?;
    Ok(ExitCode::SUCCESS)
}
