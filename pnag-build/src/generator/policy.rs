//! The generator's policy π(α | B; θ) in pure Rust: an LSTM cell (hidden 64)
//! that decides, stage by stage, the depth and then each used layer's kernel
//! size and expand ratio. The same equations are trained with tch in
//! `pnag_cli::train::generator`; the tensor names below are the contract between
//! the two.
//!
//! Step t: input x_t = b + e(a_{t−1}) (budget vector plus the embedding of
//! the previous decision; the budget is fed at every step so it conditions
//! all 5 · (1 + 2·depth) decisions, not only the first), PyTorch's LSTMCell
//! gate order (i, f, g, o), then a linear head and a softmax. Slots beyond a
//! stage's depth are skipped: the policy decides exactly the arch's choices.

use pnag_runtime::arch::{Arch, DEPTHS, EXPANDS, KERNELS, SLOTS, SLOTS_PER_STAGE, STAGES};
use pnag_runtime::weights::WeightTensor;

use crate::rng::SplitMix64;

/// LSTM hidden size and budget-embedding size (paper: 64).
pub const HIDDEN: usize = 64;
/// Choices per decision (3 depths, 3 kernels, 3 expand ratios).
pub const CHOICES: usize = 3;

/// Tensor names and shapes (`K` = number of budget embeddings).
pub const BUDGET_EMBEDDING: &str = "budget_embedding"; // [K, H]
/// Embeddings of the previous decision, one per decision kind.
pub const DECISION_EMBEDDINGS: [&str; 3] =
    ["depth_embedding", "kernel_embedding", "expand_embedding"]; // [3, H]
/// Output heads, one per decision kind.
pub const HEADS: [&str; 3] = ["depth_head", "kernel_head", "expand_head"]; // .weight [3, H], .bias [3]
/// LSTM cell tensors (PyTorch's `LSTMCell` layout).
pub const LSTM: [&str; 4] = [
    "lstm.weight_ih",
    "lstm.weight_hh",
    "lstm.bias_ih",
    "lstm.bias_hh",
]; // [4H, H], [4H, H], [4H], [4H]

/// Which of the three decisions a step makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A stage's depth.
    Depth = 0,
    /// A layer's kernel size.
    Kernel = 1,
    /// A layer's expand ratio.
    Expand = 2,
}

/// The policy's weights, checked once on load.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) budget_embedding: WeightTensor,
    /// W_ih · e for every decision embedding row: [decision][choice] → 4H.
    input_of_choice: [[Vec<f32>; CHOICES]; 3],
    w_ih: WeightTensor,
    /// `lstm.weight_hh` transposed, `[H, 4H]`: the recurrent product becomes
    /// `H` contiguous multiply-adds of length 4H (vectorized, no per-row sums).
    w_hh_t: Vec<f32>,
    bias: Vec<f32>,
    heads: [(WeightTensor, WeightTensor); 3],
}

/// One sampled arch and the log-probability of its decisions.
#[derive(Debug, Clone, Copy)]
pub struct Sampled {
    /// The sampled subnet.
    pub arch: Arch,
    /// log π(arch | budget).
    pub log_prob: f64,
}

fn matvec(w: &WeightTensor, x: &[f32], out: &mut [f32]) {
    let cols = w.shape[1];
    for (o, row) in out.iter_mut().zip(w.data.chunks_exact(cols)) {
        *o += crate::predictor::dot(row, x);
    }
}

/// `e^x` (Cephes' `expf` polynomial, relative error < 2e-7, inputs clamped to
/// [-87, 88]) without branches or libm calls, so that the loops over the 64
/// hidden units below vectorize: libm's `exp` / `tanh` were most of the
/// generator's time (5 per hidden unit and step, ~45 steps per candidate).
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    (p * r * r + r + 1.0) * f32::from_bits(((n as i32 + 127) << 23) as u32)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

