fn main() {
    println!("planetscale-emulator {}", env!("CARGO_PKG_VERSION"));
}
