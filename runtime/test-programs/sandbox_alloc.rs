//! Allocates and touches the MiB count its first argument names, then says so.

fn main() {
    let mib: usize = std::env::args().nth(1).expect("a count").parse().expect("a number");
    let mut held = vec![0u8; mib << 20];
    for page in held.chunks_mut(4096) {
        page[0] = 1;
    }
    println!("allocated {} MiB", held.len() >> 20);
}
