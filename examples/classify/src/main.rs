//! `classify IMAGE [--runs N] [--threads N]`: a downstream app of PNAG-rs.
//!
//! `build.rs` ran the trained generator for the budgets in `targets/host.toml`;
//! the line below hardcodes the subnet chosen for the budget named "balanced"
//! (its arch, its weights, an unrolled tract builder). The binary contains that
//! one network and nothing of the search space, the generator or libtorch.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use image::imageops::FilterType;

pnag_macros::network!(pub mod net, budget = "balanced");

/// ImageNet class names, in logit order (torchvision's `_IMAGENET_CATEGORIES`).
const CLASSES: &str = include_str!("../imagenet_classes.txt");
/// torchvision's ImageNet normalization.
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

struct Args {
    image: String,
    runs: usize,
    threads: usize,
}

fn parse_args() -> Result<Args> {
    let mut args = std::env::args().skip(1);
    let mut out = Args {
        image: String::new(),
        runs: 10,
        threads: net::THREADS,
    };
    while let Some(a) = args.next() {
        let mut number = |flag: &str| -> Result<usize> {
            let v = args
                .next()
                .with_context(|| format!("{flag} needs a number"))?;
            v.parse()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("{flag}: `{v}` is not a positive integer"))
        };
        match a.as_str() {
            "--runs" => out.runs = number("--runs")?,
            "--threads" => out.threads = number("--threads")?,
            "-h" | "--help" => {
                println!("usage: classify IMAGE [--runs N] [--threads N]\n\nClassifies a PNG/JPEG with the PNAG subnet chosen at build time for budget `{}`.", net::BUDGET_NAME);
                std::process::exit(0);
            }
            flag if flag.starts_with('-') => bail!("unknown option `{flag}` (see --help)"),
            path if out.image.is_empty() => out.image = path.to_string(),
            extra => bail!("unexpected argument `{extra}` (one image at a time)"),
        }
    }
    if out.image.is_empty() {
        bail!("usage: classify IMAGE [--runs N] [--threads N]");
    }
    Ok(out)
}

/// Resize the short side to R/0.875 (bilinear), centre-crop R×R, normalize, NCHW.
fn preprocess(path: &str, r: usize) -> Result<Vec<f32>> {
    let img = image::open(path)
        .with_context(|| format!("reading image `{path}`"))?
        .to_rgb8();
    let (w, h) = img.dimensions();
    let short = (r as f64 / 0.875).round() as u32;
    let (nw, nh) = if w <= h {
        (short, (h as f64 * short as f64 / w as f64).round() as u32)
    } else {
        ((w as f64 * short as f64 / h as f64).round() as u32, short)
    };
    let resized = image::imageops::resize(&img, nw, nh, FilterType::Triangle);
    let (x0, y0) = ((nw - r as u32) / 2, (nh - r as u32) / 2);
    let mut data = vec![0f32; 3 * r * r];
    for y in 0..r {
        for x in 0..r {
            let p = resized.get_pixel(x0 + x as u32, y0 + y as u32);
            for c in 0..3 {
                data[c * r * r + y * r + x] = (p[c] as f32 / 255.0 - MEAN[c]) / STD[c];
            }
        }
    }
    Ok(data)
}

fn main() -> Result<()> {
    let args = parse_args()?;
    println!(
        "network `{}` for {} (budget {} {}): arch {}",
        net::BUDGET_NAME,
        net::DEVICE,
        net::BUDGET,
        net::COST_UNIT,
        net::ARCH
    );
    println!(
        "  predicted {:.2} {} on {}, top-1 {:.2} % with trained weights; {:.0} MMACs, {:.2} M params",
        net::PREDICTED_COST,
        net::COST_UNIT,
        net::DEVICE,
        net::PREDICTED_TOP1,
        net::MACS as f64 / 1e6,
        net::PARAMS as f64 / 1e6
    );
    if net::UNTRAINED {
        println!(
            "  WARNING: UNTRAINED demo weights ({}): the classes below are meaningless",
            net::WEIGHTS_ORIGIN
        );
    }
    let input = preprocess(&args.image, net::RESOLUTION)?;
    let options = pnag_runtime::NetworkOptions {
        threads: args.threads,
        ..net::options()
    };
    let network = net::build(options)?;
    let shape = network.input_shape();
    let logits = network.run(&shape, &input)?; // warm-up
    let mut times = Vec::with_capacity(args.runs);
    for _ in 0..args.runs {
        let start = Instant::now();
        network.run(&shape, &input)?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let classes: Vec<&str> = CLASSES.lines().collect();
    println!("top-5 for `{}`:", args.image);
    for (class, score) in logits.top_k(0, 5) {
        println!(
            "  {score:>9.4}  {class:>4} {}",
            classes.get(class).copied().unwrap_or("?")
        );
    }
    println!(
        "latency on this machine: median {:.2} ms over {} runs ({} thread(s), tract {:?}, {})",
        times[times.len() / 2],
        args.runs,
        args.threads,
        network.device(),
        pnag_runtime::Simd::Best.path().name()
    );
    Ok(())
}
