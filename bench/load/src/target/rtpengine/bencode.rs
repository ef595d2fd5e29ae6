//! Bencode (BitTorrent's BEP 3), the encoding of rtpengine's ng protocol:
//! integers `i42e`, byte strings `4:spam`, lists `l…e` and dictionaries
//! `d…e` keyed by byte strings.
//!
//! Written here rather than taken from a crate: the four types fit in a
//! page, and the generator's dependencies stay the ones it already has.
//!
//! Encoding writes dictionary keys in sorted order, as BEP 3 requires (a
//! [`BTreeMap`] of raw bytes sorts exactly so). Decoding accepts keys in
//! any order, because rtpengine's own replies do not sort theirs (a
//! `delete` reply has `last signal` before `SSRC`), but refuses anything
//! else malformed — truncation, bad lengths, leading zeros, duplicate
//! keys, trailing bytes, nesting deeper than [`MAX_DEPTH`] — with an error
//! naming the byte offset, never a panic: replies come off the network.

use std::collections::BTreeMap;

/// Deepest nesting the decoder follows. An ng reply nests about six deep;
/// the bound keeps a hostile `llll…` from exhausting the stack.
pub const MAX_DEPTH: usize = 32;

/// One bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `i…e`.
    Int(i64),
    /// `<len>:<bytes>`.
    Bytes(Vec<u8>),
    /// `l…e`.
    List(Vec<Value>),
    /// `d…e`, keys sorted.
    Dict(BTreeMap<Vec<u8>, Value>),
}

impl Value {
    /// A byte string holding `text`.
    pub fn text(text: &str) -> Self {
        Self::Bytes(text.as_bytes().to_vec())
    }

    /// A list of byte strings.
    pub fn texts(items: &[&str]) -> Self {
        Self::List(items.iter().map(|t| Self::text(t)).collect())
    }

    /// A dictionary of `pairs`, in whatever order they are given.
    pub fn dict<const N: usize>(pairs: [(&str, Value); N]) -> Self {
        Self::Dict(
            pairs
                .into_iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v))
                .collect(),
        )
    }

    /// The value under `key`, if this is a dictionary holding one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Dict(map) => map.get(key.as_bytes()),
            _ => None,
        }
    }

    /// The value as UTF-8 text, if it is a byte string holding some.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Bytes(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// The text under `key` (an ng reply's `result`, `sdp`, …).
    pub fn text_at(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Self::as_text)
    }

    /// The bencoding of this value.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the bencoding of this value to `out`.
    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Self::Int(n) => out.extend_from_slice(format!("i{n}e").as_bytes()),
            Self::Bytes(bytes) => encode_bytes(bytes, out),
            Self::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.encode_into(out));
                out.push(b'e');
            }
            Self::Dict(map) => {
                out.push(b'd');
                for (key, value) in map {
                    encode_bytes(key, out);
                    value.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }
}

fn encode_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Decodes exactly one value filling all of `input`.
pub fn decode(input: &[u8]) -> Result<Value, String> {
    let mut reader = Reader { input, at: 0 };
    let value = reader.value(0)?;
    if reader.at != input.len() {
        return Err(reader.error("trailing bytes after the value"));
    }
    Ok(value)
}

