//! Recordings written through the public API, read back from disk.

use std::io::{self, Cursor, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chorus_recorder::{Finished, Format, RecordError, Tap, TrackWriter, part_path, start};

/// A fresh path in a directory of its own.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir()
        .join(format!("chorus-recorder-{}-{nanos}", std::process::id()))
        .join(name)
}

/// `seconds` of a `hz` sine at `rate`, amplitude 8000.
fn sine(hz: f64, rate: u32, seconds: f64) -> Vec<i16> {
    (0..(f64::from(rate) * seconds) as usize)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (8000.0 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
        })
        .collect()
}

fn record(
    path: PathBuf,
    format: Format,
    rate: u32,
) -> (Tap, mpsc::Receiver<Result<Finished, RecordError>>) {
    let (tx, rx) = mpsc::channel();
    let tap = start(path, format, rate, move |result| {
        let _ = tx.send(result);
    })
    .unwrap();
    (tap, rx)
}

fn push_frames(tap: &mut Tap, samples: &[i16], rate: u32) {
    for frame in samples.chunks((rate / 50) as usize) {
        tap.push(frame);
    }
}

#[test]
fn a_wav_recording_holds_exactly_what_the_tap_was_given() {
    for rate in [8000, 16000] {
        let path = scratch("mix.wav");
        let (mut tap, done) = record(path.clone(), Format::Wav, rate);
        let tone = sine(440.0, rate, 1.5);
        push_frames(&mut tap, &tone, rate);
        drop(tap);
        let finished = done.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(finished.samples, tone.len() as u64);
        assert_eq!(finished.duration(), Duration::from_millis(1500));
        assert_eq!(finished.dropped, 0);
        assert_eq!(finished.path, path);
        assert!(!part_path(&path).exists(), "the .part file took its name");
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, rate);
        assert_eq!(reader.spec().channels, 1);
        let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        assert_eq!(samples, tone);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}

#[test]
fn a_wav_recording_is_readable_while_it_is_still_being_made() {
    let path = scratch("live.wav");
    let (mut tap, done) = record(path.clone(), Format::Wav, 8000);
    push_frames(&mut tap, &sine(440.0, 8000, 2.0), 8000);
    // The writer checkpoints every second: the header on disk soon counts
    // the samples, as it would if chorusd died now. Until it is final the
    // file is <name>.part.
    let deadline = Instant::now() + Duration::from_secs(5);
    let part = part_path(&path);
    loop {
        let readable = hound::WavReader::open(&part).map(|r| r.len()).unwrap_or(0);
        if readable == 16000 {
            break;
        }
        assert!(Instant::now() < deadline, "{readable} samples readable");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!path.exists());
    drop(tap);
    done.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
    assert_eq!(hound::WavReader::open(&path).unwrap().len(), 16000);
    assert!(!part.exists());
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// Splits an MPEG-2/2.5 layer III stream into its frames, checking each
/// header's sync word and rate: a frame at `kbps` and `rate` is
/// 72 000 * kbps / rate bytes, plus a padding byte when flagged.
fn mp3_frames(bytes: &[u8]) -> Vec<&[u8]> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at + 4 <= bytes.len() {
        let header = &bytes[at..at + 4];
        assert_eq!((header[0], header[1] & 0xe0), (0xff, 0xe0), "sync at {at}");
        let version = (header[1] >> 3) & 3; // 0: MPEG 2.5, 2: MPEG 2
        let kbps = [0, 8, 16, 24, 32, 40, 48, 56, 64][usize::from(header[2] >> 4)];
        let rate = match (version, (header[2] >> 2) & 3) {
            (0, 2) => 8000,
            (2, 2) => 16000,
            other => panic!("unexpected version/rate {other:?}"),
        };
        let padding = usize::from((header[2] >> 1) & 1);
        let len = 72_000 * kbps / rate + padding;
        frames.push(&bytes[at..(at + len).min(bytes.len())]);
        at += len;
    }
    frames
}

