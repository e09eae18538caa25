//! Seeded property tests for every parser of user input: arch strings, targets TOML,
//! `.npy` arrays, safetensors weights, generator and predictor manifests, budgets.
//!
//! Each case mutates a valid input (byte flips, insertions, deletions, duplicated or cut
//! spans, digits swapped for extreme numbers) with a fixed seed, so a failure names a
//! reproducible case. The property: the parser returns (no panic — a panic fails the test
//! with the case's seed) either a valid value or one error with a non-empty message, and
//! never allocates for sizes the input does not hold (the cases run in bounded time and
//! memory). Case counts are in `CASES` below and printed with `--nocapture`.

use std::collections::BTreeMap;
use std::path::Path;

use pnag_build::generator::{GenerateOptions, Generator};
use pnag_build::objective::Objective;
use pnag_build::predictor::LearnedPredictor;
use pnag_build::rng::SplitMix64;
use pnag_build::targets::Targets;
use pnag_cli::npy;
use pnag_runtime::weights::{parse_safetensors, read_f32, serialize_f32, WeightTensor};
use pnag_runtime::{Arch, NetworkSpec, Weights, WeightsSource, Width};

/// Cases per parser (a run takes a few seconds in release).
const CASES: [(&str, usize); 7] = [
    ("arch strings", 20_000),
    ("targets TOML", 5_000),
    (".npy arrays", 20_000),
    ("safetensors headers", 10_000),
    ("generator manifests", 2_000),
    ("predictor manifests", 2_000),
    ("budgets", 300),
];

fn cases(name: &str) -> usize {
    CASES.iter().find(|(n, _)| *n == name).unwrap().1
}

/// One seeded mutation of `input`: 1–4 edits, biased to the characters parsers care about.
fn mutate(rng: &mut SplitMix64, input: &[u8]) -> Vec<u8> {
    const SPICE: [&[u8]; 12] = [
        b",",
        b":",
        b"0",
        b"9",
        b"-1",
        b"1e308",
        b"NaN",
        b"\"",
        b"[",
        b"]",
        b"{",
        b"99999999999999999999",
    ];
    let mut out = input.to_vec();
    for _ in 0..1 + rng.next_u64() % 4 {
        let at = if out.is_empty() {
            0
        } else {
            (rng.next_u64() % out.len() as u64) as usize
        };
        match rng.next_u64() % 7 {
            0 if !out.is_empty() => out[at] ^= 1 << (rng.next_u64() % 8),
            1 => out.insert(at, rng.next_u64() as u8),
            2 if !out.is_empty() => {
                out.remove(at);
            }
            3 => {
                let s = rng.choose(&SPICE);
                out.splice(at..at, s.iter().copied());
            }
            4 => out.truncate(at),
            5 if !out.is_empty() => {
                let end = (at + 1 + (rng.next_u64() % 16) as usize).min(out.len());
                let span = out[at..end].to_vec();
                out.splice(at..at, span);
            }
            _ if !out.is_empty() => {
                let end = (at + (rng.next_u64() % 8) as usize).min(out.len());
                out.drain(at..end);
            }
            _ => out.push(b'0'),
        }
    }
    out
}

const TUTORIAL: &str =
    "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0";

