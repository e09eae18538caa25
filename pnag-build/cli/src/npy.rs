//! Minimal NumPy `.npy` reader/writer for little-endian f32 arrays in C order,
//! the format `pnag infer` takes images in and writes logits out.

use std::path::{Path, PathBuf};

const MAGIC: &[u8] = b"\x93NUMPY";

/// Why an `.npy` file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The output could not be written (or is refused: not a regular file).
    #[error(transparent)]
    Output(#[from] pnag_runtime::RuntimeError),
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a NumPy .npy file ({reason})")]
    Format { path: PathBuf, reason: String },
    #[error("`{path}`: dtype `{found}` is not supported; expected float32 (`<f4`), e.g. `x.astype(np.float32)`")]
    DType { path: PathBuf, found: String },
    #[error(
        "`{path}`: Fortran-ordered arrays are not supported; save with `np.ascontiguousarray(x)`"
    )]
    FortranOrder { path: PathBuf },
    #[error("`{path}`: array has shape {found:?}, expected {expected}")]
    Shape {
        path: PathBuf,
        expected: String,
        found: Vec<usize>,
    },
}

/// A dense f32 array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

fn format_err(path: &Path, reason: impl Into<String>) -> NpyError {
    NpyError::Format {
        path: path.into(),
        reason: reason.into(),
    }
}

/// The value of `'key':` in a NumPy header dict, up to the next top-level comma.
fn header_field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

/// Reads a float32 `.npy` file.
pub fn read_f32(path: impl AsRef<Path>) -> Result<NpyArray, NpyError> {
    let path = path.as_ref();
    let bytes = pnag_runtime::files::read_input(path, pnag_runtime::files::MAX_WEIGHTS_BYTES)
        .map_err(|source| NpyError::Io {
            path: path.into(),
            source,
        })?;
    parse_f32(path, &bytes)
}

/// Parses the bytes of a float32 `.npy` file; errors name `path`.
pub fn parse_f32(path: &Path, bytes: &[u8]) -> Result<NpyArray, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(format_err(path, "missing the \\x93NUMPY magic"));
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format_err(path, format!("unsupported format version {v}"))),
    };
    let data_start = header_start + header_len;
    let header = bytes
        .get(header_start..data_start)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| format_err(path, "truncated or non-text header"))?;
    let descr =
        header_field(header, "descr").ok_or_else(|| format_err(path, "header has no 'descr'"))?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if descr != "<f4" && descr != "=f4" {
        return Err(NpyError::DType {
            path: path.into(),
            found: descr.to_string(),
        });
    }
    match header_field(header, "fortran_order") {
        Some("False") => {}
        Some("True") => return Err(NpyError::FortranOrder { path: path.into() }),
        _ => return Err(format_err(path, "header has no valid 'fortran_order'")),
    }
    let shape_text =
        header_field(header, "shape").ok_or_else(|| format_err(path, "header has no 'shape'"))?;
    let shape = shape_text
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| format_err(path, format!("invalid shape {shape_text}")))?;
    // Checked: a header may claim a shape whose byte count overflows.
    let needed = shape.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d));
    let body = &bytes[data_start..];
    match needed {
        Some(n) if n == body.len() => {}
        Some(n) => {
            return Err(format_err(
                path,
                format!(
                    "shape {shape:?} needs {n} data bytes, file has {}",
                    body.len()
                ),
            ))
        }
        None => {
            return Err(format_err(
                path,
                format!("shape {shape:?} is too large (its byte count overflows)"),
            ))
        }
    }
    let data = body
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Ok(NpyArray { shape, data })
}

/// Serializes a float32 array as `.npy` version 1.0.
pub fn to_bytes(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Pad so the data starts on a 64-byte boundary, header ends with '\n'.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes a float32 `.npy` file atomically.
pub fn write_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<(), NpyError> {
    let path = path.as_ref();
    Ok(pnag_runtime::files::write_atomic(
        path,
        &to_bytes(shape, data),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("pnag-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        write_f32(&p, &[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        let a = read_f32(&p).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.data, vec![1.0, 2.0, 3.0, 4.0, 5.0, -6.5]);
        assert_eq!((to_bytes(&[7], &[0.0; 7]).len() - 28) % 64, 0);
    }

    #[test]
    fn a_header_shape_whose_size_overflows_is_one_clear_error() {
        let path =
            std::env::temp_dir().join(format!("pnag-npy-overflow-{}.npy", std::process::id()));
        std::fs::write(&path, to_bytes(&[1 << 62, 16], &[])).unwrap();
        let err = read_f32(&path).unwrap_err().to_string();
        assert!(
            err.contains("is too large (its byte count overflows)"),
            "{err}"
        );
        std::fs::write(&path, to_bytes(&[2, 3], &[0.0; 5])).unwrap();
        let err = read_f32(&path).unwrap_err().to_string();
        assert!(err.contains("needs 24 data bytes, file has 20"), "{err}");
    }

    #[test]
    fn header_fields() {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }";
        assert_eq!(header_field(h, "descr"), Some("'<f4'"));
        assert_eq!(header_field(h, "fortran_order"), Some("False"));
        assert_eq!(header_field(h, "shape"), Some("(1, 3, 224, 224)"));
    }
}
