//! The registry of binaries, for their `--help` epilogues and man pages.
//!
//! `man/<tool>.1` is generated from each tool's clap definition plus the sections listed here, and checked
//! in; the test `man::pages_are_current` fails when a page is stale, and `UPDATE_MAN=1 cargo test man`
//! rewrites them. Keeping the examples here means `--help` and the man page show the same ones.

use clap::CommandFactory;

/// One binary's documentation beyond its flags.
pub struct Tool {
    /// The binary's name.
    pub name: &'static str,
    /// Its clap command.
    pub command: fn() -> clap::Command,
    /// Example invocations, one per line, `#` lines being comments.
    pub examples: &'static str,
    /// Further man-page sections: (title, plain text; lines indented by two spaces are kept as they are).
    pub sections: &'static [(&'static str, &'static str)],
}

/// The `--help` epilogue: examples, then exit status.
pub fn after_help(examples: &str) -> String {
    format!("Examples:\n{}\n{}", indent(examples), crate::cli::EXIT_STATUS_HELP)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Every binary of the package.
pub fn tools() -> Vec<Tool> {
    vec![
        Tool {
            name: crate::export::NAME,
            command: crate::export::Args::command,
            examples: crate::export::EXAMPLES,
            sections: crate::export::MAN_SECTIONS,
        },
        Tool {
            name: crate::normalize::NAME,
            command: crate::normalize::Args::command,
            examples: crate::normalize::EXAMPLES,
            sections: crate::normalize::MAN_SECTIONS,
        },
        Tool {
            name: crate::diff::NAME,
            command: crate::diff::Args::command,
            examples: crate::diff::EXAMPLES,
            sections: crate::diff::MAN_SECTIONS,
        },
        Tool {
            name: crate::report::NAME,
            command: crate::report::Args::command,
            examples: crate::report::EXAMPLES,
            sections: crate::report::MAN_SECTIONS,
        },
        Tool {
            name: crate::tq::NAME,
            command: crate::tq::Args::command,
            examples: crate::tq::EXAMPLES,
            sections: crate::tq::MAN_SECTIONS,
        },
        Tool {
            name: crate::inventory::NAME,
            command: crate::inventory::Args::command,
            examples: crate::inventory::EXAMPLES,
            sections: crate::inventory::MAN_SECTIONS,
        },
        Tool {
            name: crate::splunk::NAME,
            command: crate::splunk::Args::command,
            examples: crate::splunk::EXAMPLES,
            sections: crate::splunk::MAN_SECTIONS,
        },
    ]
}
