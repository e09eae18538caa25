//! `pnag-probe`: measures the reference subnets on this device and writes the
//! probe file `pnag device add` reads. Its only dependency is pnag-runtime, so
//! it cross-compiles for a phone or a board (`adb push` it and run it there).

use std::path::PathBuf;
use std::process::ExitCode;

use pnag_runtime::probe::{measure, to_csv, ProbeOptions, REFERENCES};
use pnag_runtime::Width;

const HELP: &str = "\
pnag-probe: latency of PNAG's reference subnets on this device (for `pnag device add`)

Usage: pnag-probe [--threads N] [--runs N] [--rounds N] [--warmup N] [--resolution PX] [--width 1.0|1.2] [--out FILE]

Options:
  --threads N       worker threads per network, as the app will use [default: 1]
  --runs N          timed runs per reference, the median is kept [default: 15]
  --rounds N        interleaved rounds over the references, the runs split among them
                    (a slow phase of the machine then hits every reference) [default: 3]
  --warmup N        untimed runs before timing each reference, per round [default: 2]
  --resolution PX   input resolution [default: 224]
  --width W         supernet width, 1.0 or 1.2 [default: 1.2]
  --out FILE        write the probe file here (default: standard output)
  -h, --help        print this help
";

fn parse() -> Result<Option<(ProbeOptions, Option<PathBuf>)>, String> {
    let mut opts = ProbeOptions::default();
    let mut out = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        if !flag.starts_with("--") {
            return Err(format!(
                "unexpected argument `{}` (options only; see --help)",
                printable(&flag)
            ));
        }
        let value = args
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value (see --help)"))?;
        let range = |what: &str, min: usize, max: usize| -> Result<usize, String> {
            value
                .parse::<usize>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    format!("{what} `{value}`: expected a whole number in {min}..={max}")
                })
        };
        let count = |what: &str, max: usize| range(what, 1, max);
        match flag.as_str() {
            "--threads" => opts.threads = count("--threads", pnag_runtime::MAX_THREADS)?,
            "--runs" => opts.runs = count("--runs", 1000)?,
            "--rounds" => opts.rounds = count("--rounds", 100)?,
            "--warmup" => opts.warmup = range("--warmup", 0, 1000)?,
            "--resolution" => {
                opts.resolution = count("--resolution", 4096)? as u32;
                pnag_runtime::arch::check_resolution(opts.resolution)
                    .map_err(|e| format!("--resolution: {e}"))?;
            }
            "--width" => {
                opts.width = value
                    .parse::<Width>()
                    .map_err(|e| format!("--width `{value}`: {e}"))?
            }
            "--out" => out = Some(PathBuf::from(value)),
            other => {
                return Err(format!(
                    "unknown option `{}` (see --help)",
                    printable(other)
                ))
            }
        }
    }
    Ok(Some((opts, out)))
}

/// Writes `text` to standard output: a closed pipe ends quietly (status 141, as SIGPIPE
/// would), any other error (a full disk) is one error line and status 1 — never a panic.
fn stdout(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(141),
        Err(e) => {
            eprintln!("error: writing to standard output: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An argument as typed, shortened and with control characters escaped (for messages).
fn printable(s: &str) -> String {
    s.chars().take(64).flat_map(char::escape_debug).collect()
}

fn main() -> ExitCode {
    let (opts, out) = match parse() {
        Ok(Some(p)) => p,
        Ok(None) => return stdout(HELP),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &out {
        if let Err(e) = pnag_runtime::files::check_output(path) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let start = std::time::Instant::now();
    let n = REFERENCES.len();
    let results = measure(&opts, |done, total| {
        if done < total {
            let round = done / n + 1;
            eprint!(
                "\rround {round}/{}: measuring reference {}/{n} …",
                total / n,
                done % n + 1
            );
        } else {
            eprintln!(
                "\rmeasured {n} references in {} round(s) in {:.0} s",
                total / n,
                start.elapsed().as_secs_f64()
            );
        }
    });
    let results = match results {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    debug_assert_eq!(results.len(), REFERENCES.len());
    let csv = to_csv(&opts, &results);
    match out {
        None => return stdout(&csv),
        Some(path) => {
            if let Err(e) = pnag_runtime::files::write_atomic(&path, csv.as_bytes()) {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            eprintln!("wrote {}", path.display());
        }
    }
    ExitCode::SUCCESS
}
