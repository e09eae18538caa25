pnag_macros::network!(mod net);
fn main() {}
