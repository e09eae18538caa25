//! Standard output that never panics (`println!` does when stdout is closed or full): a
//! closed pipe ends the program quietly with status 141, as SIGPIPE would (`pnag … | head`);
//! any other write error (a full disk, `>/dev/full`) is one error line and status 1.
//! Commands print through `outln!` and `out!`, which flush as they go so no error is
//! left in a buffer that is only flushed, unchecked, at exit.

use std::io::Write;

/// `println!` to standard output, failing as described above.
macro_rules! outln {
    () => {
        $crate::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to standard output, failing as described above.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// Writes and flushes; on failure ends the process (see the module docs).
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}
