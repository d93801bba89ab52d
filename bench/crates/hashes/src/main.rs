fn main() {
    println!("{}", hashes::run());
}
