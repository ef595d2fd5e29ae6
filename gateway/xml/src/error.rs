//! Error and warning types: [`DocumentError`] (whole document rejected),
//! [`ElementError`] (one element skipped) and [`Warning`] (something ignored).

use std::fmt;

/// A location in the input document.
///
/// `offset` is a byte offset; `line` and `column` are 1-based, the column
/// counting characters (not bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Position {
    /// Computes the position of byte `offset` in `input` (clamped to its length).
    pub fn in_input(input: &str, offset: usize) -> Self {
        let bytes = &input.as_bytes()[..offset.min(input.len())];
        let line_start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let line = 1 + bytes.iter().filter(|&&b| b == b'\n').count();
        // Count characters, i.e. bytes that are not UTF-8 continuation bytes.
        let column = 1 + bytes[line_start..]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        Self {
            offset: bytes.len(),
            line,
            column,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a whole document was rejected. The daemon hangs the call up and logs
/// this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The input is empty or whitespace only.
    #[error("empty XML document")]
    Empty,
    /// The input is larger than [`MAX_DOCUMENT_BYTES`](crate::MAX_DOCUMENT_BYTES).
    #[error("XML document too large: {size} bytes (limit {limit})")]
    TooLarge {
        /// Size of the input in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The XML is not well-formed (syntax error, mismatched or unmatched end
    /// tag, duplicate or malformed attribute, bad character reference...).
    #[error("malformed XML at {position}: {detail}")]
    Malformed {
        /// Where the parser stopped.
        position: Position,
        /// The XML parser's description of the problem.
        detail: String,
    },
    /// An entity reference other than the five predefined ones or a
    /// character reference (`&foo;`).
    #[error("malformed XML at {position}: unknown entity &{entity};")]
    UnknownEntity {
        /// Where the reference ends.
        position: Position,
        /// The entity name, without `&` and `;`.
        entity: String,
    },
    /// The input ended while an element was still open.
    #[error("malformed XML: element <{name}> is not closed")]
    UnclosedElement {
        /// Name of the innermost open element.
        name: String,
    },
    /// Text or a second element after (or text before) the root element.
    #[error("malformed XML at {position}: content outside the root element")]
    ContentOutsideRoot {
        /// Where the stray content ends.
        position: Position,
    },
    /// The document holds no element at all (only a declaration, comments...).
    #[error("XML document has no root element")]
    NoRootElement,
    /// The root element is not `<Response>`.
    #[error("root element must be <Response>, found <{found}>")]
    WrongRoot {
        /// Name of the root element found.
        found: String,
    },
    /// Elements are nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("XML nested too deeply at {position} (limit {limit} levels)")]
    TooDeep {
        /// Where the limit was exceeded.
        position: Position,
        /// The depth limit.
        limit: usize,
    },
}

/// Something in a document that was ignored; the document is still executed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// An element that is not a known verb (element names are case-sensitive).
    UnknownElement {
        /// The element name as written.
        name: String,
    },
    /// A known verb that is not allowed where it appears (e.g. a
    /// `<MultiPartyCall>` inside a music document, which keeps only Play,
    /// Speak and Wait).
    IgnoredElement {
        /// The element name.
        name: String,
    },
    /// An attribute a known element does not define (attribute names are
    /// case-sensitive).
    UnknownAttribute {
        /// The element carrying the attribute.
        element: &'static str,
        /// The attribute name as written.
        attribute: String,
    },
    /// A child element inside a verb that takes none.
    UnexpectedChild {
        /// The verb.
        parent: &'static str,
        /// The child element name.
        name: String,
    },
    /// Non-whitespace text where none is expected (directly in `<Response>`
    /// or inside a verb without content).
    UnexpectedText {
        /// The element holding the text.
        element: &'static str,
    },
    /// An invalid element in a music/sound document (such documents skip
    /// bad elements instead of reporting [`Step::Invalid`](crate::Step::Invalid)).
    InvalidElement(ElementError),
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownElement { name } => write!(f, "unknown element <{name}> ignored"),
            Self::IgnoredElement { name } => {
                write!(f, "element <{name}> not allowed here, ignored")
            }
            Self::UnknownAttribute { element, attribute } => {
                write!(f, "{element}: unknown attribute {attribute} ignored")
            }
            Self::UnexpectedChild { parent, name } => {
                write!(f, "{parent}: unexpected child element <{name}> ignored")
            }
            Self::UnexpectedText { element } => write!(f, "{element}: unexpected text ignored"),
            Self::InvalidElement(e) => write!(f, "{e}; element ignored"),
        }
    }
}

