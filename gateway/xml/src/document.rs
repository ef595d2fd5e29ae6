//! Whole documents: answer-URL `<Response>` documents ([`parse_response`])
//! and music/sound documents ([`parse_sound_document`]).

use crate::error::{DocumentError, ElementError, Warning};
use crate::mpc::{self, MultiPartyCall};
use crate::tree::{self, Element};
use crate::verbs::{self, Hangup, Play, Redirect, Speak, Wait};

/// The root element every document must have.
pub const ROOT: &str = "Response";

/// A recognised, valid element of a `<Response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verb {
    /// `<MultiPartyCall>`: join (or start) a multiparty call.
    MultiPartyCall(MultiPartyCall),
    /// `<Wait>`: pause.
    Wait(Wait),
    /// `<Hangup>`: end the call.
    Hangup(Hangup),
    /// `<Play>`: play an audio file.
    Play(Play),
    /// `<Speak>`: text to speech.
    Speak(Speak),
    /// `<Redirect>`: fetch and execute another document.
    Redirect(Redirect),
}

/// A parsed `<Response>`: the steps to execute in order, and what was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// One step per recognised element, in document order.
    pub steps: Vec<Step>,
    /// Unknown elements and attributes, stray text: logged, otherwise ignored.
    pub warnings: Vec<Warning>,
}

/// One recognised element of a `<Response>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A valid verb, to execute.
    Verb(Verb),
    /// A recognised verb with an invalid attribute value or a missing required
    /// part: log the error and continue with the next step.
    Invalid(ElementError),
}

/// A parsed music/sound document (`waitMusicUrl`, hold music, enter/exit
/// sound URLs): only Play, Speak and Wait are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoundDocument {
    /// The sound items, in document order.
    pub items: Vec<SoundItem>,
    /// Everything ignored, including invalid Play/Speak/Wait elements
    /// ([`Warning::InvalidElement`]) and other verbs
    /// ([`Warning::IgnoredElement`]).
    pub warnings: Vec<Warning>,
}

/// One item of a [`SoundDocument`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundItem {
    /// `<Play>`
    Play(Play),
    /// `<Speak>`
    Speak(Speak),
    /// `<Wait>`
    Wait(Wait),
}

/// Parses an answer-URL document.
///
/// # Errors
///
/// A [`DocumentError`] when the whole document must be rejected: empty, too
/// large, not well-formed, too deeply nested, or whose root is not
/// `<Response>`. Problems with single elements are reported as
/// [`Step::Invalid`] or [`Warning`]s instead.
pub fn parse_response(xml: &str) -> Result<Document, DocumentError> {
    let root = parse_root(xml)?;
    let mut warnings = Vec::new();
    let children = root_children(&root, &mut warnings);
    let mut steps = Vec::new();
    for child in children {
        let verb = match child.name.as_str() {
            MultiPartyCall::ELEMENT => mpc::parse(child, &mut warnings).map(Verb::MultiPartyCall),
            "Wait" => verbs::wait(child, &mut warnings).map(Verb::Wait),
            "Hangup" => verbs::hangup(child, &mut warnings).map(Verb::Hangup),
            "Play" => verbs::play(child, &mut warnings).map(Verb::Play),
            "Speak" => verbs::speak(child, &mut warnings).map(Verb::Speak),
            "Redirect" => verbs::redirect(child, &mut warnings).map(Verb::Redirect),
            _ => {
                warnings.push(Warning::UnknownElement {
                    name: child.name.clone(),
                });
                continue;
            }
        };
        steps.push(match verb {
            Ok(verb) => Step::Verb(verb),
            Err(error) => Step::Invalid(error),
        });
    }
    Ok(Document { steps, warnings })
}

/// Parses a music/sound document: a `<Response>` of which only Play, Speak
/// and Wait are kept, in order. Other verbs, unknown elements and invalid
/// Play/Speak/Wait elements are skipped with a warning.
///
/// # Errors
///
/// The same document-level [`DocumentError`]s as [`parse_response`]; the
/// caller plays nothing in that case.
pub fn parse_sound_document(xml: &str) -> Result<SoundDocument, DocumentError> {
    let root = parse_root(xml)?;
    let mut warnings = Vec::new();
    let children = root_children(&root, &mut warnings);
    let mut items = Vec::new();
    for child in children {
        let item = match child.name.as_str() {
            "Play" => verbs::play(child, &mut warnings).map(SoundItem::Play),
            "Speak" => verbs::speak(child, &mut warnings).map(SoundItem::Speak),
            "Wait" => verbs::wait(child, &mut warnings).map(SoundItem::Wait),
            MultiPartyCall::ELEMENT | "Hangup" | "Redirect" => {
                warnings.push(Warning::IgnoredElement {
                    name: child.name.clone(),
                });
                continue;
            }
            _ => {
                warnings.push(Warning::UnknownElement {
                    name: child.name.clone(),
                });
                continue;
            }
        };
        match item {
            Ok(item) => items.push(item),
            Err(error) => warnings.push(Warning::InvalidElement(error)),
        }
    }
    Ok(SoundDocument { items, warnings })
}

/// Parses the tree and checks the root name (case-sensitive).
fn parse_root(xml: &str) -> Result<Element, DocumentError> {
    let root = tree::parse(xml)?;
    if root.name != ROOT {
        return Err(DocumentError::WrongRoot { found: root.name });
    }
    Ok(root)
}

/// Warns about attributes and text on `<Response>`, returns its children.
fn root_children<'a>(root: &'a Element, warnings: &mut Vec<Warning>) -> &'a [Element] {
    for (name, _) in &root.attrs {
        warnings.push(Warning::UnknownAttribute {
            element: ROOT,
            attribute: name.clone(),
        });
    }
    if root.has_text() {
        warnings.push(Warning::UnexpectedText { element: ROOT });
    }
    &root.children
}
