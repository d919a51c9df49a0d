//! `std::sync`, with channels whose blocking calls let pending threads run (see `thread`).

pub use std::sync::*;

#[path = "mpsc.rs"]
pub mod mpsc;
