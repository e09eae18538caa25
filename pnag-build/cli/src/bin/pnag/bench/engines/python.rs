//! The Python side of `pnag bench engines`: one long-lived
//! `pnag-build/cli/scripts/bench_engines.py` process holding onnxruntime sessions and OFA's
//! PyTorch subnets, asked for one block of timed runs at a time so its blocks
//! interleave with ours within seconds (see the script's docstring for the
//! line protocol).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// Per (node, op): mean ms per run in one block of profiled runs.
pub type NodeTimes = BTreeMap<(String, String), f64>;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_engines.py")
}

/// Each engine's largest |logit| difference against ours, per subnet and thread count.
#[derive(Debug, Deserialize)]
pub struct LogitDiff {
    pub name: String,
    pub threads: usize,
    pub onnxruntime_max_abs_diff: f64,
    pub pytorch_max_abs_diff: f64,
}

/// What the script reports once its engines are loaded.
#[derive(Debug, Deserialize)]
pub struct Ready {
    pub torch: String,
    pub onnxruntime: String,
    pub diffs: Vec<LogitDiff>,
}

#[derive(Debug, Deserialize)]
struct Block {
    ms: Vec<f64>,
}

/// One node of onnxruntime's optimized graph: its median kernel time.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct OrtNode {
    pub node: String,
    pub op: String,
    pub ms: f64,
}

/// A profiling request's answer: unprofiled run times, then per-node times
/// with onnxruntime's profiler on.
#[derive(Debug, Deserialize)]
pub struct OrtProfile {
    pub ms: Vec<f64>,
    pub nodes: Vec<OrtNode>,
}

impl OrtProfile {
    /// Per (node, op): median ms.
    pub fn node_times(&self) -> NodeTimes {
        self.nodes
            .iter()
            .map(|n| ((n.node.clone(), n.op.clone()), n.ms))
            .collect()
    }
}

/// A running `bench_engines.py`; dropped → its stdin closes and it exits.
pub struct PythonEngines {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl PythonEngines {
    /// Starts the script on `jobs` and waits until it has built every engine.
    pub fn start(python: &str, jobs: &Path) -> Result<(PythonEngines, Ready)> {
        let mut child = Command::new(python)
            .arg(script_path())
            .arg(jobs)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| {
                format!("running {python} (set --python or PNAG_PYTHON; scripts/setup/python-env.sh makes one)")
            })?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("no stdout pipe")?);
        let mut engines = PythonEngines {
            child,
            stdin,
            stdout,
        };
        let ready = engines.read_line()?;
        Ok((engines, ready))
    }

    fn read_line<T: for<'de> Deserialize<'de>>(&mut self) -> Result<T> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        if line.is_empty() {
            let status = self.child.wait()?;
            bail!(
                "{} exited ({status}); see its output above",
                script_path().display()
            );
        }
        serde_json::from_str(&line)
            .with_context(|| format!("unexpected line from {}: {line}", script_path().display()))
    }

    /// `warmup` untimed then `runs` timed runs of `engine` ("onnxruntime" or
    /// "pytorch") on subnet `name` at `threads`; the timed runs' ms.
    pub fn block(
        &mut self,
        engine: &str,
        name: &str,
        threads: usize,
        warmup: usize,
        runs: usize,
    ) -> Result<Vec<f64>> {
        let req = json!({"engine": engine, "name": name, "threads": threads, "warmup": warmup, "runs": runs});
        Ok(self.request::<Block>(&req)?.ms)
    }

    /// onnxruntime's per-node profile of subnet `name` at `threads` (a fresh
    /// session; `warmup` + `runs` runs without, then with the profiler).
    pub fn profile(
        &mut self,
        name: &str,
        threads: usize,
        warmup: usize,
        runs: usize,
    ) -> Result<OrtProfile> {
        let req = json!({"profile": name, "threads": threads, "warmup": warmup, "runs": runs});
        self.request(&req)
    }

    fn request<T: for<'de> Deserialize<'de>>(&mut self, req: &serde_json::Value) -> Result<T> {
        let stdin = self.stdin.as_mut().context("script input closed")?;
        writeln!(stdin, "{req}")?;
        stdin.flush()?;
        self.read_line()
    }
}

impl Drop for PythonEngines {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
