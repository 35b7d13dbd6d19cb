//! Man pages: generated from the clap definitions, checked in under `man/`, and kept current by this
//! test. `UPDATE_MAN=1 cargo test man` rewrites them.

use std::path::Path;

use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};
use webshell_hunt::manual::{Tool, tools};

fn render(tool: &Tool) -> Vec<u8> {
    let cmd = (tool.command)();
    let man = Man::new(cmd.clone()).date("").manual("webshell-hunt");
    let mut out = Vec::new();
    man.render_title(&mut out).unwrap();
    man.render_name_section(&mut out).unwrap();
    man.render_synopsis_section(&mut out).unwrap();
    man.render_description_section(&mut out).unwrap();
    man.render_options_section(&mut out).unwrap();
    let mut roff = Roff::new();
    for (title, body) in tool.sections {
        section(&mut roff, title, body);
    }
    roff.control("SH", ["EXAMPLES"]);
    for line in tool.examples.lines() {
        if let Some(c) = line.strip_prefix("# ") {
            // A comment starts a paragraph, so it does not run on from the previous command.
            roff.control("PP", [] as [&str; 0]);
            roff.text([roman(c)]);
        } else {
            roff.control("PP", [] as [&str; 0]);
            roff.text([bold(line)]);
        }
    }
    section(&mut roff, "EXIT STATUS", webshell_hunt::cli::EXIT_STATUS_HELP.split_once('\n').unwrap().1);
    roff.to_writer(&mut out).unwrap();
    man.render_version_section(&mut out).unwrap();
    out
}

/// A section of paragraphs; runs of lines indented by two spaces are kept as preformatted blocks.
fn section(roff: &mut Roff, title: &str, body: &str) {
    roff.control("SH", [title]);
    let mut pre = false;
    for line in body.lines() {
        let indented = line.starts_with("  ") || line.contains("   ");
        if indented != pre {
            roff.control(if indented { "nf" } else { "fi" }, [] as [&str; 0]);
            pre = indented;
        }
        if line.is_empty() {
            roff.control("PP", [] as [&str; 0]);
        } else {
            roff.text([roman(line)]);
        }
    }
    if pre {
        roff.control("fi", [] as [&str; 0]);
    }
}

#[test]
fn pages_are_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("man");
    let update = std::env::var_os("UPDATE_MAN").is_some();
    let mut stale = vec![];
    for tool in tools() {
        let want = render(&tool);
        let path = dir.join(format!("{}.1", tool.name));
        if update {
            std::fs::write(&path, &want).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&want[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(stale.is_empty(), "stale man pages (run `UPDATE_MAN=1 cargo test man`): {stale:?}");
}

#[test]
fn every_binary_has_a_page_and_valid_cli() {
    let names: Vec<&str> = tools().iter().map(|t| t.name).collect();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin")).unwrap() {
        let p = entry.unwrap().path();
        let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(names.contains(&stem.as_str()), "src/bin/{stem}.rs is not in manual::tools()");
    }
    for tool in tools() {
        (tool.command)().debug_assert();
        let help = (tool.command)().render_long_help().to_string();
        assert!(help.contains("Examples:") && help.contains("Exit status:"), "{}", tool.name);
    }
}
