//! The attribute-scanning helpers every verb's parser shares.

use crate::error::{ElementError, InvalidReason, Warning};
use crate::tree::Element;

/// Outcome of one attribute handler: `None` means "not an attribute of this
/// element".
pub(crate) type Handled = Option<Result<(), InvalidReason>>;

/// Feeds every attribute of `el` (document order) to `apply`. Unknown
/// attributes become warnings; the first invalid one is returned as the
/// element's error, but scanning continues so that every warning is reported.
pub(crate) fn scan_attrs(
    element: &'static str,
    el: &Element,
    warnings: &mut Vec<Warning>,
    mut apply: impl FnMut(&str, &str) -> Handled,
) -> Result<(), ElementError> {
    let mut first_error = None;
    for (name, value) in &el.attrs {
        match apply(name, value) {
            None => warnings.push(Warning::UnknownAttribute {
                element,
                attribute: name.clone(),
            }),
            Some(Ok(())) => {}
            Some(Err(reason)) => {
                first_error.get_or_insert_with(|| ElementError::new(element, name, value, reason));
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Stores a parsed value into `slot`.
pub(crate) fn set<T>(slot: &mut T, parsed: Result<T, InvalidReason>) -> Handled {
    Some(parsed.map(|v| *slot = v))
}

/// Warns about child elements (every verb takes none).
pub(crate) fn warn_children(element: &'static str, el: &Element, warnings: &mut Vec<Warning>) {
    for child in &el.children {
        warnings.push(Warning::UnexpectedChild {
            parent: element,
            name: child.name.clone(),
        });
    }
}
