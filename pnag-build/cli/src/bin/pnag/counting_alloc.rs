//! The process's allocator, counting ([`pnag_runtime::memory::CountingAllocator`]), so
//! `pnag bench memory` can measure `Network::run`; every other command pays two relaxed
//! atomic updates per allocation.

#[global_allocator]
pub static ALLOCATOR: pnag_runtime::memory::CountingAllocator =
    pnag_runtime::memory::CountingAllocator::new();
