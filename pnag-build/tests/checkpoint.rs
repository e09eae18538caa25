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

#[path = "support/pickles.rs"]
mod pickles;
use pickles::*;

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

/// The builders below make valid files too: the hostile cases differ from one only where
/// they say.
#[test]
fn hand_built_legacy_files_load() {
    let file = legacy(
        &state_dict(&[("a.weight", "0", 4), ("b.bias", "1", 2)]),
        &[("0", 4), ("1", 2)],
    );
    let t = read_state_dict(&file, "built").unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(
        (t[0].0.as_str(), t[0].1.shape.as_slice()),
        ("a.weight", &[4][..])
    );
}

fn refused(object: &[u8], storages: &[(&str, usize)]) -> String {
    match read_state_dict(&legacy(object, storages), "hostile") {
        Ok(t) => panic!("accepted {} tensors", t.len()),
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.len() < 1000, "an error line of {} bytes", msg.len());
            msg
        }
    }
}

#[test]
fn a_container_that_contains_itself_is_refused() {
    // `]q\x00h\x00a`: a list, memoised, fetched, appended to itself.
    let e = refused(&[EMPTY_LIST, BINPUT, 0, BINGET, 0, APPEND], &[]);
    assert!(e.contains("would contain itself"), "{e}");
    // The same through a tuple inside a dict: {k: (d,)} where d is the dict.
    let mut o = vec![EMPTY_DICT, BINPUT, 1];
    o.extend(string("k"));
    o.extend([BINGET, 1, 0x85, SETITEM]); // TUPLE1 of the dict itself
    let e = refused(&o, &[]);
    assert!(e.contains("would contain itself"), "{e}");
    // As a storage offset (the case): REDUCE args holding a self-containing list.
    let mut o = global("torch._utils", "_rebuild_tensor_v2");
    o.extend([
        MARK, EMPTY_LIST, BINPUT, 2, BINGET, 2, APPEND, TUPLE, REDUCE,
    ]);
    let e = refused(&o, &[]);
    assert!(e.contains("would contain itself"), "{e}");
}

#[test]
fn a_million_nested_containers_are_one_error_not_a_stack_overflow() {
    let n = 1_000_000;
    for open in [EMPTY_LIST, EMPTY_DICT] {
        let mut o = vec![open; n];
        if open == EMPTY_LIST {
            o.extend(std::iter::repeat_n(APPEND, n - 1));
        } else {
            // {k: {k: {…}}}: a key and SETITEM per level.
            o = Vec::new();
            for _ in 0..n {
                o.push(EMPTY_DICT);
                o.extend([b'K', 1]);
            }
            o.truncate(o.len() - 2);
            o.extend(std::iter::repeat_n(SETITEM, n - 1));
        }
        let e = refused(&o, &[]);
        assert!(
            e.contains("too intricate")
                || e.contains("expected a dict of tensors")
                || e.contains("a tensor"),
            "{e}"
        );
    }
    // Nested tuples need no append: a million TUPLE1s, then dropped without recursion.
    let mut o = vec![EMPTY_TUPLE];
    o.extend(std::iter::repeat_n(0x85, n));
    let e = refused(&o, &[]);
    assert!(e.contains("holds a tuple"), "{e}");
}

#[test]
fn a_tensor_name_set_twice_is_one_error() {
    let e = refused(
        &state_dict(&[("w", "0", 4), ("w", "1", 4)]),
        &[("0", 4), ("1", 4)],
    );
    assert!(e.contains("entry `w` is set twice"), "{e}");
}

#[test]
fn views_may_not_amplify_the_file() {
    // 60 tensors viewing one storage of 1 M floats: 60× the file's data once copied out.
    let entries: Vec<(String, &str, i32)> =
        (0..60).map(|i| (format!("t{i}"), "0", 1 << 20)).collect();
    let entries: Vec<(&str, &str, i32)> = entries
        .iter()
        .map(|(n, k, c)| (n.as_str(), *k, *c))
        .collect();
    let e = refused(&state_dict(&entries), &[("0", 1 << 20)]);
    assert!(e.contains("more float32 data than twice the file"), "{e}");
}

#[test]
fn huge_values_in_messages_are_cut() {
    // A persistent id holding 4 MB of bytes: the message names its length, not its bytes.
    let mut o = vec![MARK];
    o.extend(bytes(4 << 20, b'x'));
    o.extend([TUPLE, BINPERSID]);
    let e = refused(&o, &[]);
    assert!(e.contains("bytes of length 4194304"), "{e}");
    // A 1 MB global name.
    let e = refused(&global(&"m".repeat(1 << 20), "f"), &[]);
    assert!(e.contains("… (1048578 bytes)"), "{e}");
}

