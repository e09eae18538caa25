pnag_macros::network!(mod net, budget = "fast", latency = 20);
fn main() {}
