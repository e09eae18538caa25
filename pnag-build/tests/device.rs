//! Adding a device from a probe file: the calibration recovers a known affine map
//! of a built-in model exactly, and every kind of bad probe or device file gets one
//! error naming the line or field.

use pnag_build::device::{calibrate, check_name, DeviceError, DeviceFile, ProbeFile};
use pnag_build::objective::Objective;
use pnag_runtime::references::REFERENCES;
use pnag_runtime::{Arch, Width};

/// A probe file whose latencies are `scale × device's model + offset`.
fn probe_text(device: &str, scale: f64, offset: f64) -> String {
    let o = Objective::new(device, Width::W1_2, 224).unwrap();
    let mut s = "# pnag-probe format 1\n# tool = pnag-runtime 0.1.0\n# threads = 2\n# width = 1.2\n# resolution = 224\n# runs = 15\n# machine = test\nreference,arch,median_ms,p10_ms,p90_ms\n".to_string();
    for (i, a) in REFERENCES.iter().enumerate() {
        let ms = scale * o.cost(Arch::parse(a).unwrap()).unwrap() + offset;
        s += &format!("{i},\"{a}\",{ms},{},{}\n", ms * 0.9, ms * 1.1);
    }
    s
}

#[test]
fn a_scaled_known_device_is_recovered_from_its_references() {
    let test_archs = pnag_build::sample::random_archs(300, 77);
    for (device, scale, offset) in [
        ("note10", 1.7, 2.0),
        ("i7-8700k", 0.45, -0.5),
        ("host", 2.3, 0.0),
    ] {
        let probe = ProbeFile::parse(&probe_text(device, scale, offset), "p.csv").unwrap();
        assert_eq!(
            (probe.threads, probe.width, probe.resolution),
            (2, Width::W1_2, 224)
        );
        let d = calibrate("phone", &probe, &[]).unwrap();
        // The device's own shape is in the shipped space: near-exact either way.
        assert!(d.loo_p90_error < 0.01, "{:?}", d.candidates);
        assert_eq!(d.generator, device, "{:?}", d.candidates);
        let o = Objective::new(device, Width::W1_2, 224).unwrap();
        for a in &test_archs {
            let truth = scale * o.cost(*a).unwrap() + offset;
            assert!((d.latency(a) - truth).abs() / truth < 0.01, "{device}: {a}");
        }
        // The generator's budgets land where the device's do.
        assert!((d.generator_scale - scale).abs() / scale < 0.01, "{d:?}");
        // Its own model and generator left out, others stand in, with a real error.
        let other = calibrate("phone", &probe, &[device]).unwrap();
        assert_ne!(other.generator, device);
        assert!(other.loo_p90_error > 0.0);
    }
}

