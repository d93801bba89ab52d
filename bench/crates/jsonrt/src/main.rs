fn main() {
    println!("{}", jsonrt::run());
}
