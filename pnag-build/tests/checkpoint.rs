//! PyTorch checkpoints written by `torch.save` itself (fixtures from
//! pnag-build/tests/fixtures/make_checkpoint_fixtures.py, torch 2.13): both formats give
//! exactly the tensors torch had; hostile and damaged files get one error and
//! nothing is acted on; mutated and truncated files never panic.

use std::path::{Path, PathBuf};

use pnag_build::rng::SplitMix64;
use pnag_build::weights::checkpoint::{
    detect, read_state_dict, CheckpointError, Format, PickleError,
};
use pnag_runtime::weights::{f16_to_f32, f32_to_f16};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/checkpoints")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn load(name: &str) -> Result<Vec<(String, pnag_runtime::weights::WeightTensor)>, CheckpointError> {
    read_state_dict(&read(name), &format!("`{name}`"))
}

#[test]
fn both_torch_save_formats_give_torchs_own_tensors() {
    let expected: Value = serde_json::from_slice(&read("expected.json")).expect("expected.json");
    let cases = expected["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 5);
    for (case, tensors) in cases {
        for (suffix, format) in [("zip", Format::TorchZip), ("legacy", Format::TorchLegacy)] {
            let file = format!("{case}.{suffix}.pt");
            assert_eq!(detect(&read(&file)), format, "{file}");
            let got = load(&file).unwrap_or_else(|e| panic!("{e}"));
            let want = tensors.as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{file}");
            for ((name, t), w) in got.iter().zip(want) {
                assert_eq!(name, w["name"].as_str().unwrap(), "{file}");
                let shape: Vec<usize> = w["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(t.shape, shape, "{file}: {name}");
                let values: Vec<f32> = w["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap() as f32)
                    .collect();
                // Bit-identical to torch's own `.to(float32)`.
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&t.data), bits(&values), "{file}: {name}");
            }
        }
    }
}

#[test]
fn hostile_files_are_refused_without_acting_on_them() {
    let cases: [(&str, &str); 8] = [
        (
            "hostile/os_system.zip.pt",
            "global `posix.system` is not allowed",
        ),
        (
            "hostile/os_system.legacy.pt",
            "global `posix.system` is not allowed",
        ),
        (
            "hostile/eval.zip.pt",
            "global `__builtin__.eval` is not allowed",
        ),
        ("hostile/raw_os_system.pkl", "neither a zip nor a legacy"),
        ("hostile/missing_record.zip.pt", "has no record"),
        ("hostile/deflated.zip.pt", "is compressed"),
        (
            "hostile/huge_storage.legacy.pt",
            "runs past the end of the file",
        ),
        ("mixed.zip.pt", ""),
    ];
    for (file, message) in cases {
        match load(file) {
            Ok(_) => assert!(message.is_empty(), "{file} was accepted"),
            Err(e) => {
                let text = e.to_string();
                assert!(!message.is_empty(), "{file}: {text}");
                assert!(
                    text.contains(message) && text.contains(file),
                    "{file}: {text}"
                );
            }
        }
    }
    // The raw pickle, given to the pickle reader directly inside a torch container, is
    // refused at its GLOBAL: the first opcode that names something to call.
    let e = load("hostile/os_system.zip.pt").unwrap_err();
    assert!(
        matches!(
            e,
            CheckpointError::Pickle {
                source: PickleError::Global(_),
                ..
            }
        ),
        "{e}"
    );
}

/// ≥ 10,000 seeded damaged variants of every fixture (truncations, flipped bytes,
/// overwritten length fields): each is read or refused — never a panic.
#[test]
fn damaged_checkpoints_never_panic() {
    let n = std::env::var("PNAG_CHECKPOINT_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12_000usize);
    let files: Vec<Vec<u8>> = ["mixed", "shared", "wrapped", "parameters", "module_state"]
        .iter()
        .flat_map(|c| {
            [
                read(&format!("{c}.zip.pt")),
                read(&format!("{c}.legacy.pt")),
            ]
        })
        .collect();
    let mut rng = SplitMix64::new(23);
    let (mut ok, mut refused) = (0, 0);
    for i in 0..n {
        let mut b = files[i % files.len()].clone();
        match rng.below(4) {
            0 => b.truncate(rng.below(b.len())),
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(b.len());
                    b[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                // Large or negative-looking lengths where a length might be.
                let at = rng.below(b.len().saturating_sub(8));
                let v = [u64::MAX, 1 << 40, 0x7fff_ffff, 0x8000_0000][rng.below(4)];
                b[at..at + 8].copy_from_slice(&v.to_le_bytes());
            }
            _ => {
                let at = rng.below(b.len());
                b[at] = rng.next_u64() as u8;
            }
        }
        match read_state_dict(&b, "`mutated`") {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(
                    e.to_string().starts_with("PyTorch checkpoint `mutated`"),
                    "{e}"
                );
                refused += 1;
            }
        }
    }
    eprintln!("damaged checkpoints: {n} cases, {ok} read, {refused} refused");
}

#[test]
fn half_precision_round_trips_like_torch() {
    // Every half value widens exactly and narrows back to itself.
    for h in 0..=u16::MAX {
        let f = f16_to_f32(h);
        if f.is_nan() {
            assert!(f32_to_f16(f) & 0x7c00 == 0x7c00 && f32_to_f16(f) & 0x3ff != 0);
        } else {
            assert_eq!(f32_to_f16(f), h, "{h:#06x} → {f}");
        }
    }
    // Rounding to nearest even, overflow to infinity (torch: `torch.tensor(x).half()`).
    assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3c00); // tie → even
    assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3c02); // tie → even (up)
    assert_eq!(f32_to_f16(65520.0), 0x7c00);
    assert_eq!(f32_to_f16(65519.0), 0x7bff);
    assert_eq!(f32_to_f16(2f32.powi(-25)), 0); // tie → even (zero)
    assert_eq!(f32_to_f16(3.0 * 2f32.powi(-26)), 1);
}
