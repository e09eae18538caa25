//! The OFA MobileNetV3 search space and its architecture type.
//!
//! An [`Arch`] is one subnet of the space, written as PNAG's string
//! `d1,..,d5:k1,..,k20:e1,..,e20`: five stage depths, then a kernel size and an
//! expand ratio for each of the 20 layer slots (4 per stage). Slot `i` belongs
//! to stage `i / 4` and is *used* iff `i % 4 < depth[i / 4]`; unused slots hold
//! 0, exactly as OFA's `set_active_subnet` ignores them. Parsing is strict
//! (every used slot must hold a value of the space); [`Arch::normalized`]
//! accepts the sources' habit of random values in unused slots and zeroes them.
//!
//! This module has no dependencies, so the proc macro and build tool can use it.

use std::fmt;
use std::str::FromStr;

/// Number of searchable stages.
pub const STAGES: usize = 5;
/// Layer slots per stage (the maximum depth).
pub const SLOTS_PER_STAGE: usize = 4;
/// Total layer slots.
pub const SLOTS: usize = STAGES * SLOTS_PER_STAGE;
/// Allowed stage depths.
pub const DEPTHS: [u8; 3] = [2, 3, 4];
/// Allowed depthwise kernel sizes.
pub const KERNELS: [u8; 3] = [3, 5, 7];
/// Allowed expand ratios of the inverted bottleneck.
pub const EXPANDS: [u8; 3] = [3, 4, 6];
/// Smallest supported input resolution (OFA trained its supernets from 128 px).
pub const MIN_RESOLUTION: u32 = 128;
/// Largest supported input resolution (the largest the public latency tables cover).
pub const MAX_RESOLUTION: u32 = 256;
/// Resolutions must be a multiple of this (OFA's elastic-resolution step).
pub const RESOLUTION_STEP: u32 = 4;

/// Why an architecture string, width or resolution was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchError {
    #[error("arch string `{input}`: expected 3 groups `depths:kernels:expands` separated by ':', found {found}")]
    /// The string does not have three `:`-separated groups.
    Groups {
        /// The string as given.
        input: String,
        /// How many groups it has.
        found: usize,
    },
    /// A group has the wrong number of values.
    #[error("arch string `{input}`: group `{group}` must have {expected} comma-separated values, found {found}")]
    Count {
        /// The string as given.
        input: String,
        /// `depths`, `kernels` or `expands`.
        group: &'static str,
        /// Values the group needs.
        expected: usize,
        /// Values it has.
        found: usize,
    },
    /// A value is not a number.
    #[error(
        "arch string `{input}`: `{token}` in group `{group}` (position {index}) is not a number"
    )]
    NotANumber {
        /// The string as given.
        input: String,
        /// `depths`, `kernels` or `expands`.
        group: &'static str,
        /// 1-based position in the group.
        index: usize,
        /// The offending text.
        token: String,
    },
    #[error("arch: stage {stage} depth {value} is not in the space (expected one of 2, 3, 4)")]
    /// A stage depth outside 2, 3, 4.
    Depth {
        /// 1-based stage.
        stage: usize,
        /// The depth given.
        value: u8,
    },
    /// A used slot's kernel size or expand ratio outside the space.
    #[error("arch: slot {slot} (stage {stage}, layer {layer}) {field} {value} is not in the space (expected one of {allowed})")]
    Slot {
        /// 1-based slot (1..=20).
        slot: usize,
        /// 1-based stage.
        stage: usize,
        /// 1-based layer within the stage.
        layer: usize,
        /// `kernel` or `expand`.
        field: &'static str,
        /// The value given.
        value: u8,
        /// The values the space allows.
        allowed: &'static str,
    },
    /// A slot beyond its stage's depth holds a non-zero value.
    #[error("arch: slot {slot} (stage {stage}) is unused at depth {depth} but holds {field} {value}; unused slots must be 0 (use `Arch::normalized` to zero them)")]
    UnusedNonZero {
        /// 1-based slot.
        slot: usize,
        /// 1-based stage.
        stage: usize,
        /// The stage's depth.
        depth: u8,
        /// `kernel` or `expand`.
        field: &'static str,
        /// The value given.
        value: u8,
    },
    /// A width other than 1.0 or 1.2.
    #[error("width {0} is not supported (expected 1.0 or 1.2)")]
    Width(String),
    /// A resolution outside 128..=256 or not a multiple of 4.
    #[error("resolution {0} is not supported (expected a multiple of 4 in 128..=256)")]
    Resolution(u32),
    /// A resolution the OFA accuracy predictor's encoding has no slot for.
    #[error("resolution {0} has no slot in the OFA accuracy predictor's encoding (expected 112, 128, ..., 224 in steps of 16)")]
    EncodingResolution(u32),
}

