//! `pnag targets`.

use super::*;

#[test]
fn targets_shows_what_a_build_would_embed_and_lists_every_problem() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../targets/note10.toml");
    let out = pnag(&["targets", root, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let nets = v["networks"].as_array().unwrap();
    assert_eq!(nets.len(), 3);
    for n in nets {
        assert!(n["predicted_cost"].as_f64().unwrap() <= n["budget"].as_f64().unwrap());
    }
    let bad = tmp("bad-targets.toml");
    std::fs::write(
        &bad,
        "device = \"note10\"\nthreads = 0\n[[budget]]\nname = \"a\"\nlatency_ms = 0\n",
    )
    .unwrap();
    let err = fails(&["targets", bad.to_str().unwrap()]);
    assert!(err.contains("2 problem(s)"), "{err}");
    assert!(err.contains("bad-targets.toml:2:11: `threads`"), "{err}");
    assert!(
        err.contains("bad-targets.toml:5:14: `budget.latency_ms`"),
        "{err}"
    );
}
