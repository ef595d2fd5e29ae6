//! The verbs other than `<MultiPartyCall>`.

use crate::attrs::{scan_attrs, set, warn_children};
use crate::error::{CONTENT, ElementError, InvalidReason, Warning};
use crate::parse;
use crate::tree::Element;
use crate::values::{HangupReason, Method};

/// `<Wait length="1" silence="false" minSilence="2000" beep="false"/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// `length`: seconds to wait, 1..=86400, default 1.
    pub length: u32,
    /// `silence`: end the wait early once the caller is silent for
    /// `min_silence` ms (answering-machine detection style), default false.
    pub silence: bool,
    /// `minSilence`: milliseconds, 1..=86400000, default 2000.
    pub min_silence: u32,
    /// `beep`: play a beep at the end of the wait, default false.
    pub beep: bool,
}

impl Default for Wait {
    fn default() -> Self {
        Self {
            length: 1,
            silence: false,
            min_silence: 2000,
            beep: false,
        }
    }
}

/// `<Hangup reason="rejected|busy" schedule="N"/>`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hangup {
    /// `reason`: reject the (unanswered) call as `rejected` or `busy`;
    /// `None` for a normal hangup.
    pub reason: Option<HangupReason>,
    /// `schedule`: hang up after this many seconds (1..=86400) and continue
    /// with the next element meanwhile. `schedule="0"` (like no attribute)
    /// gives `None`: hang up now.
    pub schedule: Option<u32>,
}

/// `<Play loop="1">URL</Play>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Play {
    /// The audio URL (element content, required, http/https).
    pub url: String,
    /// `loop`: times to play, default 1; 0 = loop until something else happens.
    pub loop_count: u32,
}

/// `<Speak voice="WOMAN" language="en-US" loop="1">text</Speak>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Speak {
    /// The text to say (element content, trimmed, required).
    pub text: String,
    /// `voice`, default `WOMAN` (not validated beyond non-empty).
    pub voice: String,
    /// `language`, default `en-US` (not validated beyond non-empty).
    pub language: String,
    /// `loop`: times to say it, default 1; 0 = loop forever.
    pub loop_count: u32,
}

/// `<Redirect method="POST">URL</Redirect>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The URL of the next document (element content, required, http/https).
    pub url: String,
    /// `method`: default POST.
    pub method: Method,
}

/// Warns about non-whitespace text in an element without content.
fn warn_text(element: &'static str, el: &Element, warnings: &mut Vec<Warning>) {
    if el.has_text() {
        warnings.push(Warning::UnexpectedText { element });
    }
}

/// The trimmed content as a required URL.
fn content_url(element: &'static str, el: &Element) -> Result<String, ElementError> {
    let text = el.text.trim();
    if text.is_empty() {
        return Err(ElementError::new(
            element,
            CONTENT,
            "",
            InvalidReason::Missing,
        ));
    }
    parse::url(text).map_err(|r| ElementError::new(element, CONTENT, text, r))
}

pub(crate) fn wait(el: &Element, warnings: &mut Vec<Warning>) -> Result<Wait, ElementError> {
    const NAME: &str = "Wait";
    let mut w = Wait::default();
    warn_children(NAME, el, warnings);
    warn_text(NAME, el, warnings);
    scan_attrs(NAME, el, warnings, |name, value| match name {
        "length" => set(&mut w.length, parse::integer(value, 1, 86_400)),
        "silence" => set(&mut w.silence, parse::boolean(value)),
        "minSilence" => set(&mut w.min_silence, parse::integer(value, 1, 86_400_000)),
        "beep" => set(&mut w.beep, parse::boolean(value)),
        _ => None,
    })?;
    Ok(w)
}

pub(crate) fn hangup(el: &Element, warnings: &mut Vec<Warning>) -> Result<Hangup, ElementError> {
    const NAME: &str = "Hangup";
    let mut h = Hangup::default();
    warn_children(NAME, el, warnings);
    warn_text(NAME, el, warnings);
    scan_attrs(NAME, el, warnings, |name, value| match name {
        "reason" => set(&mut h.reason, parse::hangup_reason(value).map(Some)),
        "schedule" => set(
            &mut h.schedule,
            parse::integer(value, 0, 86_400).map(|n| (n > 0).then_some(n)),
        ),
        _ => None,
    })?;
    Ok(h)
}

pub(crate) fn play(el: &Element, warnings: &mut Vec<Warning>) -> Result<Play, ElementError> {
    const NAME: &str = "Play";
    let mut loop_count = 1;
    warn_children(NAME, el, warnings);
    scan_attrs(NAME, el, warnings, |name, value| match name {
        "loop" => set(&mut loop_count, parse::integer(value, 0, u32::MAX)),
        _ => None,
    })?;
    Ok(Play {
        url: content_url(NAME, el)?,
        loop_count,
    })
}

pub(crate) fn speak(el: &Element, warnings: &mut Vec<Warning>) -> Result<Speak, ElementError> {
    const NAME: &str = "Speak";
    let mut s = Speak {
        text: String::new(),
        voice: "WOMAN".to_owned(),
        language: "en-US".to_owned(),
        loop_count: 1,
    };
    warn_children(NAME, el, warnings);
    scan_attrs(NAME, el, warnings, |name, value| match name {
        "voice" => set(&mut s.voice, parse::non_empty(value)),
        "language" => set(&mut s.language, parse::non_empty(value)),
        "loop" => set(&mut s.loop_count, parse::integer(value, 0, u32::MAX)),
        _ => None,
    })?;
    s.text = el.text.trim().to_owned();
    if s.text.is_empty() {
        return Err(ElementError::new(NAME, CONTENT, "", InvalidReason::Missing));
    }
    Ok(s)
}

pub(crate) fn redirect(
    el: &Element,
    warnings: &mut Vec<Warning>,
) -> Result<Redirect, ElementError> {
    const NAME: &str = "Redirect";
    let mut method = Method::Post;
    warn_children(NAME, el, warnings);
    scan_attrs(NAME, el, warnings, |name, value| match name {
        "method" => set(&mut method, parse::method(value)),
        _ => None,
    })?;
    Ok(Redirect {
        url: content_url(NAME, el)?,
        method,
    })
}
