//! WAV recordings cut short by a crash are repaired to their full length.

use std::fs::File;
use std::path::{Path, PathBuf};

use chorus_recorder::{Format, Repair, TrackWriter, repair_dir, repair_wav};

fn scratch() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("chorus-repair-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ramp(n: usize) -> Vec<i16> {
    (0..n).map(|i| (i % 2000) as i16 - 1000).collect()
}

/// A WAV recording as a crash leaves it: checkpointed after `checkpointed`
/// samples, then `more` written, then the process gone.
fn crashed_wav(path: &Path, checkpointed: &[i16], more: &[i16]) {
    // Unbuffered, so every write reaches the file as it would by the time
    // of a crash a second later.
    let mut track = TrackWriter::new(File::create(path).unwrap(), Format::Wav, 8000).unwrap();
    track.write(checkpointed).unwrap();
    track.checkpoint().unwrap();
    track.write(more).unwrap();
    // A dead process finalises nothing.
    std::mem::forget(track);
}

fn samples(path: &Path) -> Vec<i16> {
    hound::WavReader::open(path)
        .unwrap()
        .into_samples()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn a_wav_a_crash_cut_short_plays_to_its_end_after_repair() {
    let dir = scratch();
    let path = dir.join("crashed.wav");
    let audio = ramp(12_000);
    crashed_wav(&path, &audio[..8000], &audio[8000..]);
    assert_eq!(
        samples(&path).len(),
        8000,
        "the stale header hides the rest"
    );

    assert_eq!(
        repair_wav(&path).unwrap(),
        Repair::Repaired { bytes: 24_000 }
    );
    assert_eq!(samples(&path), audio);
    assert_eq!(repair_wav(&path).unwrap(), Repair::Intact);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_half_sample_at_the_end_is_dropped() {
    let dir = scratch();
    let path = dir.join("odd.wav");
    let audio = ramp(4000);
    crashed_wav(&path, &audio, &[]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.push(0x7f);
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(repair_wav(&path).unwrap(), Repair::Repaired { bytes: 8000 });
    assert_eq!(samples(&path), audio);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn what_a_crash_left_in_a_directory_is_finished_and_named_and_the_rest_left_alone() {
    let dir = scratch();
    let audio = ramp(6000);
    crashed_wav(
        &dir.join("crashed.wav.part"),
        &audio[..2000],
        &audio[2000..],
    );
    let mut good = TrackWriter::new(
        File::create(dir.join("good.wav")).unwrap(),
        Format::Wav,
        8000,
    )
    .unwrap();
    good.write(&audio).unwrap();
    good.finish().unwrap();
    std::fs::write(dir.join("notes.wav.part"), b"not a recording").unwrap();
    std::fs::write(dir.join("cut.mp3.part"), b"\xff\xf3 frames").unwrap();
    std::fs::write(dir.join("other.txt.part"), b"not ours").unwrap();

    let mut report = repair_dir(&dir);
    report.sort_by(|a, b| a.0.cmp(&b.0));
    let got: Vec<(String, Repair)> = report
        .into_iter()
        .map(|(path, result)| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, result.unwrap())
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "crashed.wav.part".to_owned(),
                Repair::Repaired { bytes: 12_000 }
            ),
            ("cut.mp3.part".to_owned(), Repair::Intact),
            ("notes.wav.part".to_owned(), Repair::NotWav),
        ]
    );
    assert_eq!(samples(&dir.join("crashed.wav")), audio);
    assert_eq!(
        std::fs::read(dir.join("cut.mp3")).unwrap(),
        b"\xff\xf3 frames"
    );
    assert_eq!(samples(&dir.join("good.wav")), audio);
    assert_eq!(
        std::fs::read(dir.join("notes.wav.part")).unwrap(),
        b"not a recording"
    );
    assert!(dir.join("other.txt.part").exists());
    assert!(!dir.join("crashed.wav.part").exists() && !dir.join("cut.mp3.part").exists());
    assert!(repair_dir(&dir.join("missing")).is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}
