//! Where chorusd is and the token to give it: flags first, then the
//! environment (both through clap), then the config file
//! (`/etc/chorus/chorusctl.toml`, or `--config PATH`), then the default
//! endpoint. An empty value counts as unset.

use std::path::{Path, PathBuf};

/// The config file read when `--config` is not given (if it exists).
pub const DEFAULT_CONFIG: &str = "/etc/chorus/chorusctl.toml";

/// chorusd's default gRPC address (`api.grpc_listen`).
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:50051";

/// `chorusctl.toml`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// chorusd's gRPC URL.
    endpoint: Option<String>,
    /// `api.auth_token`.
    token: Option<String>,
    /// A CA certificate (PEM) to trust for an `https://` endpoint.
    ca_cert: Option<PathBuf>,
}

/// What to connect to, and with which token.
#[derive(Debug)]
pub struct Settings {
    /// chorusd's gRPC URL, e.g. `http://127.0.0.1:50051`.
    pub endpoint: String,
    /// The bearer token, if any was given.
    pub token: Option<String>,
    /// A CA certificate (PEM) trusted beside the system's roots for an
    /// `https://` endpoint.
    pub ca_cert: Option<PathBuf>,
}

fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

impl Settings {
    /// From the flags' (and environment's) values and the config file:
    /// `config` if given (it must exist), else [`DEFAULT_CONFIG`] if it
    /// exists.
    pub fn resolve(
        endpoint: Option<String>,
        token: Option<String>,
        ca_cert: Option<PathBuf>,
        config: Option<&Path>,
    ) -> Result<Self, String> {
        let file = match config {
            Some(path) => read(path)?,
            None if Path::new(DEFAULT_CONFIG).exists() => read(&PathBuf::from(DEFAULT_CONFIG))?,
            None => File::default(),
        };
        Ok(Self {
            endpoint: given(endpoint)
                .or(given(file.endpoint))
                .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned()),
            token: given(token).or(given(file.token)),
            ca_cert: ca_cert
                .filter(|p| !p.as_os_str().is_empty())
                .or(file.ca_cert.filter(|p| !p.as_os_str().is_empty())),
        })
    }
}

fn read(path: &Path) -> Result<File, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "chorusctl-test-{}-{}.toml",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn flags_beat_the_file_which_beats_the_default() {
        let path = file(
            "endpoint = \"https://10.0.0.1:5\"\ntoken = \"from-the-file\"\n\
             ca_cert = \"/etc/chorus/ca.pem\"\n",
        );
        let from_file = Settings::resolve(None, Some(String::new()), None, Some(&path)).unwrap();
        assert_eq!(from_file.endpoint, "https://10.0.0.1:5");
        assert_eq!(from_file.token.as_deref(), Some("from-the-file"));
        assert_eq!(from_file.ca_cert, Some(PathBuf::from("/etc/chorus/ca.pem")));
        let from_flags = Settings::resolve(
            Some("http://[::1]:7".into()),
            Some("flag".into()),
            Some("/tmp/ca.pem".into()),
            Some(&path),
        )
        .unwrap();
        assert_eq!(from_flags.endpoint, "http://[::1]:7");
        assert_eq!(from_flags.token.as_deref(), Some("flag"));
        assert_eq!(from_flags.ca_cert, Some(PathBuf::from("/tmp/ca.pem")));
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_missing_or_wrong_config_file_is_an_error_that_names_it() {
        let missing = Settings::resolve(None, None, None, Some(Path::new("/nonexistent/c.toml")));
        assert!(missing.unwrap_err().contains("/nonexistent/c.toml"));
        let path = file("endpoint = \"http://x:1\"\ntokn = \"typo\"\n");
        let wrong = Settings::resolve(None, None, None, Some(&path)).unwrap_err();
        assert!(wrong.contains("tokn"), "{wrong}");
        std::fs::remove_file(path).unwrap();
    }
}