/// A cursor over the input being decoded.
struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, what: &str) -> String {
        format!("bencode: {what} at byte {}", self.at)
    }

    fn peek(&self) -> Result<u8, String> {
        self.input
            .get(self.at)
            .copied()
            .ok_or_else(|| self.error("input ends early"))
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        match self.peek()? {
            b'i' => self.int().map(Value::Int),
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => self.list(depth),
            b'd' => self.dict(depth),
            _ => Err(self.error("not the start of a value")),
        }
    }

    /// The digits (and sign) up to `end`, consuming `end` too.
    fn until(&mut self, end: u8) -> Result<&str, String> {
        let rest = &self.input[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == end)
            .ok_or_else(|| self.error("unterminated number"))?;
        let digits = std::str::from_utf8(&rest[..len]).map_err(|_| self.error("bad number"))?;
        self.at += len + 1;
        Ok(digits)
    }

    fn int(&mut self) -> Result<i64, String> {
        self.at += 1; // 'i'
        let start = self.at;
        let digits = self.until(b'e')?;
        // BEP 3: no leading zeros, no negative zero, no plus sign.
        let unsigned = digits.strip_prefix('-').unwrap_or(digits);
        let canonical = !unsigned.is_empty()
            && unsigned.bytes().all(|b| b.is_ascii_digit())
            && !(unsigned.starts_with('0') && (unsigned.len() > 1 || digits.starts_with('-')));
        match digits.parse() {
            Ok(n) if canonical => Ok(n),
            _ => Err(format!("bencode: bad integer at byte {start}")),
        }
    }

    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let start = self.at;
        let digits = self.until(b':')?;
        let canonical = digits.bytes().all(|b| b.is_ascii_digit())
            && !(digits.starts_with('0') && digits.len() > 1);
        let len: usize = match digits.parse() {
            Ok(len) if canonical => len,
            _ => return Err(format!("bencode: bad string length at byte {start}")),
        };
        if len > self.input.len() - self.at {
            return Err(format!(
                "bencode: string of {len} bytes at byte {start} runs past the end"
            ));
        }
        let bytes = self.input[self.at..self.at + len].to_vec();
        self.at += len;
        Ok(bytes)
    }

    fn list(&mut self, depth: usize) -> Result<Value, String> {
        self.at += 1; // 'l'
        let mut items = Vec::new();
        while self.peek()? != b'e' {
            items.push(self.value(depth + 1)?);
        }
        self.at += 1;
        Ok(Value::List(items))
    }

    fn dict(&mut self, depth: usize) -> Result<Value, String> {
        self.at += 1; // 'd'
        let mut map = BTreeMap::new();
        while self.peek()? != b'e' {
            if !self.peek()?.is_ascii_digit() {
                return Err(self.error("dictionary key is not a string"));
            }
            let key_at = self.at;
            let key = self.bytes()?;
            let value = self.value(depth + 1)?;
            if map.insert(key, value).is_some() {
                return Err(format!("bencode: duplicate key at byte {key_at}"));
            }
        }
        self.at += 1;
        Ok(Value::Dict(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let value = Value::dict([
            ("sdp", Value::text("v=0\r\n")),
            ("n", Value::Int(-42)),
            ("zero", Value::Int(0)),
            ("big", Value::Int(i64::MAX)),
            ("empty", Value::Bytes(Vec::new())),
            ("binary", Value::Bytes(vec![0, 255, b':', b'e'])),
            ("flags", Value::texts(&["a", "b"])),
            ("nested", Value::dict([("l", Value::List(vec![]))])),
        ]);
        assert_eq!(decode(&value.encode()), Ok(value));
    }

    #[test]
    fn keys_are_written_sorted_as_raw_bytes() {
        // The ng ping and the notes' offer, byte for byte.
        let ping = Value::dict([("command", Value::text("ping"))]);
        assert_eq!(ping.encode(), b"d7:command4:pinge");
        let offer = Value::dict([
            ("sdp", Value::text("X")),
            ("replace", Value::texts(&["origin"])),
            ("from-tag", Value::text("F")),
            ("command", Value::text("offer")),
            ("call-id", Value::text("X")),
            ("ICE", Value::text("remove")),
            ("SSRC", Value::Int(1)),
        ]);
        // Upper case sorts before lower case: raw bytes, not text order.
        assert_eq!(
            String::from_utf8(offer.encode()).unwrap(),
            "d3:ICE6:remove4:SSRCi1e7:call-id1:X7:command5:offer\
             8:from-tag1:F7:replacel6:origine3:sdp1:Xe"
        );
    }

    #[test]
    fn unsorted_keys_are_read_as_rtpengine_sends_them() {
        let value = decode(b"d11:last signali1e4:SSRCde6:result2:oke").unwrap();
        assert_eq!(value.text_at("result"), Some("ok"));
        assert_eq!(value.get("last signal"), Some(&Value::Int(1)));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let bad: &[&[u8]] = &[
            b"",
            b"d",
            b"d6:result",
            b"d6:result2:ok",
            b"d6:result2:oke trailing",
            b"i",
            b"ie",
            b"i-e",
            b"i-0e",
            b"i03e",
            b"i+3e",
            b"i1x2e",
            b"i99999999999999999999e",
            b"5:abc",
            b"03:abc",
            b"99999999999999999999999:x",
            b"-1:x",
            b"di1ei2ee",
            b"d1:ai1e1:ai2ee",
            b"x",
            b"l",
            b"\xff",
        ];
        for input in bad {
            let result = decode(input);
            assert!(
                result.is_err(),
                "{:?} gave {result:?}",
                String::from_utf8_lossy(input)
            );
        }
        let deep = [vec![b'l'; 10_000], vec![b'e'; 10_000]].concat();
        assert!(decode(&deep).unwrap_err().contains("too deep"));
    }

    #[test]
    fn errors_say_where() {
        assert_eq!(
            decode(b"d6:result2:ok").unwrap_err(),
            "bencode: input ends early at byte 13"
        );
        assert!(decode(b"d3:sdp9:v=0e").unwrap_err().contains("runs past"));
    }
}