/// Channel width multiplier of the OFA supernet the subnet comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Width {
    /// `ofa_mbv3_d234_e346_k357_w1.0`
    W1_0,
    /// `ofa_mbv3_d234_e346_k357_w1.2` (PNAG's and OFA's tutorial width)
    W1_2,
}

impl Width {
    /// Both supernet widths.
    pub const ALL: [Width; 2] = [Width::W1_0, Width::W1_2];

    /// The multiplier as OFA's `width_mult`.
    pub fn multiplier(self) -> f64 {
        match self {
            Width::W1_0 => 1.0,
            Width::W1_2 => 1.2,
        }
    }

    /// Channel widths after OFA's `make_divisible(base * width_mult, 8)`:
    /// `[stem, first block, stage 1..5, final expand, feature mix]`.
    pub fn channels(self) -> [usize; 9] {
        const BASE: [usize; 9] = [16, 16, 24, 40, 80, 112, 160, 960, 1280];
        BASE.map(|b| make_divisible(b as f64 * self.multiplier(), 8))
    }
}

impl fmt::Display for Width {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Width::W1_0 => "1.0",
            Width::W1_2 => "1.2",
        })
    }
}

impl FromStr for Width {
    type Err = ArchError;
    fn from_str(s: &str) -> Result<Self, ArchError> {
        match s.trim() {
            "1.0" | "1" | "w1.0" => Ok(Width::W1_0),
            "1.2" | "w1.2" => Ok(Width::W1_2),
            other => Err(ArchError::Width(other.to_string())),
        }
    }
}

/// Checks an input resolution against the supported range.
pub fn check_resolution(r: u32) -> Result<u32, ArchError> {
    if (MIN_RESOLUTION..=MAX_RESOLUTION).contains(&r) && r.is_multiple_of(RESOLUTION_STEP) {
        Ok(r)
    } else {
        Err(ArchError::Resolution(r))
    }
}

/// OFA's `make_divisible` (from the TF MobileNet code): round to the nearest
/// multiple of `divisor`, never going down by more than 10 %.
pub fn make_divisible(v: f64, divisor: usize) -> usize {
    let d = divisor as f64;
    let mut new_v = ((v + d / 2.0) as usize / divisor * divisor).max(divisor);
    if (new_v as f64) < 0.9 * v {
        new_v += divisor;
    }
    new_v
}

/// One subnet of the OFA MobileNetV3 space (valid by construction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arch {
    depths: [u8; STAGES],
    kernels: [u8; SLOTS],
    expands: [u8; SLOTS],
}

fn allowed_str(set: &[u8; 3]) -> &'static str {
    match set {
        [3, 5, 7] => "3, 5, 7",
        _ => "3, 4, 6",
    }
}

impl Arch {
    /// Builds an arch, requiring 0 in unused slots and values of the space elsewhere.
    pub fn new(
        depths: [u8; STAGES],
        kernels: [u8; SLOTS],
        expands: [u8; SLOTS],
    ) -> Result<Self, ArchError> {
        Self::check(depths, kernels, expands, true)
    }

    /// Builds an arch, zeroing whatever unused slots hold (OFA semantics).
    pub fn normalized(
        depths: [u8; STAGES],
        mut kernels: [u8; SLOTS],
        mut expands: [u8; SLOTS],
    ) -> Result<Self, ArchError> {
        for slot in 0..SLOTS {
            let d = depths[slot / SLOTS_PER_STAGE];
            if (slot % SLOTS_PER_STAGE) as u8 >= d && DEPTHS.contains(&d) {
                kernels[slot] = 0;
                expands[slot] = 0;
            }
        }
        Self::check(depths, kernels, expands, true)
    }

    fn check(
        depths: [u8; STAGES],
        kernels: [u8; SLOTS],
        expands: [u8; SLOTS],
        strict: bool,
    ) -> Result<Self, ArchError> {
        for (stage, &d) in depths.iter().enumerate() {
            if !DEPTHS.contains(&d) {
                return Err(ArchError::Depth {
                    stage: stage + 1,
                    value: d,
                });
            }
        }
        for slot in 0..SLOTS {
            let (stage, layer) = (slot / SLOTS_PER_STAGE, slot % SLOTS_PER_STAGE);
            let used = (layer as u8) < depths[stage];
            for (field, value, set) in [
                ("kernel", kernels[slot], &KERNELS),
                ("expand", expands[slot], &EXPANDS),
            ] {
                if used && !set.contains(&value) {
                    return Err(ArchError::Slot {
                        slot: slot + 1,
                        stage: stage + 1,
                        layer: layer + 1,
                        field,
                        value,
                        allowed: allowed_str(set),
                    });
                }
                if !used && strict && value != 0 {
                    return Err(ArchError::UnusedNonZero {
                        slot: slot + 1,
                        stage: stage + 1,
                        depth: depths[stage],
                        field,
                        value,
                    });
                }
            }
        }
        Ok(Arch {
            depths,
            kernels,
            expands,
        })
    }

