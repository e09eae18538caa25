//! Located errors and defaults of targets files.

use super::*;

fn errors(text: &str) -> Vec<String> {
    Targets::parse(Path::new("t.toml"), text)
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn a_full_file_validates_with_defaults() {
    let t = Targets::parse(
        Path::new("targets/x.toml"),
        "device = \"note10\"\n[[budget]]\nname = \"fast\"\nlatency_ms = 25\n",
    )
    .unwrap();
    assert_eq!(
        (t.width, t.resolution, t.threads, t.seed, t.runtime),
        (Width::W1_2, 224, 1, 0, RuntimeKind::Cpu)
    );
    assert_eq!(
        t.budgets,
        vec![Budget {
            name: "fast".into(),
            value: Some(25.0),
            weights_mb: None,
            peak_memory_mb: None,
            line: 4
        }]
    );
    assert_eq!(t.weights, WeightsPlan::Synthetic { seed: 0 });
}

#[test]
fn every_problem_is_reported_with_its_line_and_field() {
    let e = errors(
        "device = \"pixel\"\nruntime = \"tpu\"\nwidth = 1.1\nthreads = 0\n[[budget]]\nname = \"a\"\nlatency_ms = -3\n[[budget]]\nname = \"a\"\nlatency_ms = 5\n",
    );
    assert_eq!(e.len(), 6, "{e:#?}");
    assert!(
        e[0].starts_with("t.toml:1:10: `device`: unknown device `pixel`"),
        "{}",
        e[0]
    );
    assert!(e[1].starts_with("t.toml:2:11: `runtime`"), "{}", e[1]);
    assert!(e[2].starts_with("t.toml:3:9: `width`"), "{}", e[2]);
    assert!(e[3].starts_with("t.toml:4:11: `threads`"), "{}", e[3]);
    assert!(
        e[4].starts_with(
            "t.toml:7:14: `budget.latency_ms`: budget `a`: -3 is not a positive number"
        ),
        "{}",
        e[4]
    );
    assert!(
        e[5].starts_with("t.toml:9:8: `budget.name`: budget `a` is listed twice"),
        "{}",
        e[5]
    );
}

#[test]
fn syntax_errors_and_unknown_fields_are_located() {
    let e = errors("device = \"note10\"\nlatency = 3\n");
    assert!(
        e[0].starts_with("t.toml:2:1: unknown field `latency`"),
        "{}",
        e[0]
    );
    let long = "x".repeat(MAX_NAME_CHARS + 1);
    let e = errors(&format!(
        "device = \"host\"\n[[budget]]\nname = \"{long}\"\nlatency_ms = 20\n"
    ));
    assert!(e[0].starts_with("t.toml:3:8: `budget.name`: name `xxxxxxxxxxxxxxxxxxxxxxxx…` has 65 characters; at most 64"), "{}", e[0]);
    let many: String = (0..=MAX_BUDGETS)
        .map(|i| format!("[[budget]]\nname = \"b{i}\"\nlatency_ms = 20\n"))
        .collect();
    let e = errors(&format!("device = \"host\"\n{many}"));
    assert!(
        e[0].contains("65 budgets; at most 64 per targets file"),
        "{}",
        e[0]
    );
    let e = errors("device = \"note10\"\n[[budget]]\nname = fast\n");
    assert!(e[0].starts_with("t.toml:3:8:"), "{}", e[0]);
}

#[test]
fn units_follow_the_device() {
    let e = errors("device = \"macs\"\n[[budget]]\nname = \"a\"\nlatency_ms = 3\n");
    assert!(e[0].contains("use `macs_m`"), "{}", e[0]);
    let e = errors("device = \"host\"\n[[budget]]\nname = \"a\"\n");
    assert!(
        e[0].contains("budget `a` sets no limit: add `latency_ms`"),
        "{}",
        e[0]
    );
    let e = errors("device = \"host\"\n[weights]\nsource = \"supernet\"\n[[budget]]\nname = \"a\"\nlatency_ms = 3\n");
    assert!(
        e[0].contains("`weights.path`: source = \"supernet\" needs a `path`"),
        "{}",
        e[0]
    );
}

#[test]
fn a_margin_is_for_added_devices_only() {
    let e =
        errors("device = \"note10\"\nmargin = 0.1\n[[budget]]\nname = \"a\"\nlatency_ms = 30\n");
    assert!(e[0].contains("`margin` applies to added devices"), "{e:?}");
}

#[test]
fn a_weights_table_without_source_means_synthetic() {
    let t = Targets::parse(
        Path::new("t.toml"),
        "device = \"note10\"\n[weights]\ndtype = \"f16\"\n[[budget]]\nname = \"a\"\nlatency_ms = 30\n",
    )
    .unwrap();
    assert_eq!(t.weights, WeightsPlan::Synthetic { seed: 0 });
    assert_eq!(t.weights_dtype, WeightsDtype::F16);
}

#[test]
fn budgets_take_weight_and_memory_limits_with_file_level_defaults() {
    let t = Targets::parse(
        Path::new("t.toml"),
        "device = \"note10\"\nweights_mb = 30\npeak_memory_mb = 8.5\n\
         [[budget]]\nname = \"a\"\nlatency_ms = 25\n\
         [[budget]]\nname = \"b\"\nweights_mb = 20\n\
         [[budget]]\nname = \"c\"\nlatency_ms = 40\npeak_memory_mb = 6\n",
    )
    .unwrap();
    let limits: Vec<_> = t
        .budgets
        .iter()
        .map(|b| (b.value, b.weights_mb, b.peak_memory_mb))
        .collect();
    assert_eq!(
        limits,
        [
            (Some(25.0), Some(30.0), Some(8.5)),
            (None, Some(20.0), Some(8.5)),
            (Some(40.0), Some(30.0), Some(6.0)),
        ]
    );
    // A budget without a cost is located at its `[[budget]]` line.
    assert_eq!(t.budgets[1].line, 7);
}

#[test]
fn bad_limits_are_one_located_error_each() {
    let e = errors(
        "device = \"note10\"\npeak_memory_mb = -1\n[[budget]]\nname = \"a\"\nlatency_ms = 25\nweights_mb = nan\n",
    );
    assert_eq!(e.len(), 2, "{e:#?}");
    assert!(
        e[0].contains("t.toml:6:14: `budget.weights_mb`: budget `a`: NaN is not a positive number"),
        "{e:?}"
    );
    assert!(
        e[1].contains(
            "t.toml:2:18: `budget.peak_memory_mb`: budget `a`: -1 is not a positive number"
        ),
        "{e:?}"
    );
    let e = errors("device = \"note10\"\n[[budget]]\nname = \"a\"\nflash_mb = 3\n");
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].contains("t.toml:4:1: unknown field `flash_mb`, expected one of `name`, `latency_ms`, `macs_m`, `weights_mb`, `peak_memory_mb`"), "{e:?}");
    let e = errors("device = \"note10\"\n[[budget]]\nname = \"a\"\n");
    assert!(
        e[0].contains(
            "budget `a` sets no limit: add `latency_ms`, `weights_mb` or `peak_memory_mb`"
        ),
        "{e:?}"
    );
}

