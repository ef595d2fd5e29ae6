//! The MPC recording: when the engine says start, a file is opened in
//! `recording.dir` (see [`chorus_recorder`]) and the room's recording mix
//! is fed to it; when the engine says stop (the MPC ended), the room lets
//! go of it and the writer finalises the file. Each step is reported to
//! `recordingCallbackUrl` — MPCRecordingInitiated, then
//! MPCRecordingCompleted or MPCRecordingFailed — and logged and counted
//! whether or not the application gave that URL.

use chorus_mpc::{RecordingEvent, RecordingEventName, RecordingFields, Timestamp};
use chorus_recorder::{Finished, Format, RecordError};
use chorus_xml::{Method, RecordFileFormat};
use tokio::sync::{mpsc, oneshot};

use super::{MpcEntry, MpcRegistry, now};
use crate::events::spawn_callbacks;

/// Where an MPC's recording events go: `recordingCallbackUrl` and method.
pub type RecordingCallback = Option<(String, Method)>;

/// Reports one recording's events, numbered in order.
struct Reporter {
    fields: RecordingFields,
    callbacks: Option<mpsc::UnboundedSender<RecordingEvent>>,
    sequence: u64,
}

impl Reporter {
    fn report(&mut self, name: RecordingEventName, at: Timestamp, ended: Option<(Timestamp, u64)>) {
        self.sequence += 1;
        tracing::info!(
            mpc_uuid = %self.fields.mpc_uuid,
            recording_uuid = %self.fields.uuid,
            event = name.as_str(),
            url = %self.fields.url,
            duration_secs = ended.map(|(_, secs)| secs),
            "MPC recording event"
        );
        if let Some(callbacks) = &self.callbacks {
            let _ = callbacks.send(RecordingEvent {
                name,
                at,
                sequence: self.sequence,
                recording: self.fields.clone(),
                ended,
            });
        }
    }
}

impl MpcRegistry {
    /// Starts the MPC's recording in `format` (the engine's Record Start).
    pub(super) fn start_recording(&self, entry: &MpcEntry, format: RecordFileFormat) {
        let started = now();
        let config = &self.inner.recording;
        let uuid = uuid::Uuid::new_v4().to_string();
        let file_name = format!("{uuid}.{}", format.as_str());
        let path = config.dir.join(&file_name);
        let url = match &config.url_base {
            Some(base) => format!("{base}/{file_name}"),
            None => format!("file://{}", path.display()),
        };
        let callbacks = entry.recording_callback.as_ref().map(|(url, method)| {
            spawn_callbacks(
                &self.inner.deliveries,
                self.inner.http.clone(),
                url.clone(),
                *method,
                self.inner.metrics.clone(),
            )
        });
        let mut reporter = Reporter {
            fields: RecordingFields {
                mpc_uuid: entry.engine.uuid().to_owned(),
                mpc_name: entry.engine.name().to_owned(),
                uuid,
                format,
                url,
                resource_url: String::new(),
                started,
            },
            callbacks,
            sequence: 0,
        };
        reporter.report(RecordingEventName::Initiated, started, None);
        let (done_tx, done_rx) = oneshot::channel();
        let format = match format {
            RecordFileFormat::Wav => Format::Wav,
            RecordFileFormat::Mp3 => Format::Mp3,
        };
        let rate = self.inner.player.sample_rate();
        let done = move |result| {
            let _ = done_tx.send(result);
        };
        match chorus_recorder::start(path, format, rate, done) {
            Ok(tap) => {
                if let Err(error) = self.inner.media.record(entry.room.place(), tap) {
                    // The tap went with the refused command: the file ends
                    // at once, empty, and is reported like any other.
                    tracing::warn!(%error, "could not start feeding the recording");
                }
            }
            Err(error) => {
                self.recording_ended(&mut reporter, Err(error));
                return;
            }
        }
        let registry = self.clone();
        self.inner.deliveries.spawn(async move {
            // The writer thread always answers; a closed channel means it
            // panicked, which is a failure like any other.
            let result = done_rx.await.unwrap_or_else(|_| {
                Err(RecordError::Io(std::io::Error::other(
                    "the recording's writer thread died",
                )))
            });
            registry.recording_ended(&mut reporter, result);
        });
    }

    /// Stops feeding the MPC's recording (the engine's Record Stop); the
    /// writer then finalises the file.
    pub(super) fn stop_recording(&self, entry: &MpcEntry) {
        if let Err(error) = self.inner.media.stop_recording(entry.room.place()) {
            tracing::warn!(%error, "could not stop the recording");
        }
    }

    /// Reports how a recording ended: the file complete, or why not.
    fn recording_ended(&self, reporter: &mut Reporter, result: Result<Finished, RecordError>) {
        let at = now();
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
                self.inner.metrics.recording(true);
                reporter.report(RecordingEventName::Completed, at, Some((at, secs)));
            }
            Err(error) => {
                tracing::warn!(
                    mpc_uuid = %reporter.fields.mpc_uuid,
                    recording_uuid = %reporter.fields.uuid,
                    %error,
                    "MPC recording failed; the call goes on"
                );
                self.inner.metrics.recording(false);
                reporter.report(RecordingEventName::Failed, at, None);
            }
        }
    }
}