    /// The largest subnet: depth 4, kernel 7, expand 6 everywhere.
    pub fn largest() -> Self {
        Arch {
            depths: [4; STAGES],
            kernels: [7; SLOTS],
            expands: [6; SLOTS],
        }
    }

    /// The smallest subnet: depth 2, kernel 3, expand 3 everywhere.
    pub fn smallest() -> Self {
        let mut k = [0; SLOTS];
        let mut e = [0; SLOTS];
        for s in 0..STAGES {
            for l in 0..2 {
                k[s * SLOTS_PER_STAGE + l] = 3;
                e[s * SLOTS_PER_STAGE + l] = 3;
            }
        }
        Arch {
            depths: [2; STAGES],
            kernels: k,
            expands: e,
        }
    }

    /// Parses a PNAG arch string strictly (see the module docs).
    ///
    /// ```
    /// use pnag_runtime::Arch;
    ///
    /// // OFA's published Note10 ≤ 25 ms subnet: depths, then kernel and expand per slot.
    /// let arch = Arch::parse(
    ///     "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0",
    /// )?;
    /// assert_eq!(arch.depths(), &[2, 2, 3, 4, 3]);
    /// // Unused slots must be 0; the error says which slot and why.
    /// let err = Arch::parse("2,2,2,2,2:3,3,5,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0:3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0,3,3,0,0")
    ///     .unwrap_err();
    /// assert!(matches!(err, pnag_runtime::ArchError::UnusedNonZero { slot: 3, stage: 1, .. }), "{err}");
    /// # Ok::<(), pnag_runtime::ArchError>(())
    /// ```
    pub fn parse(s: &str) -> Result<Self, ArchError> {
        let (d, k, e) = parse_groups(s)?;
        Self::new(d, k, e)
    }

    /// Parses a PNAG arch string, zeroing values in unused slots.
    pub fn parse_normalized(s: &str) -> Result<Self, ArchError> {
        let (d, k, e) = parse_groups(s)?;
        Self::normalized(d, k, e)
    }

    /// The five stage depths (2, 3 or 4).
    pub fn depths(&self) -> &[u8; STAGES] {
        &self.depths
    }
    /// Kernel size per slot (0 for unused slots).
    pub fn kernels(&self) -> &[u8; SLOTS] {
        &self.kernels
    }
    /// Expand ratio per slot (0 for unused slots).
    pub fn expands(&self) -> &[u8; SLOTS] {
        &self.expands
    }

    /// Whether slot `i` (0-based) is an active layer.
    pub fn is_used(&self, slot: usize) -> bool {
        slot < SLOTS && (slot % SLOTS_PER_STAGE) < self.depths[slot / SLOTS_PER_STAGE] as usize
    }

    /// The active `(slot, kernel, expand)` triples in network order.
    pub fn active_layers(&self) -> impl Iterator<Item = (usize, u8, u8)> + '_ {
        (0..SLOTS)
            .filter(|&s| self.is_used(s))
            .map(|s| (s, self.kernels[s], self.expands[s]))
    }
}

/// The three groups of an arch string: depths per stage, kernel sizes and expand ratios per slot.
type ArchGroups = ([u8; STAGES], [u8; SLOTS], [u8; SLOTS]);

/// At most this many characters of a bad arch string are echoed in an error.
const ECHO_CHARS: usize = 120;

/// `s` for an error message: whole when short, else its start and its length.
fn excerpt(s: &str) -> String {
    let n = s.chars().count();
    if n <= ECHO_CHARS {
        s.to_string()
    } else {
        let head: String = s.chars().take(ECHO_CHARS).collect();
        format!("{head}… ({n} characters)")
    }
}

fn parse_groups(s: &str) -> Result<ArchGroups, ArchError> {
    let input = excerpt(s);
    let groups: Vec<&str> = s.trim().split(':').collect();
    if groups.len() != 3 {
        return Err(ArchError::Groups {
            input,
            found: groups.len(),
        });
    }
    fn numbers<const N: usize>(
        input: &str,
        text: &str,
        group: &'static str,
    ) -> Result<[u8; N], ArchError> {
        let tokens: Vec<&str> = text.split(',').map(str::trim).collect();
        if tokens.len() != N {
            return Err(ArchError::Count {
                input: input.into(),
                group,
                expected: N,
                found: tokens.len(),
            });
        }
        let mut out = [0u8; N];
        for (i, t) in tokens.iter().enumerate() {
            out[i] = t.parse().map_err(|_| ArchError::NotANumber {
                input: input.into(),
                group,
                index: i + 1,
                token: excerpt(t),
            })?;
        }
        Ok(out)
    }
    Ok((
        numbers::<STAGES>(&input, groups[0], "depths")?,
        numbers::<SLOTS>(&input, groups[1], "kernels")?,
        numbers::<SLOTS>(&input, groups[2], "expands")?,
    ))
}

