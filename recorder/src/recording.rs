//! A recording in progress: the media thread's [`Tap`], a ring sized when
//! the recording starts, and a writer thread that drains it to disk.

use std::fs::File;
use std::io::{BufWriter, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rtrb::{Consumer, Producer, RingBuffer};

use crate::RecordError;
use crate::track::{Format, TrackWriter};

/// How much audio the ring holds: the writer may stall this long (a slow
/// disk) before the media thread has to drop frames.
pub const RING_SECONDS: u32 = 10;
/// How often the writer thread wakes to drain the ring.
const POLL: Duration = Duration::from_millis(50);
/// How often the file is made readable as it stands (see
/// [`TrackWriter::checkpoint`]): at most this much is lost if chorusd dies.
const CHECKPOINT: Duration = Duration::from_secs(1);

/// The media thread's end of a recording. Dropping it ends the recording:
/// the writer drains what is left and finalises the file.
pub struct Tap {
    ring: Producer<i16>,
    dropped: Arc<AtomicU64>,
}

impl Tap {
    /// Hands a frame to the writer without blocking or allocating. If the
    /// writer is [`RING_SECONDS`] behind, the frame is dropped and counted;
    /// the writer puts as much silence in its place, so the file keeps the
    /// call's length.
    pub fn push(&mut self, frame: &[i16]) {
        match self.ring.write_chunk_uninit(frame.len()) {
            Ok(chunk) => {
                chunk.fill_from_iter(frame.iter().copied());
            }
            Err(_) => {
                self.dropped
                    .fetch_add(frame.len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// A recording that ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The file.
    pub path: PathBuf,
    /// Samples in it.
    pub samples: u64,
    /// Its rate in Hz.
    pub sample_rate: u32,
    /// Of those, samples of silence standing for frames the writer was too
    /// slow to take (0 on a healthy disk).
    pub dropped: u64,
}

impl Finished {
    /// The recording's length.
    pub fn duration(&self) -> Duration {
        match self.sample_rate {
            0 => Duration::ZERO,
            rate => Duration::from_secs_f64(self.samples as f64 / f64::from(rate)),
        }
    }
}

/// Starts recording `sample_rate` Hz mono audio to a new file at `path`
/// (its directory is created; an existing file is never overwritten) on
/// its own thread. While it grows the file is `<path>.part` (see
/// [`part_path`]); it takes its name once final. `done` is called on that
/// thread once the file is final (after the [`Tap`] is dropped) or as soon
/// as writing fails (then the tap's frames go nowhere until it is dropped,
/// and the `.part` file is left for [`crate::repair_dir`]).
pub fn start(
    path: PathBuf,
    format: Format,
    sample_rate: u32,
    done: impl FnOnce(Result<Finished, RecordError>) + Send + 'static,
) -> Result<Tap, RecordError> {
    let (producer, consumer) = RingBuffer::new((sample_rate * RING_SECONDS) as usize);
    let dropped = Arc::new(AtomicU64::new(0));
    let tap = Tap {
        ring: producer,
        dropped: dropped.clone(),
    };
    std::thread::Builder::new()
        .name("chorus-recorder".to_owned())
        .spawn(move || done(write_file(path, format, sample_rate, consumer, dropped)))?;
    Ok(tap)
}

/// The writer thread's work.
fn write_file(
    path: PathBuf,
    format: Format,
    sample_rate: u32,
    ring: Consumer<i16>,
    dropped: Arc<AtomicU64>,
) -> Result<Finished, RecordError> {
    let part = part_path(&path);
    let file = create_part(&path, &part).map_err(|source| RecordError::Create {
        path: path.clone(),
        source,
    })?;
    let track = TrackWriter::new(BufWriter::new(file), format, sample_rate)?;
    let mut drain = Drain::new(ring, dropped, track);
    let mut checkpointed = Instant::now();
    while !drain.step()? {
        if checkpointed.elapsed() >= CHECKPOINT {
            drain.track.checkpoint()?;
            checkpointed = Instant::now();
        }
        std::thread::sleep(POLL);
    }
    let Drain { track, filled, .. } = drain;
    let samples = track.samples();
    track.finish()?;
    std::fs::rename(&part, &path)?;
    Ok(Finished {
        path,
        samples,
        sample_rate,
        dropped: filled,
    })
}

/// Creates `part` for a recording bound for `path`, its directory first;
/// neither file may exist yet.
fn create_part(path: &Path, part: &Path) -> std::io::Result<File> {
    if path.try_exists()? {
        return Err(std::io::ErrorKind::AlreadyExists.into());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    File::create_new(part)
}

/// Where a recording bound for `path` grows: `<path>.part`.
pub fn part_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(PART_SUFFIX);
    PathBuf::from(name)
}

/// The suffix of a recording still being written (or cut short).
pub const PART_SUFFIX: &str = ".part";

/// Moves audio from the ring to the track.
struct Drain<W: Write + Seek> {
    ring: Consumer<i16>,
    dropped: Arc<AtomicU64>,
    /// Dropped samples already replaced by silence.
    filled: u64,
    track: TrackWriter<W>,
}

impl<W: Write + Seek> Drain<W> {
    fn new(ring: Consumer<i16>, dropped: Arc<AtomicU64>, track: TrackWriter<W>) -> Self {
        Self {
            ring,
            dropped,
            filled: 0,
            track,
        }
    }

    /// Writes what the ring holds, then silence for frames dropped since
    /// the last step. True once the tap is gone and everything is written.
    fn step(&mut self) -> Result<bool, RecordError> {
        // Look before draining: a tap dropped after this point had put all
        // its frames in the ring by then.
        let abandoned = self.ring.is_abandoned();
        let available = self.ring.slots();
        if let Ok(chunk) = self.ring.read_chunk(available) {
            let (first, second) = chunk.as_slices();
            self.track.write(first)?;
            self.track.write(second)?;
            chunk.commit_all();
        }
        const SILENCE: [i16; 800] = [0; 800];
        let lost = self.dropped.load(Ordering::Relaxed);
        while self.filled < lost {
            let n = (lost - self.filled).min(SILENCE.len() as u64);
            self.track.write(&SILENCE[..n as usize])?;
            self.filled += n;
        }
        Ok(abandoned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_the_writer_missed_become_silence_of_the_same_length() {
        let (producer, consumer) = RingBuffer::new(320);
        let dropped = Arc::new(AtomicU64::new(0));
        let mut tap = Tap {
            ring: producer,
            dropped: dropped.clone(),
        };
        let path = std::env::temp_dir().join(format!("chorus-drain-{}.wav", std::process::id()));
        let track = TrackWriter::new(File::create(&path).unwrap(), Format::Wav, 8000).unwrap();
        let mut drain = Drain::new(consumer, dropped, track);
        tap.push(&[100; 160]);
        tap.push(&[200; 160]);
        tap.push(&[300; 160]); // the ring is full: dropped
        assert!(!drain.step().unwrap());
        tap.push(&[400; 160]);
        drop(tap);
        assert!(drain.step().unwrap(), "the tap is gone and all is written");
        assert_eq!(drain.filled, 160);
        assert_eq!(drain.track.samples(), 640);
        drain.track.finish().unwrap();
        let samples: Vec<i16> = hound::WavReader::open(&path)
            .unwrap()
            .into_samples()
            .map(Result::unwrap)
            .collect();
        std::fs::remove_file(&path).unwrap();
        let expected: Vec<i16> = [100, 200, 0, 400].iter().flat_map(|&v| [v; 160]).collect();
        assert_eq!(samples, expected);
    }
}
