//! Prints every variable it sees, one `NAME=value` a line, then its arguments, and exits
//! with the status its first argument names.

fn main() {
    for (name, value) in std::env::vars() {
        println!("{name}={value}");
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("args: {}", args.join(" "));
    std::process::exit(args[0].parse().expect("an exit status"));
}
