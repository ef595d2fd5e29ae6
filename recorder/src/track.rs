//! Writing one mono 16-bit track to a file, as WAV or MP3.

use std::io::{Seek, SeekFrom, Write};

use mp3lame_encoder::{Bitrate, Builder, FlushGap, Mode, MonoPcm, Quality, VbrMode};

use crate::RecordError;

/// A recording's file format (`recordFileFormat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// RIFF WAVE, 16-bit PCM.
    Wav,
    /// MPEG audio layer III, constant bitrate, with a LAME info frame.
    Mp3,
}

impl Format {
    /// The file extension, which is also the name Plivo reports
    /// (`RecordingFormat`).
    pub fn extension(self) -> &'static str {
        match self {
            Self::Wav => "wav",
            Self::Mp3 => "mp3",
        }
    }
}

/// Writes 16-bit mono samples at one rate to `sink` in a [`Format`].
///
/// [`checkpoint`](Self::checkpoint) makes everything written so far
/// readable even if the process dies before [`finish`](Self::finish): a WAV
/// header gets its sizes rewritten, MP3 frames are self-delimiting.
pub struct TrackWriter<W: Write + Seek> {
    encoder: Encoder<W>,
    samples: u64,
}

enum Encoder<W: Write + Seek> {
    Wav(hound::WavWriter<W>),
    Mp3 {
        lame: Box<mp3lame_encoder::Encoder>,
        sink: W,
        /// Where the LAME info frame goes at `finish` (the stream's start).
        start: u64,
        /// Encoded bytes between `encode` and the sink; reused.
        buffer: Vec<u8>,
    },
}

impl<W: Write + Seek> TrackWriter<W> {
    /// Starts a track at `sample_rate` Hz (8000 or 16000 for chorus's
    /// mixes; MP3 takes any MPEG rate from 8000 to 48000).
    pub fn new(mut sink: W, format: Format, sample_rate: u32) -> Result<Self, RecordError> {
        let encoder = match format {
            Format::Wav => Encoder::Wav(hound::WavWriter::new(
                sink,
                hound::WavSpec {
                    channels: 1,
                    sample_rate,
                    bits_per_sample: 16,
                    sample_format: hound::SampleFormat::Int,
                },
            )?),
            Format::Mp3 => {
                let start = sink.stream_position()?;
                Encoder::Mp3 {
                    lame: Box::new(mp3_encoder(sample_rate)?),
                    sink,
                    start,
                    buffer: Vec::new(),
                }
            }
        };
        Ok(Self {
            encoder,
            samples: 0,
        })
    }

    /// Appends samples.
    pub fn write(&mut self, samples: &[i16]) -> Result<(), RecordError> {
        match &mut self.encoder {
            Encoder::Wav(wav) => {
                let mut writer = wav.get_i16_writer(samples.len() as u32);
                for &sample in samples {
                    writer.write_sample(sample);
                }
                writer.flush()?;
            }
            Encoder::Mp3 {
                lame, sink, buffer, ..
            } => {
                buffer.clear();
                // LAME takes the spare capacity as the output's size (an
                // empty buffer reads as unbounded): reserve the worst case.
                buffer.reserve(mp3lame_encoder::max_required_buffer_size(samples.len()));
                lame.encode_to_vec(MonoPcm(samples), buffer)?;
                sink.write_all(buffer)?;
            }
        }
        self.samples += samples.len() as u64;
        Ok(())
    }

    /// Makes what was written so far durable and readable as it stands.
    pub fn checkpoint(&mut self) -> Result<(), RecordError> {
        match &mut self.encoder {
            Encoder::Wav(wav) => wav.flush()?,
            Encoder::Mp3 { sink, .. } => sink.flush()?,
        }
        Ok(())
    }

    /// Samples written so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// Ends the track: the WAV header gets its final sizes; the MP3 encoder
    /// flushes its last frames and its info frame (exact length, so players
    /// drop the encoder's padding) replaces the placeholder at the start.
    pub fn finish(self) -> Result<(), RecordError> {
        match self.encoder {
            Encoder::Wav(wav) => wav.finalize()?,
            Encoder::Mp3 {
                mut lame,
                mut sink,
                start,
                mut buffer,
            } => {
                buffer.clear();
                // A flush writes at most 7200 bytes (LAME's documented bound).
                buffer.reserve(7200);
                lame.flush_to_vec::<FlushGap>(&mut buffer)?;
                sink.write_all(&buffer)?;
                buffer.clear();
                buffer.reserve(lame.lame_tag_size());
                if lame.lame_tag_encode_to_vec(&mut buffer).is_some() {
                    let end = sink.stream_position()?;
                    sink.seek(SeekFrom::Start(start))?;
                    sink.write_all(&buffer)?;
                    sink.seek(SeekFrom::Start(end))?;
                }
                sink.flush()?;
            }
        }
        Ok(())
    }
}

/// A mono CBR encoder at `sample_rate`, pinned so LAME cannot resample.
fn mp3_encoder(sample_rate: u32) -> Result<mp3lame_encoder::Encoder, RecordError> {
    let mut builder =
        Builder::new().ok_or(RecordError::Mp3Setup(mp3lame_encoder::BuildError::NoMem))?;
    builder.set_num_channels(1)?;
    builder.set_mode(Mode::Mono)?;
    builder.set_sample_rate(sample_rate)?;
    builder.set_output_sample_rate(std::num::NonZeroU32::new(sample_rate))?;
    // Speech: 24 kbit/s is plenty for an 8 kHz mix. At 16 kHz, 48 is the
    // least whose frames (216 bytes, as at 8 kHz) hold LAME's info frame;
    // below that LAME silently leaves it out.
    builder.set_brate(if sample_rate <= 8000 {
        Bitrate::Kbps24
    } else {
        Bitrate::Kbps48
    })?;
    builder.set_vbr_mode(VbrMode::Off)?;
    builder.set_quality(Quality::Good)?;
    builder.set_to_write_vbr_tag(true)?;
    Ok(builder.build()?)
}
