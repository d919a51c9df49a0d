//! How the helper says a program did not start: the jail's report message for a missing
//! layer or a refusal, with the conversions every step of the start uses.

use crate::error::{Layer, Missing};
use crate::spawn::Message;

/// Why the program did not start: a [`Message::Missing`] or [`Message::Refused`].
pub(super) type Failure = Message;

pub(super) fn refused(context: &str) -> impl FnOnce(std::io::Error) -> Failure + '_ {
    move |err| Message::Refused(format!("{context}: {err}"))
}

pub(super) fn missing(layer: Layer) -> impl FnOnce(String) -> Failure {
    move |detail| Message::Missing(Missing::new(layer, detail))
}
