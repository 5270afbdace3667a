fn main() {
    println!("planetscale-operator {}", env!("CARGO_PKG_VERSION"));
}
