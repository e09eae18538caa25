//! Shared helpers for the workspace tests: the OFA fixture files and the
//! synthetic input that `fixtures/make_ofa_fixtures.py` also generates.

use std::path::PathBuf;

use pnag_runtime::weights::synthetic_uniform;
use serde::Deserialize;

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[derive(Debug, Deserialize)]
pub struct CostCase {
    pub arch: String,
    pub width: f64,
    pub resolution: u32,
    pub ofa_count_net_flops: f64,
    pub ofa_count_parameters: u64,
}

#[derive(Debug, Deserialize)]
pub struct TensorManifest {
    pub arch: String,
    pub width: f64,
    pub tensors: Vec<(String, Vec<usize>)>,
}

#[derive(Debug, Deserialize)]
pub struct LogitCase {
    pub arch: String,
    pub width: f64,
    pub resolution: u32,
    pub seed: u64,
    pub batch: usize,
    pub offset: usize,
    pub len: usize,
    pub max_abs_logit: f32,
}

#[derive(Debug, Deserialize)]
pub struct Reference {
    pub cost_cases: Vec<CostCase>,
    pub tensor_manifests: Vec<TensorManifest>,
    pub logit_cases: Vec<LogitCase>,
}

/// Reads `fixtures/ofa_reference.json` and the logits of `ofa_logits.bin`.
pub fn load_reference() -> (Reference, Vec<f32>) {
    let dir = fixtures_dir();
    let json = std::fs::read_to_string(dir.join("ofa_reference.json")).expect("ofa_reference.json");
    let reference: Reference = serde_json::from_str(&json).expect("valid fixture json");
    let bytes = std::fs::read(dir.join("ofa_logits.bin")).expect("ofa_logits.bin");
    let logits = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (reference, logits)
}

/// The fixture input: noise in [-1, 1) plus a per-image, per-channel offset.
pub fn synthetic_input(seed: u64, batch: usize, resolution: usize) -> Vec<f32> {
    let plane = resolution * resolution;
    let noise = synthetic_uniform("input", seed, batch * 3 * plane);
    let offset = synthetic_uniform("input.offset", seed, batch * 3);
    noise
        .iter()
        .enumerate()
        .map(|(i, n)| n + offset[i / plane])
        .collect()
}

pub fn width(w: f64) -> pnag_runtime::Width {
    if w == 1.0 {
        pnag_runtime::Width::W1_0
    } else {
        pnag_runtime::Width::W1_2
    }
}

#[derive(Debug, Deserialize)]
pub struct EncodingCase {
    pub arch: String,
    pub resolution: u32,
    pub ones: Vec<usize>,
}

/// Reads `fixtures/ofa_encoding.json` (OFA predictor features by the shared data's reference encoder).
pub fn load_encoding_cases() -> Vec<EncodingCase> {
    #[derive(Deserialize)]
    struct File {
        cases: Vec<EncodingCase>,
    }
    let json = std::fs::read_to_string(fixtures_dir().join("ofa_encoding.json"))
        .expect("ofa_encoding.json");
    serde_json::from_str::<File>(&json)
        .expect("valid fixture json")
        .cases
}

#[derive(Debug, Deserialize)]
pub struct ExtractedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub sum: f64,
    pub sum_sq: f64,
    pub values: Vec<f64>,
}

#[derive(Debug, Deserialize)]
pub struct ExtractCase {
    pub arch: String,
    pub width: f64,
    pub seed: u64,
    pub resolution: u32,
    pub tensors: Vec<ExtractedTensor>,
    pub logits: Vec<f32>,
}

#[derive(Debug, Deserialize)]
pub struct SupernetManifest {
    pub width: f64,
    pub tensors: Vec<(String, Vec<usize>)>,
}

#[derive(Debug, Deserialize)]
pub struct ExtractReference {
    pub supernets: Vec<SupernetManifest>,
    pub cases: Vec<ExtractCase>,
}

/// Reads `fixtures/ofa_extract.json` (OFA's `get_active_subnet` on a synthetic supernet).
pub fn load_extract_reference() -> ExtractReference {
    let json =
        std::fs::read_to_string(fixtures_dir().join("ofa_extract.json")).expect("ofa_extract.json");
    serde_json::from_str(&json).expect("valid fixture json")
}

/// The positions `make_extract_fixtures.py` samples in a tensor of `n` values.
pub fn sample_positions(n: usize) -> Vec<usize> {
    (0..6).map(|i| (i * 7919 + 13) % n).collect()
}
