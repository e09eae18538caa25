pnag_macros::network!(mod net, budget = "fast");
fn main() {}
