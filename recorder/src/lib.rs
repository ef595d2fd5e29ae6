//! Recording tracks to disk for chorus: the MPC mix (and, later,
//! per-participant tracks) as WAV or MP3.
//!
//! The media thread must not touch the disk, so a recording is split in
//! two. [`start`] creates a ring sized for [`RING_SECONDS`] of audio and a
//! writer thread; the returned [`Tap`] goes to the media thread, which
//! [`push`](Tap::push)es each mixed frame (no allocation, no blocking).
//! The writer thread drains the ring into a [`TrackWriter`], checkpoints the
//! file every second (a crash loses at most that much), and when the tap is
//! dropped finalises the file and reports a [`Finished`] — or, as soon as
//! anything fails (a full disk), the [`RecordError`], while the call goes on.
//! A file is `<name>.part` until it is final; those a crash cut short are
//! finished by [`repair_dir`] at start-up.
//!
//! ```no_run
//! use chorus_recorder::{Format, start};
//!
//! # fn main() -> Result<(), chorus_recorder::RecordError> {
//! let (done_tx, done_rx) = std::sync::mpsc::channel();
//! let mut tap = start("/var/lib/chorus/recordings/r1.wav".into(), Format::Wav, 8000, move |r| {
//!     let _ = done_tx.send(r);
//! })?;
//! tap.push(&[0i16; 160]); // one 20 ms frame, on the media thread
//! drop(tap); // the recording ends
//! let finished = done_rx.recv().unwrap()?;
//! assert_eq!(finished.samples, 160);
//! # Ok(())
//! # }
//! ```

mod recording;
mod repair;
mod track;

use std::path::PathBuf;

pub use recording::{Finished, PART_SUFFIX, RING_SECONDS, Tap, part_path, start};
pub use repair::{Repair, repair_dir, repair_wav};
pub use track::{Format, TrackWriter};

/// Why a recording failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Its directory or file could not be created.
    #[error("cannot create the recording {path}: {source}")]
    Create {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing failed (a full disk, say).
    #[error("cannot write the recording: {0}")]
    Io(#[from] std::io::Error),
    /// Writing the WAV file failed.
    #[error("cannot write the WAV recording: {0}")]
    Wav(#[from] hound::Error),
    /// The MP3 encoder refused its settings.
    #[error("cannot set up the MP3 encoder: {0}")]
    Mp3Setup(#[from] mp3lame_encoder::BuildError),
    /// The MP3 encoder failed.
    #[error("cannot encode MP3: {0}")]
    Mp3Encode(#[from] mp3lame_encoder::EncodeError),
}
