//! `network!`: expands one chosen subnet into a module of consts and an
//! unrolled tract builder. The arch comes from the selection `pnag-build`
//! wrote into `$OUT_DIR` (by budget name) or from an explicit literal.

use std::path::{Path, PathBuf};

use pnag_runtime::selection::{selection_path, Selection};
use pnag_runtime::spec::{Activation, NetworkSpec};
use pnag_runtime::{Arch, CostUnit, RuntimeKind, Width};
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, Lit, LitStr, Token, Visibility};

/// `vis mod name, key = literal, ...`
pub struct NetworkInput {
    vis: Visibility,
    name: Ident,
    options: Vec<(Ident, Lit)>,
}

struct KeyValue(Ident, Lit);

impl Parse for KeyValue {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let key: Ident = input.parse()?;
        input.parse::<Token![=]>()?;
        Ok(KeyValue(key, input.parse()?))
    }
}

impl Parse for NetworkInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let vis: Visibility = input.parse()?;
        input.parse::<Token![mod]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected `mod <name>, budget = \"<name>\"` (or `arch = \"...\"`)",
            )
        })?;
        let name: Ident = input.parse()?;
        let mut options = Vec::new();
        if input.parse::<Option<Token![,]>>()?.is_some() {
            let pairs = Punctuated::<KeyValue, Token![,]>::parse_terminated(input)?;
            options = pairs.into_iter().map(|KeyValue(k, v)| (k, v)).collect();
        }
        Ok(NetworkInput { vis, name, options })
    }
}

/// What the emitted module describes, whichever way the arch was given.
struct Chosen {
    arch: Arch,
    width: Width,
    resolution: u32,
    /// `include_bytes!` target, or `None` for synthetic weights made at run time.
    weights_file: Option<String>,
    weights_origin: String,
    synthetic_seed: Option<u64>,
    /// Present when chosen by the generator from a targets file.
    selected: Option<Selected>,
}

struct Selected {
    name: String,
    device: String,
    budget: f64,
    unit: CostUnit,
    predicted_cost: f64,
    predicted_top1: f64,
    chosen_by: String,
    runtime: RuntimeKind,
    cuda_fallback: bool,
    threads: usize,
    /// Exact bytes of the embedded weights file.
    weights_bytes: u64,
    /// The budget's `weights_mb` / `peak_memory_mb` limits.
    weights_limit_mb: Option<f64>,
    peak_memory_limit_mb: Option<f64>,
    /// The budget key the answer is closest to.
    binding: String,
    selection_file: String,
}

fn err(span: Span, msg: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, msg)
}

fn lit_str(lit: &Lit, key: &Ident) -> syn::Result<LitStr> {
    match lit {
        Lit::Str(s) => Ok(s.clone()),
        other => Err(err(
            other.span(),
            format!("`{key}` expects a string literal"),
        )),
    }
}

fn lit_u64(lit: &Lit, key: &Ident) -> syn::Result<u64> {
    match lit {
        Lit::Int(i) => i.base10_parse(),
        other => Err(err(other.span(), format!("`{key}` expects an integer"))),
    }
}

impl NetworkInput {
    fn option(&self, key: &str) -> Option<&(Ident, Lit)> {
        self.options.iter().find(|(k, _)| k == key)
    }

    fn check_keys(&self) -> syn::Result<()> {
        const KEYS: [&str; 6] = ["budget", "arch", "width", "resolution", "weights", "seed"];
        for (k, _) in &self.options {
            if !KEYS.contains(&k.to_string().as_str()) {
                return Err(err(
                    k.span(),
                    format!("unknown key `{k}`; expected one of {}", KEYS.join(", ")),
                ));
            }
            if self.options.iter().filter(|(o, _)| o == k).count() > 1 {
                return Err(err(k.span(), format!("`{k}` is given twice")));
            }
        }
        Ok(())
    }