/// Structure-aware fuzzing: seeded random pickle programs that build nested lists, dicts
/// and tuples, reuse the memo (so containers get shared and cycles close), append, set
/// items and call the allowed constructors — not only byte mutations of valid files. The
/// generator tracks what each op leaves on the stack, so most programs are well formed
/// and reach deep structure; one op in ten is random. The property: one result, never a
/// panic, a stack overflow or an unbounded message.
#[test]
fn structured_pickle_programs_never_panic() {
    #[derive(Clone, Copy, PartialEq)]
    enum Slot {
        Mark,
        List,
        Dict,
        Other,
    }
    const CASES: usize = 20_000;
    let mut rng = SplitMix64::new(31);
    let (mut accepted, mut cycles) = (0, 0);
    for case in 0..CASES {
        let (mut o, mut stack, mut memo) = (Vec::new(), Vec::<Slot>::new(), [None::<Slot>; 6]);
        for _ in 0..1 + rng.below(200) {
            let top = stack.last().copied();
            let below = |n: usize| stack.len().checked_sub(n + 1).map(|i| stack[i]);
            let mark = stack.iter().rposition(|s| *s == Slot::Mark);
            let k = rng.below(6);
            let random = rng.below(10) == 0;
            match rng.below(12) {
                0 => {
                    let c = [EMPTY_LIST, EMPTY_DICT, EMPTY_TUPLE][rng.below(3)];
                    o.push(c);
                    stack.push(
                        [Slot::List, Slot::Dict, Slot::Other]
                            [(c == EMPTY_DICT) as usize + 2 * (c == EMPTY_TUPLE) as usize],
                    );
                }
                1 => {
                    if rng.below(2) == 0 {
                        o.extend(string(["w", "b", "state_dict", "x.weight"][rng.below(4)]));
                    } else {
                        o.extend(tensor("0", 4));
                    }
                    stack.push(Slot::Other);
                }
                2 => {
                    o.push(MARK);
                    stack.push(Slot::Mark);
                }
                3 if random || top.is_some_and(|t| t != Slot::Mark) => {
                    o.extend([BINPUT, k as u8]);
                    memo[k] = top;
                }
                4 | 5 if random || memo[k].is_some() => {
                    o.extend([BINGET, k as u8]);
                    stack.push(memo[k].unwrap_or(Slot::Other));
                }
                6 if random
                    || (top.is_some_and(|t| t != Slot::Mark) && below(1) == Some(Slot::List)) =>
                {
                    o.push(APPEND);
                    stack.pop();
                }
                7 if random
                    || (top.is_some_and(|t| t != Slot::Mark)
                        && below(1).is_some_and(|t| t != Slot::Mark)
                        && below(2) == Some(Slot::Dict)) =>
                {
                    o.push(SETITEM);
                    stack.truncate(stack.len().saturating_sub(2));
                }
                8 if random || mark.is_some() => {
                    o.push(TUPLE);
                    stack.truncate(mark.unwrap_or(0));
                    stack.push(Slot::Other);
                }
                9 if random || mark.is_some_and(|m| m > 0 && stack[m - 1] == Slot::List) => {
                    o.push(APPENDS);
                    stack.truncate(mark.unwrap_or(0));
                }
                10 if random
                    || mark.is_some_and(|m| {
                        m > 0 && stack[m - 1] == Slot::Dict && (stack.len() - m - 1) % 2 == 0
                    }) =>
                {
                    o.push(SETITEMS);
                    stack.truncate(mark.unwrap_or(0));
                }
                11 if random || top.is_some_and(|t| t != Slot::Mark) => {
                    o.push(0x85);
                    stack.pop();
                    stack.push(Slot::Other);
                }
                _ => {}
            }
        }
        // End on a dict when one is on the stack, so some programs are state dicts.
        if let Some(k) = memo.iter().position(|m| *m == Some(Slot::Dict)) {
            if rng.below(2) == 0 {
                o.extend([BINGET, k as u8]);
            }
        }
        let file = legacy(&o, &[("0", 4)]);
        let result = std::panic::catch_unwind(|| read_state_dict(&file, "fuzz"));
        match result {
            Err(_) => panic!("case {case} panicked: {o:?}"),
            Ok(Ok(_)) => accepted += 1,
            Ok(Err(e)) => {
                let msg = e.to_string();
                assert!(!msg.is_empty() && msg.len() < 1000, "case {case}: {msg}");
                cycles += usize::from(msg.contains("would contain itself"));
            }
        }
    }
    eprintln!(
        "{CASES} structured pickles: {accepted} state dicts, {cycles} cycles refused, the rest one error each"
    );
    assert!(cycles > 0, "the generator never closed a cycle");
}
