//! `pnag devices` and `pnag predict`.

use super::*;

#[test]
fn devices_and_predict() {
    let out = pnag(&["devices", "--json"]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["added"].as_array().is_some());
    let names: Vec<&str> = v["built_in"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["note10", "i7-8700k", "titan-xp", "host", "macs"]);

    let tutorial =
        "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0";
    let out = pnag(&[
        "predict",
        "--device",
        "note10",
        "--arch",
        tutorial,
        "--resolution",
        "192",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // OFA's tutorial: this arch was searched under 25 ms on the Note10 and predicted at 81.71 %.
    assert!(v["cost"].as_f64().unwrap() <= 25.0);
    assert!((v["top1_percent"].as_f64().unwrap() - 81.71).abs() < 0.01);
    assert_eq!(v["cost_unit"], "ms");

    let out = pnag(&[
        "predict",
        "--device",
        "i7-8700k",
        "--arch",
        SMALLEST,
        "--width",
        "1.0",
        "--resolution",
        "160",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // w1.0 top-1 comes from the measured-accuracy predictor (measured range 64.8–76.1 %).
    assert!(v["accuracy_model"]
        .as_str()
        .unwrap()
        .starts_with("moofa-w1.0"));
    assert!((60.0..80.0).contains(&v["top1_percent"].as_f64().unwrap()));
    assert!(
        fails(&["predict", "--device", "i7-8700k", "--arch", SMALLEST, "--width", "1.0"])
            .contains("128..=192")
    );
    let out = pnag(&[
        "predict", "--device", "titan-xp", "--arch", SMALLEST, "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fails(&["profile-device", "note10"]).contains("only `host`"));

    assert!(
        fails(&["predict", "--device", "pixel9", "--arch", SMALLEST])
            .contains("unknown device `pixel9`")
    );
    assert!(fails(&[
        "predict",
        "--device",
        "note10",
        "--arch",
        SMALLEST,
        "--resolution",
        "196"
    ])
    .contains("no data for resolution 196"));
    assert!(
        fails(&["predict", "--device", "note10", "--arch", SMALLEST, "--width", "1.0"])
            .contains("no data for width 1.0")
    );
}
