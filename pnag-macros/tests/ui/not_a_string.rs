fn main() {
    let _ = pnag_macros::arch!(42);
}