#[test]
fn resolution_is_a_number_a_list_or_auto_within_the_devices_grid() {
    let parse = |device: &str, r: &str| {
        Targets::parse(
            Path::new("t.toml"),
            &format!("device = \"{device}\"\nresolution = {r}\n[[budget]]\nname = \"a\"\nlatency_ms = 30\n"),
        )
    };
    let t = parse("note10", "\"auto\"").unwrap();
    assert_eq!(
        (t.resolutions.as_slice(), t.resolution),
        (&[160, 176, 192, 208, 224][..], 224)
    );
    let t = parse("i7-8700k", "[224, 160, 192, 160]").unwrap();
    assert_eq!(t.resolutions, [160, 192, 224]);
    assert_eq!(parse("note10", "176").unwrap().resolutions, [176]);
    let error = |device: &str, r: &str| parse(device, r).unwrap_err()[0].to_string();
    let e = error("host", "\"auto\"");
    assert!(e.contains("t.toml:2:14: `resolution`: device `host`'s cost model covers 224 px only, so \"auto\" has nothing to choose from: write `resolution = 224`"), "{e}");
    let e = error("note10", "[160, 232]");
    assert!(
        e.contains("232 px is outside device `note10`'s grid at w1.2: [160, 176, 192, 208, 224]"),
        "{e}"
    );
    assert!(error("note10", "\"best\"")
        .contains("`best`: expected a number of pixels, a list of them, or \"auto\""));
    assert!(error("note10", "[]").contains("an empty list"));
    assert!(error("note10", "130")
        .contains("resolution 130 is not supported; expected a multiple of 4 in 128..=256"));
}
