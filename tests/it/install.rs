//! `scripts/install PREFIX`: the tools, the scripts and the man pages land where a user expects them, and
//! the installed scripts run from anywhere with nothing but the prefix (no checkout, no PATH entry).

use std::path::Path;
use std::process::Command;

use crate::util::{self, fixture, ok, stderr, stdout};

const TOOLS: [&str; 7] = [
    "log-export",
    "path-normalize",
    "baseline-diff",
    "findings-report",
    "splunk-export",
    "tq-push",
    "webroot-inventory",
];

#[test]
fn install_puts_tools_scripts_and_man_pages_under_the_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("opt/webshell");
    let install = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install");
    // The binaries this test run built (a release build here would double the suite's build time).
    let out = Command::new(&install).env("WEBSHELL_HUNT_BIN", util::bin_dir()).arg(&prefix).output().unwrap();
    ok(&out);
    assert!(stderr(&out).contains("installed 7 tools and 2 scripts"), "{}", stderr(&out));
    for t in TOOLS.iter().chain(&["webshell-hunt", "webshell-cron"]) {
        let p = prefix.join("bin").join(t);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&p).unwrap().permissions());
        assert_eq!(mode & 0o777, 0o755, "{}", p.display());
    }
    for t in TOOLS {
        let page = std::fs::read_to_string(prefix.join(format!("share/man/man1/{t}.1"))).unwrap();
        assert!(page.contains(&format!(".TH {t} 1")), "{t}.1");
    }
    // The installed webshell-hunt, from another directory, with a PATH that holds no tool: it finds the
    // tools beside itself.
    let work = dir.path().join("case");
    std::fs::create_dir(&work).unwrap();
    let out = Command::new(prefix.join("bin/webshell-hunt"))
        .current_dir(&work)
        .env_remove("WEBSHELL_HUNT_BIN")
        .env("PATH", "/usr/bin:/bin")
        .args(["--learn-for", "1h", "--json"])
        .arg(fixture("export/combined.log"))
        .output()
        .unwrap();
    ok(&out);
    assert!(stdout(&out).lines().count() > 0, "findings: {}", stderr(&out));
    // webshell-cron finds its tools the same way: it gets as far as its Splunk stage (nothing listens).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = util::write(
        dir.path(),
        "cron.env",
        format!(
            "SPLUNK_URL=http://127.0.0.1:{port}\nSPLUNK_INDEX=web\nSPLUNK_RETRY_FOR=0\nTQ_URL=http://127.0.0.1:{port}\n\
             STATE_DIR={}\nSTART=2026-10-01T00:00:00Z\nLEARN_FOR=1d\n",
            dir.path().join("state").display()
        ),
    );
    let out = Command::new(prefix.join("bin/webshell-cron"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs([("SPLUNK_TOKEN", "t"), ("TQ_CLIENT_ID", "c"), ("TQ_EMAIL", "e"), ("TQ_PASSWORD", "p")])
        .args(["--config", config.to_str().unwrap(), "--now", "1790899200"])
        .output()
        .unwrap();
    let e = stderr(&out);
    assert!(!out.status.success() && !e.contains("cannot find the tools"), "{e}");
    assert!(e.contains("splunk-export"), "failed at the Splunk stage: {e}");
}
