//! ITU-T G.711 companding: μ-law (PCMU, static payload type 0) and A-law
//! (PCMA, static payload type 8).
//!
//! Encoding follows the ITU reference algorithm (the classic Sun `g711.c`
//! formulation): μ-law works on the 14 most significant bits of the 16-bit
//! sample, A-law on the 13 most significant bits. Decoding uses 256-entry
//! tables computed at compile time, so the per-packet path is a table lookup.
//!
//! Round trip properties (tested):
//! * `encode(decode(b)) == b` for every code, except μ-law `0x7F`: both
//!   `0x7F` ("negative zero") and `0xFF` ("positive zero") decode to 0, and
//!   0 encodes to `0xFF`. A-law has no such pair.
//! * `decode(encode(x))` is within one quantisation step of `x` (the step is
//!   about 1/16 of the magnitude; μ-law saturates at ±32124, A-law at ±32256).

/// The two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Law {
    /// μ-law, "PCMU" in SDP, used in North America and Japan.
    Ulaw,
    /// A-law, "PCMA" in SDP, used in Europe and most of the rest of the world.
    Alaw,
}

/// μ-law bias added before segment search (0x84 in 16-bit units, 33 in 14-bit).
const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude that still fits after adding the bias.
const ULAW_CLIP: i32 = 8159;

const fn ulaw_to_linear(code: u8) -> i16 {
    // Codes are transmitted inverted so that silence is mostly 1 bits.
    let u = !code;
    let mut t = (((u & 0x0F) as i32) << 3) + ULAW_BIAS;
    t <<= ((u & 0x70) >> 4) as i32;
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

const fn alaw_to_linear(code: u8) -> i16 {
    // Even bits are inverted on the wire (0x55) to improve clock recovery on
    // old TDM links.
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let segment = ((a & 0x70) >> 4) as i32;
    match segment {
        0 => t += 8,
        1 => t += 0x108,
        _ => {
            t += 0x108;
            t <<= segment - 1;
        }
    }
    if a & 0x80 != 0 { t as i16 } else { -t as i16 }
}

const fn build_table(law: Law) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            Law::Ulaw => ulaw_to_linear(i as u8),
            Law::Alaw => alaw_to_linear(i as u8),
        };
        i += 1;
    }
    table
}

/// μ-law code → 16-bit linear sample.
static ULAW_DECODE: [i16; 256] = build_table(Law::Ulaw);
/// A-law code → 16-bit linear sample.
static ALAW_DECODE: [i16; 256] = build_table(Law::Alaw);

/// Index of the segment whose upper end is >= `value`; 8 means "above all".
fn segment(value: i32, ends: &[i32; 8]) -> u8 {
    let mut seg = 0u8;
    for &end in ends {
        if value <= end {
            return seg;
        }
        seg += 1;
    }
    seg
}

const ULAW_SEGMENT_ENDS: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ALAW_SEGMENT_ENDS: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

fn linear_to_ulaw(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 2;
    let mask = if value < 0 {
        value = -value;
        0x7F
    } else {
        0xFF
    };
    value = value.min(ULAW_CLIP) + (ULAW_BIAS >> 2);
    let seg = segment(value, &ULAW_SEGMENT_ENDS);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let code = (seg << 4) | (((value >> (seg + 1)) & 0x0F) as u8);
    code ^ mask
}

fn linear_to_alaw(sample: i16) -> u8 {
    let mut value = i32::from(sample) >> 3;
    let mask = if value >= 0 {
        0xD5
    } else {
        // One's complement magnitude: -1 maps to 0, keeping the scale symmetric.
        value = -value - 1;
        0x55
    };
    let seg = segment(value, &ALAW_SEGMENT_ENDS);
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if seg < 2 { 1 } else { seg };
    let code = (seg << 4) | (((value >> shift) & 0x0F) as u8);
    code ^ mask
}

impl Law {
    /// The static RTP payload type from RFC 3551: 0 for PCMU, 8 for PCMA.
    pub fn static_payload_type(self) -> u8 {
        match self {
            Law::Ulaw => 0,
            Law::Alaw => 8,
        }
    }

