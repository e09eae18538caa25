//! FNV-1a (64-bit): the one content hash of the project. It names build outputs by their
//! bytes, binds manifests to their weights, keys the synthetic weights' streams, and
//! identifies cost and accuracy models — stable on every machine and Rust version.

/// FNV-1a over the concatenation of `parts`.
pub fn fnv1a64<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// [`fnv1a64`] of `bytes` as 16 hex digits (weights file names, manifest `weights_hash`).
pub fn content_hash(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a64([bytes]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_fnv1a_64() {
        // Reference values of FNV-1a 64 (the empty input is its offset basis).
        assert_eq!(content_hash(b""), "cbf29ce484222325");
        assert_eq!(content_hash(b"a"), "af63dc4c8601ec8c");
        assert_eq!(content_hash(b"foobar"), "85944171f73967e8");
        // Parts hash as their concatenation.
        assert_eq!(
            fnv1a64([b"foo".as_slice(), b"bar"]),
            fnv1a64([b"foobar".as_slice()])
        );
    }
}
