//! `pnag device add` and an added device through `devices`, `generate` and `predict`.

use super::*;
use pnag_build::objective::Objective;
use pnag_runtime::references::REFERENCES;

/// The true latency of the test device: note10's tables, scaled.
fn truth(arch: Arch) -> f64 {
    let o = Objective::new("note10", Width::W1_2, 224).unwrap();
    2.0 * o.cost(arch).unwrap() + 1.0
}

/// A probe file of the test device and an empty devices dir, named for the test.
fn probe_and_dir(test: &str) -> (PathBuf, PathBuf) {
    let mut text = "# pnag-probe format 1\n# tool = pnag-runtime 0.1.0\n# threads = 2\n# width = 1.2\n# resolution = 224\n# runs = 15\n# machine = test\nreference,arch,median_ms,p10_ms,p90_ms\n".to_string();
    for (i, a) in REFERENCES.iter().enumerate() {
        let ms = truth(Arch::parse(a).unwrap());
        text += &format!("{i},\"{a}\",{ms},{ms},{ms}\n");
    }
    let probe = tmp(&format!("{test}-probe.csv"));
    std::fs::write(&probe, text).unwrap();
    (probe, tmp(&format!("{test}-devices")))
}

fn succeeds(args: &[&str]) -> Output {
    let out = pnag(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&succeeds(args).stdout).unwrap()
}

/// Answers within the true latency, monotone, and `pnag predict` reports the latency
/// `generate` searched with.
fn answers_fit(device: &str, dir: &str) {
    let answers = json(&[
        "generate",
        "--device",
        device,
        "--devices-dir",
        dir,
        "--budget",
        "61",
        "--budget",
        "101",
        "--json",
    ]);
    let mut last = 0.0;
    for (answer, budget) in answers.as_array().unwrap().iter().zip([61.0, 101.0]) {
        let arch = answer["arch"].as_str().unwrap();
        let truth = truth(Arch::parse(arch).unwrap());
        assert!(truth <= budget, "{device}: {truth} > {budget}");
        assert!(answer["cost"].as_f64().unwrap() <= budget);
        let top1 = answer["top1"].as_f64().unwrap();
        assert!(top1 >= last, "a larger budget got a less accurate subnet");
        last = top1;
        let predicted = json(&[
            "predict",
            "--device",
            device,
            "--devices-dir",
            dir,
            "--arch",
            arch,
            "--json",
        ]);
        assert_eq!(predicted["cost"], answer["cost"]);
        assert_eq!(predicted["device"], device);
    }
}

#[test]
fn an_added_device_answers_within_its_true_latency() {
    let (probe, dir) = probe_and_dir("answers");
    let (p, d) = (probe.to_str().unwrap(), dir.to_str().unwrap());
    let out = succeeds(&["device", "add", "phone", "--probe", p, "--dir", d]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("`note10` generator"), "{said}");
    let listed = pnag(&["devices", "--dir", d]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("phone"));
    answers_fit("phone", d);
    let e = fails(&[
        "predict",
        "--device",
        "nope",
        "--devices-dir",
        d,
        "--arch",
        REFERENCES[0],
    ]);
    assert!(e.contains("unknown device `nope`"), "{e}");
}

#[test]
fn reprobing_keeps_the_settings_and_the_generator_choice() {
    let (probe, dir) = probe_and_dir("reprobe");
    let (p, d) = (probe.to_str().unwrap(), dir.to_str().unwrap());
    // Re-probing refreshes the file, with the same settings only.
    succeeds(&["device", "add", "phone", "--probe", p, "--dir", d]);
    succeeds(&["device", "add", "phone", "--probe", p, "--dir", d]);
    let text = std::fs::read_to_string(&probe).unwrap();
    std::fs::write(&probe, text.replace("# threads = 2", "# threads = 4")).unwrap();
    let e = fails(&["device", "add", "phone", "--probe", p, "--dir", d]);
    assert!(e.contains("`threads` is 4, but device `phone`"), "{e}");
    std::fs::write(&probe, text).unwrap();
    // The device-conditioned generator answers when asked to, within the true latency;
    // re-probing keeps the choice.
    for _ in 0..2 {
        let out = succeeds(&[
            "device",
            "add",
            "phone2",
            "--probe",
            p,
            "--dir",
            d,
            "--generator",
            "device-conditioned",
        ]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("`device-conditioned` generator"));
    }
    let out = succeeds(&["device", "add", "phone2", "--probe", p, "--dir", d]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("`device-conditioned` generator"));
    let file = std::fs::read_to_string(dir.join("phone2.json")).unwrap();
    assert!(
        file.contains("\"answers_with\": \"device-conditioned\""),
        "{file}"
    );
    answers_fit("phone2", d);
}

#[test]
fn bad_names_generators_and_margins_are_one_error_each() {
    let (probe, dir) = probe_and_dir("bad");
    let (p, d) = (probe.to_str().unwrap(), dir.to_str().unwrap());
    succeeds(&["device", "add", "phone", "--probe", p, "--dir", d]);
    let e = fails(&[
        "device",
        "add",
        "phone3",
        "--probe",
        p,
        "--dir",
        d,
        "--generator",
        "mine",
    ]);
    assert!(
        e.contains("expected `borrowed` or `device-conditioned`"),
        "{e}"
    );
    let e = fails(&["device", "add", "note10", "--probe", p, "--dir", d]);
    assert!(e.contains("shadows a built-in device"), "{e}");
    let e = fails(&["device", "add", "a/b", "--probe", p, "--dir", d]);
    assert!(e.contains("expected 1–64 letters"), "{e}");
    let e = fails(&[
        "generate",
        "--device",
        "nope",
        "--devices-dir",
        d,
        "--budget",
        "9",
    ]);
    assert!(e.contains("unknown device `nope`"), "{e}");
    let e = fails(&[
        "generate",
        "--device",
        "phone",
        "--devices-dir",
        d,
        "--budget",
        "61",
        "--margin",
        "1.5",
    ]);
    assert!(e.contains("--margin 1.5"), "{e}");
}
