//! `findings-report --html` and `webshell-hunt --html`: the review report, opened in headless Chromium.
//!
//! One generated log (200,000 lines, six planted shells) plus a file of hostile requests whose path,
//! query and user agent carry `<script>` and `"><img onerror=…>` payloads goes through
//! `scripts/webshell-hunt --html` once; the tests then check what a browser made of the report: the
//! planted shells are the first rows, the hostile strings are text, no script but the report's own
//! ran, nothing was loaded, and it rendered in under a second.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Instant;

use serde_json::Value;

use crate::util::{self, json_lines, ok, stderr, stdout};

const TITLE: &str = "Review test";

/// The hostile requests: after the baseline, on the generated site's host, in its log format.
const HOSTILE: &str = r#"www.example.test:443 198.51.100.66 - - [20/Oct/2026:11:00:00 +0000] "GET /search/<script>document.title='pwned'</script>/\"><svg/onload=document.title='pwned'><i/id=injected> HTTP/1.1" 200 512 "-" "Mozilla/5.0 \"><img src=x onerror=\"document.title='pwned'\"><i id=injected>injected</i><script>document.title='pwned'</script>"
www.example.test:443 198.51.100.66 - - [20/Oct/2026:11:05:00 +0000] "GET /search/<script>document.title='pwned'</script>/\"><svg/onload=document.title='pwned'><i/id=injected>?q=<script>document.title='pwned'</script>&r=\"><img/src=x/onerror=document.title='pwned'><i/id=injected> HTTP/1.1" 200 512 "-" "Mozilla/5.0 \"><img src=x onerror=\"document.title='pwned'\"><i id=injected>injected</i><script>document.title='pwned'</script>"
www.example.test:443 198.51.100.67 - - [20/Oct/2026:12:30:00 +0000] "GET /search/<script>document.title='pwned'</script>/\"><svg/onload=document.title='pwned'><i/id=injected>?q=<script>document.title='pwned'</script> HTTP/1.1" 200 512 "-" "curl/8.5.0 <script>document.title='pwned'</script>"
"#;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/webshell-hunt")
}

/// The Chromium binary: $CHROMIUM, else `chromium` on PATH. Missing is a failure, never a skip.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        for name in ["chromium", "chromium-browser"] {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "Chromium is needed to test the HTML report and was not found: install Debian's chromium package \
         (apt-get install -y chromium; scripts/test does it when run as root) or set CHROMIUM to the binary"
    );
}

/// Runs headless Chromium on `page` with `extra` flags; returns (stdout, stderr, wall time in ms).
fn headless(page: &Path, extra: &[&str]) -> (String, String, u128) {
    let profile = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"])
        .args(["--disable-background-networking", "--disable-component-update", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", chromium().display()));
    let ms = started.elapsed().as_millis();
    assert!(out.status.success(), "chromium failed: {}", stderr(&out));
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr(&out), ms)
}

/// A report made once for every test of this module.
struct Fixture {
    _dir: tempfile::TempDir,
    html: PathBuf,
    findings: Vec<Value>,
    truth: Vec<Value>,
}

fn fixture() -> Option<&'static Fixture> {
    static F: OnceLock<Option<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        // A long archive of old pages gives enough new paths (about 50) to compare rankings.
        let opts = crate::r#gen::Options { archive: 5000, ..util::gen_opts("vhost", 200_000, 505, 6) };
        let (log, truth) = util::generate(dir.path(), "access.log", &opts);
        let hostile = util::write(dir.path(), "hostile.log", HOSTILE);
        let html = dir.path().join("report.html");
        let out = Command::new(script())
            .env("WEBSHELL_HUNT_BIN", util::bin_dir())
            .args(["--learn-for", "14d", "--json", "--html", html.to_str().unwrap(), "--title", TITLE])
            .args([&log, &hostile])
            .output()
            .unwrap();
        ok(&out);
        assert!(stderr(&out).contains("findings-report: wrote "), "{}", stderr(&out));
        Some(Fixture { findings: json_lines(&stdout(&out)), truth, html, _dir: dir })
    })
    .as_ref()
}

