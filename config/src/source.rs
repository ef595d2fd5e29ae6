//! Raw configuration layers: the schema of known keys, the TOML file layer
//! and the `CHORUS_<SECTION>__<KEY>` environment layer.
//!
//! The result of layering is a flat map from dotted key (`sip.udp_listen`)
//! to the winning TOML value and its [`Origin`]. Unknown sections and keys
//! are rejected here, before any typed parsing happens.

use std::collections::BTreeMap;

use toml::{Table, Value};

use crate::error::{ConfigError, Origin};

/// Prefix of every configuration environment variable.
pub const ENV_PREFIX: &str = "CHORUS_";

/// Separator between section and key in an environment variable name.
pub const ENV_SEPARATOR: &str = "__";

/// The TOML type a key expects; decides how environment strings are converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Taken verbatim from the environment.
    Str,
    /// Parsed as a (decimal) integer from the environment.
    Int,
    /// `true` or `false` in the environment.
    Bool,
}

/// Every section and key chorusd understands, with its expected type.
pub(crate) const SCHEMA: &[(&str, &[(&str, Kind)])] = &[
    (
        "sip",
        &[
            ("udp_listen", Kind::Str),
            ("tcp_listen", Kind::Str),
            ("advertised_address", Kind::Str),
            ("user_agent", Kind::Str),
            ("max_calls", Kind::Int),
            ("invite_rate", Kind::Int),
            ("rate_limit_action", Kind::Str),
            ("tcp_max_connections", Kind::Int),
            ("tcp_idle_timeout", Kind::Int),
            ("session_expires", Kind::Int),
            ("trusted_sources", Kind::Str),
            ("realm", Kind::Str),
            ("users_file", Kind::Str),
            ("inbound_auth", Kind::Str),
            ("max_cps", Kind::Int),
            ("dial_queue", Kind::Int),
        ],
    ),
    ("rtp", &[("port_min", Kind::Int), ("port_max", Kind::Int)]),
    (
        "media",
        &[
            ("workers", Kind::Int),
            ("sample_rate", Kind::Int),
            ("vad_start_dbfs", Kind::Int),
            ("vad_stop_dbfs", Kind::Int),
            ("vad_hangover_ms", Kind::Int),
            ("rtp_timeout", Kind::Int),
            ("rtp_hold_timeout", Kind::Int),
            ("send_silence", Kind::Bool),
        ],
    ),
    (
        "inbound",
        &[
            ("answer_url", Kind::Str),
            ("answer_method", Kind::Str),
            ("answer_timeout_ms", Kind::Int),
        ],
    ),
    ("log", &[("level", Kind::Str), ("format", Kind::Str)]),
    ("metrics", &[("listen", Kind::Str)]),
    ("recording", &[("dir", Kind::Str), ("url_base", Kind::Str)]),
    ("speech", &[("command", Kind::Str)]),
    ("testing", &[("confirm_key_timeout_ms", Kind::Int)]),
    (
        "api",
        &[
            ("rest_listen", Kind::Str),
            ("grpc_listen", Kind::Str),
            ("auth_id", Kind::Str),
            ("auth_token", Kind::Str),
            ("tls_cert", Kind::Str),
            ("tls_key", Kind::Str),
        ],
    ),
];

/// The keys of one `[[trunks]]` table (the file only: a list has no
/// environment form). Each is layered as `trunks.<index>.<key>`.
pub(crate) const TRUNK_KEYS: &[(&str, Kind)] = &[
    ("name", Kind::Str),
    ("proxy", Kind::Str),
    ("username", Kind::Str),
    ("password", Kind::Str),
    ("realm", Kind::Str),
    ("from_domain", Kind::Str),
    ("prefixes", Kind::Str),
    ("strip", Kind::Int),
    ("add", Kind::Str),
    ("max_cps", Kind::Int),
    ("max_channels", Kind::Int),
    ("ping_interval", Kind::Int),
];

/// Environment variable name for a dotted key: `sip.udp_listen` -> `CHORUS_SIP__UDP_LISTEN`.
pub fn env_var_name(key: &str) -> String {
    let upper = key.to_ascii_uppercase().replacen('.', ENV_SEPARATOR, 1);
    format!("{ENV_PREFIX}{upper}")
}

fn section_names() -> Vec<&'static str> {
    SCHEMA.iter().map(|(name, _)| *name).collect()
}

fn section_keys(section: &str) -> Option<&'static [(&'static str, Kind)]> {
    SCHEMA
        .iter()
        .find(|(name, _)| *name == section)
        .map(|(_, keys)| *keys)
}

/// Looks up `section.key` in the schema, or explains why it is unknown.
fn lookup(section: &str, key: &str, origin: &Origin) -> Result<Kind, ConfigError> {
    let Some(keys) = section_keys(section) else {
        return Err(ConfigError::UnknownKey {
            key: section.to_owned(),
            origin: origin.clone(),
            expected: section_names(),
        });
    };
    keys.iter()
        .find(|(name, _)| *name == key)
        .map(|(_, kind)| *kind)
        .ok_or_else(|| ConfigError::UnknownKey {
            key: format!("{section}.{key}"),
            origin: origin.clone(),
            expected: keys.iter().map(|(name, _)| *name).collect(),
        })
}