/// PyTorch's `LSTMCell` update from the pre-activation gates (i, f, g, o).
fn lstm_cell(gates: &[f32], c: &mut [f32; HIDDEN], h: &mut [f32; HIDDEN]) {
    let (i, rest) = gates.split_at(HIDDEN);
    let (f, rest) = rest.split_at(HIDDEN);
    let (g, o) = rest.split_at(HIDDEN);
    for j in 0..HIDDEN {
        c[j] = sigmoid(f[j]) * c[j] + sigmoid(i[j]) * tanh(g[j]);
        h[j] = sigmoid(o[j]) * tanh(c[j]);
    }
}

impl Policy {
    /// Builds from tensors whose shapes the caller has checked (see `Generator::from_bytes`).
    pub(crate) fn new(
        budget_embedding: WeightTensor,
        embeddings: [WeightTensor; 3],
        lstm: [WeightTensor; 4],
        heads: [(WeightTensor, WeightTensor); 3],
    ) -> Self {
        let [w_ih, w_hh, b_ih, b_hh] = lstm;
        let input_of_choice = std::array::from_fn(|d| {
            std::array::from_fn(|c| {
                let mut v = vec![0.0; 4 * HIDDEN];
                matvec(
                    &w_ih,
                    &embeddings[d].data[c * HIDDEN..(c + 1) * HIDDEN],
                    &mut v,
                );
                v
            })
        });
        let bias = b_ih
            .data
            .iter()
            .zip(&b_hh.data)
            .map(|(a, b)| a + b)
            .collect();
        let mut w_hh_t = vec![0.0; 4 * HIDDEN * HIDDEN];
        for (row, weights) in w_hh.data.chunks_exact(HIDDEN).enumerate() {
            for (k, &w) in weights.iter().enumerate() {
                w_hh_t[k * 4 * HIDDEN + row] = w;
            }
        }
        Policy {
            budget_embedding,
            input_of_choice,
            w_ih,
            w_hh_t,
            bias,
            heads,
        }
    }

    /// Number of budget embeddings (K).
    pub fn k(&self) -> usize {
        self.budget_embedding.shape[0]
    }

    /// Eq. of Section 3.2: b = ξ g(B1) + (1 − ξ) g(B2) between the adjacent
    /// trained budgets; clamped to the first / last embedding outside them.
    pub fn budget_vector(&self, budgets: &[f64], budget: f64) -> Vec<f32> {
        let row = |i: usize| &self.budget_embedding.data[i * HIDDEN..(i + 1) * HIDDEN];
        let last = budgets.len() - 1;
        if budget <= budgets[0] {
            return row(0).to_vec();
        }
        if budget >= budgets[last] {
            return row(last).to_vec();
        }
        let hi = budgets
            .iter()
            .position(|&b| b >= budget)
            .expect("inside the range");
        let xi = ((budgets[hi] - budget) / (budgets[hi] - budgets[hi - 1])) as f32;
        row(hi - 1)
            .iter()
            .zip(row(hi))
            .map(|(a, b)| xi * a + (1.0 - xi) * b)
            .collect()
    }

