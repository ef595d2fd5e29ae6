//! The MPC recording: when the engine says start, a file is opened in
//! `recording.dir` (see [`chorus_recorder`]) and the room's recording mix
//! is fed to it; when the engine says stop (the MPC ended), the room lets
//! go of it and the writer finalises the file. Each step is reported to
//! `recordingCallbackUrl` — MPCRecordingInitiated, then
//! MPCRecordingCompleted or MPCRecordingFailed — and logged and counted
//! whether or not the application gave that URL. The MPC's task drives the
//! writer's answer and the callbacks ([`Recording::progress`]).
//!
//! A participant track recording (see [`super::tracks`]) is a
//! [`Recording`] of the same kind fed by one member's track instead of the
//! room's mix ([`Feed::Track`]); its events are `ParticipantRecording…`
//! and name the member, its call and the track.
//!
//! `startRecordingAudio` / `stopRecordingAudio` (the MPC creator's, like
//! the other recording settings): when the MPC recording starts or stops,
//! that sound document is played once on the bridge, so everyone who hears
//! the bridge hears it (and so does the recording, when it starts).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use chorus_mpc::{
    Mpc, RecordingEvent, RecordingEventName, RecordingFields, Timestamp, TrackFields,
};
use chorus_recorder::{Finished, Format, RecordError};
use chorus_xml::{Method, RecordFileFormat};
use tokio::sync::oneshot;

use super::clock::MpcClock;
use super::services::MpcServices;
use super::watch::{EventBus, Watched};
use crate::events::CallbackQueue;
use crate::media::{LegId, RoomKey, TrackChange};

/// What a recording is fed.
pub(super) enum Feed {
    /// The room's recording mix (the MPC recording).
    Room((usize, RoomKey)),
    /// One track of the member on this leg.
    Track(LegId, TrackFields),
}

/// One recording of an MPC, from its start until its last callback.
pub(super) struct Recording {
    fields: RecordingFields,
    callbacks: Option<CallbackQueue<RecordingEvent>>,
    events: EventBus,
    sequence: u64,
    /// The writer's answer, until it came.
    finished: Option<oneshot::Receiver<Result<Finished, RecordError>>>,
}

impl Recording {
    /// Starts recording `feed` in `format` (the engine's Record or Track
    /// Start), reporting to `callback` if given.
    pub(super) fn start(
        services: &MpcServices,
        engine: &Mpc,
        feed: Feed,
        format: RecordFileFormat,
        callback: Option<(String, Method)>,
        clock: &MpcClock,
    ) -> Self {
        let started = clock.now();
        let config = &services.recording;
        let uuid = uuid::Uuid::new_v4().to_string();
        let file_name = format!("{uuid}.{}", format.as_str());
        let path = config.dir.join(&file_name);
        let url = match &config.url_base {
            Some(base) => format!("{base}/{file_name}"),
            None => format!("file://{}", path.display()),
        };
        let callbacks = callback.map(|(url, method)| {
            CallbackQueue::new(services.http.clone(), url, method, services.metrics.clone())
        });
        let mut recording = Self {
            fields: RecordingFields {
                mpc_uuid: engine.uuid().to_owned(),
                mpc_name: engine.name().to_owned(),
                uuid,
                format,
                url,
                resource_url: String::new(),
                started,
                participant: match &feed {
                    Feed::Room(_) => None,
                    Feed::Track(_, fields) => Some(fields.clone()),
                },
            },
            callbacks,
            events: services.events.clone(),
            sequence: 0,
            finished: None,
        };
        recording.report(RecordingEventName::Initiated, started, None);
        let (done_tx, done_rx) = oneshot::channel();
        let format = match format {
            RecordFileFormat::Wav => Format::Wav,
            RecordFileFormat::Mp3 => Format::Mp3,
        };
        let done = move |result| {
            let _ = done_tx.send(result);
        };
        match chorus_recorder::start(path, format, services.player.sample_rate(), done) {
            Ok(tap) => {
                let fed = match feed {
                    Feed::Room(room) => services.media.record(room, tap),
                    Feed::Track(leg_id, fields) => {
                        let change = TrackChange::Start(tap);
                        services.media.change_track(leg_id, fields.track, change)
                    }
                };
                if let Err(error) = fed {
                    // The tap went with the refused command: the file ends
                    // at once, empty, and is reported like any other.
                    tracing::warn!(%error, "could not start feeding the recording");
                }
                recording.finished = Some(done_rx);
            }
            Err(error) => recording.ended(services, clock.now(), Err(error)),
        }
        recording
    }

