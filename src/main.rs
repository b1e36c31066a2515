fn main() {
    println!("swarmgate {}", env!("CARGO_PKG_VERSION"));
}
