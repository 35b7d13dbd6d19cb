//! `scripts/webshell-hunt` end to end, through the real binaries, on generated logs with planted shells.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::util::{self, json_lines, ok, stderr, stdout};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webshell-hunt")
}

/// webshell-hunt with the test build's binaries.
fn hunt(args: &[&str]) -> Output {
    Command::new(script()).env("WEBSHELL_HUNT_BIN", util::bin_dir()).args(args).output().unwrap()
}

/// The finding of `template` when webshell-hunt runs in `mode` (`--json`: one process; `--pipeline`)
/// over `log`, learning until 5 October 2026, with `extra` options; `field` of it, each item's `key`.
fn finding_list(
    mode: &str,
    extra: &[&str],
    log: &str,
    template: &str,
    field: &str,
    key: &str,
) -> Vec<String> {
    let mut args = vec![mode, "--json", "--learn-until", "2026-10-05T00:00:00Z"];
    args.extend(extra);
    args.push(log);
    let out = hunt(&args);
    ok(&out);
    let f = json_lines(&stdout(&out));
    let found = f.iter().find(|f| f["template"] == template).unwrap_or_else(|| panic!("no {template}"));
    found[field].as_array().unwrap().iter().map(|c| c[key].as_str().unwrap().to_string()).collect()
}

/// Generates a log with planted shells: (log, truth).
fn generate(dir: &Path, format: &str, lines: u64, seed: u64) -> (PathBuf, Vec<Value>) {
    util::generate(dir, &format!("access-{format}.log"), &util::gen_opts(format, lines, seed, 6))
}

/// Checks the promise of the issue for one format: every planted shell is reported new, as exactly one
/// finding however many spellings it was requested with, and ranks above every other new finding.
fn check_planted_shells(format: &str, seed: u64, mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (log, truth) = generate(dir.path(), format, 200_000, seed);
    let state = dir.path().join("site.state");
    let out = hunt(&[mode, "--state", state.to_str().unwrap(), "--json", log.to_str().unwrap()]);
    ok(&out);
    let findings = json_lines(&stdout(&out));
    let new: Vec<&Value> = findings.iter().filter(|f| f["verdict"] == "new").collect();
    let mut shell_rank = Vec::new();
    for t in &truth {
        let path = t["path"].as_str().unwrap();
        // The site's own host when the format logs one; IIS logs carry cs-host only.
        let holds = |f: &Value| {
            f["paths"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["value"].as_str().unwrap().eq_ignore_ascii_case(path))
        };
        let hits: Vec<usize> =
            findings.iter().enumerate().filter(|(_, f)| holds(f)).map(|(i, _)| i).collect();
        assert_eq!(hits.len(), 1, "{format}: shell {path} is in {} findings", hits.len());
        let f = &findings[hits[0]];
        assert_eq!(f["verdict"], "new", "{format}: {path}: {f}");
        assert_eq!(f["count"].as_u64(), t["hits"].as_u64(), "{format}: {path}: every request in one finding");
        shell_rank.push(new.iter().position(|n| *n == f).unwrap());
    }
    // The shells hold the top ranks among new findings: no other new finding scores as high.
    let lowest_shell = shell_rank.iter().map(|&i| new[i]["score"].as_u64().unwrap()).min().unwrap();
    for (i, f) in new.iter().enumerate() {
        if !shell_rank.contains(&i) {
            assert!(
                f["score"].as_u64().unwrap() < lowest_shell,
                "{format}: {} scores {} >= shell {lowest_shell}",
                f["template"],
                f["score"]
            );
        }
    }
    // A rerun on the same logs with the committed state reports nothing new.
    let out = hunt(&["--state", state.to_str().unwrap(), "--json", log.to_str().unwrap()]);
    ok(&out);
    assert!(
        json_lines(&stdout(&out)).iter().all(|f| f["verdict"] != "new"),
        "{format}: rerun reports new paths"
    );
}

#[test]
fn planted_shells_top_the_list_combined() {
    check_planted_shells("combined", 101, "--json");
    // The same through three processes and pipes.
    check_planted_shells("combined", 101, "--pipeline");
}

#[test]
fn planted_shells_top_the_list_vhost() {
    check_planted_shells("vhost", 202, "--json");
}

