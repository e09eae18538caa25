//! The checkpoint reader's memory is bounded by a small multiple of the file's size however
//! the pickle reuses its memo or views its storages (measured with a counting allocator;
//! one test in this binary, so nothing else allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

#[path = "support/pickles.rs"]
mod pickles;
use pickles::*;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Peak bytes allocated while reading `file`, above what was live before.
fn peak_while_reading(file: &[u8]) -> usize {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let result = pnag_build::weights::checkpoint::read_state_dict(file, "hostile");
    let peak = PEAK.load(Relaxed) - before;
    drop(result);
    peak
}

#[test]
fn memory_is_bounded_by_the_file_however_the_memo_and_views_are_used() {
    // One 8 MB bytes object memoised and fetched 300 times (the issue: 2.49 GB).
    let mut o = bytes(8 << 20, 7);
    o.extend([BINPUT, 0]);
    for _ in 0..300 {
        o.extend([BINGET, 0]);
    }
    o.extend([MARK]);
    for _ in 0..300 {
        o.extend([BINGET, 0]);
    }
    o.push(TUPLE);
    let file = legacy(&o, &[]);
    let peak = peak_while_reading(&file);
    assert!(
        peak <= 3 * file.len(),
        "{peak} bytes for a {}-byte file",
        file.len()
    );
    // Two million fetches of a small memo entry (the issue: allocation failure).
    let mut o = vec![EMPTY_LIST, BINPUT, 1, MARK];
    for _ in 0..2_000_000 {
        o.extend([BINGET, 1]);
    }
    o.push(APPENDS);
    let file = legacy(&o, &[]);
    let peak = peak_while_reading(&file);
    assert!(
        peak <= 32 * file.len(),
        "{peak} bytes for a {}-byte file",
        file.len()
    );
    // 60 tensors viewing one 40 MB storage (the issue: 4.7 GB): refused before copying.
    let names: Vec<String> = (0..60).map(|i| format!("t{i}")).collect();
    let entries: Vec<(&str, &str, i32)> =
        names.iter().map(|n| (n.as_str(), "0", 10 << 20)).collect();
    let file = legacy(&state_dict(&entries), &[("0", 10 << 20)]);
    let peak = peak_while_reading(&file);
    assert!(
        peak <= 3 * file.len(),
        "{peak} bytes for a {}-byte file",
        file.len()
    );
}
