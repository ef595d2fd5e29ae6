//! Reads a document with quick-xml into a small, depth-limited element tree
//! and enforces the document-level rules (size, depth, single root,
//! well-formedness, predefined entities only).

use quick_xml::XmlVersion;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::{DocumentError, Position};

/// One XML element: name, attributes in document order, the concatenated
/// direct text (text, CDATA and references; comments dropped) and children.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// Whether the direct text holds anything but whitespace.
    pub fn has_text(&self) -> bool {
        !self.text.trim().is_empty()
    }
}

/// Largest accepted document: 100 KiB.
pub const MAX_DOCUMENT_BYTES: usize = 100 * 1024;

/// Deepest accepted element nesting (the root counts as level 1).
pub const MAX_DEPTH: usize = 16;

/// Parses `input` into its root element.
pub(crate) fn parse(input: &str) -> Result<Element, DocumentError> {
    if input.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge {
            size: input.len(),
            limit: MAX_DOCUMENT_BYTES,
        });
    }
    let input = input.strip_prefix('\u{feff}').unwrap_or(input);
    if input.trim().is_empty() {
        return Err(DocumentError::Empty);
    }

    let mut reader = Reader::from_str(input);
    let at = |offset: u64| Position::in_input(input, usize::try_from(offset).unwrap_or(usize::MAX));
    // Open elements; the last one is the innermost.
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;

    loop {
        let event = reader.read_event().map_err(|e| DocumentError::Malformed {
            position: at(reader.error_position()),
            detail: e.to_string(),
        })?;
        let here = || at(reader.buffer_position());
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(DocumentError::ContentOutsideRoot { position: here() });
            }
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DocumentError::TooDeep {
                        position: here(),
                        limit: MAX_DEPTH,
                    });
                }
                stack.push(element(&start, here)?);
            }
            Event::Empty(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(DocumentError::TooDeep {
                        position: here(),
                        limit: MAX_DEPTH,
                    });
                }
                let el = element(&start, here)?;
                close(el, &mut stack, &mut root);
            }
            Event::End(_) => {
                // quick-xml has already checked that the name matches the open
                // element and that an element is open.
                let el = stack
                    .pop()
                    .ok_or(DocumentError::ContentOutsideRoot { position: here() })?;
                close(el, &mut stack, &mut root);
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                push_text(&mut stack, &content, here)?;
            }
            Event::CData(cdata) => {
                let content = cdata.xml10_content();
                push_text(&mut stack, &content, here)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match resolve_predefined_entity(&reference) {
                        Some(s) => s.to_owned(),
                        None => {
                            return Err(DocumentError::UnknownEntity {
                                position: here(),
                                entity: reference.to_string(),
                            });
                        }
                    },
                    Err(e) => {
                        return Err(DocumentError::Malformed {
                            position: here(),
                            detail: e.to_string(),
                        });
                    }
                };
                // A reference is never whitespace-only text outside the root.
                if stack.is_empty() {
                    return Err(DocumentError::ContentOutsideRoot { position: here() });
                }
                push_text(&mut stack, &resolved, here)?;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(DocumentError::UnclosedElement {
            name: open.name.clone(),
        });
    }
    root.ok_or(DocumentError::NoRootElement)
}

/// Builds an element (without content) from a start tag.
fn element(start: &BytesStart<'_>, here: impl Fn() -> Position) -> Result<Element, DocumentError> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let malformed = |detail: String| DocumentError::Malformed {
            position: here(),
            detail,
        };
        let attr = attr.map_err(|e| malformed(e.to_string()))?;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| malformed(e.to_string()))?;
        attrs.push((attr.key.as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element {
        name: start.name().as_ref().to_owned(),
        attrs,
        ..Element::default()
    })
}

/// Attaches a finished element to its parent, or makes it the root.
fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// Appends text to the innermost open element; outside the root only
/// whitespace is allowed.
fn push_text(
    stack: &mut [Element],
    text: &str,
    here: impl Fn() -> Position,
) -> Result<(), DocumentError> {
    match stack.last_mut() {
        Some(el) => {
            el.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(DocumentError::ContentOutsideRoot { position: here() }),
    }
}