    fn chosen(&self) -> syn::Result<Chosen> {
        self.check_keys()?;
        match (self.option("budget"), self.option("arch")) {
            (Some(_), Some((k, _))) => Err(err(k.span(), "give either `budget` (chosen by pnag-build) or `arch`, not both")),
            (None, None) => Err(err(self.name.span(), "expected `budget = \"<name in the targets TOML>\"` or `arch = \"d1..d5:k1..k20:e1..e20\"`")),
            (Some((k, lit)), None) => {
                for key in ["width", "resolution", "weights", "seed"] {
                    if let Some((k2, _)) = self.option(key) {
                        return Err(err(k2.span(), format!("`{key}` comes from the targets TOML when `budget` is used")));
                    }
                }
                from_selection(&lit_str(lit, k)?)
            }
            (None, Some((k, lit))) => self.chosen_from_literal(&lit_str(lit, k)?),
        }
    }

    fn chosen_from_literal(&self, arch_lit: &LitStr) -> syn::Result<Chosen> {
        let arch = Arch::parse(&arch_lit.value()).map_err(|e| err(arch_lit.span(), e))?;
        let width = match self.option("width") {
            None => Width::W1_2,
            Some((_, Lit::Float(f))) => f
                .base10_digits()
                .parse::<Width>()
                .map_err(|e| err(f.span(), e))?,
            Some((_, Lit::Str(s))) => s.value().parse::<Width>().map_err(|e| err(s.span(), e))?,
            Some((_, other)) => return Err(err(other.span(), "`width` expects 1.0 or 1.2")),
        };
        let resolution = match self.option("resolution") {
            None => 224,
            Some((k, lit)) => {
                // Through u64 then u32::try_from, so 2^32 + 224 is not read as 224.
                let r = u32::try_from(lit_u64(lit, k)?)
                    .map_err(|_| err(lit.span(), "resolution out of range"))?;
                pnag_runtime::arch::check_resolution(r).map_err(|e| err(lit.span(), e))?
            }
        };
        let (weights_file, weights_origin, synthetic_seed) =
            match (self.option("weights"), self.option("seed")) {
                (Some((k, _)), Some(_)) => {
                    return Err(err(
                        k.span(),
                        "`weights` files are trained: `seed` only applies to synthetic weights",
                    ))
                }
                (Some((k, lit)), None) => {
                    let rel = lit_str(lit, k)?;
                    let base = std::env::var_os("CARGO_MANIFEST_DIR")
                        .map(PathBuf::from)
                        .unwrap_or_default();
                    let path = base.join(rel.value());
                    if !path.is_file() {
                        return Err(err(
                            rel.span(),
                            format!("weights file `{}` not found", path.display()),
                        ));
                    }
                    (
                        Some(path.display().to_string()),
                        format!("`{}` (embedded)", rel.value()),
                        None,
                    )
                }
                (None, seed) => {
                    let seed = match seed {
                        Some((k, lit)) => lit_u64(lit, k)?,
                        None => 0,
                    };
                    (
                        None,
                        format!("synthetic (untrained, seed {seed})"),
                        Some(seed),
                    )
                }
            };
        Ok(Chosen {
            arch,
            width,
            resolution,
            weights_file,
            weights_origin,
            synthetic_seed,
            selected: None,
        })
    }
}

fn from_selection(budget: &LitStr) -> syn::Result<Chosen> {
    let span = budget.span();
    let out_dir = std::env::var_os("OUT_DIR").ok_or_else(|| {
        err(span, "OUT_DIR is not set: `budget = ..` needs a build.rs that calls `pnag_build::Config::new().targets(\"targets/<device>.toml\").compile()`")
    })?;
    let path = selection_path(Path::new(&out_dir));
    let sel = Selection::read(&path).map_err(|e| err(span, e))?;
    let name = budget.value();
    let Some(net) = sel.network(&name) else {
        return Err(err(
            span,
            format!(
                "no budget `{name}` in `{}`; its budgets are: {}",
                sel.targets,
                sel.names().join(", ")
            ),
        ));
    };
    // The weights must be the bytes the selection was written with (not a later build's).
    let bytes = std::fs::read(&net.weights_file).map_err(|e| {
        err(
            span,
            format!(
                "weights `{}` of budget `{name}` cannot be read ({e}): rebuild so build.rs writes them again",
                net.weights_file
            ),
        )
    })?;
    let found = pnag_runtime::selection::content_hash(&bytes);
    if found != net.weights_hash {
        return Err(err(
            span,
            format!(
                "weights `{}` of budget `{name}` have content hash {found}, the selection `{}` says {}: \
                 the file changed after build.rs wrote it; rebuild",
                net.weights_file,
                path.display(),
                net.weights_hash
            ),
        ));
    }
    // Arch and width were validated when the selection was read (typed fields).
    Ok(Chosen {
        arch: net.arch,
        width: net.width,
        resolution: net.resolution,
        weights_file: Some(net.weights_file.clone()),
        weights_origin: net.weights_origin.clone(),
        synthetic_seed: net.synthetic_seed,
        selected: Some(Selected {
            name,
            device: sel.device.clone(),
            budget: net.budget,
            unit: net.unit,
            predicted_cost: net.predicted_cost,
            predicted_top1: net.predicted_top1,
            chosen_by: net.chosen_by.clone(),
            runtime: sel.runtime,
            cuda_fallback: sel.cuda_fallback,
            threads: sel.threads,
            weights_bytes: net.weights_bytes,
            weights_limit_mb: net.weights_limit_mb,
            peak_memory_limit_mb: net.peak_memory_limit_mb,
            binding: net.binding.clone(),
            selection_file: path.display().to_string(),
        }),
    })
}