    /// True once the file is final and every callback about it is out.
    pub(super) fn is_done(&self) -> bool {
        self.finished.is_none() && self.callbacks.as_ref().is_none_or(CallbackQueue::is_idle)
    }

    /// Delivers the next callback due of any of `recordings` or, when
    /// none is due, waits for the first writer's answer; pends for ever
    /// when neither is due (or there is no recording).
    pub(super) async fn progress(
        recordings: &mut [Self],
        services: &MpcServices,
        clock: &MpcClock,
    ) {
        let due = recordings
            .iter_mut()
            .find_map(|r| r.callbacks.as_mut().filter(|q| !q.is_idle()));
        if let Some(callbacks) = due {
            return callbacks.deliver_next().await;
        }
        let (i, result) = std::future::poll_fn(|cx| {
            for (i, r) in recordings.iter_mut().enumerate() {
                if let Some(finished) = &mut r.finished
                    && let Poll::Ready(result) = Pin::new(finished).poll(cx)
                {
                    return Poll::Ready((i, result));
                }
            }
            Poll::Pending
        })
        .await;
        // The writer thread always answers; a closed channel means it
        // panicked, which is a failure like any other.
        let result = result.unwrap_or_else(|_| {
            Err(RecordError::Io(std::io::Error::other(
                "the recording's writer thread died",
            )))
        });
        recordings[i].finished = None;
        recordings[i].ended(services, clock.now(), result);
    }

    /// The recording was paused (true) or resumed at `at` (the media room
    /// leaves paused time out of the file).
    pub(super) fn paused(&mut self, at: Timestamp, paused: bool) {
        let name = match paused {
            true => RecordingEventName::Paused,
            false => RecordingEventName::Resumed,
        };
        self.report(name, at, None);
    }

    /// What the API says of this recording: its id and URL.
    pub(super) fn fields(&self) -> &RecordingFields {
        &self.fields
    }

    /// Reports how the recording ended: the file complete, or why not.
    fn ended(
        &mut self,
        services: &MpcServices,
        at: Timestamp,
        result: Result<Finished, RecordError>,
    ) {
        match result {
            Ok(finished) => {
                let secs = finished.duration().as_secs_f64().round() as u64;
                if finished.dropped > 0 {
                    tracing::warn!(
                        path = %finished.path.display(),
                        dropped_samples = finished.dropped,
                        "the disk fell behind: frames of the recording were replaced by silence"
                    );
                }
                services.metrics.recording(true);
                self.report(RecordingEventName::Completed, at, Some((at, secs)));
            }
            Err(error) => {
                let what = match self.fields.participant {
                    None => "MPC recording",
                    Some(_) => "participant track recording",
                };
                tracing::warn!(
                    recording_uuid = %self.fields.uuid,
                    %error,
                    "{what} failed; the call goes on"
                );
                services.metrics.recording(false);
                self.report(RecordingEventName::Failed, at, None);
            }
        }
    }

    fn report(&mut self, name: RecordingEventName, at: Timestamp, ended: Option<(Timestamp, u64)>) {
        self.sequence += 1;
        let event = RecordingEvent {
            name,
            at,
            sequence: self.sequence,
            recording: self.fields.clone(),
            ended,
        };
        tracing::info!(
            recording_uuid = %self.fields.uuid,
            event = event.name_str(),
            url = %self.fields.url,
            duration_secs = ended.map(|(_, secs)| secs),
            "recording event"
        );
        self.events
            .publish(Watched::Recording(std::sync::Arc::new(event.clone())));
        if let Some(callbacks) = &mut self.callbacks {
            callbacks.push(event);
        }
    }
}
