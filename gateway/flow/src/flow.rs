//! One call's flow as a sans-IO state machine: `handle(now, input)`, then
//! drain `poll_action()`; `poll_timeout()` says when to call `handle` with
//! [`Input::Tick`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use chorus_mpc::Then;
use chorus_xml::{Document, HangupReason, Method, SoundItem, Step, Verb};

use crate::io::{Action, CallStatus, HangupCause, Input, RejectStatus, Start};

/// At most this many documents run in a row without an element that needs
/// media (`<Wait>`, `<Play>`, `<Speak>`, `<MultiPartyCall>`): the fetch
/// that would start one more (a `<Redirect>` loop) ends the flow as if the
/// application failed.
pub const MAX_DOCUMENTS_WITHOUT_MEDIA: u32 = 10;

/// What the flow waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The document of the last [`Action::Fetch`].
    Fetching,
    /// The deadline of a `<Wait>`.
    Waiting {
        /// When the wait is over.
        until: Instant,
    },
    /// The end of the last [`Action::Play`].
    Playing,
    /// The call to leave the MPC of the last [`Action::Join`].
    InMpc,
    /// Nothing: the flow is over.
    Over,
}

/// One call's XML call flow: which element runs next, and what the driver
/// has to do for it.
#[derive(Debug)]
pub struct Flow {
    state: State,
    /// The current document's elements not run yet.
    steps: VecDeque<Step>,
    answered: bool,
    /// Documents started since the last element that needed media.
    documents_without_media: u32,
    actions: VecDeque<Action>,
}

impl Flow {
    /// A flow that begins at `now` with `start`: [`Start::Fetch`] emits
    /// [`Action::Fetch`] (status ringing); [`Start::Document`] runs the
    /// document right away.
    pub fn new(now: Instant, start: Start) -> Self {
        Self::begin(now, start, false)
    }

    /// A flow for a call that is answered already (one chorus placed): it
    /// never emits [`Action::Answer`] or [`Action::Reject`], fetches with
    /// status in-progress, and ends with [`Action::Hangup`].
    pub fn answered_call(now: Instant, start: Start) -> Self {
        Self::begin(now, start, true)
    }

    fn begin(now: Instant, start: Start, answered: bool) -> Self {
        let mut flow = Self {
            state: State::Fetching,
            steps: VecDeque::new(),
            answered,
            documents_without_media: 0,
            actions: VecDeque::new(),
        };
        match start {
            Start::Fetch { url, method } => flow.fetch(url, method, Vec::new()),
            Start::Document(document) => flow.run(now, document),
        }
        flow
    }

    /// Applies `input` at `now`. Inputs that do not fit what the flow
    /// waits for are ignored, and so is everything after the flow is over,
    /// except [`Input::HungUp`], which always drops the queued actions.
    pub fn handle(&mut self, now: Instant, input: Input) {
        match (self.state, input) {
            (_, Input::HungUp) => {
                self.actions.clear();
                self.steps.clear();
                self.state = State::Over;
            }
            (State::Over, _) => {}
            (_, Input::Transferred(document)) => {
                self.actions.clear();
                self.steps.clear();
                self.run(now, document);
            }
            (_, Input::Shutdown) => self.end(HangupCause::Shutdown, RejectStatus::Unavailable),
            (State::Fetching, Input::Fetched(document)) => self.run(now, document),
            (State::Fetching, Input::Unusable) => self.fail(),
            (State::Playing, Input::Played) | (State::InMpc, Input::Left(Then::NextElement)) => {
                self.proceed(now);
            }
            (
                State::InMpc,
                Input::Left(Then::Fetch {
                    url,
                    method,
                    params,
                }),
            ) => self.fetch(url, method, params),
            (State::Waiting { until }, Input::Tick) if now >= until => self.proceed(now),
            _ => {}
        }
    }