    /// Runs the decisions; `choose(decision, probs)` picks each choice index.
    fn run(
        &self,
        b: &[f32],
        mut choose: impl FnMut(Decision, usize, &[f32; CHOICES]) -> usize,
    ) -> (Arch, f64) {
        let mut base = vec![0.0f32; 4 * HIDDEN];
        matvec(&self.w_ih, b, &mut base);
        base.iter_mut().zip(&self.bias).for_each(|(g, b)| *g += b);
        let (mut h, mut c) = ([0.0f32; HIDDEN], [0.0f32; HIDDEN]);
        let mut prev: Option<(usize, usize)> = None;
        let mut gates = vec![0.0f32; 4 * HIDDEN];
        let mut log_prob = 0.0f64;
        let (mut depths, mut kernels, mut expands) = ([0u8; STAGES], [0u8; SLOTS], [0u8; SLOTS]);
        let mut step =
            |decision: Decision, index: usize, prev: &mut Option<(usize, usize)>| -> usize {
                gates.copy_from_slice(&base);
                if let Some((d, ch)) = *prev {
                    gates
                        .iter_mut()
                        .zip(&self.input_of_choice[d][ch])
                        .for_each(|(g, x)| *g += x);
                }
                for (&hk, column) in h.iter().zip(self.w_hh_t.chunks_exact(4 * HIDDEN)) {
                    gates.iter_mut().zip(column).for_each(|(g, w)| *g += hk * w);
                }
                lstm_cell(&gates, &mut c, &mut h);
                let (w, bias) = &self.heads[decision as usize];
                let mut logits = [0.0f32; CHOICES];
                logits.copy_from_slice(&bias.data);
                matvec(w, &h, &mut logits);
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp = logits.map(|l| (l - max).exp());
                let sum: f32 = exp.iter().sum();
                let probs = exp.map(|e| e / sum);
                let ch = choose(decision, index, &probs);
                log_prob += (probs[ch] as f64).ln();
                *prev = Some((decision as usize, ch));
                ch
            };
        for stage in 0..STAGES {
            let d = DEPTHS[step(Decision::Depth, stage, &mut prev)];
            depths[stage] = d;
            for slot in stage * SLOTS_PER_STAGE..stage * SLOTS_PER_STAGE + d as usize {
                kernels[slot] = KERNELS[step(Decision::Kernel, slot, &mut prev)];
                expands[slot] = EXPANDS[step(Decision::Expand, slot, &mut prev)];
            }
        }
        (
            Arch::new(depths, kernels, expands).expect("every choice is from the space"),
            log_prob,
        )
    }

    /// Samples one arch for budget vector `b` at `temperature` (1 = the trained
    /// policy; below 1 sharpens every decision toward its most likely choice).
    pub fn sample(&self, b: &[f32], temperature: f32, rng: &mut SplitMix64) -> Sampled {
        let (arch, log_prob) = self.run(b, |_, _, probs| {
            let sharpened;
            let probs = if temperature == 1.0 {
                probs
            } else {
                let p = probs.map(|p| p.powf(1.0 / temperature));
                let sum: f32 = p.iter().sum();
                sharpened = p.map(|x| x / sum);
                &sharpened
            };
            let u = (rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            let mut acc = 0.0;
            for (i, p) in probs.iter().enumerate() {
                acc += p;
                if u < acc {
                    return i;
                }
            }
            CHOICES - 1
        });
        Sampled { arch, log_prob }
    }

    /// log π(arch | b): checks the pure-Rust policy against the trained one.
    pub fn log_prob(&self, b: &[f32], arch: &Arch) -> f64 {
        let pick = |decision: Decision, index: usize| {
            let (v, set) = match decision {
                Decision::Depth => (arch.depths()[index], &DEPTHS),
                Decision::Kernel => (arch.kernels()[index], &KERNELS),
                Decision::Expand => (arch.expands()[index], &EXPANDS),
            };
            set.iter()
                .position(|&x| x == v)
                .expect("arch from the space")
        };
        self.run(b, |d, i, _| pick(d, i)).1
    }

    /// The most likely arch (greedy decoding), for reports.
    pub fn greedy(&self, b: &[f32]) -> Arch {
        self.run(b, |_, _, p| {
            (0..CHOICES)
                .max_by(|&i, &j| p[i].total_cmp(&p[j]))
                .expect("3 choices")
        })
        .0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_sigmoid_and_tanh_agree_with_std() {
        for i in -1740..=1760 {
            let x = i as f32 * 0.05; // -87 ..= 88
            let rel = (exp(x) - x.exp()).abs() / x.exp();
            assert!(rel < 1e-6, "exp({x}): {} vs {}", exp(x), x.exp());
            let s = 1.0 / (1.0 + (-x).exp());
            assert!((sigmoid(x) - s).abs() < 1e-6, "sigmoid({x})");
            assert!((tanh(x) - x.tanh()).abs() < 1e-6, "tanh({x})");
        }
        // Beyond the clamp: saturated, finite.
        assert!(sigmoid(-1e4) < 1e-37 && sigmoid(1e4) == 1.0);
        assert!(tanh(1e4) == 1.0 && tanh(-1e4) == -1.0);
    }
}
