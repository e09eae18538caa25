pnag_macros::network!(mod net, budget = "fastest");
fn main() {}
