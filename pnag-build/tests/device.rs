//! Adding a device from a probe file: the calibration recovers a known affine map
//! of a built-in model exactly, and every kind of bad probe or device file gets one
//! error naming the line or field.

use pnag_build::device::{calibrate, DeviceError, DeviceFile, ProbeFile};
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
fn calibration_recovers_an_affine_map_of_a_known_model() {
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
        assert_eq!(d.base, device, "{:?}", d.candidates);
        assert!(
            (d.scale - scale).abs() < 1e-9 && (d.offset - offset).abs() < 1e-7,
            "{d:?}"
        );
        assert!(d.loo_p90_error < 1e-9);
        // A budget on the device is the mapped budget on the base model.
        assert!((d.base_budget(d.latency(30.0)) - 30.0).abs() < 1e-9);
        // Left out, another model stands in, with a real error.
        let other = calibrate("phone", &probe, &[device]).unwrap();
        assert_ne!(other.base, device);
        assert!(other.loo_p90_error > 0.0);
    }
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
    // Edited scale: no longer what the probe gives.
    let edited = DeviceFile {
        scale: 0.5,
        ..d.clone()
    };
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
