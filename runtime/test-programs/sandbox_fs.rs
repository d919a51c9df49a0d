//! Reads `<ro>/input.txt`, copies it to `<rw>/output.txt`, then tries what it may not:
//! write in the read-only directory, read a file outside every preopen, and leave the
//! writable directory through `..`. Prints one line per attempt.

use std::fs;

fn outcome<T, E>(result: Result<T, E>) -> &'static str {
    if result.is_ok() { "allowed" } else { "refused" }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (ro, rw, outside) = (&args[1], &args[2], &args[3]);
    let input = fs::read_to_string(format!("{ro}/input.txt")).expect("read the input");
    fs::write(format!("{rw}/output.txt"), format!("copied: {input}")).expect("write");
    println!("read-only write: {}", outcome(fs::write(format!("{ro}/planted.txt"), "x")));
    let read = fs::read_to_string(outside);
    println!("outside read: {}", outcome(read.as_ref()));
    if let Ok(secret) = read {
        println!("secret: {secret}");
    }
    let escape = fs::write(format!("{rw}/../escaped.txt"), "x");
    println!("escape: {}", outcome(escape));
}
