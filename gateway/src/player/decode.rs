//! Audio files to room samples: demux and decode with symphonia (WAV, MP3;
//! any channel count and rate), mix down to mono, resample with rubato to
//! the room's rate, and convert to 16-bit.
//!
//! Runs on a blocking thread (a minute of MP3 takes a few milliseconds to
//! decode, but nothing here should ever sit on the async runtime).

use symphonia::core::audio::GenericAudioBufferRef;
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;

use rubato::Resampler as _;

/// Longest audio file we decode: ten minutes (about 19 MB at 16 kHz). Music
/// loops, so a longer file buys nothing but memory.
pub const MAX_SECONDS: u32 = 600;

/// Why an audio file could not be turned into samples.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not a format we read (WAV, MP3), or a damaged file.
    #[error("unsupported or unreadable audio: {0}")]
    Format(#[from] SymphoniaError),
    /// The file holds no audio track or no samples.
    #[error("no audio in the file")]
    Empty,
    /// Longer than [`MAX_SECONDS`].
    #[error("audio longer than {MAX_SECONDS} s")]
    TooLong,
    /// The resampler refused the rates.
    #[error("cannot resample {from} Hz to {to} Hz: {source}")]
    Resample {
        /// The file's rate.
        from: u32,
        /// The room's rate.
        to: u32,
        /// What rubato said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Decodes a whole audio file to mono samples at `rate`. `extension`
/// (`wav`, `mp3`), when known from the URL, helps the format probe.
pub fn decode(bytes: Vec<u8>, extension: Option<&str>, rate: u32) -> Result<Vec<i16>, DecodeError> {
    let (mono, source_rate) = decode_mono(bytes, extension)?;
    if mono.is_empty() {
        return Err(DecodeError::Empty);
    }
    let resampled = resample(&mono, source_rate, rate)?;
    Ok(resampled
        .iter()
        .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16)
        .collect())
}

/// The file's samples, channels averaged, as f32 in [-1, 1], and its rate.
fn decode_mono(bytes: Vec<u8>, extension: Option<&str>) -> Result<(Vec<f32>, u32), DecodeError> {
    let stream = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let mut format = symphonia::default::get_probe()
        .probe(
            &hint,
            stream,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(DecodeError::Format)?;
    let track = format
        .default_track(TrackType::Audio)
        .ok_or(DecodeError::Empty)?;
    let track_id = track.id;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or(DecodeError::Empty)?;
    let mut decoder = symphonia::default::get_codecs()
        .make_audio_decoder(params, &AudioDecoderOptions::default())
        .map_err(DecodeError::Format)?;
    let mut mono = Vec::new();
    let mut interleaved = Vec::new();
    let mut rate = 0;
    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A damaged tail ends the file; what was decoded is kept.
            Err(SymphoniaError::IoError(_)) if !mono.is_empty() => break,
            Err(e) => return Err(e.into()),
        };
        if packet.track_id != track_id {
            continue;
        }
        let buffer = match decoder.decode(&packet) {
            Ok(buffer) => buffer,
            // One bad frame is skipped, as players do.
            Err(SymphoniaError::DecodeError(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        rate = buffer.spec().rate();
        append_mono(&buffer, &mut interleaved, &mut mono);
        if mono.len() as u64 > u64::from(MAX_SECONDS) * u64::from(rate.max(1)) {
            return Err(DecodeError::TooLong);
        }
    }
    Ok((mono, rate))
}

/// Appends a decoded buffer to `mono`, averaging its channels.
fn append_mono(buffer: &GenericAudioBufferRef<'_>, scratch: &mut Vec<f32>, mono: &mut Vec<f32>) {
    let channels = buffer.spec().channels().count().max(1);
    scratch.resize(buffer.samples_interleaved(), 0.0);
    buffer.copy_to_slice_interleaved(&mut scratch[..]);
    let scale = 1.0 / channels as f32;
    mono.extend(
        scratch
            .chunks_exact(channels)
            .map(|frame| frame.iter().sum::<f32>() * scale),
    );
}

/// Resamples a whole clip (band-limited FFT resampler, startup delay
/// trimmed, so the output lines up with the input).
fn resample(input: &[f32], from: u32, to: u32) -> Result<Vec<f32>, DecodeError> {
    if from == to {
        return Ok(input.to_vec());
    }
    let error = |source: Box<dyn std::error::Error + Send + Sync>| DecodeError::Resample {
        from,
        to,
        source,
    };
    let mut resampler = rubato::Fft::<f32>::new(
        from as usize,
        to as usize,
        1024,
        1,
        rubato::FixedSync::Input,
    )
    .map_err(|e| error(Box::new(e)))?;
    let adapter =
        rubato::audioadapter_buffers::direct::InterleavedSlice::new(input, 1, input.len())
            .map_err(|e| error(Box::new(e)))?;
    let output = resampler
        .process_all(&adapter, input.len(), None)
        .map_err(|e| error(Box::new(e)))?;
    Ok(output.take_data())
}

#[cfg(test)]
mod tests {
    use super::*;

    use chorus_tests::tone::wav_bytes as wav;

    /// A sine at −12 dBFS (peak 8231).
    fn sine(freq: f32, rate: u32, seconds: f32) -> Vec<i16> {
        chorus_tests::tone::sine(freq, rate, -12.0, (rate as f32 * seconds) as usize)
    }

    /// Zero crossings per second / 2: the frequency of a clean sine.
    fn frequency(pcm: &[i16], rate: u32) -> f32 {
        let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        crossings as f32 / 2.0 / (pcm.len() as f32 / rate as f32)
    }

    #[test]
    fn a_wav_at_the_room_rate_comes_back_sample_for_sample() {
        let tone = sine(440.0, 8000, 0.5);
        let out = decode(wav(&tone, 1, 8000), Some("wav"), 8000).unwrap();
        assert_eq!(out.len(), tone.len());
        let worst = out.iter().zip(&tone).map(|(a, b)| (a - b).abs()).max();
        assert!(worst <= Some(1), "worst difference {worst:?}");
    }

    #[test]
    fn stereo_44k1_is_mixed_down_and_resampled_keeping_pitch_and_length() {
        let left = sine(1000.0, 44_100, 1.0);
        let stereo: Vec<i16> = left.iter().flat_map(|&s| [s, s]).collect();
        for rate in [8000, 16000] {
            let out = decode(wav(&stereo, 2, 44_100), None, rate).unwrap();
            let expected = rate as usize;
            assert!(
                out.len().abs_diff(expected) <= 2,
                "{} samples at {rate}",
                out.len()
            );
            let hz = frequency(&out[100..out.len() - 100], rate);
            assert!((hz - 1000.0).abs() < 5.0, "{hz} Hz at {rate}");
            let peak = out.iter().map(|s| s.unsigned_abs()).max().unwrap();
            assert!((7000..=9000).contains(&peak), "peak {peak}");
        }
    }

    #[test]
    fn an_mp3_decodes_to_the_same_tone_at_the_room_rate() {
        use chorus_recorder::{Format, TrackWriter};
        let tone = sine(800.0, 16000, 1.0);
        let mut mp3 = std::io::Cursor::new(Vec::new());
        let mut track = TrackWriter::new(&mut mp3, Format::Mp3, 16000).unwrap();
        track.write(&tone).unwrap();
        track.finish().unwrap();
        let out = decode(mp3.into_inner(), Some("mp3"), 8000).unwrap();
        // MP3 frames pad the start and end: about a second, give or take.
        assert!((7000..=9500).contains(&out.len()), "{} samples", out.len());
        let middle = &out[1000..out.len() - 1000];
        let hz = frequency(middle, 8000);
        assert!((hz - 800.0).abs() < 10.0, "{hz} Hz");
        let peak = middle.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((6500..=9500).contains(&peak), "peak {peak}");
    }

    #[test]
    fn garbage_and_empty_files_are_clear_errors() {
        let error = decode(b"this is not audio".to_vec(), Some("mp3"), 8000).unwrap_err();
        assert!(matches!(error, DecodeError::Format(_)), "{error}");
        let error = decode(wav(&[], 1, 8000), Some("wav"), 8000).unwrap_err();
        assert!(
            matches!(error, DecodeError::Empty | DecodeError::Format(_)),
            "{error}"
        );
    }
}
