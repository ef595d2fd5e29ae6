//! Error type and value provenance ([`Origin`]) for configuration loading.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value (or a syntax error) came from.
///
/// Every [`ConfigError`] that concerns a value carries the `Origin` of that
/// value so the operator knows what to edit: the file, an environment
/// variable, or nothing at all (the built-in default was used).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The built-in default; no source set this key.
    Defaults,
    /// A TOML configuration file at this path.
    File(PathBuf),
    /// TOML text passed directly to [`Config::from_toml_str`](crate::Config::from_toml_str).
    Inline,
    /// An environment variable with this exact name, e.g. `CHORUS_SIP__UDP_LISTEN`.
    Env(String),
}

impl Origin {
    /// Precedence of the source: later layers override earlier ones.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Origin::Defaults => 0,
            Origin::File(_) | Origin::Inline => 1,
            Origin::Env(_) => 2,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Defaults => f.write_str("defaults"),
            Origin::File(path) => write!(f, "file {}", path.display()),
            Origin::Inline => f.write_str("inline TOML"),
            Origin::Env(var) => write!(f, "environment variable {var}"),
        }
    }
}

/// Why the configuration could not be loaded.
///
/// Every variant names what is wrong in typed fields: the dotted key path
/// (`rtp.port_min`), the reason, and the [`Origin`] of the offending value.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file could not be read (missing, unreadable, not UTF-8).
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        /// The file that was being read.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The configuration file is not valid TOML.
    #[error("{origin}: invalid TOML: {message}")]
    Syntax {
        /// Which file (or inline text) failed to parse.
        origin: Origin,
        /// The parser's description, including line and column.
        message: String,
    },

    /// A section or key that chorusd does not know (usually a typo).
    #[error("unknown key `{key}` in {origin} (expected one of: {})", expected.join(", "))]
    UnknownKey {
        /// Full dotted path of the unknown key, e.g. `sip.bogus` or `bogus` for a section.
        key: String,
        /// Where the unknown key was found.
        origin: Origin,
        /// The keys that are valid at that level.
        expected: Vec<&'static str>,
    },

    /// A known key has a value of the wrong type or outside its allowed range.
    #[error("invalid value for `{key}` (from {origin}): {reason}")]
    Invalid {
        /// Full dotted path of the key, e.g. `rtp.port_min`.
        key: String,
        /// What is wrong and what would be accepted.
        reason: String,
        /// Where the offending value came from.
        origin: Origin,
    },
}

impl ConfigError {
    /// The dotted key path this error is about, if it concerns a key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. } | ConfigError::Invalid { key, .. } => Some(key),
            ConfigError::Read { .. } | ConfigError::Syntax { .. } => None,
        }
    }

    /// The origin of the offending value or text, if known.
    pub fn origin(&self) -> Option<&Origin> {
        match self {
            ConfigError::Syntax { origin, .. }
            | ConfigError::UnknownKey { origin, .. }
            | ConfigError::Invalid { origin, .. } => Some(origin),
            ConfigError::Read { .. } => None,
        }
    }
}
