//! Finishing recordings a crash left behind.
//!
//! A recording is `<name>.part` until its writer finalises it, so what a
//! crash (or a kill) cut short is easy to find. A WAV header states the
//! length of the audio after it; the writer rewrites it every second, so
//! such a file holds up to a second of audio past what its header says, and
//! players stop there. [`repair_wav`] sets the header from the file's real
//! length (MP3 frames need nothing). chorusd runs [`repair_dir`] over its
//! recordings at start-up, which also gives each file its final name.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::{PART_SUFFIX, RecordError};

/// What [`repair_wav`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// Nothing needed mending (an MP3, or a WAV whose header was right).
    Intact,
    /// The header was rewritten: the file now plays its `bytes` of audio.
    Repaired {
        /// Bytes of audio the header now counts.
        bytes: u64,
    },
    /// Not a RIFF/WAVE file with a data chunk: left alone.
    NotWav,
}

/// Makes a WAV file's header count all the audio in the file (dropping a
/// trailing half sample); see the module docs.
pub fn repair_wav(path: &Path) -> Result<Repair, RecordError> {
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let file_len = file.metadata()?.len();
    let mut header = [0u8; 12];
    if file.read_exact(&mut header).is_err() || &header[..4] != b"RIFF" || &header[8..] != b"WAVE" {
        return Ok(Repair::NotWav);
    }
    let Some(data) = find_data_chunk(&mut file, file_len)? else {
        return Ok(Repair::NotWav);
    };
    // 16-bit mono: whole samples only.
    let bytes = (file_len - data.body) & !1;
    let (riff_len, data_len) = (data.body + bytes - 8, bytes);
    let stated_riff = u64::from(le32(&header[4..8]));
    if data.stated == data_len && stated_riff == riff_len && file_len == data.body + bytes {
        return Ok(Repair::Intact);
    }
    // Larger than a WAV header can state: leave it as it is.
    let (Ok(riff_len), Ok(data_len)) = (u32::try_from(riff_len), u32::try_from(data_len)) else {
        return Ok(Repair::NotWav);
    };
    file.set_len(data.body + bytes)?;
    file.seek(SeekFrom::Start(4))?;
    file.write_all(&riff_len.to_le_bytes())?;
    file.seek(SeekFrom::Start(data.body - 4))?;
    file.write_all(&data_len.to_le_bytes())?;
    file.sync_all()?;
    Ok(Repair::Repaired { bytes })
}

/// Finishes every recording a crash left in `dir` (`*.wav.part`,
/// `*.mp3.part`; none if `dir` does not exist yet): a WAV header is
/// repaired, then the file takes its final name. Returns each `.part`
/// file with what was done, or why it could not be; one that is not a WAV
/// file keeps its name.
pub fn repair_dir(dir: &Path) -> Vec<(PathBuf, Result<Repair, RecordError>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter_map(|part| {
            let name = part.file_name()?.to_str()?;
            let final_name = name.strip_suffix(PART_SUFFIX)?;
            let repair = if final_name.ends_with(".wav") {
                repair_wav(&part)
            } else if final_name.ends_with(".mp3") {
                Ok(Repair::Intact)
            } else {
                return None;
            };
            let result = repair.and_then(|repair| {
                if repair != Repair::NotWav {
                    std::fs::rename(&part, part.with_file_name(final_name))?;
                }
                Ok(repair)
            });
            Some((part, result))
        })
        .collect()
}

/// Where the data chunk's audio starts, and the length its header states.
struct DataChunk {
    body: u64,
    stated: u64,
}

fn find_data_chunk(file: &mut File, file_len: u64) -> Result<Option<DataChunk>, RecordError> {
    let mut at = 12u64;
    let mut chunk = [0u8; 8];
    while at + 8 <= file_len {
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut chunk)?;
        let len = u64::from(le32(&chunk[4..]));
        if &chunk[..4] == b"data" {
            return Ok(Some(DataChunk {
                body: at + 8,
                stated: len,
            }));
        }
        // Chunks are padded to an even length.
        at += 8 + len + (len & 1);
    }
    Ok(None)
}

fn le32(bytes: &[u8]) -> u32 {
    u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}