/// A value set by some source, with the source that set it.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    pub value: Value,
    pub origin: Origin,
}

/// The merged raw configuration: dotted key -> winning setting.
#[derive(Debug, Default)]
pub(crate) struct Layers {
    settings: BTreeMap<String, Setting>,
}

impl Layers {
    /// The setting for a dotted key, if any source set it.
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    /// Where the value for `key` came from ([`Origin::Defaults`] if unset).
    pub fn origin(&self, key: &str) -> Origin {
        self.get(key)
            .map_or(Origin::Defaults, |setting| setting.origin.clone())
    }

    /// Parses TOML `text` and overlays every key in it.
    pub fn add_toml(&mut self, text: &str, origin: &Origin) -> Result<(), ConfigError> {
        let table: Table = text
            .parse()
            .map_err(|err: toml::de::Error| ConfigError::Syntax {
                origin: origin.clone(),
                message: err.to_string().trim_end().to_owned(),
            })?;
        for (section, body) in table {
            if section == "trunks" {
                self.add_trunks(body, origin)?;
                continue;
            }
            // Check the section name before its type so typos are reported as such.
            if section_keys(&section).is_none() {
                return Err(ConfigError::UnknownKey {
                    key: section,
                    origin: origin.clone(),
                    expected: section_names(),
                });
            }
            let Value::Table(body) = body else {
                return Err(ConfigError::Invalid {
                    reason: format!("expected a [{section}] table, found {}", body.type_str()),
                    key: section,
                    origin: origin.clone(),
                });
            };
            for (key, value) in body {
                lookup(&section, &key, origin)?;
                self.settings.insert(
                    format!("{section}.{key}"),
                    Setting {
                        value,
                        origin: origin.clone(),
                    },
                );
            }
        }
        Ok(())
    }

    /// Layers `[[trunks]]`: an array of tables, each key checked against
    /// [`TRUNK_KEYS`]; `trunks` itself holds how many there are.
    fn add_trunks(&mut self, body: Value, origin: &Origin) -> Result<(), ConfigError> {
        let Value::Array(trunks) = body else {
            return Err(ConfigError::Invalid {
                reason: format!("expected [[trunks]] tables, found {}", body.type_str()),
                key: "trunks".to_owned(),
                origin: origin.clone(),
            });
        };
        let count = trunks.len() as i64;
        for (i, trunk) in trunks.into_iter().enumerate() {
            let Value::Table(trunk) = trunk else {
                return Err(ConfigError::Invalid {
                    reason: format!("expected a table, found {}", trunk.type_str()),
                    key: format!("trunks.{i}"),
                    origin: origin.clone(),
                });
            };
            for (key, value) in trunk {
                if !TRUNK_KEYS.iter().any(|(name, _)| *name == key) {
                    return Err(ConfigError::UnknownKey {
                        key: format!("trunks.{i}.{key}"),
                        origin: origin.clone(),
                        expected: TRUNK_KEYS.iter().map(|(name, _)| *name).collect(),
                    });
                }
                let setting = Setting {
                    value,
                    origin: origin.clone(),
                };
                self.settings.insert(format!("trunks.{i}.{key}"), setting);
            }
        }
        let setting = Setting {
            value: Value::Integer(count),
            origin: origin.clone(),
        };
        self.settings.insert("trunks".to_owned(), setting);
        Ok(())
    }

    /// Overlays every `CHORUS_<SECTION>__<KEY>` variable; other variables are ignored.
    ///
    /// Every variable starting with `CHORUS_` must name a known key: the
    /// prefix is reserved for configuration so that typos cannot be ignored.
    pub fn add_env(
        &mut self,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ConfigError> {
        let mut vars: Vec<(String, String)> = vars
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX))
            .collect();
        // Deterministic error reporting regardless of the environment's order.
        vars.sort();
        for (name, raw) in vars {
            let origin = Origin::Env(name.clone());
            let rest = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            let Some((section, key)) = rest.split_once(ENV_SEPARATOR) else {
                return Err(ConfigError::UnknownKey {
                    key: rest,
                    origin,
                    expected: section_names(),
                });
            };
            let kind = lookup(section, key, &origin)?;
            let dotted = format!("{section}.{key}");
            let value = match kind {
                Kind::Str => Value::String(raw),
                Kind::Int => match raw.trim().parse::<i64>() {
                    Ok(n) => Value::Integer(n),
                    Err(_) => {
                        return Err(ConfigError::Invalid {
                            key: dotted,
                            reason: format!("expected an integer, got {raw:?}"),
                            origin,
                        });
                    }
                },
                Kind::Bool => match raw.trim() {
                    "true" => Value::Boolean(true),
                    "false" => Value::Boolean(false),
                    _ => {
                        return Err(ConfigError::Invalid {
                            key: dotted,
                            reason: format!("expected true or false, got {raw:?}"),
                            origin,
                        });
                    }
                },
            };
            self.settings.insert(dotted, Setting { value, origin });
        }
        Ok(())
    }
}
