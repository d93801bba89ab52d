fn main() {
    println!("{}", deflate::run());
}