#[test]
fn default_window_is_said_and_a_failing_stage_fails_the_script() {
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = generate(dir.path(), "combined", 5_000, 7);
    let out = hunt(&["--json", log.to_str().unwrap()]);
    ok(&out);
    assert!(stderr(&out).contains("learning until 2026-10-1"), "{}", stderr(&out));

    // A file in no known format: log-export fails, the script names it, the state is untouched.
    let junk = util::write(dir.path(), "junk.log", "not a log line\nnor this\n");
    let state = dir.path().join("s.state");
    for (mode, stage) in [("--pipeline", "log-export failed"), ("--json", "baseline-diff --from-logs failed")]
    {
        let out =
            hunt(&[mode, "--state", state.to_str().unwrap(), log.to_str().unwrap(), junk.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains(&format!("webshell-hunt: {stage}")), "{}", stderr(&out));
        assert!(stderr(&out).contains("junk.log: cannot detect the log format"), "{}", stderr(&out));
        assert!(!state.exists(), "a failed run committed its state");
    }

    // The table on request, into a pipe.
    let out = hunt(&["--table", log.to_str().unwrap()]);
    ok(&out);
    assert!(stdout(&out).starts_with("New paths: "), "{}", stdout(&out));
    let out = hunt(&["--help"]);
    ok(&out);
    assert!(stdout(&out).contains("Usage: webshell-hunt"));
}

#[test]
fn planted_shells_top_the_list_iis() {
    check_planted_shells("iis", 303, "--json");
}

#[test]
fn planted_shells_top_the_list_json() {
    check_planted_shells("json", 404, "--json");
}

/// A second site shape (scripts/make-sample: a WordPress shop, rotated files, one gzipped): the shells
/// top the list, above the legitimate admin script deployed after the baseline.
#[test]
fn planted_shells_top_the_list_on_a_wordpress_shop() {
    let dir = tempfile::tempdir().unwrap();
    let sample = dir.path().join("sample");
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make-sample"))
        .args(["--lines", "40000", sample.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let logs: Vec<String> = ["access.log.2.gz", "access.log.1", "access.log"]
        .iter()
        .map(|f| sample.join(f).display().to_string())
        .collect();
    let mut args = vec!["--json"];
    args.extend(logs.iter().map(String::as_str));
    let out = hunt(&args);
    ok(&out);
    let findings = json_lines(&stdout(&out));
    let new: Vec<&Value> = findings.iter().filter(|f| f["verdict"] == "new").collect();
    let truth = json_lines(&std::fs::read_to_string(sample.join("truth.jsonl")).unwrap());
    let top: Vec<&str> =
        new.iter().take(truth.len()).map(|f| f["paths"][0]["value"].as_str().unwrap()).collect();
    for t in &truth {
        assert!(
            top.contains(&t["path"].as_str().unwrap()),
            "{} not in the top {}: {top:?}",
            t["path"],
            truth.len()
        );
    }
    let admin = new
        .iter()
        .position(|f| f["template"] == "/wp-admin/admin-report.php")
        .expect("new admin page reported");
    assert!(admin >= truth.len());
}

/// Behind a proxy that logs the X-Forwarded-For chain as the client, `--client` chooses whose address
/// the findings show, the same in one process and in the pipeline; and a file with more unreadable
/// lines than `--max-bad` allows is refused by both.
#[test]
fn client_rule_and_max_bad_reach_the_reading_stage() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for d in 1..=9 {
        log.push_str(&format!(
            "192.0.2.7, 10.0.0.1 - - [0{d}/Oct/2026:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 900 \"-\" \"ua\" \"-\"\n"
        ));
    }
    log.push_str(
        "203.0.113.9, 10.0.0.1 - - [09/Oct/2026:11:00:00 +0000] \"POST /uploads/x.php HTTP/1.1\" 200 12 \"-\" \"curl/8\"\n",
    );
    let path = util::write(dir.path(), "proxied.log", &log);
    let p = path.to_str().unwrap();
    for mode in ["--json", "--pipeline"] {
        let clients = |extra: &[&str]| finding_list(mode, extra, p, "/uploads/x.php", "clients", "value");
        assert_eq!(clients(&[]), ["203.0.113.9"], "{mode}");
        assert_eq!(clients(&["--client", "last"]), ["10.0.0.1"], "{mode}");
    }
    let bad = util::write(dir.path(), "bad.log", format!("{log}garbage\ngarbage\n"));
    for mode in ["--json", "--pipeline"] {
        let out = hunt(&[mode, "--learn-for", "4d", "--max-bad", "5", bad.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{mode}: {}", stderr(&out));
        assert!(stderr(&out).contains("more than --max-bad 5%"), "{mode}: {}", stderr(&out));
        ok(&hunt(&[mode, "--learn-for", "4d", "--max-bad", "20", bad.to_str().unwrap()]));
    }
}

/// `--exec-ext` reaches the scorer in one process and in the pipeline, and both score a log's sizes and
/// server kind alike: a Python file offered as a download is scored as one, unless the server runs it.
#[test]
fn exec_ext_and_the_sizes_score_alike_in_both_modes() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for d in 1..=9 {
        log.push_str(&format!(
            "198.51.100.{d} - - [0{d}/Oct/2026:10:00:00 +0000] \"GET /index.html HTTP/1.1\" 200 900 \"-\" \"ua\"\n"
        ));
    }
    for (i, size) in [5120, 5120, 5120].iter().enumerate() {
        log.push_str(&format!(
            "198.51.100.{} - - [09/Oct/2026:11:0{i}:00 +0000] \"GET /code/tool.py HTTP/1.1\" 200 {size} \"-\" \"ua\"\n",
            i + 1
        ));
    }
    let path = util::write(dir.path(), "site.log", &log);
    let p = path.to_str().unwrap();
    let mut seen = vec![];
    for mode in ["--json", "--pipeline"] {
        let codes = |extra: &[&str]| finding_list(mode, extra, p, "/code/tool.py", "reasons", "code");
        let plain = codes(&[]);
        assert!(plain.contains(&"served_as_file".into()) && plain.contains(&"one_size".into()), "{plain:?}");
        let runs = codes(&["--exec-ext", "php,py"]);
        assert!(runs.contains(&"script_ext".into()) && !runs.contains(&"served_as_file".into()), "{runs:?}");
        seen.push((plain, runs));
    }
    assert_eq!(seen[0], seen[1], "one process and the pipeline agree");
}