#[test]
fn arch_strings() {
    let mut rng = SplitMix64::new(1);
    let (mut ok, n) = (0, cases("arch strings"));
    for _ in 0..n {
        let text = String::from_utf8_lossy(&mutate(&mut rng, TUTORIAL.as_bytes())).into_owned();
        match Arch::parse(&text) {
            Ok(a) => {
                // A valid value: it round-trips and has a layer plan at every width.
                assert_eq!(Arch::parse(&a.to_string()).unwrap(), a);
                NetworkSpec::new(a, Width::W1_0, 128).unwrap();
                ok += 1;
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    eprintln!("arch strings: {n} cases, {ok} valid");
}

const TARGETS: &str = "device = \"note10\"\nruntime = \"cpu\"\nwidth = 1.2\nresolution = 224\nseed = 0\nthreads = 4\n\n[weights]\nsource = \"synthetic\"\nseed = 1\n\n[[budget]]\nname = \"fast\"\nlatency_ms = 25.0\n\n[[budget]]\nname = \"big\"\nlatency_ms = 60\n";

#[test]
fn targets_files() {
    let mut rng = SplitMix64::new(2);
    let (mut ok, n) = (0, cases("targets TOML"));
    for _ in 0..n {
        let text = String::from_utf8_lossy(&mutate(&mut rng, TARGETS.as_bytes())).into_owned();
        match Targets::parse(Path::new("t.toml"), &text) {
            Ok(t) => {
                assert!(
                    !t.budgets.is_empty()
                        && t.budgets.iter().all(|b| {
                            [b.value, b.weights_mb, b.peak_memory_mb]
                                .iter()
                                .flatten()
                                .all(|&v| v > 0.0)
                                && (b.value.is_some()
                                    || b.weights_mb.is_some()
                                    || b.peak_memory_mb.is_some())
                        })
                );
                ok += 1;
            }
            Err(errors) => {
                assert!(!errors.is_empty());
                for e in errors {
                    let msg = e.to_string();
                    assert!(msg.starts_with("t.toml"), "{msg}");
                }
            }
        }
    }
    eprintln!("targets TOML: {n} cases, {ok} valid");
}

#[test]
fn npy_arrays() {
    let mut rng = SplitMix64::new(3);
    let valid = npy::to_bytes(&[2, 3, 4], &(0..24).map(|i| i as f32).collect::<Vec<_>>());
    let (mut ok, n) = (0, cases(".npy arrays"));
    for _ in 0..n {
        let bytes = mutate(&mut rng, &valid);
        match npy::parse_f32(Path::new("x.npy"), &bytes) {
            Ok(a) => {
                assert_eq!(a.data.len(), a.shape.iter().product::<usize>());
                ok += 1;
            }
            Err(e) => assert!(e.to_string().contains("x.npy")),
        }
    }
    eprintln!(".npy arrays: {n} cases, {ok} valid");
}

#[test]
fn safetensors_headers() {
    let mut rng = SplitMix64::new(4);
    let t = |shape: Vec<usize>| WeightTensor {
        data: (0..shape.iter().product::<usize>())
            .map(|i| i as f32 * 0.5)
            .collect(),
        shape,
    };
    let tensors = [
        ("a.weight", t(vec![4, 3])),
        ("a.bias", t(vec![4])),
        ("b", t(vec![2, 2, 2])),
    ];
    let valid = serialize_f32(tensors.iter().map(|(n, t)| (*n, t)), None);
    let (mut ok, n) = (0, cases("safetensors headers"));
    for _ in 0..n {
        let bytes = mutate(&mut rng, &valid);
        let Ok(st) = parse_safetensors(&bytes, "w.safetensors") else {
            continue;
        };
        for (name, t) in &tensors {
            match read_f32(&st, "w.safetensors", name, &t.shape) {
                Ok(read) => assert_eq!(read.data.len(), t.data.len()),
                Err(e) => assert!(e.to_string().contains("w.safetensors")),
            }
        }
        ok += 1;
    }
    // Whole subnet weights: mutations of the header region only (the data is megabytes).
    let spec = NetworkSpec::new(Arch::smallest(), Width::W1_0, 128).unwrap();
    let full = Weights::synthetic(&spec, 0).to_safetensors();
    let header = 8 + u64::from_le_bytes(full[..8].try_into().unwrap()) as usize;
    for _ in 0..200 {
        let mut bytes = mutate(&mut rng, &full[..header]);
        bytes.extend_from_slice(&full[header..]);
        if let Err(e) =
            Weights::from_safetensors(&bytes, WeightsSource::Embedded("w".into()), &spec)
        {
            assert!(!e.to_string().is_empty());
        }
    }
    eprintln!("safetensors headers: {n} + 200 cases, {ok} parsed");
}

fn shipped(dir: &str) -> (Vec<u8>, Vec<u8>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../pnag-build/models")
        .join(dir);
    let read = |f: &str| std::fs::read(root.join(f)).unwrap();
    if dir == "predictors" {
        (read("titan-xp.json"), read("titan-xp.safetensors"))
    } else {
        (read("generator.json"), read("generator.safetensors"))
    }
}

#[test]
fn generator_and_predictor_manifests() {
    let mut rng = SplitMix64::new(5);
    let (json, weights) = shipped("note10");
    let (mut ok, n) = (0, cases("generator manifests"));
    for _ in 0..n {
        match Generator::from_bytes(&mutate(&mut rng, &json), &weights, "g") {
            Ok(_) => ok += 1,
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    // The weights side too: a mutated weights file never loads under the manifest.
    for _ in 0..200 {
        let bytes = mutate(&mut rng, &weights);
        assert!(bytes == weights || Generator::from_bytes(&json, &bytes, "g").is_err());
    }
    eprintln!("generator manifests: {n} + 200 cases, {ok} valid");
    let (json, weights) = shipped("predictors");
    let (mut ok, n) = (0, cases("predictor manifests"));
    for _ in 0..n {
        match LearnedPredictor::from_bytes(&mutate(&mut rng, &json), &weights, "p") {
            Ok(_) => ok += 1,
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    eprintln!("predictor manifests: {n} cases, {ok} valid");
}

#[test]
fn budgets() {
    let mut rng = SplitMix64::new(6);
    let generator = Generator::embedded("note10").unwrap();
    let objective = Objective::new("note10", Width::W1_2, 224).unwrap();
    let opts = GenerateOptions {
        refine_steps: 0,
        ..Default::default()
    };
    let special = [
        0.0,
        -0.0,
        -1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        1e308,
        17.77,
        92.4,
    ];
    let mut answers = BTreeMap::new();
    let n = cases("budgets");
    for i in 0..n {
        let budget = match special.get(i) {
            Some(&b) => b,
            None => f64::from_bits(rng.next_u64()).abs() % 200.0,
        };
        match generator.generate(&objective, budget, &opts) {
            Ok(g) => {
                assert!(g.cost <= budget, "budget {budget}: cost {}", g.cost);
                answers.insert(format!("{budget}"), g.arch);
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    eprintln!("budgets: {n} cases, {} answered", answers.len());
}
