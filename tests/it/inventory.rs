//! `webroot-inventory` through the built binary: a small site walked, URL prefixes and excludes, a
//! hostile tree (symlink loops and escapes, odd names, unreadable files, a fifo), and every listing kind
//! from a fixture, with malformed listings failing on their line.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest;

use crate::util::{self, fixture, json_lines, ok, stderr, stdout};

/// Runs webroot-inventory with a deadline (a walk that opened a fifo would block forever).
fn inventory(args: &[&str]) -> Output {
    deadline(util::cmd("webroot-inventory").args(args))
}

fn deadline(c: &mut Command) -> Output {
    let mut child = c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            panic!("{c:?} did not finish (blocked on a fifo?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn put(dir: &Path, rel: &str, content: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

fn sha(b: &[u8]) -> String {
    sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// A small site: scripts, static files, a script hidden under images/, a double extension, CGI.
fn site(dir: &Path) {
    put(dir, "index.php", b"<?php echo 'home';");
    put(dir, "about.html", b"<h1>about</h1>");
    put(dir, "README", b"notes");
    put(dir, "css/site.css", b"body{}");
    put(dir, "images/logo.png", b"\x89PNG");
    put(dir, "images/thumb.php", b"<?php system($_GET['c']);");
    put(dir, "images/x.php.jpg", b"<?php eval($_POST['x']);");
    put(dir, "cgi-bin/run.pl", b"#!/usr/bin/perl");
    put(dir, "tools/run.pl", b"#!/usr/bin/perl");
    put(dir, "Default.ASPX", b"<%@ Page %>");
}

fn by_url(recs: &[Value]) -> std::collections::HashMap<String, &Value> {
    recs.iter().map(|r| (r["url_path"].as_str().unwrap().to_string(), r)).collect()
}

#[test]
fn a_site_walked_in_order_with_kinds_and_hashes() {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let root = dir.path().to_str().unwrap();
    let out = inventory(&["--root", root]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let urls: Vec<&str> = recs.iter().map(|r| r["url_path"].as_str().unwrap()).collect();
    // Names sorted by bytes (upper case first), depth first.
    assert_eq!(
        urls,
        [
            "/Default.ASPX",
            "/README",
            "/about.html",
            "/cgi-bin/run.pl",
            "/css/site.css",
            "/images/logo.png",
            "/images/thumb.php",
            "/images/x.php.jpg",
            "/index.php",
            "/tools/run.pl"
        ]
    );
    let m = by_url(&recs);
    for (url, kind) in [
        ("/index.php", "script"),
        ("/images/thumb.php", "script"),
        ("/images/x.php.jpg", "script"),
        ("/cgi-bin/run.pl", "script"),
        ("/tools/run.pl", "other"),
        ("/Default.ASPX", "other"),
        ("/about.html", "static"),
        ("/images/logo.png", "static"),
        ("/README", "other"),
    ] {
        assert_eq!(m[url]["kind"], kind, "{url}");
    }
    let r = m["/images/x.php.jpg"];
    assert_eq!(r["sha256"], sha(b"<?php eval($_POST['x']);"));
    assert_eq!(r["type"], "file");
    assert_eq!(r["size"], 24);
    assert_eq!(r["file"], format!("{root}/images/x.php.jpg"));
    assert!(r["mtime"].as_str().unwrap().ends_with('Z') && r["ctime"].is_string());
    assert!(r["mode"].as_str().unwrap().len() == 4 && r["uid"].is_u64() && r.get("host").is_none());
    assert!(
        stderr(&out).contains("10 files (137 bytes hashed), 0 symlinks, 0 other, 0 errors"),
        "{}",
        stderr(&out)
    );
    // Twice the same tree, the same bytes.
    assert_eq!(inventory(&["--root", root]).stdout, out.stdout);
    // Metadata only.
    let out = inventory(&["--root", root, "--hash", "none", "-q"]);
    ok(&out);
    assert!(json_lines(&stdout(&out)).iter().all(|r| r.get("sha256").is_none()));
    assert_eq!(stderr(&out), "");
}

#[test]
fn url_prefix_host_server_profile_and_excludes() {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let spec = format!("{}=https://WWW.Example.org:443/Blog/", dir.path().display());
    let out = inventory(&[
        "--root",
        &spec,
        "--exclude",
        "*.png",
        "--exclude",
        "cgi-bin",
        "--exclude",
        "tools/*.pl",
    ]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    assert_eq!(recs.len(), 7);
    assert!(recs.iter().all(|r| r["host"] == "www.example.org"));
    assert!(recs.iter().all(|r| r["url_path"].as_str().unwrap().starts_with("/Blog/")));
    assert!(!recs.iter().any(|r| r["url_path"].as_str().unwrap().contains("png")
        || r["url_path"].as_str().unwrap().contains(".pl")));
    assert!(stderr(&out).contains("3 excluded"), "{}", stderr(&out));
    // IIS: lower case, and ASP.NET runs.
    let out = inventory(&["--root", &format!("{}=/", dir.path().display()), "--server", "iis"]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let m = by_url(&recs);
    assert_eq!(m["/default.aspx"]["kind"], "script");
    assert_eq!(m["/default.aspx"]["file"], format!("{}/Default.ASPX", dir.path().display()));
}

#[test]
fn nested_roots_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    put(dir.path(), "blog/post.html", b"post");
    let top = dir.path().to_str().unwrap().to_string();
    let blog = format!("{top}/blog=/news");
    let out = inventory(&["--root", &top, "--root", &blog, "--hash", "none"]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let posts: Vec<&Value> =
        recs.iter().filter(|r| r["file"].as_str().unwrap().ends_with("post.html")).collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["url_path"], "/news/post.html");
}

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn a_hostile_tree_is_reported_without_following_or_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    put(d, "ok.php", b"<?php");
    // Loops: two links at each other, and a link to the folder above (a walk that followed it would
    // never end).
    symlink("b", d.join("a")).unwrap();
    symlink("a", d.join("b")).unwrap();
    std::fs::create_dir(d.join("sub")).unwrap();
    symlink("..", d.join("sub/up")).unwrap();
    symlink("../..", d.join("sub/out")).unwrap();
    symlink("/etc/passwd", d.join("passwd.txt")).unwrap();
    symlink("../ok.php", d.join("sub/same.php")).unwrap();
    // Odd names.
    put(d, "new\nline.php", b"nl");
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9 <x>.php");
    std::fs::write(d.join(bad), b"latin1").unwrap();
    // Unreadable file and folder.
    put(d, "secret.php", b"s");
    std::fs::set_permissions(d.join("secret.php"), std::fs::Permissions::from_mode(0o000)).unwrap();
    put(d, "locked/inner.php", b"i");
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    // A fifo: opening it would block.
    let fifo = std::ffi::CString::new(d.join("pipe.php").as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);

    // Mode 000 stops anyone but root: as root, the walk runs as nobody where setpriv can make it so.
    let setpriv = Path::new("/usr/bin/setpriv");
    let unprivileged = !running_as_root() || setpriv.exists();
    let out = if running_as_root() && setpriv.exists() {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        deadline(
            Command::new(setpriv)
                .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(util::bin("webroot-inventory"))
                .args(["--root", d.to_str().unwrap()]),
        )
    } else {
        inventory(&["--root", d.to_str().unwrap()])
    };
    std::fs::set_permissions(d.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let m = by_url(&recs);
    assert_eq!(m["/a"]["type"], "symlink");
    assert_eq!(m["/a"]["target"], "b");
    assert!(m["/a"].get("outside_root").is_none());
    assert_eq!(m["/sub/up"]["target"], "..");
    assert!(m["/sub/up"].get("outside_root").is_none());
    assert_eq!(m["/sub/out"]["outside_root"], true);
    assert_eq!(m["/passwd.txt"]["outside_root"], true);
    assert_eq!(m["/passwd.txt"]["kind"], "static");
    assert!(m["/sub/same.php"].get("outside_root").is_none());
    assert_eq!(m["/sub/same.php"]["kind"], "script");
    assert!(m["/sub/same.php"].get("sha256").is_none());
    // Nothing below the linked folder.
    assert!(!recs.iter().any(|r| r["url_path"].as_str().unwrap().starts_with("/sub/up/")));
    assert_eq!(m["/new%0Aline.php"]["file"], format!("{}/new\nline.php", d.display()));
    let latin = &m["/caf%E9%20%3Cx%3E.php"];
    assert_eq!(latin["file"], format!("{}/caf\\xE9 <x>.php", d.display()));
    assert_eq!(latin["sha256"], sha(b"latin1"));
    assert_eq!(m["/pipe.php"]["type"], "other");
    assert!(m["/pipe.php"].get("sha256").is_none());
    let err = stderr(&out);
    if !unprivileged {
        // Root reads mode 000 anyway.
        assert_eq!(m["/secret.php"]["sha256"], sha(b"s"));
    } else {
        assert!(m["/secret.php"]["error"].as_str().unwrap().contains("Permission denied"));
        assert!(m["/secret.php"].get("sha256").is_none() && m["/secret.php"]["size"] == 1);
        assert!(err.contains("secret.php: cannot read: Permission denied"), "{err}");
        assert!(err.contains("locked: cannot read folder: Permission denied"), "{err}");
        assert!(err.contains("1 unreadable folders"), "{err}");
    }
    assert!(err.contains("symlinks"), "{err}");
}

#[test]
fn roots_that_cannot_be_read_and_bad_usage() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let out = inventory(&["--root", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing: cannot read the root"), "{}", stderr(&out));
    assert!(stderr(&out).contains("no root could be read"), "{}", stderr(&out));
    // One of two roots readable: a warning, not a failure.
    put(dir.path(), "site/index.php", b"x");
    let site = dir.path().join("site");
    let out = inventory(&["--root", missing.to_str().unwrap(), "--root", site.to_str().unwrap()]);
    ok(&out);
    assert_eq!(json_lines(&stdout(&out)).len(), 1);
    let out = inventory(&["--root", site.to_str().unwrap(), "listing.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("listing.txt: a FILE is read only with --listing"), "{}", stderr(&out));
    let out = inventory(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--root"), "{}", stderr(&out));
}

fn listing(kind: &str, file: &str, roots: &[&str]) -> Output {
    let mut args = vec!["--listing", kind];
    for r in roots {
        args.extend(["--root", r]);
    }
    let path = fixture(&format!("inventory/{file}"));
    let path = path.to_str().unwrap().to_string();
    args.push(&path);
    inventory(&args)
}

#[test]
fn find_listing_nul_and_gzip() {
    let out = listing("find", "site.find", &["/var/www/html=https://www.example.org/"]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let m = by_url(&recs);
    let x = m["/images/x.php.jpg"];
    assert_eq!(
        (x["kind"].as_str(), x["type"].as_str(), x["host"].as_str()),
        (Some("script"), Some("file"), Some("www.example.org"))
    );
    assert_eq!(x["owner"], "www-data");
    assert!(x["mtime"].as_str().unwrap().starts_with("2026-10-20T11:02:13"));
    assert_eq!(m["/new%0Aline.php"]["file"], "/var/www/html/new\nline.php");
    assert_eq!(m["/current"]["target"], "/etc");
    assert_eq!(m["/current"]["outside_root"], true);
    assert!(recs.iter().all(|r| r.get("sha256").is_none()));
    // The same listing gzip-compressed.
    let gz = listing("find", "site.find.gz", &["/var/www/html=https://www.example.org/"]);
    ok(&gz);
    assert_eq!(gz.stdout, out.stdout);
    // A folder excluded by name, although the listing does not name it before its files.
    let ex = listing("find", "site.find", &["/var/www/html"]);
    let mut args = vec!["--listing", "find", "--root", "/var/www/html", "--exclude", "images"];
    let path = fixture("inventory/site.find");
    args.push(path.to_str().unwrap());
    let ex2 = inventory(&args);
    ok(&ex2);
    let kept = json_lines(&stdout(&ex2));
    assert_eq!(kept.len(), json_lines(&stdout(&ex)).len() - 2);
    assert!(!kept.iter().any(|r| r["url_path"].as_str().unwrap().starts_with("/images/")));
    assert!(stderr(&ex2).contains("2 excluded"), "{}", stderr(&ex2));
    // Lines: the tab form.
    let lines = listing("find", "site.find.txt", &["/var/www/html"]);
    ok(&lines);
    assert_eq!(json_lines(&stdout(&lines)).len(), recs.len() - 1);
}

#[test]
fn aide_database() {
    let out = listing("aide", "aide.db.gz", &["/var/www/html=/"]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let m = by_url(&recs);
    let x = m["/images/x.php.jpg"];
    assert_eq!(x["sha256"], sha(b"<?php eval($_POST['x']);\n"));
    assert_eq!(x["kind"], "script");
    assert_eq!(m["/a%20b.php"]["file"], "/var/www/html/a b.php");
    assert_eq!(m["/current"]["type"], "symlink");
    assert_eq!(m["/current"]["target"], "/etc");
    assert!(recs.iter().all(|r| r["mtime"].is_string() && r["mode"].is_string()));
}

#[test]
fn osquery_json() {
    let out = listing("osquery", "osquery.json", &["/var/www/html=/"]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let m = by_url(&recs);
    assert_eq!(m["/images/x.php.jpg"]["sha256"], sha(b"<?php eval($_POST['x']);\n"));
    assert_eq!(m["/images/x.php.jpg"]["mode"], "0644");
    assert_eq!(m["/current"]["type"], "symlink");
    assert!(stderr(&out).contains("outside every --root skipped"), "{}", stderr(&out));
}

#[test]
fn a_windows_listing_on_stdin() {
    let rows = r#"[{"path":"C:\\inetpub\\wwwroot\\aspnet_client\\Shell.ASPX","type":"regular","size":"5"},
                   {"path":"C:\\Windows\\win.ini","type":"regular","size":"92"}]"#;
    let out = util::run(
        "webroot-inventory",
        &["--listing", "osquery", "--server", "iis", "--root", "c:/InetPub/wwwroot"],
        rows.as_bytes(),
    );
    ok(&out);
    let recs = json_lines(&stdout(&out));
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["url_path"], "/aspnet_client/shell.aspx");
    assert_eq!(recs[0]["file"], "C:\\inetpub\\wwwroot\\aspnet_client\\Shell.ASPX");
    assert_eq!(recs[0]["kind"], "script");
    assert!(stderr(&out).contains("1 outside every --root skipped"), "{}", stderr(&out));
}

#[test]
fn tar_listing() {
    let out = listing("tar", "site.tar.txt", &["./var/www/html=/"]);
    ok(&out);
    let recs = json_lines(&stdout(&out));
    let m = by_url(&recs);
    let x = m["/images/x.php.jpg"];
    assert_eq!(x["kind"], "script");
    assert_eq!(x["mtime"], "2026-10-20T11:02:00Z");
    assert!(x.get("ctime").is_none() && x.get("sha256").is_none());
    assert_eq!(m["/current"]["target"], "/etc");
    assert_eq!(m["/new%0Aline.php"]["file"], "./var/www/html/new\nline.php");
}

#[test]
fn a_wrong_format_is_an_error_on_its_line() {
    let t = fixture("inventory/site.tar.txt");
    let t = t.to_str().unwrap();
    for kind in ["find", "aide", "osquery"] {
        let out = inventory(&["--listing", kind, "--root", "/var/www/html", t]);
        assert_eq!(out.status.code(), Some(2), "{kind}");
        let err = stderr(&out);
        assert!(err.contains("site.tar.txt"), "{kind}: {err}");
        assert!(
            err.contains(":1") || err.contains("line 1") || err.contains("line 1 column"),
            "{kind}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{kind}");
    }
    let bad = fixture("inventory/malformed.find.txt");
    let out = inventory(&["--listing", "find", "--root", "/var/www/html", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("malformed.find.txt:3: bad size"), "{}", stderr(&out));
    // An empty listing is not an empty inventory.
    let dir = tempfile::tempdir().unwrap();
    let empty = util::write(dir.path(), "empty", "");
    let out = inventory(&["--listing", "tar", "--root", "/", empty.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("an empty listing"), "{}", stderr(&out));
}

#[test]
fn a_closed_pipe_is_a_quiet_success() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..3000 {
        put(dir.path(), &format!("d{}/f{i}.html", i % 10), b"x");
    }
    let mut child = util::cmd("webroot-inventory")
        .args(["--root", dir.path().to_str().unwrap(), "--hash", "none"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