#[test]
fn another_resolution_is_refused_with_the_reason() {
    let text = probe_text("note10", 1.0, 0.0).replace("# resolution = 224", "# resolution = 192");
    let probe = ProbeFile::parse(&text, "p.csv").unwrap();
    let e = calibrate("phone", &probe, &[]).unwrap_err();
    assert!(
        matches!(
            e,
            DeviceError::NoBase {
                resolution: 192,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("224 px"), "{e}");
}

#[test]
fn bad_probe_files_get_one_error_naming_the_line() {
    let good = probe_text("note10", 1.0, 0.0);
    let line = |n: usize| good.lines().nth(n - 1).unwrap().to_string();
    let replace = |n: usize, new: &str| {
        let mut lines: Vec<String> = good.lines().map(String::from).collect();
        lines[n - 1] = new.to_string();
        lines.join("\n")
    };
    let first = 9; // the first reference line
    let dup = format!("{good}{}\n", line(first));
    let cases: Vec<(String, &str)> = vec![
        (replace(first, ""), "p.csv:0: references missing: 0"),
        (dup, "p.csv:29: reference 0 is listed twice"),
        (
            format!("{good}20,\"{}\",1,1,1\n", REFERENCES[0]),
            "p.csv:29: reference 20 does not exist",
        ),
        (
            replace(
                first,
                &line(first).replace(&REFERENCES[0].to_string(), REFERENCES[1]),
            ),
            "p.csv:9: reference 0 is `",
        ),
        (
            replace(first, &format!("0,\"{}\",0,0,0", REFERENCES[0])),
            "p.csv:9: median latency 0 ms",
        ),
        (
            replace(first, &format!("0,\"{}\",-3,-4,-2", REFERENCES[0])),
            "p.csv:9: median latency -3 ms",
        ),
        (
            replace(first, &format!("0,\"{}\",NaN,1,2", REFERENCES[0])),
            "p.csv:9: median latency NaN",
        ),
        (
            replace(first, &format!("0,\"{}\",5,6,7", REFERENCES[0])),
            "p.csv:9: percentiles out of order",
        ),
        (
            replace(first, &format!("0,\"{}\",5,x,7", REFERENCES[0])),
            "p.csv:9: latencies",
        ),
        (
            replace(1, "# pnag-probe format 9"),
            "p.csv:1: probe format 9",
        ),
        (
            replace(3, "# threads = 0"),
            "p.csv:0: `threads` is not in 1..=256",
        ),
        (replace(5, "# resolution = 100"), "p.csv:0: `resolution`"),
        (replace(8, "ref,arch"), "p.csv:8: expected the column line"),
        (
            replace(first, "garbage"),
            "p.csv:9: expected `index,\"arch\"",
        ),
    ];
    for (text, message) in cases {
        let e = ProbeFile::parse(&text, "p.csv").unwrap_err();
        assert!(matches!(e, DeviceError::Probe { .. }), "{e}");
        assert!(e.to_string().starts_with(message), "{message}: {e}");
    }
}

#[test]
fn hand_edited_or_shadowing_device_files_are_refused() {
    let dir = std::env::temp_dir().join(format!("pnag-device-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let probe = ProbeFile::parse(&probe_text("note10", 1.3, 1.0), "p.csv").unwrap();
    let d = calibrate("phone", &probe, &[]).unwrap();
    let path = dir.join("phone.json");
    std::fs::write(&path, serde_json::to_string_pretty(&d).unwrap()).unwrap();
    assert_eq!(DeviceFile::load(&path).unwrap(), d);
    // Edited generator map or model: no longer what the probe gives.
    let edited = DeviceFile {
        generator_scale: 0.5,
        ..d.clone()
    };
    std::fs::write(&path, serde_json::to_string(&edited).unwrap()).unwrap();
    let e = DeviceFile::load(&path).unwrap_err().to_string();
    assert!(e.contains("does not follow from its probe"), "{e}");
    let mut model = d.model.clone();
    model[0] *= 1.01;
    let edited = DeviceFile { model, ..d.clone() };
    std::fs::write(&path, serde_json::to_string(&edited).unwrap()).unwrap();
    let e = DeviceFile::load(&path).unwrap_err().to_string();
    assert!(e.contains("does not follow from its probe"), "{e}");
    // A built-in device's name.
    let shadow = DeviceFile {
        name: "note10".into(),
        ..d.clone()
    };
    std::fs::write(&path, serde_json::to_string(&shadow).unwrap()).unwrap();
    let e = DeviceFile::load(&path).unwrap_err().to_string();
    assert!(e.contains("shadows a built-in device"), "{e}");
    std::fs::write(&path, "{ nope").unwrap();
    assert!(DeviceFile::load(&path)
        .unwrap_err()
        .to_string()
        .contains("phone.json"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A targets file names an added device (`device_file`, optional `margin`); the build
/// API answers its budgets with the transferred generator, under budget × (1 − margin);
/// a missing, mismatched or inconsistent device file or a bad margin is one located error.
#[test]
fn targets_files_deploy_to_an_added_device() {
    use pnag_build::targets::Targets;
    let dir = std::env::temp_dir().join(format!("pnag-device-targets-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("devices")).unwrap();
    let probe = ProbeFile::parse(&probe_text("note10", 1.3, 1.0), "p.csv").unwrap();
    let d = calibrate("phone", &probe, &[]).unwrap();
    std::fs::write(
        dir.join("devices/phone.json"),
        serde_json::to_string_pretty(&d).unwrap(),
    )
    .unwrap();
    let toml = |extra: &str| {
        format!("device = \"phone\"\ndevice_file = \"devices/phone.json\"\n{extra}[[budget]]\nname = \"fast\"\nlatency_ms = 40\n[[budget]]\nname = \"big\"\nlatency_ms = 80\n")
    };
    let parse = |text: &str| Targets::parse(&dir.join("t.toml"), text);
    let t = parse(&toml("")).unwrap();
    assert_eq!(t.device.added(), Some(&d));
    assert_eq!(
        t.device.file(),
        Some(dir.join("devices/phone.json").as_path())
    );
    assert_eq!(t.margin, None);
    assert_eq!(t.margin_at(40.0), d.margin_at(40.0));
    assert!(d.margin_at(40.0) >= d.loo_p90_error);
    assert_eq!(parse(&toml("margin = 0.2\n")).unwrap().margin_at(40.0), 0.2);

    std::fs::write(dir.join("t.toml"), toml("margin = 0.1\n")).unwrap();
    let sel = pnag_build::Config::new()
        .targets("t.toml")
        .manifest_dir(&dir)
        .out_dir(dir.join("out"))
        .cargo_metadata(false)
        .compile()
        .unwrap();
    let o = Objective::new("note10", Width::W1_2, 224).unwrap();
    for (net, budget) in sel.networks.iter().zip([40.0, 80.0]) {
        assert!(net.predicted_cost <= budget * 0.9 + 1e-9, "{net:?}");
        assert!(1.3 * o.cost(net.arch).unwrap() + 1.0 <= budget, "{net:?}");
    }

    let first_error = |text: &str| parse(text).unwrap_err()[0].to_string();
    let e = first_error(&toml("").replace("devices/phone.json", "devices/nope.json"));
    assert!(
        e.starts_with(&format!(
            "{}:2:15: `device_file`",
            dir.join("t.toml").display()
        )),
        "{e}"
    );
    assert!(e.contains("nope.json"), "{e}");
    let e = first_error(&toml("").replace("device = \"phone\"", "device = \"tablet\""));
    assert!(e.contains("describes device `phone`, not `tablet`"), "{e}");
    let e = first_error(&toml("margin = 1.5\n"));
    assert!(
        e.contains("`margin`: 1.5 is not a fraction in [0, 0.9)"),
        "{e}"
    );
    let e = first_error("device = \"tablet\"\n[[budget]]\nname = \"a\"\nlatency_ms = 3\n");
    assert!(e.contains("device_file = \"devices/tablet.json\""), "{e}");
    let e = first_error(&toml("resolution = 192\n"));
    assert!(
        e.contains("was probed at w1.2 224 px; this file builds w1.2 192 px"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Probes whose latencies cannot come from timing the references name the real cause.
#[test]
fn implausible_latencies_name_the_real_cause() {
    let good = probe_text("note10", 1.0, 0.0);
    let rows = |f: &dyn Fn(usize, f64) -> f64| {
        let mut out = String::new();
        for line in good.lines() {
            match line.split('"').collect::<Vec<_>>()[..] {
                [i, arch, rest] if !line.starts_with('#') => {
                    let i: usize = i.trim_end_matches(',').parse().unwrap();
                    let ms: f64 = rest
                        .trim_start_matches(',')
                        .split(',')
                        .next()
                        .unwrap()
                        .parse()
                        .unwrap();
                    let v = f(i, ms);
                    out += &format!("{i},\"{arch}\",{v},{v},{v}\n");
                }
                _ => out += &format!("{line}\n"),
            }
        }
        out
    };
    let parse = |text: String| ProbeFile::parse(&text, "p.csv").unwrap_err().to_string();
    let e = parse(rows(&|_, _| 5.0));
    assert!(e.contains("all 20 reference latencies are 5 ms"), "{e}");
    let e = parse(rows(&|_, ms| 1000.0 / ms));
    assert!(e.contains("fall as the reference subnets grow"), "{e}");
    let e = parse(rows(&|_, ms| ms * 1e-310));
    assert!(e.contains("is not a measured time"), "{e}");
    let e = parse(rows(&|_, ms| ms * 1e-300));
    assert!(e.contains("is not a measured time"), "{e}");
    // A byte-order mark is not part of the file; control characters in `machine` are not
    // passed to a terminal.
    let marked = format!(
        "\u{feff}{}",
        good.replace("# machine = test", "# machine = a\u{1b}[31mred\u{202e}x")
    );
    let p = ProbeFile::parse(&marked, "p.csv").unwrap();
    assert_eq!(p.machine, "a\u{fffd}[31mred\u{fffd}x");
}

/// A device file is checked as a probe is: names, threads, the number and size of its
/// latencies, and that it is named after its device.
#[test]
fn device_files_are_checked_like_probes() {
    let dir = std::env::temp_dir().join(format!("pnag-device-checks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let probe = ProbeFile::parse(&probe_text("note10", 1.3, 1.0), "p.csv").unwrap();
    let d = calibrate("phone", &probe, &[]).unwrap();
    let write = |name: &str, d: &DeviceFile| {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_string(d).unwrap()).unwrap();
        DeviceFile::load(&path)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    write("phone.json", &d).unwrap();
    // Copied under another name: it would answer as `phone`.
    let e = write("tablet.json", &d).unwrap_err();
    assert!(e.contains("describes device `phone`"), "{e}");
    for threads in [0, 1_000_000] {
        let mut bad = d.clone();
        bad.probe.threads = threads;
        let e = write("phone.json", &bad).unwrap_err();
        assert!(
            e.contains(&format!("`threads` is {threads}; expected 1..=256")),
            "{e}"
        );
    }
    let mut bad = d.clone();
    bad.probe.latency_ms.push(3.0);
    let e = write("phone.json", &bad).unwrap_err();
    assert!(
        e.contains("21 reference latencies; a probe has exactly 20"),
        "{e}"
    );
    let mut bad = d.clone();
    bad.probe.latency_ms.iter_mut().for_each(|x| *x *= 1e-300);
    let e = write("phone.json", &bad).unwrap_err();
    assert!(e.contains("is not a measured latency"), "{e}");
    for name in ["../x", "", "a b", "x\u{1b}"] {
        let e = check_name(name).unwrap_err().to_string();
        assert!(e.contains("expected 1–64 letters"), "{name:?}: {e}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
