//! The measured sets the learned predictors are trained and evaluated on
//! (vendored under `data/`, see `data/PROVENANCE.md`), with fixed, seeded
//! train / validation / test splits.

use pnag_runtime::Arch;

use pnag_build::rng::SplitMix64;

const HELP_CSV: &str = include_str!("../data/help_ofa_latency.csv");
const MOOFA_CSV: &str = include_str!("../data/moofa_ofa_w1.0_accuracy.csv");

/// One measured subnet.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub arch: Arch,
    pub resolution: u32,
    pub value: f64,
}

/// A named measured set.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub name: &'static str,
    pub source: &'static str,
    pub samples: Vec<Sample>,
}

/// Splits a CSV line whose first quoted field is the arch string.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(stripped) = rest.strip_prefix('"') {
            let end = stripped.find('"').unwrap_or(stripped.len());
            out.push(stripped[..end].to_string());
            rest = stripped
                .get(end + 1..)
                .unwrap_or("")
                .trim_start_matches(',');
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    out
}

fn parse(name: &'static str, source: &'static str, csv: &str, value_column: &str) -> Dataset {
    let mut lines = csv.lines();
    let header = fields(lines.next().unwrap_or_default());
    let col = |c: &str| {
        header
            .iter()
            .position(|h| h == c)
            .unwrap_or_else(|| panic!("vendored {name}: no column {c}"))
    };
    let (a, r, v) = (col("arch"), col("resolution"), col(value_column));
    let samples = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f = fields(l);
            // The vendored files are checked by tests; a bad row is a repository bug.
            Sample {
                arch: Arch::parse(&f[a]).unwrap_or_else(|e| panic!("vendored {name}: {e}")),
                resolution: f[r].parse().expect("resolution"),
                value: f[v].parse().expect("value"),
            }
        })
        .collect();
    Dataset {
        name,
        source,
        samples,
    }
}

/// HELP's TITAN Xp latencies (ms per batch of 64), 5,000 subnets, r = 128–224.
pub fn help_titan_xp() -> Dataset {
    parse(
        "help titan_xp_64_ms",
        "HayeonLee/HELP data/ofa (MIT)",
        HELP_CSV,
        "titan_xp_64_ms",
    )
}

/// Measured ImageNet top-1 (%) of 2,610 w1.0 subnets at r = 128/160/192.
pub fn moofa_top1() -> Dataset {
    parse(
        "moofa top1 (w1.0)",
        "MaximeGirard/memory-optimized-once-for-all (MIT)",
        MOOFA_CSV,
        "top1",
    )
}

/// A fixed seeded permutation split 80 / 10 / 10 into (train, validation, test) indices.
pub fn split(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let mut idx: Vec<usize> = (0..n).collect();
    let mut rng = SplitMix64::new(seed);
    for i in (1..n).rev() {
        idx.swap(i, rng.below(i + 1));
    }
    let (n_train, n_val) = (n * 8 / 10, n / 10);
    let test = idx.split_off(n_train + n_val);
    let val = idx.split_off(n_train);
    (idx, val, test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_sets_parse_and_split_deterministically() {
        let help = help_titan_xp();
        assert_eq!(help.samples.len(), 5000);
        let moofa = moofa_top1();
        assert_eq!(moofa.samples.len(), 2610);
        assert!(moofa
            .samples
            .iter()
            .all(|s| (64.0..77.0).contains(&s.value)));
        let (tr, va, te) = split(5000, 1);
        assert_eq!((tr.len(), va.len(), te.len()), (4000, 500, 500));
        assert_eq!(split(5000, 1), (tr.clone(), va, te));
        let mut all: Vec<usize> = split(5000, 1)
            .0
            .into_iter()
            .chain(split(5000, 1).1)
            .chain(split(5000, 1).2)
            .collect();
        all.sort();
        assert_eq!(all, (0..5000).collect::<Vec<_>>());
    }
}