pub fn expand(input: NetworkInput) -> syn::Result<TokenStream> {
    let chosen = input.chosen()?;
    let spec = NetworkSpec::new(chosen.arch, chosen.width, chosen.resolution)
        .map_err(|e| err(input.name.span(), e))?;
    let (vis, name) = (&input.vis, &input.name);
    let arch_str = chosen.arch.to_string();
    let (d, k, e) = (
        chosen.arch.depths(),
        chosen.arch.kernels(),
        chosen.arch.expands(),
    );
    let width = match chosen.width {
        Width::W1_0 => quote!(__pnag::Width::W1_0),
        Width::W1_2 => quote!(__pnag::Width::W1_2),
    };
    let resolution = spec.resolution;
    let (stem_channels, stem_size) = (spec.stem_channels, spec.stem_size);
    let (fe, fm, final_size) = (
        spec.final_expand_channels,
        spec.feature_mix_channels,
        spec.final_size,
    );
    let (macs, params) = (spec.macs(), spec.params());
    let run = pnag_runtime::memory::RunShape {
        threads: chosen.selected.as_ref().map_or(1, |s| s.threads),
        ..Default::default()
    };
    let peak_memory = pnag_runtime::memory::peak_activation_bytes(&spec, run);
    let n_blocks = spec.blocks.len();
    let blocks = spec.blocks.iter().map(|b| {
        let (index, ic, oc, mid, er, kernel, stride) = (b.index, b.in_channels, b.out_channels, b.mid_channels, b.expand_ratio, b.kernel, b.stride);
        let slot = opt(b.slot.map(|s| quote!(#s)));
        let exp = opt(b.expand_channels.map(|c| quote!(#c)));
        let se = opt(b.se_channels.map(|c| quote!(#c)));
        let act = match b.activation {
            Activation::Relu => quote!(__pnag::Activation::Relu),
            Activation::HSwish => quote!(__pnag::Activation::HSwish),
        };
        let (residual, in_size, out_size) = (b.residual, b.in_size, b.out_size);
        quote! {
            __pnag::BlockSpec {
                index: #index, slot: #slot, in_channels: #ic, out_channels: #oc, expand_channels: #exp,
                mid_channels: #mid, expand_ratio: #er, kernel: #kernel, stride: #stride, activation: #act,
                se_channels: #se, residual: #residual, in_size: #in_size, out_size: #out_size,
            }
        }
    });
    // One call per block: the builder never looks at the arch at run time, and
    // only the depthwise kernel variants this subnet uses are instantiated.
    let block_calls = spec.blocks.iter().enumerate().map(|(i, b)| {
        let (k, s) = (b.kernel, b.stride);
        quote!(graph.block_with(&BLOCKS[#i], __pnag::ops::DepthwiseKernel::new::<#k, #s>()).map_err(tract("building the tract graph"))?;)
    });
    let untrained = chosen.synthetic_seed.is_some();
    let origin = &chosen.weights_origin;
    let (weights_static, weights_fn) = match (&chosen.weights_file, chosen.synthetic_seed) {
        (Some(file), seed) => {
            let source = match seed {
                Some(s) => quote!(__pnag::WeightsSource::Synthetic { seed: #s }),
                None => {
                    quote!(__pnag::WeightsSource::Embedded(::std::string::String::from(#origin)))
                }
            };
            (
                quote! {
                    /// This subnet's tensors only (safetensors, OFA state-dict names).
                    pub static WEIGHTS: &[u8] = include_bytes!(#file);
                },
                quote! {
                    /// The embedded weights, validated against [`spec`].
                    pub fn weights() -> ::core::result::Result<__pnag::Weights, __pnag::RuntimeError> {
                        __pnag::Weights::from_safetensors(WEIGHTS, #source, &spec())
                    }
                },
            )
        }
        (None, seed) => {
            let seed = seed.unwrap_or(0);
            (
                quote!(),
                quote! {
                    /// Seeded synthetic weights, generated at run time: UNTRAINED.
                    pub fn weights() -> ::core::result::Result<__pnag::Weights, __pnag::RuntimeError> {
                        ::core::result::Result::Ok(__pnag::Weights::synthetic(&spec(), #seed))
                    }
                },
            )
        }
    };
    let selected = match &chosen.selected {
        None => quote! {
            /// Threads the network runs with by default.
            pub const THREADS: usize = 1;
            /// Where the network runs.
            pub const RUNTIME: __pnag::RuntimeKind = __pnag::RuntimeKind::Cpu;
            /// Run on the CPU when `RUNTIME` is `Cuda` and no GPU is usable.
            pub const CUDA_FALLBACK: bool = false;
        },
        Some(s) => {
            let (bname, device, budget, unit, cost, top1, by, rt, fb, threads, file) = (
                &s.name,
                &s.device,
                s.budget,
                cost_unit_tokens(s.unit),
                s.predicted_cost,
                s.predicted_top1,
                &s.chosen_by,
                runtime_tokens(s.runtime),
                s.cuda_fallback,
                s.threads,
                &s.selection_file,
            );
            let (wbytes, binding) = (s.weights_bytes, &s.binding);
            let wlimit = opt(s.weights_limit_mb.map(|v| quote!(#v)));
            let plimit = opt(s.peak_memory_limit_mb.map(|v| quote!(#v)));
            quote! {
                // Rebuild when build.rs writes a new selection.
                const _: &[u8] = include_bytes!(#file);
                /// Exact bytes of the embedded weights file.
                pub const WEIGHTS_BYTES: u64 = #wbytes;
                /// The budget's `weights_mb` and `peak_memory_mb` limits, if set.
                pub const WEIGHTS_LIMIT_MB: ::core::option::Option<f64> = #wlimit;
                pub const PEAK_MEMORY_LIMIT_MB: ::core::option::Option<f64> = #plimit;
                /// The budget key the subnet is closest to its limit in (`latency_ms`,
                /// `macs_m`, `weights_mb` or `peak_memory_mb`): the constraint that binds.
                pub const BINDING: &str = #binding;
                /// The budget's name in the targets TOML.
                pub const BUDGET_NAME: &str = #bname;
                /// The device whose cost model the budget is in.
                pub const DEVICE: &str = #device;
                /// The budget, in [`COST_UNIT`].
                pub const BUDGET: f64 = #budget;
                /// What [`BUDGET`] and [`PREDICTED_COST`] are measured in (prints as `ms` or `MMACs`).
                pub const COST_UNIT: __pnag::CostUnit = #unit;
                /// The device cost model's prediction for this subnet, in [`COST_UNIT`].
                pub const PREDICTED_COST: f64 = #cost;
                /// The accuracy model's predicted ImageNet top-1 (%), for trained weights of this arch.
                pub const PREDICTED_TOP1: f64 = #top1;
                /// Which generator chose the arch.
                pub const CHOSEN_BY: &str = #by;
                /// Threads the network runs with by default (the TOML's `threads`).
                pub const THREADS: usize = #threads;
                /// Where the network runs (the TOML's `runtime`).
                pub const RUNTIME: __pnag::RuntimeKind = #rt;
                /// Run on the CPU when `RUNTIME` is `Cuda` and no GPU is usable.
                pub const CUDA_FALLBACK: bool = #fb;
            }
        }
    };
    let doc = format!(
        " PNAG subnet `{arch_str}` (w{} at {resolution} px), weights: {origin}.",
        chosen.width
    );
    Ok(quote! {
        #[doc = #doc]
        #vis mod #name {
            #![allow(dead_code)]
            use ::pnag_runtime as __pnag;

            /// PNAG arch string `d1..d5:k1..k20:e1..e20`.
            pub const ARCH: &str = #arch_str;
            pub const DEPTHS: [u8; 5] = [#(#d),*];
            pub const KERNELS: [u8; 20] = [#(#k),*];
            pub const EXPANDS: [u8; 20] = [#(#e),*];
            pub const WIDTH: __pnag::Width = #width;
            pub const RESOLUTION: usize = #resolution;
            /// Multiply-accumulates and parameters of this subnet (computed at compile time).
            pub const MACS: u64 = #macs;
            pub const PARAMS: u64 = #params;
            /// Predicted peak activation bytes of one run (batch 1, `THREADS` threads;
            /// `pnag_runtime::memory`).
            pub const PEAK_MEMORY_BYTES: u64 = #peak_memory;
            /// True when the weights are seeded synthetic ones: the outputs mean nothing.
            pub const UNTRAINED: bool = #untrained;
            pub const WEIGHTS_ORIGIN: &str = #origin;
            #selected
            /// Every block with its kernel size, stride and expand width as literals.
            pub const BLOCKS: [__pnag::BlockSpec; #n_blocks] = [#(#blocks),*];
            #weights_static

            /// The arch as a value.
            pub fn arch() -> __pnag::Arch {
                match __pnag::Arch::new(DEPTHS, KERNELS, EXPANDS) {
                    ::core::result::Result::Ok(a) => a,
                    ::core::result::Result::Err(_) => ::core::unreachable!("validated by pnag_macros::network!"),
                }
            }

            /// The layer plan (literal, not derived at run time).
            pub fn spec() -> __pnag::NetworkSpec {
                __pnag::NetworkSpec {
                    arch: arch(), width: WIDTH, resolution: RESOLUTION,
                    stem_channels: #stem_channels, stem_size: #stem_size,
                    blocks: BLOCKS.to_vec(),
                    final_expand_channels: #fe, feature_mix_channels: #fm, final_size: #final_size,
                }
            }

            #weights_fn

            /// Batch 1 with the TOML's thread count and runtime (`cuda` or `cpu`).
            pub fn options() -> __pnag::NetworkOptions {
                let device = match RUNTIME {
                    __pnag::RuntimeKind::Cuda => __pnag::Device::Cuda { fallback_to_cpu: CUDA_FALLBACK },
                    __pnag::RuntimeKind::Cpu => __pnag::Device::Cpu,
                };
                __pnag::NetworkOptions { batch: 1, threads: THREADS, device, kernels: __pnag::Kernels::Specialized, simd: __pnag::Simd::Best }
            }

            /// Builds this subnet in tract, block by block, and optimizes it.
            pub fn build(options: __pnag::NetworkOptions) -> ::core::result::Result<__pnag::Network, __pnag::RuntimeError> {
                use __pnag::__private::tract_err as tract;
                let weights = weights()?;
                let mut graph = __pnag::__private::SubnetGraph::stem(&weights, &options, RESOLUTION).map_err(tract("building the tract graph"))?;
                #(#block_calls)*
                let model = graph.head(#final_size).map_err(tract("building the tract graph"))?;
                __pnag::Network::from_model(spec(), weights.source.clone(), model, options)
            }
        }
    })
}

fn opt(v: Option<TokenStream>) -> TokenStream {
    match v {
        Some(t) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    }
}

fn cost_unit_tokens(unit: CostUnit) -> TokenStream {
    match unit {
        CostUnit::Ms => quote!(__pnag::CostUnit::Ms),
        CostUnit::Mmacs => quote!(__pnag::CostUnit::Mmacs),
    }
}

fn runtime_tokens(runtime: RuntimeKind) -> TokenStream {
    match runtime {
        RuntimeKind::Cpu => quote!(__pnag::RuntimeKind::Cpu),
        RuntimeKind::Cuda => quote!(__pnag::RuntimeKind::Cuda),
    }
}