/// The text of an HTML fragment: tags dropped, the entities a serialiser writes decoded.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once('>').map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The ranked rows of a section of the (dumped) page: (path, host, the row's whole HTML).
fn rows<'a>(page: &'a str, section: &str) -> Vec<(String, String, &'a str)> {
    let start = page.find(&format!("<section id=\"{section}\"")).unwrap_or_else(|| panic!("no {section}"));
    let body = &page[start..];
    let body = &body[..body.find("</section>").unwrap()];
    body.split("<details class=\"finding\"")
        .skip(1)
        .map(|row| {
            let span = |class: &str| {
                let open = format!("<span class=\"{class}\">");
                let p = row.find(&open).unwrap() + open.len();
                text_of(&row[p..p + row[p..].find("</span>").unwrap()])
            };
            (span("path"), span("host"), row)
        })
        .collect()
}

#[test]
fn chromium_shows_the_planted_shells_first_and_hostile_strings_as_text() {
    let Some(fx) = fixture() else { return };
    let (dom, log, wall) =
        headless(&fx.html, &["--enable-logging=stderr", "--v=0", "--window-size=1280,1000", "--dump-dom"]);

    // The report's own script ran (the CSP hash matches it) and timed the first frame after `load`.
    let rm = dom.find("id=\"render-ms\"").expect("no #render-ms in the DOM");
    let tag = &dom[rm..rm + dom[rm..].find('>').unwrap()];
    let ms: f64 = tag
        .split("data-render-ms=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("the report's script did not run: {tag}\n{log}"));
    eprintln!("report rendered in {ms} ms (page's own measure); chromium ran {wall} ms in all");
    assert!(ms < 1000.0, "rendering took {ms} ms");

    // The first rows are the planted shells (in any order among themselves: they tie at the top). The
    // generator may plant the same shell twice; it is one finding.
    let new = rows(&dom, "new");
    let mut want: Vec<(String, String)> = fx
        .truth
        .iter()
        .map(|t| (t["host"].as_str().unwrap().to_string(), t["path"].as_str().unwrap().to_string()))
        .collect();
    want.sort();
    want.dedup();
    let mut first: Vec<(String, String)> =
        new.iter().take(want.len()).map(|r| (r.1.clone(), r.0.clone())).collect();
    first.sort();
    assert_eq!(first, want, "the first rows are not the planted shells");
    let reported_new = fx.findings.iter().filter(|f| f["verdict"] == "new").count();
    assert_eq!(new.len(), reported_new, "every new finding is a row");

    // The hostile finding is a row, and what the attacker sent is its text.
    let (_, _, hostile) = new.iter().find(|r| r.0.starts_with("/search/")).expect("no hostile row");
    let text = text_of(hostile);
    for s in [
        "<script>document.title='pwned'</script>",
        "\"><img src=x onerror=\"document.title='pwned'\"><i id=injected>injected</i>",
        "q=<script>document.title='pwned'</script>&r=\"><img/src=x/onerror=document.title='pwned'>",
        "/\"><svg/onload=document.title='pwned'><i/id=injected>",
    ] {
        assert!(text.contains(s), "{s:?} is not shown as text in the hostile row:\n{text}");
    }

    // ... and nothing it sent became markup or ran.
    let title = &dom[dom.find("<title>").unwrap() + 7..dom.find("</title>").unwrap()];
    assert_eq!(title, TITLE, "the page title was changed");
    assert_eq!(dom.matches("<script").count(), 1, "a script element besides the report's own");
    for bad in ["<img", "<i ", "<i>", "<iframe", "<object", "<embed", "<link"] {
        assert!(!dom.contains(bad), "{bad} element in the DOM");
    }
    assert_eq!(dom.matches("<svg").count(), dom.matches("<svg class=\"chart\"").count(), "a foreign <svg>");
    // Chromium reports any load or inline script the policy blocked, and any script error.
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
}

#[test]
fn html_report_refers_to_nothing_outside_itself() {
    let Some(fx) = fixture() else { return };
    let page = std::fs::read_to_string(&fx.html).unwrap();
    // Every tag of the page is one of the report's own; no tag may load or link to anything.
    const TAGS: &[&str] = &[
        "!DOCTYPE",
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "header",
        "h1",
        "h2",
        "h3",
        "p",
        "section",
        "dl",
        "dt",
        "dd",
        "code",
        "strong",
        "span",
        "figure",
        "figcaption",
        "svg",
        "line",
        "text",
        "path",
        "rect",
        "nav",
        "input",
        "label",
        "button",
        "div",
        "details",
        "summary",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "footer",
        "script",
    ];
    let mut rest = page.as_str();
    let mut tags = 0;
    while let Some(i) = rest.find('<') {
        let tag = &rest[i + 1..i + 1 + rest[i + 1..].find('>').expect("unclosed tag")];
        rest = &rest[i + 1..];
        if tag.starts_with('/') {
            continue;
        }
        tags += 1;
        let name = tag.split([' ', '/']).next().unwrap();
        assert!(TAGS.contains(&name), "unexpected tag <{tag}>");
        // No attribute that names a resource; fragment links only.
        for attr in [
            " src=",
            " srcset=",
            " action=",
            " formaction=",
            " poster=",
            " data=",
            " background=",
            " xlink:href=",
        ] {
            assert!(!tag.contains(attr), "<{tag}> has{attr}");
        }
        if let Some(h) = tag.split(" href=\"").nth(1) {
            assert!(h.starts_with('#'), "<{tag}> links out");
        }
        if name == "style" || tag.contains(" style=") {
            let css = if name == "style" {
                &rest[rest.find('>').unwrap()..rest.find("</style>").unwrap()]
            } else {
                tag
            };
            assert!(!css.contains("url(") && !css.contains("@import"), "CSS loads something");
        }
        if name == "meta" && tag.contains("http-equiv") {
            assert!(!tag.to_ascii_lowercase().contains("refresh"), "<{tag}>");
        }
    }
    assert!(tags > 1000, "only {tags} tags: not the report");
    // The policy forbids every load, and scripts other than the report's own.
    let csp = page.split("http-equiv=\"Content-Security-Policy\" content=\"").nth(1).expect("no CSP");
    let csp = &csp[..csp.find('"').unwrap()];
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    let script_src =
        csp.split(';').map(str::trim).find(|d| d.starts_with("script-src ")).expect("script-src");
    assert!(script_src.starts_with("script-src 'sha256-") && !script_src.contains("unsafe"), "{csp}");
    // Self-contained, under the size budget.
    assert!(page.len() < 5 << 20, "{} bytes", page.len());
}

#[test]
fn html_and_table_rank_alike_and_html_prints_nothing() {
    let Some(fx) = fixture() else { return };
    let dir = tempfile::tempdir().unwrap();
    let findings: String = fx.findings.iter().map(|f| format!("{f}\n")).collect();
    let table = util::run(
        "findings-report",
        &["--width", "400", "--limit", "1000", "--color", "never"],
        findings.as_bytes(),
    );
    ok(&table);
    let html = dir.path().join("r.html");
    let out = util::run("findings-report", &["--html", html.to_str().unwrap()], findings.as_bytes());
    ok(&out);
    assert!(out.stdout.is_empty(), "--html printed on stdout");
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    // Without --summary the charts say where the site's traffic came from.
    assert!(page.contains("no --summary given"));

    // The table's rows, in order: the last column is the path.
    let text = stdout(&table);
    let table_paths: Vec<&str> = text
        .split("Baseline audit")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.split_whitespace().nth(3).is_some_and(|w| w.len() == 10 && w.as_bytes()[4] == b'-'))
        .map(|l| l.rsplit("  ").next().unwrap().trim())
        .collect();
    let html_paths: Vec<String> = rows(&page, "new").into_iter().map(|r| r.0).collect();
    assert!(table_paths.len() > 40, "{} rows: too few to compare orders", table_paths.len());
    assert_eq!(table_paths, html_paths, "the table and the HTML rank differently");
}

#[test]
fn a_failed_report_commits_nothing_and_options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let log = util::write(dir.path(), "a.log", HOSTILE);
    let state = dir.path().join("s.state");
    let hunt = |args: &[&str]| {
        Command::new(script()).env("WEBSHELL_HUNT_BIN", util::bin_dir()).args(args).output().unwrap()
    };
    let bad = dir.path().join("no/such/dir/r.html");
    let out = hunt(&[
        "--learn-until",
        "2026-10-20T11:01:00Z",
        "--state",
        state.to_str().unwrap(),
        "--html",
        bad.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("findings-report --html failed; nothing was committed"),
        "{}",
        stderr(&out)
    );
    assert!(!state.exists(), "the state was committed although the report failed");

    let out = hunt(&["--title", "x", log.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--title needs --html"), "{}", stderr(&out));
    let out = util::run("findings-report", &["--title", "x"], b"");
    assert_eq!(out.status.code(), Some(2), "--title without --html");
    let out = util::run("findings-report", &["--html", "/dev/null/x", "--summary", "/nonexistent"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent: cannot read"), "{}", stderr(&out));
}
