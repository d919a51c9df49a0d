//! Prints the byte count its first argument names to stdout, 1 KiB at a time.

use std::io::Write;

fn main() {
    let bytes: usize = std::env::args().nth(1).expect("a count").parse().expect("a number");
    let chunk = [b'x'; 1024];
    let mut out = std::io::stdout().lock();
    for _ in 0..bytes / chunk.len() {
        out.write_all(&chunk).expect("write");
    }
    out.flush().expect("flush");
    println!();
    println!("printed everything");
}
