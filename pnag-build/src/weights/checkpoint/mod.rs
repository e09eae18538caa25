//! PyTorch checkpoint files (`torch.save` of a state dict), read in Rust
//! without Python and without trusting them: OFA's official supernets
//! (`ofa_mbv3_d234_e346_k357_w1.2`, legacy format) and anything saved since
//! (zip format) go straight into extraction.
//!
//! - **Formats**, detected by content, never by name: zip (`PK\x03\x04`:
//!   `<dir>/data.pkl` plus one `<dir>/data/<key>` record per storage) and
//!   legacy (a magic-number pickle, protocol, system info, the object, the
//!   storage keys, then each storage as an 8-byte element count and its raw
//!   little-endian bytes). Anything else is left to the safetensors reader.
//! - **What may be inside**: a dict or OrderedDict of tensors, bare or under
//!   `"state_dict"`, names optionally prefixed `module.` (DataParallel);
//!   tensors of float32 / float16 / float64 / int64 storages, with storage
//!   offsets, arbitrary strides and storages shared between tensors. The
//!   pickle reader (`checkpoint/pickle.rs`) resolves nothing outside that allow-list.
//! - **Out**: every tensor as row-major f32 (float16 widened exactly, float64
//!   rounded as `tensor.float()` does, int64 converted), so extraction runs
//!   the same code as for safetensors.

mod pickle;
mod value;
mod zip;

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use pnag_runtime::weights::{f16_to_f32, WeightTensor};

pub use pickle::PickleError;
use value::{shorten, Dtype, Global, StorageRef, TensorRef, Value};

/// A checkpoint file's container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `torch.save` since PyTorch 1.6: a zip archive.
    TorchZip,
    /// `torch.save` before 1.6 (and `_use_new_zipfile_serialization=False`).
    TorchLegacy,
    /// Anything else: read as safetensors.
    Safetensors,
}

/// The legacy format's first pickle: `LONG1` of 0x1950a86a20f9469cfc6c.
const LEGACY_MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

/// Which format `bytes` are in (by content).
pub fn detect(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"PK\x03\x04") {
        Format::TorchZip
    } else if bytes.len() > 14 && bytes[0] == 0x80 && bytes[2] == 0x8a && bytes[3] == 10 {
        Format::TorchLegacy
    } else {
        Format::Safetensors
    }
}

/// Why a PyTorch checkpoint was refused.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The pickle holds something a state dict may not (or is malformed).
    #[error("PyTorch checkpoint {origin}: {source}")]
    Pickle {
        /// The checkpoint.
        origin: String,
        /// What the pickle reader refused.
        source: PickleError,
    },
    /// The container or the tensors are inconsistent.
    #[error("PyTorch checkpoint {origin}: {reason}")]
    Invalid {
        /// The checkpoint.
        origin: String,
        /// What is wrong.
        reason: String,
    },
}

/// Every tensor of the state dict in a PyTorch checkpoint, as f32, in file order.
pub fn read_state_dict(
    bytes: &[u8],
    origin: &str,
) -> Result<Vec<(String, WeightTensor)>, CheckpointError> {
    let invalid = |reason: String| CheckpointError::Invalid {
        origin: origin.into(),
        reason,
    };
    let (object, data) = match detect(bytes) {
        Format::TorchZip => read_zip(bytes).map_err(|e| e.into_error(origin))?,
        Format::TorchLegacy => read_legacy(bytes).map_err(|e| e.into_error(origin))?,
        Format::Safetensors => {
            return Err(invalid(
                "neither a zip nor a legacy `torch.save` file".into(),
            ))
        }
    };
    let dict = state_dict(&object).map_err(invalid)?;
    // Tensors are copied out of their storages: however the pickle shares storages
    // between views, the copies may not exceed what the file's bytes can justify.
    let budget = 2 * bytes.len() as u64 + (1 << 20);
    let mut total = 0u64;
    for (name, t) in &dict {
        let numel = t.shape.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        total = numel
            .and_then(|n| n.checked_mul(4))
            .and_then(|b| total.checked_add(b))
            .filter(|&t| t <= budget)
            .ok_or_else(|| {
                invalid(format!(
                    "tensor `{}`: the tensors hold more float32 data than twice the file's {} bytes \
                     (storages viewed again and again); refused",
                    shorten(name),
                    bytes.len()
                ))
            })?;
    }
    let names: Vec<&str> = dict.iter().map(|(n, _)| n.as_str()).collect();
    let strip = !names.is_empty() && names.iter().all(|n| n.starts_with("module."));
    dict.iter()
        .map(|(name, t)| {
            let name = if strip {
                &name["module.".len()..]
            } else {
                name
            };
            let tensor =
                materialize(t, &data).map_err(|r| invalid(format!("tensor `{name}`: {r}")))?;
            Ok((name.to_string(), tensor))
        })
        .collect()
}

