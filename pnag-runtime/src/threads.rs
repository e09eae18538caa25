//! Running a kernel's independent parts on tract's thread pool, so that our
//! ops honour the same thread setting as tract's own matmuls.

use tract_linalg::multithread::{current_tract_executor, Executor};

/// Below this many multiply-adds a layer runs on the calling thread: rayon's
/// dispatch (a few µs) would cost more than the second core saves.
pub(crate) use crate::memory::PARALLEL_MIN_MACS;

/// Threads of the executor tract runs the current model with (1 when single-threaded).
pub(crate) fn tract_threads() -> usize {
    match current_tract_executor() {
        Executor::MultiThread(pool) => pool.current_num_threads(),
        Executor::RayonGlobal => rayon::current_num_threads(),
        Executor::SingleThread => 1,
    }
}

/// Runs `job` inside tract's pool, so the rayon calls it makes use that pool.
pub(crate) fn in_tract_pool<R: Send>(job: impl FnOnce() -> R + Send) -> R {
    match current_tract_executor() {
        Executor::MultiThread(pool) => pool.install(job),
        Executor::RayonGlobal | Executor::SingleThread => job(),
    }
}
