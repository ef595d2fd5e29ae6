//! The destinations of one Add Participant request racing to answer
//! first ([`Race`]), and one destination forked to every contact of a
//! registered user ([`fork`]).

use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

use super::cause::{DialCause, DialFailure};
use super::dial::{DialCanceller, DialOptions, OutboundCall, dial};
use crate::call::services::CallServices;
use crate::sip::registrar::Reach;
use crate::sip::uac::Dialer;

/// The destinations of one request, racing to answer first.
pub(super) struct Race {
    /// The destination that answered first.
    winner: Mutex<Option<usize>>,
    /// Cancelled once someone won: destinations not dialled yet never are.
    pub(super) won: CancellationToken,
    /// Each destination's canceller, to tell it it lost.
    pub(super) cancellers: Vec<DialCanceller>,
    /// Destinations not finished yet.
    pending: std::sync::atomic::AtomicUsize,
}

impl Race {
    pub(super) fn new(n: usize) -> Self {
        Self {
            winner: Mutex::new(None),
            won: CancellationToken::new(),
            cancellers: (0..n).map(|_| DialCanceller::default()).collect(),
            pending: std::sync::atomic::AtomicUsize::new(n),
        }
    }

    /// One destination is done (dialled or not, whatever came of it):
    /// true for the last one when nobody won.
    pub(super) fn finished(&self) -> bool {
        let last = self
            .pending
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
            == 1;
        last && self
            .winner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Destination `i` answered: true if it is the first, and then every
    /// other destination loses.
    pub(super) fn claim(&self, i: usize) -> bool {
        let mut winner = self.winner.lock().unwrap_or_else(|e| e.into_inner());
        if winner.is_some() {
            return false;
        }
        *winner = Some(i);
        drop(winner);
        self.won.cancel();
        for (j, canceller) in self.cancellers.iter().enumerate() {
            if j != i {
                canceller.lost_race();
            }
        }
        true
    }
}

/// Dials every target at once (a registered user's contacts); the first
/// to answer is the call, the others are cancelled (or hung up, if they
/// answered too). One target is a plain dial. If none answers, the first
/// target's failure is the cause.
pub(super) async fn fork(
    dialer: &Dialer,
    services: &CallServices,
    targets: &[Reach],
    options: DialOptions,
) -> Result<OutboundCall, DialFailure> {
    let options_for = |target: &Reach, canceller: DialCanceller| DialOptions {
        destination: target.via,
        canceller,
        ..options.clone()
    };
    if let [target] = targets {
        let options = options_for(target, options.canceller.clone());
        return dial(dialer, &services.media, &target.uri, options).await;
    }
    let forks: Vec<DialCanceller> = targets.iter().map(|_| DialCanceller::default()).collect();
    let mut dials = tokio::task::JoinSet::new();
    for (i, (target, canceller)) in targets.iter().zip(&forks).enumerate() {
        let (dialer, media, uri) = (dialer.clone(), services.media.clone(), target.uri.clone());
        let options = options_for(target, canceller.clone());
        dials.spawn(async move { (i, dial(&dialer, &media, &uri, options).await) });
    }
    let outer = options.canceller;
    let mut relayed = false;
    let mut failures: Vec<Option<DialFailure>> = vec![None; targets.len()];
    loop {
        tokio::select! {
            next = dials.join_next() => match next {
                Some(Ok((i, Ok(call)))) => {
                    for (j, f) in forks.iter().enumerate() {
                        if j != i {
                            f.cancel();
                        }
                    }
                    while let Some(other) = dials.join_next().await {
                        if let Ok((_, Ok(other))) = other {
                            other.hang_up().await;
                        }
                    }
                    return Ok(call);
                }
                Some(Ok((i, Err(failure)))) => failures[i] = Some(failure),
                Some(Err(error)) => tracing::error!(%error, "a dial task failed"),
                None => {
                    return Err(failures.into_iter().flatten().next().unwrap_or(DialFailure {
                        cause: DialCause::Failed,
                        status: None,
                        provisional: Vec::new(),
                    }));
                }
            },
            () = outer.cancelled(), if !relayed => {
                relayed = true;
                let lost = outer.cause() == DialCause::LostRace;
                for f in &forks {
                    if lost { f.lost_race() } else { f.cancel() }
                }
            }
        }
    }
}
