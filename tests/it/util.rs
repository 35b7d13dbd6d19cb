//! Helpers shared by the integration tests: running the built binaries, pipes, temporary files.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The path of a built binary of this package.
pub fn bin(name: &str) -> PathBuf {
    let var = format!("CARGO_BIN_EXE_{name}");
    match std::env::var_os(&var) {
        Some(p) => PathBuf::from(p),
        // CARGO_BIN_EXE_* is set at compile time for integration tests.
        None => panic!("{var} not set"),
    }
}

/// The directory holding the built binaries (for scripts that find them on PATH).
pub fn bin_dir() -> PathBuf {
    bin("log-export").parent().unwrap().to_path_buf()
}

/// A command for a built binary.
pub fn cmd(name: &str) -> Command {
    Command::new(bin(name))
}

/// Runs `name args` with `stdin` fed from a thread (so large inputs cannot deadlock).
pub fn run(name: &str, args: &[&str], stdin: &[u8]) -> Output {
    run_cmd(cmd(name).args(args), stdin)
}

/// Runs a prepared command with `stdin` fed from a thread.
pub fn run_cmd(c: &mut Command, stdin: &[u8]) -> Output {
    let mut child =
        c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    feeder.join().unwrap();
    out
}

/// stdout as UTF-8 text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and describes the failure fully when it is not.
#[track_caller]
pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// Parses JSON lines.
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// A fixture file under `tests/fixtures`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(rel)
}

/// Spawns `a | b` as real processes joined by an OS pipe; returns both children.
pub fn pipe2(a: &mut Command, b: &mut Command) -> (Child, Child) {
    let mut first = a.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn a");
    let out = first.stdout.take().unwrap();
    let second =
        b.stdin(Stdio::from(out)).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn b");
    // The Command keeps its Stdio (our copy of the pipe's read end) until it is replaced; without this
    // the producer would never see the pipe close.
    b.stdin(Stdio::null());
    (first, second)
}

/// Generates the log `dir/name` with the project's own generator (`tests/gen`); returns its path and
/// the planted shells (the ground truth) as JSON, as `gen-access-log --truth` writes them.
pub fn generate(dir: &Path, name: &str, opts: &crate::r#gen::Options) -> (PathBuf, Vec<serde_json::Value>) {
    let path = dir.join(name);
    let shells = crate::r#gen::generate_file(opts, &path).expect("generate a log");
    let truth = shells.iter().map(|s| serde_json::from_str(&s.to_json()).unwrap()).collect();
    (path, truth)
}

/// Generator options: `lines` lines of `format` from `seed`, with `webshells` planted shells.
pub fn gen_opts(format: &str, lines: u64, seed: u64, webshells: usize) -> crate::r#gen::Options {
    crate::r#gen::Options {
        lines,
        seed,
        webshells,
        format: crate::r#gen::Format::parse(format).expect("a generator format"),
        ..Default::default()
    }
}