    /// The next action to perform, if any. Perform each before polling the
    /// next: a failed [`Action::Answer`] is reported with [`Input::HungUp`],
    /// which drops the rest.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call [`Flow::handle`] with [`Input::Tick`]: the deadline of
    /// the running `<Wait>`, if any.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Waiting { until } => Some(until),
            _ => None,
        }
    }

    /// Whether the flow is over: nothing more will happen once the queued
    /// actions are performed.
    pub fn is_over(&self) -> bool {
        self.state == State::Over
    }

    /// Whether [`Action::Answer`] was emitted.
    pub fn answered(&self) -> bool {
        self.answered
    }

    /// The status the application is told about.
    fn status(&self) -> CallStatus {
        if self.answered {
            CallStatus::InProgress
        } else {
            CallStatus::Ringing
        }
    }

    /// Asks for a document that replaces whatever is left of the current
    /// one, unless that makes too many documents in a row without media.
    fn fetch(&mut self, url: String, method: Method, params: Vec<(String, String)>) {
        self.steps.clear();
        if self.documents_without_media >= MAX_DOCUMENTS_WITHOUT_MEDIA {
            self.fail();
            return;
        }
        let status = self.status();
        self.actions.push_back(Action::Fetch {
            url,
            method,
            status,
            params,
        });
        self.state = State::Fetching;
    }

    /// Starts `document`: its warnings first, then its elements.
    fn run(&mut self, now: Instant, document: Document) {
        self.documents_without_media = self.documents_without_media.saturating_add(1);
        self.actions
            .extend(document.warnings.into_iter().map(Action::Warn));
        self.steps = document.steps.into();
        self.proceed(now);
    }

    /// Runs elements until one has to wait for something, or the flow ends.
    fn proceed(&mut self, now: Instant) {
        while let Some(step) = self.steps.pop_front() {
            let verb = match step {
                Step::Verb(verb) => verb,
                Step::Invalid(error) => {
                    self.actions.push_back(Action::Skip(error));
                    continue;
                }
            };
            match verb {
                Verb::Wait(wait) => {
                    self.needs_media();
                    let length = Duration::from_secs(u64::from(wait.length));
                    self.state = State::Waiting {
                        until: now + length,
                    };
                }
                Verb::Play(play) => self.play(SoundItem::Play(play)),
                Verb::Speak(speak) => self.play(SoundItem::Speak(speak)),
                Verb::MultiPartyCall(mpc) => {
                    self.needs_media();
                    self.actions.push_back(Action::Join(Box::new(mpc)));
                    self.state = State::InMpc;
                }
                Verb::Hangup(hangup) => {
                    let status = match hangup.reason {
                        Some(HangupReason::Busy) => RejectStatus::Busy,
                        _ => RejectStatus::Declined,
                    };
                    self.end(HangupCause::Hangup, status);
                }
                Verb::Redirect(redirect) => self.fetch(redirect.url, redirect.method, Vec::new()),
            }
            return;
        }
        self.end(HangupCause::EndOfFlow, RejectStatus::Unanswered);
    }

    /// `<Play>` or `<Speak>`.
    fn play(&mut self, item: SoundItem) {
        self.needs_media();
        self.actions.push_back(Action::Play(item));
        self.state = State::Playing;
    }

    /// An element that needs media runs: the call is answered first, once.
    fn needs_media(&mut self) {
        self.documents_without_media = 0;
        if !self.answered {
            self.answered = true;
            self.actions.push_back(Action::Answer);
        }
    }

    /// The application failed: its document is unusable.
    fn fail(&mut self) {
        self.end(HangupCause::AppFailed, RejectStatus::AppFailed);
    }

    /// Ends the flow: BYE with `cause` if answered, else `unanswered`.
    fn end(&mut self, cause: HangupCause, unanswered: RejectStatus) {
        let action = if self.answered {
            Action::Hangup { reason: cause }
        } else {
            Action::Reject { status: unanswered }
        };
        self.actions.push_back(action);
        self.steps.clear();
        self.state = State::Over;
    }
}
