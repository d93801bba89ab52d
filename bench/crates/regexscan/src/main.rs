fn main() {
    println!("{}", regexscan::run());
}