/// A failure while reading the container: the pickle's or the format's.
enum ReadError {
    Pickle(PickleError),
    Invalid(String),
}

impl ReadError {
    fn into_error(self, origin: &str) -> CheckpointError {
        match self {
            ReadError::Pickle(source) => CheckpointError::Pickle {
                origin: origin.into(),
                source,
            },
            ReadError::Invalid(reason) => CheckpointError::Invalid {
                origin: origin.into(),
                reason,
            },
        }
    }
}

impl From<PickleError> for ReadError {
    fn from(e: PickleError) -> Self {
        ReadError::Pickle(e)
    }
}

impl From<String> for ReadError {
    fn from(e: String) -> Self {
        ReadError::Invalid(e)
    }
}

/// Storage key → its raw bytes.
type StorageData<'b> = HashMap<String, &'b [u8]>;

fn read_zip(bytes: &[u8]) -> Result<(Value, StorageData<'_>), ReadError> {
    let entries = zip::entries(bytes)?;
    let pickles: Vec<&String> = entries
        .keys()
        .filter(|n| n.ends_with("/data.pkl"))
        .collect();
    let [pkl] = pickles[..] else {
        return Err(format!(
            "expected one `<dir>/data.pkl` in the zip, found {}",
            pickles.len()
        )
        .into());
    };
    let prefix = &pkl[..pkl.len() - "data.pkl".len()];
    if let Some(order) = entries.get(&format!("{prefix}byteorder")) {
        if &bytes[order.clone()] != b"little" {
            return Err("big-endian checkpoint (byteorder is not `little`)"
                .to_string()
                .into());
        }
    }
    let pkl_bytes = &bytes[entries[pkl].clone()];
    let mut data = StorageData::new();
    let mut storages: HashMap<String, Rc<StorageRef>> = HashMap::new();
    let mut persistent = |pid: &[Value]| -> Result<Value, String> {
        // ('storage', storage_type, key, location, numel)
        let (storage, []) = storage_id(pid, &mut storages)? else {
            return Err(format!(
                "persistent id {} has extra fields",
                describe_id(pid)
            ));
        };
        let key = &storage.key;
        let record = entries.get(&format!("{prefix}data/{key}")).ok_or_else(|| {
            let key = shorten(key);
            format!("storage `{key}` has no record `{prefix}data/{key}`")
        })?;
        data.insert(key.clone(), &bytes[record.clone()]);
        Ok(Value::Storage(storage))
    };
    let (object, _) = pickle::load(pkl_bytes, 0, &mut persistent)?;
    Ok((object, data))
}

