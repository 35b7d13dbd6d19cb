//! `webroot-inventory` through the built binary: a small site walked, URL prefixes and excludes, a
//! hostile tree (symlink loops and escapes, odd names, unreadable files, a fifo).

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::Digest;

use crate::util::{self, json_lines, ok, stderr, stdout};

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
    let out = inventory(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--root"), "{}", stderr(&out));
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