impl FromStr for Arch {
    type Err = ArchError;
    fn from_str(s: &str) -> Result<Self, ArchError> {
        Arch::parse(s)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |v: &[u8]| {
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        write!(
            f,
            "{}:{}:{}",
            join(&self.depths),
            join(&self.kernels),
            join(&self.expands)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_bad_string_is_echoed_once_and_truncated() {
        let huge = "2,".repeat(60_000);
        let msg = Arch::parse(&huge).unwrap_err().to_string();
        assert!(msg.len() < 400, "{} bytes", msg.len());
        assert!(msg.contains("(120000 characters)"), "{msg}");
        let token = format!("2,2,2,2,{}:{}", "9".repeat(5000), "3,".repeat(19));
        let msg = Arch::parse(&token).unwrap_err().to_string();
        assert!(msg.len() < 600, "{} bytes: {msg}", msg.len());
    }

    const TUTORIAL: &str =
        "2,2,3,4,3:5,3,0,0,5,3,0,0,7,7,3,0,5,5,7,3,3,3,5,0:3,3,0,0,4,4,0,0,6,3,4,0,4,4,4,3,6,6,6,0";

    #[test]
    fn round_trip_is_exact() {
        for s in [
            TUTORIAL.to_string(),
            Arch::largest().to_string(),
            Arch::smallest().to_string(),
        ] {
            assert_eq!(Arch::parse(&s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn widths_match_ofa_make_divisible() {
        assert_eq!(
            Width::W1_0.channels(),
            [16, 16, 24, 40, 80, 112, 160, 960, 1280]
        );
        assert_eq!(
            Width::W1_2.channels(),
            [24, 24, 32, 48, 96, 136, 192, 1152, 1536]
        );
    }

    #[test]
    fn unused_slots_are_normalized() {
        let noisy = TUTORIAL.replacen("5,3,0,0", "5,3,7,5", 1);
        assert!(matches!(
            Arch::parse(&noisy),
            Err(ArchError::UnusedNonZero { slot: 3, .. })
        ));
        assert_eq!(
            Arch::parse_normalized(&noisy).unwrap().to_string(),
            TUTORIAL
        );
    }

    #[test]
    fn bad_strings_are_rejected_with_position() {
        assert!(matches!(
            Arch::parse("2,2,2,2,2"),
            Err(ArchError::Groups { found: 1, .. })
        ));
        assert!(matches!(
            Arch::parse("2,2,2,2:3:3"),
            Err(ArchError::Count {
                group: "depths",
                found: 4,
                ..
            })
        ));
        assert!(matches!(
            Arch::parse(&TUTORIAL.replacen("2,2,3", "2,x,3", 1)),
            Err(ArchError::NotANumber { index: 2, .. })
        ));
        assert!(matches!(
            Arch::parse(&TUTORIAL.replacen("2,2,3", "2,5,3", 1)),
            Err(ArchError::Depth { stage: 2, value: 5 })
        ));
        assert!(matches!(
            Arch::parse(&TUTORIAL.replacen(":5,3", ":4,3", 1)),
            Err(ArchError::Slot {
                slot: 1,
                field: "kernel",
                value: 4,
                ..
            })
        ));
        assert!(Arch::parse(&TUTORIAL.replace(';', ",").replacen(",", ";", 1)).is_err());
    }

    #[test]
    fn resolution_range() {
        assert!(check_resolution(224).is_ok());
        assert!(check_resolution(128).is_ok() && check_resolution(256).is_ok());
        assert!(
            check_resolution(226).is_err()
                && check_resolution(124).is_err()
                && check_resolution(260).is_err()
        );
    }
}

/// Serialized as their strings (`"2,3,..:3,5,..:4,6,.."`, `"1.2"`), and validated when read:
/// a selection or manifest can never carry an arch outside the search space.
#[cfg(feature = "serde")]
mod serde_impls {
    use super::{Arch, Width};
    use serde::{de::Error, Deserialize, Deserializer, Serialize, Serializer};

    impl Serialize for Arch {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl<'de> Deserialize<'de> for Arch {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            Arch::parse(&text).map_err(D::Error::custom)
        }
    }

    impl Serialize for Width {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl<'de> Deserialize<'de> for Width {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            text.parse().map_err(D::Error::custom)
        }
    }
}