#[test]
fn an_mp3_recording_is_a_cbr_stream_at_the_mix_rate_with_an_info_frame() {
    for rate in [8000, 16000] {
        let path = scratch("mix.mp3");
        let (mut tap, done) = record(path.clone(), Format::Mp3, rate);
        push_frames(&mut tap, &sine(440.0, rate, 3.0), rate);
        drop(tap);
        let finished = done.recv_timeout(Duration::from_secs(5)).unwrap().unwrap();
        assert_eq!(finished.samples, u64::from(rate) * 3);
        let bytes = std::fs::read(&path).unwrap();
        let frames = mp3_frames(&bytes);
        // 576 samples per MPEG-2/2.5 layer III frame: 3 s plus the
        // encoder's delay and padding, plus the info frame.
        let audio_frames = (rate * 3).div_ceil(576) as usize;
        assert!(
            (audio_frames + 1..=audio_frames + 4).contains(&frames.len()),
            "{} frames at {rate} Hz",
            frames.len()
        );
        // The first frame is LAME's info frame, filled in at the end: it
        // counts the audio frames after it (the placeholder holds zeros).
        let info = frames[0];
        let at = info
            .windows(4)
            .position(|w| w == b"Info")
            .expect("no info frame");
        assert!(info.windows(4).any(|w| w == b"LAME"), "no LAME tag");
        let flags = u32::from_be_bytes(info[at + 4..at + 8].try_into().unwrap());
        assert_eq!(flags & 1, 1, "no frame count");
        let counted = u32::from_be_bytes(info[at + 8..at + 12].try_into().unwrap());
        assert_eq!(counted as usize, frames.len() - 1, "at {rate} Hz");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}

#[test]
fn an_unusable_directory_fails_the_recording_with_the_path() {
    let blocker = scratch("a-file");
    std::fs::create_dir_all(blocker.parent().unwrap()).unwrap();
    std::fs::write(&blocker, b"not a directory").unwrap();
    let path = blocker.join("mix.wav");
    let (mut tap, done) = record(path.clone(), Format::Wav, 8000);
    tap.push(&[0; 160]); // goes nowhere, harmlessly
    let error = done
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&error, RecordError::Create { path: p, .. } if *p == path),
        "{error}"
    );
    assert!(error.to_string().contains("a-file/mix.wav"), "{error}");
    drop(tap);
    std::fs::remove_dir_all(blocker.parent().unwrap()).unwrap();
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let path = scratch("taken.wav");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"somebody's recording").unwrap();
    let (tap, done) = record(path.clone(), Format::Wav, 8000);
    let error = done
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert!(matches!(error, RecordError::Create { .. }), "{error}");
    assert_eq!(std::fs::read(&path).unwrap(), b"somebody's recording");
    assert!(!part_path(&path).exists(), "nothing left behind");
    drop(tap);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

/// A sink that runs out of space after `room` bytes, like a full disk.
struct FullDisk {
    inner: Cursor<Vec<u8>>,
    room: u64,
}

impl Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.inner.position() + buf.len() as u64 > self.room {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for FullDisk {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

#[test]
fn a_full_disk_is_an_error_not_a_panic_or_a_silent_loss() {
    for format in [Format::Wav, Format::Mp3] {
        let sink = FullDisk {
            inner: Cursor::new(Vec::new()),
            room: 4096,
        };
        let mut track = TrackWriter::new(sink, format, 8000).unwrap();
        let frame = sine(440.0, 8000, 0.02);
        let error = (0..500)
            .find_map(|_| track.write(&frame).and_then(|()| track.checkpoint()).err())
            .unwrap_or_else(|| panic!("{format:?}: 10 s written into 4 KiB"));
        let full = match &error {
            RecordError::Io(e) => e.kind() == io::ErrorKind::StorageFull,
            RecordError::Wav(hound::Error::IoError(e)) => e.kind() == io::ErrorKind::StorageFull,
            _ => false,
        };
        assert!(full, "{format:?}: {error}");
    }
}