fn read_legacy(bytes: &[u8]) -> Result<(Value, StorageData<'_>), ReadError> {
    let mut none =
        |_: &[Value]| -> Result<Value, String> { Err("unexpected persistent id".into()) };
    let (magic, at) = pickle::load(bytes, 0, &mut none)?;
    if !matches!(&magic, Value::BigInt(b) if b[..] == LEGACY_MAGIC) {
        return Err("not a legacy torch.save file (wrong magic number)"
            .to_string()
            .into());
    }
    let (_protocol, at) = pickle::load(bytes, at, &mut none)?;
    let (sys_info, at) = pickle::load(bytes, at, &mut none)?;
    if let Value::Dict(d) = &sys_info {
        let big = d.borrow().iter().any(
            |(k, v)| matches!((k, v), (Value::Str(k), Value::Bool(false)) if &**k == "little_endian"),
        );
        if big {
            return Err("big-endian checkpoint (sys_info.little_endian is False)"
                .to_string()
                .into());
        }
    }
    let mut storages: HashMap<String, Rc<StorageRef>> = HashMap::new();
    let mut persistent = |pid: &[Value]| -> Result<Value, String> {
        // ('storage', storage_type, root_key, location, numel, view_metadata)
        let (root, [view]) = storage_id(pid, &mut storages)? else {
            return Err(format!(
                "persistent id {} is not a legacy storage",
                describe_id(pid)
            ));
        };
        let view = match view {
            Value::None => None,
            Value::Tuple(v) => match &v[..] {
                [_, Value::Int(off), Value::Int(size)] if *off >= 0 && *size >= 0 => {
                    Some((*off as u64, *size as u64))
                }
                _ => {
                    return Err(format!(
                        "storage view {} is not (key, offset, size)",
                        describe_id(v)
                    ))
                }
            },
            other => return Err(format!("storage view metadata {}", other.describe())),
        };
        Ok(Value::Storage(match view {
            None => root,
            Some(v) => Rc::new(StorageRef {
                view: Some(v),
                ..(*root).clone()
            }),
        }))
    };
    let (object, at) = pickle::load(bytes, at, &mut persistent)?;
    let (keys, mut at) = pickle::load(bytes, at, &mut none)?;
    let Value::List(keys) = keys else {
        return Err("the storage key list is missing".to_string().into());
    };
    let mut data = StorageData::new();
    for key in keys.borrow().iter() {
        let Value::Str(key) = key else {
            return Err(format!("storage key {} is not a string", key.describe()).into());
        };
        let s = storages
            .get(&**key)
            .ok_or_else(|| format!("storage `{}` is listed but no tensor uses it", shorten(key)))?;
        let numel = bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
            .ok_or_else(|| format!("storage `{}`: file truncated at byte {at}", shorten(key)))?;
        let len = numel
            .checked_mul(s.dtype.size() as u64)
            .and_then(|n| usize::try_from(n).ok())
            .and_then(|n| (at + 8).checked_add(n))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| {
                format!(
                    "storage `{}` of {numel} elements runs past the end of the file",
                    shorten(key)
                )
            })?;
        data.insert(key.to_string(), &bytes[at + 8..len]);
        at = len;
    }
    Ok((object, data))
}

/// A persistent id `('storage', storage_type, key, location, numel, rest…)`, both
/// formats' common head: the storage, shared by every id naming its key, and `rest`.
fn storage_id<'p>(
    pid: &'p [Value],
    storages: &mut HashMap<String, Rc<StorageRef>>,
) -> Result<(Rc<StorageRef>, &'p [Value]), String> {
    let [Value::Str(tag), Value::Global(Global::Storage(dtype)), Value::Str(key), _, Value::Int(numel), rest @ ..] =
        pid
    else {
        return Err(format!(
            "persistent id {} is not a storage of an allowed type",
            describe_id(pid)
        ));
    };
    if &**tag != "storage" || *numel < 0 {
        return Err(format!(
            "persistent id {} is not a storage",
            describe_id(pid)
        ));
    }
    let s = storages.entry(key.to_string()).or_insert_with(|| {
        Rc::new(StorageRef {
            dtype: *dtype,
            key: key.to_string(),
            numel: *numel as u64,
            view: None,
        })
    });
    if s.dtype != *dtype {
        return Err(format!(
            "storage `{}` is read as two element types",
            shorten(key)
        ));
    }
    Ok((s.clone(), rest))
}

/// The dict of tensors: the object itself or its `"state_dict"` entry.
fn state_dict(object: &Value) -> Result<Vec<(String, Rc<TensorRef>)>, String> {
    let Value::Dict(top) = object else {
        return Err(format!(
            "holds a {}, expected a dict of tensors",
            object.kind()
        ));
    };
    let inner = top.borrow().iter().find_map(|(k, v)| match (k, v) {
        (Value::Str(k), Value::Dict(d)) if &**k == "state_dict" => Some(d.clone()),
        _ => None,
    });
    let dict = inner.unwrap_or_else(|| top.clone());
    let dict = dict.borrow();
    let mut seen = HashSet::new();
    dict.iter()
        .map(|(k, v)| match (k, v) {
            (Value::Str(k), Value::Tensor(_)) if !seen.insert(k.clone()) => Err(format!(
                "entry `{}` is set twice (a state dict names each tensor once)",
                shorten(k)
            )),
            (Value::Str(k), Value::Tensor(t)) => Ok((k.to_string(), t.clone())),
            (Value::Str(k), other) => Err(format!(
                "entry `{}` is a {}, expected a tensor",
                shorten(k),
                other.kind()
            )),
            (k, _) => Err(format!("a key is a {}, expected a tensor name", k.kind())),
        })
        .collect()
}