    /// The SDP encoding name ("PCMU" / "PCMA").
    pub fn encoding_name(self) -> &'static str {
        match self {
            Law::Ulaw => "PCMU",
            Law::Alaw => "PCMA",
        }
    }

    /// Compresses one 16-bit linear sample to one G.711 code.
    pub fn encode_sample(self, s: i16) -> u8 {
        match self {
            Law::Ulaw => linear_to_ulaw(s),
            Law::Alaw => linear_to_alaw(s),
        }
    }

    /// Expands one G.711 code to a 16-bit linear sample.
    pub fn decode_sample(self, b: u8) -> i16 {
        match self {
            Law::Ulaw => ULAW_DECODE[usize::from(b)],
            Law::Alaw => ALAW_DECODE[usize::from(b)],
        }
    }

    /// Encodes `pcm` into `out`, one byte per sample. Only
    /// `min(pcm.len(), out.len())` samples are written; callers size `out`
    /// to at least `pcm.len()`.
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) {
        for (o, &s) in out.iter_mut().zip(pcm) {
            *o = self.encode_sample(s);
        }
    }

    /// Decodes `payload` into `out`, one sample per byte. Only
    /// `min(payload.len(), out.len())` samples are written.
    pub fn decode(self, payload: &[u8], out: &mut [i16]) {
        let table = match self {
            Law::Ulaw => &ULAW_DECODE,
            Law::Alaw => &ALAW_DECODE,
        };
        for (o, &b) in out.iter_mut().zip(payload) {
            *o = table[usize::from(b)];
        }
    }

    /// The code for digital silence (linear 0): `0xFF` for μ-law, `0xD5` for
    /// A-law. Useful for filling payloads without running the encoder.
    pub fn silence_code(self) -> u8 {
        self.encode_sample(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_payload_types() {
        assert_eq!(Law::Ulaw.static_payload_type(), 0);
        assert_eq!(Law::Alaw.static_payload_type(), 8);
    }

    #[test]
    fn known_vectors() {
        // Values from the ITU reference tables (16-bit scaled).
        assert_eq!(Law::Ulaw.encode_sample(0), 0xFF);
        assert_eq!(Law::Ulaw.decode_sample(0xFF), 0);
        assert_eq!(Law::Ulaw.decode_sample(0x7F), 0);
        assert_eq!(Law::Ulaw.decode_sample(0x80), 32124);
        assert_eq!(Law::Ulaw.decode_sample(0x00), -32124);
        assert_eq!(Law::Ulaw.encode_sample(i16::MAX), 0x80);
        assert_eq!(Law::Ulaw.encode_sample(i16::MIN), 0x00);
        assert_eq!(Law::Ulaw.decode_sample(0xFE), 8);
        assert_eq!(Law::Ulaw.decode_sample(0x7E), -8);

        assert_eq!(Law::Alaw.encode_sample(0), 0xD5);
        assert_eq!(Law::Alaw.decode_sample(0xD5), 8);
        assert_eq!(Law::Alaw.decode_sample(0x55), -8);
        assert_eq!(Law::Alaw.decode_sample(0xAA), 32256);
        assert_eq!(Law::Alaw.decode_sample(0x2A), -32256);
        assert_eq!(Law::Alaw.encode_sample(i16::MAX), 0xAA);
        assert_eq!(Law::Alaw.encode_sample(i16::MIN), 0x2A);
        assert_eq!(Law::Alaw.silence_code(), 0xD5);
        assert_eq!(Law::Ulaw.silence_code(), 0xFF);
    }

    #[test]
    fn every_code_round_trips() {
        for law in [Law::Ulaw, Law::Alaw] {
            for b in 0..=255u8 {
                let back = law.encode_sample(law.decode_sample(b));
                if law == Law::Ulaw && b == 0x7F {
                    // Negative zero decodes to 0, which encodes as positive zero.
                    assert_eq!(back, 0xFF);
                } else {
                    assert_eq!(back, b, "{law:?} code {b:#04x}");
                }
            }
        }
    }

    #[test]
    fn quantisation_error_is_bounded() {
        for law in [Law::Ulaw, Law::Alaw] {
            for x in i16::MIN..=i16::MAX {
                let y = law.decode_sample(law.encode_sample(x));
                let err = (i32::from(x) - i32::from(y)).abs();
                let bound = i32::from(x).abs() / 16 + 16;
                assert!(err <= bound, "{law:?}: {x} -> {y} (err {err} > {bound})");
            }
        }
    }

    #[test]
    fn decode_tables_are_monotonic() {
        // Order codes by their decoded value: each law must cover a strictly
        // increasing ladder (ignoring μ-law's duplicate zero).
        for law in [Law::Ulaw, Law::Alaw] {
            let mut values: Vec<i16> = (0..=255u8).map(|b| law.decode_sample(b)).collect();
            values.sort_unstable();
            values.dedup();
            let expected = if law == Law::Ulaw { 255 } else { 256 };
            assert_eq!(values.len(), expected, "{law:?}");
        }
    }

    #[test]
    fn slice_helpers_match_sample_functions() {
        let pcm: Vec<i16> = (0..160)
            .map(|i| ((i * 409) % 65536 - 32768) as i16)
            .collect();
        for law in [Law::Ulaw, Law::Alaw] {
            let mut enc = [0u8; 160];
            law.encode(&pcm, &mut enc);
            let mut dec = [0i16; 160];
            law.decode(&enc, &mut dec);
            for i in 0..160 {
                assert_eq!(enc[i], law.encode_sample(pcm[i]));
                assert_eq!(dec[i], law.decode_sample(enc[i]));
            }
        }
    }
}
