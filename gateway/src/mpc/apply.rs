//! Carrying out an MPC engine's outputs: events logged, counted and queued
//! for the status callback, members moved out of the room or changed,
//! digits relayed, the recording started or stopped, and released members'
//! calls told what to do next.

use chorus_mpc::{MediaCommand, Output, RecordCommand};
use chorus_xml::Sound;

use super::recording::{Feed, Recording};
use super::services::MpcServices;
use super::sounds::beep;
use super::task::Live;
use super::watch::Watched;

impl Live {
    /// Carries out `outputs` (a join's entrance is done by the join itself).
    /// `subject` is the member whose leaving caused them: it gets the exit
    /// sound.
    pub(super) fn apply(
        &mut self,
        services: &MpcServices,
        outputs: Vec<Output>,
        subject: Option<u32>,
    ) {
        let exit_sound = outputs.iter().find_map(|o| match o {
            Output::Media(MediaCommand::Bridge { sound, method }) if subject.is_some() => {
                Some((sound.clone(), *method))
            }
            _ => None,
        });
        // Releases first: a released member's call learns what to do next
        // before its leg comes back, which can happen as soon as the leave
        // below reaches the media worker.
        for output in &outputs {
            if let Output::Released { member, then, .. } = output
                && let Some(release) = self
                    .seats
                    .get_mut(member)
                    .and_then(|seat| seat.released.take())
            {
                let _ = release.send(then.clone());
            }
        }
        for output in outputs {
            match output {
                Output::Event(event) => {
                    // Every event is logged and counted, whether or not the
                    // application asked for its callback.
                    let member = event.member.as_ref().map(|m| m.member_id);
                    let call_uuid = member
                        .and_then(|m| self.seats.get(&m))
                        .map(|seat| seat.call_uuid.as_str());
                    tracing::info!(
                        event = event.name.as_str(),
                        sequence = event.requested.then_some(event.sequence),
                        member,
                        call_uuid,
                        "MPC event"
                    );
                    services.metrics.event(event.name);
                    services
                        .events
                        .publish(Watched::Mpc(std::sync::Arc::new(event.clone())));
                    if let Some(queue) = &mut self.status
                        && event.requested
                    {
                        queue.push(event);
                    }
                }
                Output::Media(MediaCommand::Leave { member }) => {
                    let Some(seat) = self.seats.remove(&member) else {
                        continue;
                    };
                    let exit = exit_sound.as_ref().filter(|_| subject == Some(member));
                    let leg_id = seat.leg_id;
                    if let Err(error) = services
                        .media
                        .leave(leg_id, exit.and_then(|(s, _)| beep(s)))
                    {
                        tracing::warn!(%error, %leg_id, "could not take the leg out of its room");
                    }
                    tracing::info!(member, call_uuid = %seat.call_uuid, %leg_id, "participant left");
                    if let Some((Sound::Url(url), method)) = exit {
                        self.play_sound(services, (url.clone(), *method));
                    }
                }
                Output::Media(MediaCommand::Update {
                    member,
                    participant,
                }) => {
                    if let Some(seat) = self.seats.get(&member)
                        && let Err(error) = services.media.update(seat.leg_id, participant)
                    {
                        tracing::warn!(%error, leg_id = %seat.leg_id, "could not update the participant");
                    }
                }
                Output::Media(MediaCommand::Relay { from, to, digits }) => {
                    tracing::info!(from, ?to, %digits, "relaying DTMF");
                    for leg_id in to
                        .iter()
                        .filter_map(|m| self.seats.get(m))
                        .map(|s| s.leg_id)
                    {
                        for digit in digits.chars() {
                            if let Err(error) = services.media.send_digit(leg_id, digit) {
                                tracing::warn!(%error, %leg_id, "could not relay a digit");
                            }
                        }
                    }
                }
                Output::Record(RecordCommand::Start { format }) => {
                    // A finished recording (file final, callbacks out) makes
                    // way for the next one.
                    if self.recording.as_ref().is_some_and(|r| !r.is_done()) {
                        tracing::warn!("the MPC is already recorded");
                    } else if let Some(room) = &self.room {
                        self.recording = Some(Recording::start(
                            services,
                            &self.engine,
                            Feed::Room(room.place()),
                            format,
                            self.recording_callback.clone(),
                            &self.clock,
                        ));
                        self.play_recording_audio(services, 0);
                    }
                }
                Output::Record(command @ (RecordCommand::Pause | RecordCommand::Resume)) => {
                    let paused = command == RecordCommand::Pause;
                    if let Some(room) = &self.room
                        && let Err(error) = services.media.pause_recording(room.place(), paused)
                    {
                        tracing::warn!(%error, "could not pause or resume the recording");
                    }
                    if let Some(recording) = &mut self.recording {
                        recording.paused(self.clock.now(), paused);
                    }
                }
                Output::Record(RecordCommand::Stop) => {
                    if let Some(room) = &self.room
                        && let Err(error) = services.media.stop_recording(room.place())
                    {
                        tracing::warn!(%error, "could not stop the recording");
                    }
                    self.play_recording_audio(services, 1);
                }
                // Participant track recordings.
                Output::Track {
                    member,
                    track,
                    command,
                } => {
                    if let Some(seat) = self.seats.get(&member) {
                        self.tracks.apply(
                            (services, &self.engine, &self.clock),
                            (member, track, command),
                            (seat.leg_id, &seat.call_uuid),
                            self.recording_callback.clone(),
                        );
                    }
                }
                // A start without a join (the API); a joining member's
                // start travels with its entrance, and starting twice is
                // harmless.
                Output::Media(MediaCommand::Start) => {
                    if let Some(room) = &self.room
                        && let Err(error) = services.media.start_room(room.place())
                    {
                        tracing::warn!(%error, "could not start the room");
                    }
                }
                // Joins are applied by the join itself; bridge sounds other
                // than enter/exit do not exist yet.
                Output::Joined { .. }
                | Output::Released { .. }
                | Output::Rejected { .. }
                | Output::Media(MediaCommand::Join { .. })
                | Output::Media(MediaCommand::Bridge { .. }) => {}
            }
        }
    }

    /// Plays `startRecordingAudio` (0) or `stopRecordingAudio` (1) once on
    /// the bridge; not when the recording stops because the MPC ended
    /// (nobody is left to hear it).
    fn play_recording_audio(&mut self, services: &MpcServices, which: usize) {
        if let Some(source) = self.recording_audio[which].clone()
            && !self.seats.is_empty()
        {
            self.play_sound(services, source);
        }
    }
}
