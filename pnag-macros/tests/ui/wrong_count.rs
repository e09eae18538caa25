fn main() {
    let _ = pnag_macros::arch!("2,2,2,2:3,3,0,0:3,3,0,0");
}
