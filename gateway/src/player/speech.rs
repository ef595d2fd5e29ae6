//! `<Speak>`: text to speech with eSpeak NG, run as a program
//! (`speech.command`) that writes a WAV file to its stdout.
//!
//! Plivo's `language` (`en-US`, `fr-FR`, …) picks the eSpeak voice of that
//! name, or of its language alone (`fr`) when eSpeak has no regional one;
//! `voice` `WOMAN` or `MAN` picks a female or male variant. Other voices
//! (Plivo's Polly names) are not eSpeak's: they get the default variant.
//! The text is given on stdin, so it is never parsed as options.

use std::process::Stdio;
use std::time::Duration;

use chorus_xml::Speak;
use tokio::io::AsyncWriteExt;

/// Longest text Plivo accepts in one `<Speak>`.
pub const MAX_TEXT: usize = 3000;
/// How long one synthesis may take: far more than eSpeak needs for
/// [`MAX_TEXT`] characters, so only a hung program reaches it.
const TIMEOUT: Duration = Duration::from_secs(20);

/// Why a text could not be spoken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpeechError {
    /// The program could not be started (not installed?).
    #[error(
        "cannot run the text-to-speech program {command:?} (apt-get install espeak-ng, or set speech.command): {source}"
    )]
    Unavailable {
        /// `speech.command`.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The program failed for every voice tried.
    #[error("{command:?} could not say it in {language:?}: {stderr}")]
    Failed {
        /// `speech.command`.
        command: String,
        /// The `<Speak>` language.
        language: String,
        /// What it said.
        stderr: String,
    },
    /// The program took longer than 20 s.
    #[error("{command:?} took too long")]
    TimedOut {
        /// `speech.command`.
        command: String,
    },
    /// More than [`MAX_TEXT`] characters.
    #[error("text of {0} characters is longer than {MAX_TEXT}")]
    TooLong(usize),
}

/// Says `speak.text` with `command`; the WAV file it wrote.
pub async fn synthesize(command: &str, speak: &Speak) -> Result<Vec<u8>, SpeechError> {
    let characters = speak.text.chars().count();
    if characters > MAX_TEXT {
        return Err(SpeechError::TooLong(characters));
    }
    let variant = match speak.voice.to_ascii_uppercase().as_str() {
        "MAN" => "+m3",
        _ => "+f3",
    };
    let language = speak.language.to_ascii_lowercase();
    let primary = language.split(['-', '_']).next().unwrap_or("en");
    let said = run(command, &format!("{language}{variant}"), speak).await;
    match said {
        Err(SpeechError::Failed { .. }) if primary != language => {
            run(command, &format!("{primary}{variant}"), speak).await
        }
        said => said,
    }
}

/// Says the text once with eSpeak voice `voice`: the WAV file.
async fn run(command: &str, voice: &str, speak: &Speak) -> Result<Vec<u8>, SpeechError> {
    let unavailable = |source| SpeechError::Unavailable {
        command: command.to_owned(),
        source,
    };
    let mut child = tokio::process::Command::new(command)
        .args(["--stdout", "-b", "1", "-v", voice])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(unavailable)?;
    let mut stdin = child.stdin.take().expect("piped");
    let text = speak.text.clone();
    // Written while the output is read, so a long text cannot deadlock on
    // full pipes; a program that exits early just closes its stdin.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(text.as_bytes()).await;
    });
    let output = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| SpeechError::TimedOut {
            command: command.to_owned(),
        })?
        .map_err(unavailable)?;
    let _ = feed.await;
    if output.status.success() && !output.stdout.is_empty() {
        return Ok(output.stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(SpeechError::Failed {
        command: command.to_owned(),
        language: speak.language.clone(),
        stderr: format!("{} ({})", output.status, stderr.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speak(text: &str, language: &str) -> Speak {
        Speak {
            text: text.to_owned(),
            voice: "WOMAN".to_owned(),
            language: language.to_owned(),
            loop_count: 1,
        }
    }

    #[tokio::test]
    async fn a_missing_program_is_named_in_the_error() {
        let error = synthesize("/nonexistent/espeak-ng", &speak("hello", "en-US"))
            .await
            .unwrap_err();
        assert!(matches!(error, SpeechError::Unavailable { .. }), "{error}");
        assert!(
            error.to_string().contains("/nonexistent/espeak-ng"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn a_program_that_fails_for_every_voice_is_an_error_with_the_language() {
        // `false` takes any arguments and fails, as eSpeak does for a
        // voice it does not have.
        let error = synthesize("false", &speak("bonjour", "xx-YY"))
            .await
            .unwrap_err();
        assert!(matches!(error, SpeechError::Failed { .. }), "{error}");
        assert!(error.to_string().contains("\"xx-YY\""), "{error}");
    }

    #[tokio::test]
    async fn text_longer_than_plivo_accepts_is_refused_before_anything_runs() {
        let long = "a".repeat(MAX_TEXT + 1);
        let error = synthesize("/nonexistent/espeak-ng", &speak(&long, "en-US"))
            .await
            .unwrap_err();
        assert!(matches!(error, SpeechError::TooLong(3001)), "{error}");
    }
}
