//! `examples/record-floors.rs`, the benchmark helper behind `scripts/bench --floors`: each layer reads
//! every record, and the aggregation layer is `baseline-diff`'s own (it rejects what baseline-diff
//! rejects, naming the line).

use std::process::Command;

use crate::util::{self, ok, stderr};

/// The helper, built if this test run did not build examples (`cargo test --test it`).
fn floors() -> Command {
    let dir = util::bin_dir();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--example", "record-floors"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo");
    assert!(status.success(), "building examples/record-floors");
    Command::new(dir.join("examples").join("record-floors"))
}

#[test]
fn every_layer_reads_every_record() {
    let dir = tempfile::tempdir().unwrap();
    // Two layouts (a query adds fields), a blank line, the same template twice.
    let recs = concat!(
        r#"{"time":"2026-10-01T00:00:00Z","client":"10.0.0.1","method":"GET","path":"/a.php","status":200,"template":"/a.php"}"#,
        "\n\n",
        r#"{"time":"2026-10-01T00:00:01Z","client":"10.0.0.2","method":"GET","path":"/a.php","query":"x=1","status":200,"template":"/a.php","params":["x"]}"#,
        "\n",
        r#"{"time":"2026-10-01T00:00:02Z","client":"10.0.0.2","method":"POST","path":"/b/1","status":200,"template":"/b/{int}"}"#,
        "\n",
    );
    let f = util::write(dir.path(), "r.jsonl", recs);
    for (layer, want) in
        [("scan", "scan: 3 records"), ("keys", "keys: 3 records"), ("aggregate", "aggregate: 3 records")]
    {
        let out = floors().args([layer, f.to_str().unwrap()]).output().unwrap();
        ok(&out);
        assert!(stderr(&out).contains(want), "{layer}: {}", stderr(&out));
    }
    let out = floors().args(["keys", f.to_str().unwrap()]).output().unwrap();
    assert!(stderr(&out).contains("keys (summed over workers): 2"), "{}", stderr(&out));

    // A record without a template: baseline-diff's error, with the line.
    let bad = util::write(
        dir.path(),
        "bad.jsonl",
        format!("{recs}{{\"time\":\"2026-10-01T00:00:03Z\",\"path\":\"/c\"}}\n"),
    );
    let out = floors().args(["aggregate", bad.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("bad.jsonl:5\n") && e.contains("record has no template"), "{e}");
    let out = floors().args(["fold", f.to_str().unwrap()]).output().unwrap();
    assert!(!out.status.success() && stderr(&out).contains("unknown layer"), "{}", stderr(&out));
}
