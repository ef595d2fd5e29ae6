//! The API's commands to an MPC, carried out by its task: look at the MPC,
//! start or end it, change or kick members. Each is checked against the
//! engine's state first, so a bad request changes nothing.

use chorus_mpc::{ExitCause, Input, RecordCommand, RecordTrackType};

use super::mailbox::{Control, ControlError, Controlled, Members};
use super::services::MpcServices;
use super::task::Live;
use super::tracks::refusal;

impl Live {
    /// Carries out `control` and answers with the MPC as it is after.
    pub(super) fn control(
        &mut self,
        services: &MpcServices,
        control: Control,
    ) -> Result<Controlled, ControlError> {
        if control != Control::Show && self.engine.ended().is_some() {
            return Err(ControlError::Ended);
        }
        match control {
            Control::Show => {}
            Control::Start => self.feed(services, Input::Start),
            Control::End => self.feed(services, Input::End),
            Control::Update {
                members,
                mute,
                hold,
                coach_mode,
            } => {
                for member in self.resolve(members)? {
                    let update = Input::Update {
                        member,
                        mute,
                        hold,
                        coach_mode,
                    };
                    self.feed(services, update);
                }
            }
            Control::Kick { members } => {
                for member in self.resolve(members)? {
                    let cause = ExitCause::Kicked;
                    self.feed(services, Input::Leave { member, cause });
                }
            }
            Control::Record { command, callback } => {
                self.check_record(command)?;
                if callback.is_some() {
                    self.recording_callback = callback;
                }
                self.feed(services, Input::Record(command));
            }
            // audio to one member
            Control::MemberAudio { member, sound } => {
                self.resolve(Members::One(member))?;
                self.member_audio(services, member, sound);
            }
            Control::Track {
                member,
                tracks,
                command,
                callback,
            } => return self.control_tracks(services, (member, tracks), command, callback),
            Control::ApiAction { completed, member } => {
                self.feed(services, Input::ApiAction { completed, member });
            }
        }
        Ok(Controlled {
            state: self.engine.state(),
            recording: self.recording.as_ref().map(|r| r.fields().clone()),
            tracks: Vec::new(),
        })
    }

    /// Participant track recordings: `command` for `tracks` of `member`,
    /// every track checked before any changes.
    fn control_tracks(
        &mut self,
        services: &MpcServices,
        (member, tracks): (u32, RecordTrackType),
        command: RecordCommand,
        callback: Option<(String, chorus_xml::Method)>,
    ) -> Result<Controlled, ControlError> {
        self.resolve(Members::One(member))?;
        if let Some(why) = refusal(&self.engine.state(), member, tracks.tracks(), command) {
            return Err(ControlError::Conflict(why));
        }
        self.tracks.set_requested_callback(callback);
        for &track in tracks.tracks() {
            let input = Input::Track {
                member,
                track,
                command,
            };
            self.feed(services, input);
        }
        self.tracks.set_requested_callback(None);
        Ok(Controlled {
            state: self.engine.state(),
            recording: self.recording.as_ref().map(|r| r.fields().clone()),
            tracks: (tracks.tracks().iter())
                .filter_map(|t| self.tracks.latest(member, *t).cloned())
                .collect(),
        })
    }

    /// Whether `command` fits the recording's state now.
    fn check_record(&self, command: RecordCommand) -> Result<(), ControlError> {
        let state = self.engine.state();
        let finishing = self.recording.as_ref().is_some_and(|r| !r.is_done());
        let why = match command {
            RecordCommand::Start { .. } if state.recording => "the MPC is already being recorded",
            RecordCommand::Start { .. } if finishing => {
                "the last recording is still being finished"
            }
            RecordCommand::Stop | RecordCommand::Pause | RecordCommand::Resume
                if !state.recording =>
            {
                "the MPC is not being recorded"
            }
            RecordCommand::Pause if state.recording_paused => "the recording is already paused",
            RecordCommand::Resume if !state.recording_paused => "the recording is not paused",
            _ => return Ok(()),
        };
        Err(ControlError::Conflict(why))
    }

    /// The present members `members` means.
    fn resolve(&self, members: Members) -> Result<Vec<u32>, ControlError> {
        let present = self.engine.members();
        match members {
            Members::All => Ok(present),
            Members::One(id) if present.contains(&id) => Ok(vec![id]),
            Members::One(id) => Err(ControlError::NoSuchMember(id)),
        }
    }
}
