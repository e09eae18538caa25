//! The zip container of `torch.save` (PyTorch ≥ 1.6): a read-only index of
//! its entries. PyTorch writes every record *stored* (uncompressed, 64-byte
//! aligned), so an entry is a slice of the file; a compressed entry, a zip64
//! field out of range or an entry overlapping the directory is refused.
//! (The `zip` crate would add a dependency to every app's build for the
//! one case torch never writes: decompression.)

use std::collections::BTreeMap;

/// Entry name → its bytes' range in the file.
pub type Entries = BTreeMap<String, std::ops::Range<usize>>;

const EOCD: u32 = 0x0605_4b50;
const EOCD64_LOCATOR: u32 = 0x0706_4b50;
const EOCD64: u32 = 0x0606_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

fn u16_at(b: &[u8], at: usize) -> Result<u16, String> {
    at.checked_add(2)
        .and_then(|end| b.get(at..end))
        .map(|s| u16::from_le_bytes(s.try_into().unwrap()))
        .ok_or_else(|| format!("zip truncated at byte {at}"))
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    at.checked_add(4)
        .and_then(|end| b.get(at..end))
        .map(|s| u32::from_le_bytes(s.try_into().unwrap()))
        .ok_or_else(|| format!("zip truncated at byte {at}"))
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, String> {
    at.checked_add(8)
        .and_then(|end| b.get(at..end))
        .map(|s| u64::from_le_bytes(s.try_into().unwrap()))
        .ok_or_else(|| format!("zip truncated at byte {at}"))
}

fn index(v: u64, what: &str) -> Result<usize, String> {
    usize::try_from(v).map_err(|_| format!("zip {what} {v} is out of range"))
}

/// Reads the central directory of `bytes` (a whole zip file).
pub fn entries(bytes: &[u8]) -> Result<Entries, String> {
    // The end-of-central-directory record: 22 bytes plus a comment of ≤ 64 KiB.
    let lowest = bytes.len().saturating_sub(22 + 0xffff);
    let eocd = (lowest..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(bytes, i) == Ok(EOCD))
        .ok_or("no zip end-of-central-directory record (truncated?)")?;
    let mut count = u64::from(u16_at(bytes, eocd + 10)?);
    let mut dir = u64::from(u32_at(bytes, eocd + 16)?);
    if eocd >= 20 && u32_at(bytes, eocd - 20) == Ok(EOCD64_LOCATOR) {
        let at = index(u64_at(bytes, eocd - 12)?, "zip64 record offset")?;
        if u32_at(bytes, at)? != EOCD64 {
            return Err(format!("zip64 end record missing at byte {at}"));
        }
        count = u64_at(bytes, at + 32)?;
        dir = u64_at(bytes, at + 48)?;
    }
    let mut at = index(dir, "central directory offset")?;
    let mut out = Entries::new();
    // Each central entry takes ≥ 46 bytes, so a count larger than the file allows is a lie.
    if count > (bytes.len() / 46) as u64 {
        return Err(format!(
            "zip claims {count} entries, more than the file can hold"
        ));
    }
    for _ in 0..count {
        if u32_at(bytes, at)? != CENTRAL {
            return Err(format!("zip central directory entry expected at byte {at}"));
        }
        let method = u16_at(bytes, at + 10)?;
        let mut compressed = u64::from(u32_at(bytes, at + 20)?);
        let mut size = u64::from(u32_at(bytes, at + 24)?);
        let name_len = usize::from(u16_at(bytes, at + 28)?);
        let extra_len = usize::from(u16_at(bytes, at + 30)?);
        let comment_len = usize::from(u16_at(bytes, at + 32)?);
        let mut local = u64::from(u32_at(bytes, at + 42)?);
        let name_at = at + 46;
        let name = bytes
            .get(name_at..name_at + name_len)
            .ok_or_else(|| format!("zip truncated at byte {name_at}"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        // Zip64 extra field: the 64-bit values of the fields saturated at 0xffffffff, in order.
        let mut extra = name_at + name_len;
        let extra_end = extra + extra_len;
        while extra + 4 <= extra_end {
            let (id, len) = (
                u16_at(bytes, extra)?,
                usize::from(u16_at(bytes, extra + 2)?),
            );
            if id == 1 {
                let mut f = extra + 4;
                for field in [&mut size, &mut compressed, &mut local] {
                    if *field == 0xffff_ffff && f + 8 <= extra + 4 + len {
                        *field = u64_at(bytes, f)?;
                        f += 8;
                    }
                }
            }
            extra += 4 + len;
        }
        if method != 0 {
            return Err(format!(
                "zip entry `{name}` is compressed (method {method}); torch.save writes entries stored"
            ));
        }
        if compressed != size {
            return Err(format!(
                "zip entry `{name}`: stored size {compressed} ≠ size {size}"
            ));
        }
        let local = index(local, "local header offset")?;
        if u32_at(bytes, local)? != LOCAL {
            return Err(format!(
                "zip entry `{name}`: no local header at byte {local}"
            ));
        }
        let data = local
            + 30
            + usize::from(u16_at(bytes, local + 26)?)
            + usize::from(u16_at(bytes, local + 28)?);
        let end = data
            .checked_add(index(size, "entry size")?)
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                format!("zip entry `{name}` ({size} bytes) runs past the end of the file")
            })?;
        out.insert(name, data..end);
        at = extra_end + comment_len;
    }
    Ok(out)
}
