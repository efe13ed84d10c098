//! `rvs`: the switch daemon and its command-line tools.
#![forbid(unsafe_code)]

fn main() {
    println!("rvs {}", env!("CARGO_PKG_VERSION"));
}
