//! Unit tests.

mod document;
mod mpc;
mod mpc_values;
mod prop;
mod verbs;

use crate::{Document, ElementError, Step, Verb, parse_response};

/// Wraps `body` in `<Response>` and parses it, panicking on document errors.
pub(crate) fn doc(body: &str) -> Document {
    let xml = format!("<Response>{body}</Response>");
    parse_response(&xml).unwrap_or_else(|e| panic!("{xml}: {e}"))
}

/// The single step of a one-element document.
pub(crate) fn single(body: &str) -> Step {
    let mut d = doc(body);
    assert_eq!(d.steps.len(), 1, "{body}: {:?}", d.steps);
    d.steps.remove(0)
}

/// The single verb, panicking if it is invalid.
pub(crate) fn verb(body: &str) -> Verb {
    match single(body) {
        Step::Verb(v) => v,
        Step::Invalid(e) => panic!("{body}: unexpected error {e}"),
    }
}

/// The single step's error, panicking if it is valid.
pub(crate) fn invalid(body: &str) -> ElementError {
    match single(body) {
        Step::Invalid(e) => e,
        Step::Verb(v) => panic!("{body}: expected an error, got {v:?}"),
    }
}