/// A persistent id or view tuple for messages: its first items, each bounded.
fn describe_id(items: &[Value]) -> String {
    let shown: Vec<String> = items.iter().take(6).map(Value::describe).collect();
    let more = if items.len() > 6 {
        format!(", … ({} items)", items.len())
    } else {
        String::new()
    };
    format!("({}{more})", shown.join(", "))
}

/// Copies a strided view of its storage into a row-major f32 tensor.
fn materialize(t: &TensorRef, data: &StorageData<'_>) -> Result<WeightTensor, String> {
    if t.shape.len() != t.stride.len() {
        return Err(format!(
            "{} sizes but {} strides",
            t.shape.len(),
            t.stride.len()
        ));
    }
    let s = &t.storage;
    let raw = *data
        .get(&s.key)
        .ok_or_else(|| format!("storage `{}` has no data", shorten(&s.key)))?;
    let size = s.dtype.size() as u64;
    let have = raw.len() as u64 / size;
    if have < s.numel {
        return Err(format!(
            "storage `{}` declares {} elements but holds {have}",
            shorten(&s.key),
            s.numel
        ));
    }
    // A legacy view is a window [offset, offset + size) of its root storage.
    let (base, len) = match s.view {
        Some((off, n)) if off.checked_add(n).is_some_and(|e| e <= s.numel) => (off, n),
        Some((off, n)) => {
            return Err(format!(
                "view [{off}, {off}+{n}) outside storage `{}` of {} elements",
                shorten(&s.key),
                s.numel
            ))
        }
        None => (0, s.numel),
    };
    let numel = t
        .shape
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .ok_or("size overflows")?;
    let shape: Vec<usize> = t.shape.iter().map(|&d| d as usize).collect();
    if numel == 0 {
        return Ok(WeightTensor {
            shape,
            data: Vec::new(),
        });
    }
    // The last element the view reaches must be inside the storage; and a view never
    // has more elements than its storage (no stride-0 broadcast in a state dict), which
    // also bounds the allocation by the file's size.
    let last = t
        .shape
        .iter()
        .zip(&t.stride)
        .try_fold(t.offset, |acc, (&d, &st)| {
            acc.checked_add((d - 1).checked_mul(st)?)
        })
        .ok_or("offset and strides overflow")?;
    if last >= len {
        return Err(format!(
            "reaches element {last} of a storage of {len} (offset {}, size {:?}, stride {:?})",
            t.offset, t.shape, t.stride
        ));
    }
    if numel > len {
        return Err(format!("{numel} elements viewed from a storage of {len}"));
    }
    let value = |i: u64| -> f32 {
        let i = ((base + i) * size) as usize;
        let b = &raw[i..i + size as usize];
        match s.dtype {
            Dtype::F32 => f32::from_le_bytes(b.try_into().unwrap()),
            Dtype::F16 => f16_to_f32(u16::from_le_bytes(b.try_into().unwrap())),
            Dtype::F64 => f64::from_le_bytes(b.try_into().unwrap()) as f32,
            Dtype::I64 => i64::from_le_bytes(b.try_into().unwrap()) as f32,
        }
    };
    let mut out = Vec::with_capacity(numel as usize);
    // Odometer over the index, last dimension fastest.
    let mut index = vec![0u64; shape.len()];
    let mut at = t.offset;
    for _ in 0..numel {
        out.push(value(at));
        for d in (0..index.len()).rev() {
            // Wrapping: past the last index of a dimension `at` may overshoot before it is
            // rewound (only positions checked against `last` above are read).
            index[d] += 1;
            at = at.wrapping_add(t.stride[d]);
            if index[d] < t.shape[d] {
                break;
            }
            at = at.wrapping_sub(t.stride[d].wrapping_mul(t.shape[d]));
            index[d] = 0;
        }
    }
    Ok(WeightTensor { shape, data: out })
}
