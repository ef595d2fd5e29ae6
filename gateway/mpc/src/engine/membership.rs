//! Members coming and going: who may join, what a join starts (the MPC,
//! its recording, the member's own track), a member's mute, hold and coach
//! mode, and what a member's exit sets off (its exit sound, the MPC's end
//! without `stayAlone`, the release of its call with `onExitActionUrl`).
//!
//! Apart from the engine's core because these are the Plivo rules of one
//! member's life, each driven by one [`crate::io::Input`]; the core keeps the
//! MPC's own life (start, recording, end) and the event stream.

use chorus_mixer::Participant;
use chorus_xml::{Method, MultiPartyCall, Role, Sound};

use super::{Member, Mpc};
use crate::event::{EventName, ExitCause, MemberFields, Termination};
use crate::io::{CallInfo, MediaCommand, Output, Rejection, Then};
use crate::time::Timestamp;
use crate::track::{RecordCommand, TrackStates};

impl Mpc {
    pub(super) fn join(&mut self, now: Timestamp, call: CallInfo, spec: Box<MultiPartyCall>) {
        let reason = if self.ended.is_some() {
            Some(Rejection::Ended)
        } else if self.members.len() >= self.max_participants as usize {
            Some(Rejection::Full {
                max: self.max_participants,
            })
        } else {
            None
        };
        if let Some(reason) = reason {
            self.outputs.push_back(Output::Rejected {
                call_uuid: call.call_uuid,
                reason,
            });
            return;
        }
        let member_id = self.next_member;
        self.next_member += 1;
        let participant = Participant {
            role: mixer_role(spec.role),
            muted: spec.mute,
            held: spec.hold,
            coach: spec.coach_mode,
        };
        let member = Member {
            fields: MemberFields {
                member_id,
                call_uuid: call.call_uuid.clone(),
                from: call.from,
                to: call.to,
                direction: if call.inbound { "inbound" } else { "outbound" },
                role: spec.role,
                coach_mode: spec.coach_mode,
                joined: now,
                exited: None,
            },
            spec,
            participant,
            audio: false,
            tracks: TrackStates::default(),
        };
        let (start, record, enter) = (
            member.spec.start_mpc_on_enter,
            member.spec.record,
            (!member.is_coaching()).then(|| {
                (
                    member.spec.enter_sound.clone(),
                    member.spec.enter_sound_method,
                )
            }),
        );
        self.members.push(member);
        let i = self.members.len() - 1;
        self.outputs.push_back(Output::Joined {
            call_uuid: call.call_uuid,
            member: member_id,
        });
        self.media(MediaCommand::Join {
            member: member_id,
            participant,
        });
        self.emit(now, EventName::ParticipantJoin, Some(i), None);
        if start {
            self.start(now);
        }
        if let Some((sound, method)) = enter {
            self.bridge(sound, method);
        }
        let was_recording = self.recording;
        self.record_requested |= record;
        if self.record_requested && !self.recording && self.members.len() >= self.record_min_members
        {
            self.record(RecordCommand::Start {
                format: self.record_format,
            });
        } else if was_recording {
            self.start_participant_track(i);
        }
    }

    pub(super) fn leave(&mut self, now: Timestamp, member: u32, cause: ExitCause) {
        let Some(i) = self.index(member) else { return };
        let left = self.remove(now, i, cause);
        if !left.is_coaching() {
            self.bridge(left.spec.exit_sound.clone(), left.spec.exit_sound_method);
        }
        if left.spec.end_mpc_on_exit {
            self.end(now, Termination::EndMpcOnExit);
        } else if self.members.is_empty() {
            self.end(now, Termination::NoParticipants);
        } else if let [alone] = &self.members[..]
            && !alone.spec.stay_alone
        {
            // Without stayAlone the last member is not kept on its own:
            // it leaves, and with it the MPC ends.
            self.end(now, Termination::NoParticipants);
        }
    }

    pub(super) fn update(
        &mut self,
        now: Timestamp,
        member: u32,
        mute: Option<bool>,
        hold: Option<bool>,
        coach_mode: Option<bool>,
    ) {
        let Some(i) = self.index(member) else { return };
        let before = self.members[i].participant;
        let mut after = before;
        after.muted = mute.unwrap_or(before.muted);
        after.held = hold.unwrap_or(before.held);
        if before.role == chorus_mixer::Role::Supervisor {
            after.coach = coach_mode.unwrap_or(before.coach);
        }
        if after == before {
            return;
        }
        self.members[i].participant = after;
        self.media(MediaCommand::Update {
            member,
            participant: after,
        });
        let changes = [
            (
                before.muted,
                after.muted,
                EventName::ParticipantMute,
                EventName::ParticipantUnmute,
            ),
            (
                before.held,
                after.held,
                EventName::ParticipantHold,
                EventName::ParticipantUnhold,
            ),
            (
                before.coach,
                after.coach,
                EventName::ParticipantCoachModeStart,
                EventName::ParticipantCoachModeStop,
            ),
        ];
        for (was, is, on, off) in changes {
            if was != is {
                self.emit(now, if is { on } else { off }, Some(i), None);
            }
        }
        // Plivo: a supervisor entering or leaving coach mode is announced
        // to the MPC with beep:1 (as it starts or stops being heard by the
        // customers).
        if before.coach != after.coach {
            self.bridge(Sound::Beep1, Method::Get);
        }
    }

    /// Takes member `i` out: media, ParticipantExit, and its call's release.
    pub(super) fn remove(&mut self, now: Timestamp, i: usize, cause: ExitCause) -> Member {
        // Its own sound ends with it, before it is gone.
        self.audio_ends_with(now, i);
        self.members[i].fields.exited = Some((now, cause));
        self.emit(now, EventName::ParticipantExit, Some(i), None);
        self.stop_tracks(i);
        let member = self.members.remove(i);
        let id = member.fields.member_id;
        self.media(MediaCommand::Leave { member: id });
        if matches!(cause, ExitCause::Kicked | ExitCause::MpcEnded) {
            let then = match &member.spec.on_exit_action_url {
                Some(url) => Then::Fetch {
                    url: url.clone(),
                    method: member.spec.on_exit_action_method,
                    params: self.exit_params(&member.fields, now),
                },
                None => Then::NextElement,
            };
            self.outputs.push_back(Output::Released {
                member: id,
                call_uuid: member.fields.call_uuid.clone(),
                then,
            });
        }
        member
    }

    /// The MPC's parameters of an `onExitActionUrl` request.
    fn exit_params(&self, member: &MemberFields, now: Timestamp) -> Vec<(String, String)> {
        [
            ("MPCUUID", self.uuid.clone()),
            ("MPCFriendlyName", self.name.clone()),
            ("MemberID", member.member_id.to_string()),
            ("ParticipantCallUUID", member.call_uuid.clone()),
            ("ParticipantJoinTime", member.joined.to_string()),
            ("ParticipantEndTime", now.to_string()),
            ("ParticipantRole", member.role.as_str().to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }
}

fn mixer_role(role: Role) -> chorus_mixer::Role {
    match role {
        Role::Agent => chorus_mixer::Role::Agent,
        Role::Supervisor => chorus_mixer::Role::Supervisor,
        Role::Customer => chorus_mixer::Role::Customer,
    }
}
