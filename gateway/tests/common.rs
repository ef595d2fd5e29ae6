//! Shared set-up for the end-to-end tests: the real `chorusd` binary.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use chorus_tests::daemon::Chorusd;

/// The binary under test, built by cargo for this package's tests.
pub fn chorusd_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_chorusd"))
}

/// Starts chorusd with its built-in app (no answer URL) on free ports.
pub async fn start_builtin() -> Chorusd {
    Chorusd::start(chorusd_bin(), &[]).await
}

/// Starts chorusd fetching its call flow from `answer_url`.
pub async fn start_with_answer_url(answer_url: &str, method: &str) -> Chorusd {
    Chorusd::start(
        chorusd_bin(),
        &[
            ("CHORUS_INBOUND__ANSWER_URL", answer_url),
            ("CHORUS_INBOUND__ANSWER_METHOD", method),
        ],
    )
    .await
}

/// Lets media flow for a while (the tests listen to what arrives meanwhile).
pub async fn let_media_flow(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}
