//! Both HTTP tools against the certificates real deployments present (`tests/emulators/tls.rs`): a
//! private CA's leaf, a self-signed `CA:TRUE` certificate as `openssl req -x509` makes it, one with only
//! a common name, and a certificate nothing trusts. Each setup connects with its option, and a refusal
//! exits 2 at once, naming the certificate's subject, issuer and SHA-256.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::splunk::{TOKEN, config, event};
use crate::tls_emu::{self, Identity};
use crate::util::{self, fixture, json_lines, ok, stderr, stdout};
use crate::{splunk_emu, threatq_emu};

/// The SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it.
fn fingerprint(id: &Identity) -> String {
    Sha256::digest(&id.cert_der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// The pin of the identity's key, computed from the key pair (not from the certificate the tool parses).
fn pin(id: &Identity) -> String {
    let key = rcgen::KeyPair::try_from(id.key_der.as_slice()).unwrap();
    base64::engine::general_purpose::STANDARD
        .encode(Sha256::digest(rcgen::PublicKeyData::subject_public_key_info(&key)))
}

/// A running server of either kind, serving `id`.
enum Server {
    Splunk(splunk_emu::Emulator),
    ThreatQ(threatq_emu::Emulator),
}

impl Server {
    fn start(tool: &str, id: &Identity) -> Server {
        if tool == "splunk-export" {
            let e = splunk_emu::Emulator::start(splunk_emu::Config { tls: Some(id.clone()), ..config() });
            e.add_events([event(1_790_812_800, 1_790_812_800, "/tls")]);
            Server::Splunk(e)
        } else {
            Server::ThreatQ(threatq_emu::Emulator::start_tls(threatq_emu::Config::default(), id))
        }
    }

    fn url(&self) -> String {
        match self {
            Server::Splunk(e) => e.url(),
            Server::ThreatQ(e) => e.url(),
        }
    }

    /// The tool's command against this server, with `url` (default: the server's) and credentials.
    fn cmd(&self, tool: &str, url: Option<&str>, args: &[&str]) -> Command {
        let mut c = util::cmd(tool);
        let url = url.map_or_else(|| self.url(), str::to_string);
        c.args(["--url", &url]).args(args);
        match self {
            Server::Splunk(_) => {
                c.env("SPLUNK_TOKEN", TOKEN);
            }
            Server::ThreatQ(e) => {
                for v in ["TQ_CLIENT_ID", "TQ_EMAIL", "TQ_PASSWORD", "TQ_CLIENT_SECRET"] {
                    c.env_remove(v);
                }
                c.envs(e.env()).arg("-");
            }
        }
        c
    }
}

fn run(c: &mut Command) -> Output {
    let input = std::fs::read(fixture("tq/findings.jsonl")).unwrap();
    util::run_cmd(c, &input)
}

/// Succeeds, and did its job (an event exported, or indicators pushed).
#[track_caller]
fn connects(tool: &str, out: &Output) {
    ok(out);
    if tool == "splunk-export" {
        assert_eq!(json_lines(&stdout(out))[0]["path"], "/tls");
    }
}

/// Fails with exit 2 in under 2 s, naming the certificate; returns stderr.
#[track_caller]
fn refused(out: &Output, took: Duration, id: &Identity) -> String {
    let e = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{e}");
    assert!(took < Duration::from_secs(2), "not retried, took {took:?}: {e}");
    assert!(!e.contains("retrying"), "{e}");
    assert!(e.contains(&format!("subject \"CN={}", id.cn)) || e.contains(&format!("CN={}", id.cn)), "{e}");
    assert!(e.contains("issuer \""), "{e}");
    assert!(e.contains(&fingerprint(id)), "names the SHA-256 fingerprint: {e}");
    e
}

fn timed(c: &mut Command) -> (Output, Duration) {
    let t = Instant::now();
    let o = run(c);
    (o, t.elapsed())
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    util::write(dir, name, text).to_str().unwrap().to_string()
}

const TOOLS: [&str; 2] = ["splunk-export", "tq-push"];

#[test]
fn a_private_ca_leaf_connects_with_ca_cert_and_is_refused_without() {
    for tool in TOOLS {
        let dir = tempfile::tempdir().unwrap();
        let id = tls_emu::private_ca("appliance.example.test");
        let ca = write(dir.path(), "ca.pem", &id.ca_pem);
        let s = Server::start(tool, &id);
        let (out, took) = timed(&mut s.cmd(tool, None, &[]));
        let e = refused(&out, took, &id);
        assert!(e.contains("--ca-cert"), "says what to do: {e}");
        connects(tool, &run(&mut s.cmd(tool, None, &["--ca-cert", &ca])));
        // A pin names the server's own key, whatever signed its certificate.
        connects(tool, &run(&mut s.cmd(tool, None, &["--pin-sha256", &pin(&id)])));
    }
}

#[test]
fn a_self_signed_ca_true_certificate_connects_with_itself_or_its_pin() {
    for tool in TOOLS {
        let dir = tempfile::tempdir().unwrap();
        let id = tls_emu::self_signed("tq.lab.example.test");
        let own = write(dir.path(), "appliance.pem", &id.cert_pem);
        let s = Server::start(tool, &id);
        let (out, took) = timed(&mut s.cmd(tool, None, &[]));
        refused(&out, took, &id);
        // The very certificate, given as --ca-cert: trusted as itself (WebPKI alone says CaUsedAsEndEntity).
        connects(tool, &run(&mut s.cmd(tool, None, &["--ca-cert", &own])));
        // Its pin, bare and in curl's spelling.
        connects(tool, &run(&mut s.cmd(tool, None, &["--pin-sha256", &pin(&id)])));
        let curl = format!("sha256//{}", pin(&id));
        connects(tool, &run(&mut s.cmd(tool, None, &["--pin-sha256", &curl])));
    }
}

#[test]
fn a_common_name_only_self_signed_certificate_is_matched_by_its_name() {
    for tool in TOOLS {
        let dir = tempfile::tempdir().unwrap();
        let id = tls_emu::self_signed_cn_only("localhost");
        let own = write(dir.path(), "appliance.pem", &id.cert_pem);
        let s = Server::start(tool, &id);
        let by_name = s.url().replace("127.0.0.1", "localhost");
        connects(tool, &run(&mut s.cmd(tool, Some(&by_name), &["--ca-cert", &own])));
        let (out, _) = timed(&mut s.cmd(tool, None, &["--ca-cert", &own]));
        assert_eq!(out.status.code(), Some(2), "the address is not its name");
        assert!(stderr(&out).contains("does not name 127.0.0.1"), "{}", stderr(&out));
    }
}

#[test]
fn a_wrong_certificate_fails_at_once_naming_it() {
    for tool in TOOLS {
        let dir = tempfile::tempdir().unwrap();
        let served = tls_emu::wrong("rogue.example.test");
        let expected = tls_emu::self_signed("tq.lab.example.test");
        let own = write(dir.path(), "appliance.pem", &expected.cert_pem);
        let other_ca = write(dir.path(), "ca.pem", &tls_emu::private_ca("corp").ca_pem);
        let s = Server::start(tool, &served);
        for args in [
            vec!["--ca-cert", own.as_str()],
            vec!["--ca-cert", other_ca.as_str()],
            vec!["--pin-sha256", &pin(&expected)],
        ] {
            let (out, took) = timed(&mut s.cmd(tool, None, &args));
            let e = refused(&out, took, &served);
            assert!(e.contains(&format!("sha256//{}", pin(&served))), "names the pin it has: {e}");
        }
        let (out, _) = timed(&mut s.cmd(tool, None, &["--pin-sha256", &pin(&expected)]));
        assert!(stderr(&out).contains("does not match --pin-sha256"), "{}", stderr(&out));
        // --insecure still connects, and says so.
        let out = run(&mut s.cmd(tool, None, &["--insecure"]));
        connects(tool, &out);
        assert!(stderr(&out).contains("warning: --insecure"), "{}", stderr(&out));
    }
}

#[test]
fn the_readmes_openssl_command_gives_the_pin_the_tools_accept() {
    // The README's recipe, run on the certificate the server presents (as `openssl s_client` saves it).
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: no openssl on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let id = tls_emu::self_signed("tq.lab.example.test");
    let pem = write(dir.path(), "server.pem", &id.cert_pem);
    let script = format!(
        "openssl x509 -in {pem} -pubkey -noout | openssl pkey -pubin -outform der | \
         openssl dgst -sha256 -binary | openssl enc -base64"
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    ok(&out);
    assert_eq!(stdout(&out).trim(), pin(&id));
}

#[test]
fn bad_pins_and_ca_files_are_refused_before_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = write(dir.path(), "ca.pem", "not a certificate\n");
    for tool in TOOLS {
        let creds = [("SPLUNK_TOKEN", TOKEN), ("TQ_CLIENT_ID", "x"), ("TQ_EMAIL", "x"), ("TQ_PASSWORD", "x")];
        let mut c = util::cmd(tool);
        c.envs(creds).args(["--url", "https://127.0.0.1:9", "--pin-sha256", "c2hvcnQ="]);
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("5 bytes, a SHA-256 pin is 32"), "{}", stderr(&out));
        let mut c = util::cmd(tool);
        c.envs(creds).args(["--url", "https://127.0.0.1:9", "--ca-cert", &not_pem]);
        let out = run(&mut c);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("no certificate in the file"), "{}", stderr(&out));
    }
}
