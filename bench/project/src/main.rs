fn main() {
    println!("{}", serde_json::json!({ "u5": <typenum::U5 as typenum::Unsigned>::to_u32() }));
}
