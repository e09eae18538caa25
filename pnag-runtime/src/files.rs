//! Files in and out: every output is written atomically ([`write_atomic`]: a temporary
//! created exclusively beside it, fsync, rename) after [`check_output`] refused anything
//! that is not a regular file; every input is read by [`read_input`], which refuses
//! devices, FIFOs and directories and stops at a size bound, so `/dev/zero` or a huge file
//! given by mistake is one error, not memory exhaustion.

use std::io::Read;
use std::path::Path;

#[cfg(feature = "weights")]
use crate::error::{Result, RuntimeError};

/// The most bytes a weights file or supernet checkpoint may have (OFA's largest is ~80 MB).
pub const MAX_WEIGHTS_BYTES: u64 = 4 << 30;

/// The most bytes a text input may have (targets files, probe and device files, manifests).
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

/// Reads an input file: a regular file (or a link to one) of at most `max_bytes` bytes.
/// Anything else is an `InvalidInput` error saying what the path is.
pub fn read_input(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    let invalid = |msg: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, msg);
    let meta = std::fs::metadata(path)?;
    if let Some(kind) = file_kind(&meta.file_type()) {
        return Err(invalid(format!("it is {kind}, not a regular file")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(invalid(format!(
            "it is larger than {max_bytes} bytes, more than such a file can be"
        )));
    }
    Ok(bytes)
}

/// [`read_input`] as UTF-8 text.
pub fn read_input_text(path: &Path, max_bytes: u64) -> std::io::Result<String> {
    String::from_utf8(read_input(path, max_bytes)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "it is not UTF-8 text"))
}

#[cfg(feature = "weights")]
/// The one way PNAG-rs writes a file: `bytes` go to a sibling temporary file, which is
/// flushed to disk and renamed over `path` (then the directory is synced), so an interrupted
/// run never leaves a half-written artifact. An existing `path` must be a regular file:
/// symbolic links, devices, FIFOs, sockets and directories are refused ([`check_output`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    check_output(path)?;
    let err = |source| RuntimeError::Write {
        path: path.into(),
        source,
    };
    let file_name = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_dead_temporaries(parent_dir(path), Some(&file_name));
    let tmp = path.with_file_name(format!(".{file_name}.tmp{}", std::process::id()));
    // A leftover of ours is replaced; anything planted there (a link) is removed, never
    // followed: the temporary is created exclusively.
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(e));
    }
    // The rename itself is durable once the directory is synced (best effort: not every
    // platform can open a directory).
    if let Ok(d) = std::fs::File::open(parent_dir(path)) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(feature = "weights")]
/// Checks an output path before any work: it may be absent (its directory must exist) or a
/// regular file; anything else is refused with what it is.
pub fn check_output(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => match file_kind(&meta.file_type()) {
            None => Ok(()),
            Some(kind) => Err(RuntimeError::OutputNotAFile {
                path: path.into(),
                kind,
            }),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = parent_dir(path);
            if dir.is_dir() {
                Ok(())
            } else {
                Err(RuntimeError::Write {
                    path: path.into(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("directory `{}` does not exist", dir.display()),
                    ),
                })
            }
        }
        Err(source) => Err(RuntimeError::Write {
            path: path.into(),
            source,
        }),
    }
}

#[cfg(feature = "weights")]
/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(feature = "weights")]
/// Refuses an output path that is (the same file as) one of the run's inputs.
pub fn check_not_input(output: &Path, inputs: &[&Path]) -> Result<()> {
    let Ok(out) = std::fs::canonicalize(output) else {
        return Ok(()); // does not exist yet: cannot be an input
    };
    for input in inputs {
        if std::fs::canonicalize(input).is_ok_and(|i| i == out) {
            return Err(RuntimeError::OutputIsInput {
                path: output.into(),
                input: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// What a non-regular file is, for [`check_output`]'s message; `None` for a regular file.
fn file_kind(t: &std::fs::FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_symlink() {
        return Some("a symbolic link");
    }
    if t.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_char_device() {
            return Some("a character device");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_fifo() {
            return Some("a FIFO");
        }
        if t.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// True when process `pid` is known to be gone (Linux: no `/proc/<pid>`); false for this
/// process, for a live one, and where `/proc` does not tell (then nothing is cleaned up).
pub fn process_gone(pid: u32) -> bool {
    pid != std::process::id()
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the temporaries `write_atomic` creates (`.<name>.tmp<pid>`) that writers killed
/// earlier left in `dir`: of the file `name`, or of every file when `name` is `None` (a
/// directory only this tool writes). Only those whose process is gone (Linux's /proc tells;
/// elsewhere nothing is removed).
pub fn remove_dead_temporaries(dir: &Path, name: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some((stem, pid)) = file.strip_prefix('.').and_then(|f| f.rsplit_once(".tmp")) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let ours = name.is_none_or(|n| n == stem);
        if ours && process_gone(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(all(test, feature = "weights"))]
mod tests {
    use super::*;

    #[test]
    fn a_killed_writers_temporaries_go_with_the_next_write() {
        let dir = std::env::temp_dir().join(format!("pnag-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("x.json");
        // A pid above Linux's largest (2^22) never runs; this process's own is live.
        let dead = dir.join(".x.json.tmp4194305");
        let other = dir.join(".y.json.tmp4194305");
        std::fs::write(&dead, b"partial").unwrap();
        std::fs::write(&other, b"partial").unwrap();
        write_atomic(&out, b"{}").unwrap();
        assert!(
            !dead.exists(),
            "the dead writer's temporary of x.json stays"
        );
        assert!(other.exists(), "another file's temporary was touched");
        remove_dead_temporaries(&dir, None);
        assert!(!other.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn inputs_that_are_not_regular_files_or_too_large_are_refused() {
        let e = read_input(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("a character device"), "{e}");
        let e = read_input(Path::new("/"), 1 << 20).unwrap_err();
        assert!(e.to_string().contains("a directory"), "{e}");
        let f = std::env::temp_dir().join(format!("pnag-big-{}", std::process::id()));
        std::fs::write(&f, vec![0u8; 1000]).unwrap();
        assert!(read_input(&f, 999)
            .unwrap_err()
            .to_string()
            .contains("larger than 999 bytes"));
        assert_eq!(read_input(&f, 1000).unwrap().len(), 1000);
        std::fs::remove_file(&f).unwrap();
    }
}
