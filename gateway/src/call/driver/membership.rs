//! `<MultiPartyCall>`: the call's leg in an MPC until the caller hangs up or
//! the MPC releases it, relaying the leg's digits and speech to the MPC.

use std::time::Duration;

use chorus_mpc::{CallInfo, ExitCause, Then};
use chorus_xml::MultiPartyCall;

use super::play::leg_back;
use super::{CallDriver, End, Media};
use crate::media::LegEvent;
use crate::mpc::JoinError;

/// Time between two digits sent: a digit's events (100 ms of tone, its end
/// packets and a gap) take about 200 ms.
const DIGIT_EVERY: Duration = Duration::from_millis(250);

impl CallDriver {
    /// Joins the MPC and stays until the caller hangs up or the MPC releases
    /// the participant; then says what the flow does next (the next element
    /// also when the MPC did not let the call in).
    pub(super) async fn multi_party_call(&mut self, mpc: &MultiPartyCall) -> Result<Then, End> {
        let Media::Idle(leg) = std::mem::replace(&mut self.media, Media::Gone) else {
            return Ok(Then::NextElement);
        };
        let call = CallInfo {
            call_uuid: self.call_uuid.clone(),
            from: self.party.from.clone(),
            to: self.party.to.clone(),
            inbound: self.is_inbound(),
        };
        // Not raced against the dialog: a join dropped half-way would leave
        // the leg with the MPC and nobody to take it back. It takes one
        // round trip to the MPC's task; what the caller did meanwhile waits.
        let joined = self.services.mpcs.join(mpc, call, self.leg_id, leg).await;
        let membership = match joined {
            Ok(m) => m,
            Err(JoinError::Rejected { name, reason, leg }) => {
                tracing::warn!(mpc = %name, %reason, "not let into the MPC; continuing with the next element");
                self.take_back(leg);
                return Ok(Then::NextElement);
            }
            Err(error) => {
                tracing::error!(%error, mpc = %mpc.name, "could not join the MPC");
                return Ok(Then::NextElement);
            }
        };
        tracing::info!(mpc = %mpc.name, mpc_uuid = %membership.mpc_uuid, member = membership.member, role = ?mpc.role, "joined MPC");
        self.report.in_mpc(&membership.mpc_uuid, &membership.name);
        if let Some(joined) = self.joined.take() {
            let _ = joined.send((membership.mpc_uuid.clone(), membership.member));
        }
        self.media = Media::InMpc(membership);
        if let Some(digits) = self.digits_to_send.take() {
            self.send_digits(digits);
        }
        loop {
            let Media::InMpc(membership) = &mut self.media else {
                return Ok(Then::NextElement);
            };
            tokio::select! {
                event = membership.events.recv() => match event {
                    Some(LegEvent::Digit(digit)) => {
                        tracing::info!(%digit, "DTMF digit");
                        membership.digit(digit);
                    }
                    Some(LegEvent::Speaking(speaking)) => {
                        if speaking {
                            tracing::debug!("participant speaking");
                        } else {
                            tracing::debug!("participant stopped speaking");
                        }
                        membership.speaking(speaking);
                    }
                    Some(LegEvent::AudioEnded(token)) => membership.audio_ended(token),
                    Some(LegEvent::Left(leg)) => {
                        tracing::debug!(counters = ?leg.counters(), "leg taken out of the MPC");
                        let then = membership.take_release();
                        self.take_back(leg);
                        tracing::info!(?then, "left the MPC");
                        return Ok(then.unwrap_or(Then::NextElement));
                    }
                    None => return Ok(Then::NextElement),
                },
                event = self.call.next_event() => self.on_dialog_event(event).await?,
                () = self.hang_up.cancelled() => return Err(End::Shutdown),
                Some(spec) = self.transfers.recv() => {
                    tracing::info!(to = %spec.name, "transferred: leaving the MPC");
                    self.leave_mpc(ExitCause::Transferred).await;
                    return Err(End::Transfer(spec));
                }
                () = tokio::time::sleep_until(self.next_media_check) => self.check_media().await?,
            }
        }
    }

    /// Sends `digits` to the peer as RFC 4733 events, one every
    /// [`DIGIT_EVERY`], `w` and `W` waiting half a second and a second; the
    /// leg is in a room, whose worker sends them.
    fn send_digits(&self, digits: String) {
        let (media, leg_id) = (self.services.media.clone(), self.leg_id);
        tracing::info!(%digits, "sending digits");
        tokio::spawn(async move {
            for digit in digits.chars() {
                let pause = match digit {
                    'w' => Duration::from_millis(500),
                    'W' => Duration::from_secs(1),
                    _ => {
                        if media.send_digit(leg_id, digit).is_err() {
                            return;
                        }
                        DIGIT_EVERY
                    }
                };
                tokio::time::sleep(pause).await;
            }
        });
    }

    /// Takes the leg out of its MPC for `cause` and waits (briefly) for it
    /// to come back.
    pub(super) async fn leave_mpc(&mut self, cause: ExitCause) {
        let Media::InMpc(membership) = &mut self.media else {
            return;
        };
        membership.leave(cause);
        if let Some(leg) = leg_back(&mut membership.events).await {
            tracing::debug!(counters = ?leg.counters(), "leg released");
            self.take_back(leg);
        }
    }
}