/// Why an attribute value (or the element content) is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReason {
    /// A required attribute or content is absent.
    Missing,
    /// The value is empty (or whitespace only).
    Empty,
    /// Not `true` or `false` (case-insensitive).
    NotBoolean,
    /// Not `GET` or `POST` (case-insensitive).
    NotMethod,
    /// Not an absolute `http://` or `https://` URL with a host.
    NotUrl,
    /// Not a decimal integer within the inclusive range.
    IntegerRange {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// Not one of the listed keywords (case-insensitive).
    OneOf(&'static [&'static str]),
    /// Not `none`, `beep:1`, `beep:2` or a URL.
    NotSound,
    /// An unknown event in a `statusCallbackEvents` list.
    UnknownEvent {
        /// The offending list item.
        token: String,
    },
    /// Longer than allowed.
    TooLong {
        /// Maximum length in characters.
        max: usize,
    },
    /// Contains a control character.
    ControlCharacter,
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("is required"),
            Self::Empty => f.write_str("must not be empty"),
            Self::NotBoolean => f.write_str("must be true or false"),
            Self::NotMethod => f.write_str("must be GET or POST"),
            Self::NotUrl => f.write_str("must be an absolute http:// or https:// URL with a host"),
            Self::IntegerRange { min, max } => {
                write!(f, "must be an integer from {min} to {max}")
            }
            Self::OneOf(values) => write!(f, "must be one of {}", values.join(", ")),
            Self::NotSound => {
                f.write_str("must be none, beep:1, beep:2 or an absolute http:// or https:// URL")
            }
            Self::UnknownEvent { token } => write!(
                f,
                "unknown event \"{}\" (allowed: {})",
                Truncated(token),
                crate::StatusCallbackEvent::ALL
                    .map(|e| e.as_str())
                    .join(", ")
            ),
            Self::TooLong { max } => write!(f, "must be at most {max} characters"),
            Self::ControlCharacter => f.write_str("must not contain control characters"),
        }
    }
}

/// A recognised element with an invalid attribute value or missing required
/// part. The element becomes [`Step::Invalid`](crate::Step::Invalid).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ElementError {
    /// The element name, e.g. `MultiPartyCall`.
    pub element: &'static str,
    /// The attribute name, or `(content)` for the element text.
    pub attribute: String,
    /// The value as written (empty when missing).
    pub value: String,
    /// What is wrong with it.
    pub reason: InvalidReason,
}

/// The pseudo attribute name used for element content.
pub const CONTENT: &str = "(content)";

impl ElementError {
    pub(crate) fn new(
        element: &'static str,
        attribute: &str,
        value: &str,
        reason: InvalidReason,
    ) -> Self {
        Self {
            element,
            attribute: attribute.to_owned(),
            value: value.to_owned(),
            reason,
        }
    }

    fn describe(&self) -> String {
        match self.reason {
            InvalidReason::Missing if self.attribute == CONTENT => {
                format!("{}: missing required content", self.element)
            }
            InvalidReason::Missing => {
                format!("{}: missing required {}", self.element, self.attribute)
            }
            _ => format!(
                "{}: invalid {} \"{}\": {}",
                self.element,
                self.attribute,
                Truncated(&self.value),
                self.reason
            ),
        }
    }
}

/// Displays a value escaped (no control characters reach the logs) and
/// truncated to a reasonable length.
struct Truncated<'a>(&'a str);

impl fmt::Display for Truncated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_CHARS: usize = 120;
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(MAX_CHARS) {
            write!(f, "{}", c.escape_debug())?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}
