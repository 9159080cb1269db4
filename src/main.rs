fn main() {
    std::process::exit(worlds::main());
}
