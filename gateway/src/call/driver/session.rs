//! The call's SIP session while its flow runs: answering once, serving the
//! caller's in-dialog requests (re-INVITE and UPDATE renegotiate the media)
//! while an action is under way, and noticing when the call is over.

use chorus_media::sdp;
use tokio::time::Instant;

use super::silence::{CHECK_EVERY, SilenceWatch, on_grid};
use super::{CallDriver, End, Media};
use crate::call::dialog::read_offer;
use crate::call::report::Hangup;
use crate::media::Leg;
use crate::media::leg::LegMode;
use crate::sip::{DialogEvent, SessionOffer};

impl CallDriver {
    /// Waits for `work` while answering in-dialog requests; stops early if
    /// the call ends or chorusd stops.
    pub(super) async fn serve_until<F: Future>(&mut self, work: F) -> Result<F::Output, End> {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                event = self.call.next_event() => self.on_dialog_event(event).await?,
                () = self.hang_up.cancelled() => return Err(End::Shutdown),
                Some(spec) = self.transfers.recv() => return Err(End::Transfer(spec)),
                () = tokio::time::sleep_until(self.next_media_check) => self.check_media().await?,
            }
        }
    }

    /// Acts on what the caller did; `Err` once the call is over.
    pub(super) async fn on_dialog_event(&mut self, event: DialogEvent) -> Result<(), End> {
        match event {
            DialogEvent::Ended => return Err(End::Remote),
            DialogEvent::SessionExpired => {
                tracing::info!(
                    why = "session_expired",
                    "hanging up: the SIP session was not refreshed"
                );
                self.report.ending(Hangup::SessionExpired);
                self.call.bye().await;
                return Err(End::Remote);
            }
            DialogEvent::Offer(offer) => self.renegotiate(offer).await,
            DialogEvent::Query(query) => query.answer().await,
        }
        Ok(())
    }

    /// Holds the leg again (back from a room): it is drained within
    /// [`CHECK_EVERY`] from now, whatever the silence period.
    pub(super) fn take_back(&mut self, leg: Box<Leg>) {
        self.media = Media::Idle(leg);
        self.next_media_check = self.next_media_check.min(Instant::now() + CHECK_EVERY);
    }

    /// Every [`CHECK_EVERY`] while the call holds its leg, drains it
    /// (nobody else reads its socket then); every [`SilenceWatch::period`]
    /// (at most 10 s), hangs up a call whose peer has sent nothing for its
    /// RTP timeout.
    pub(super) async fn check_media(&mut self) -> Result<(), End> {
        let now = Instant::now();
        let period = match (&mut self.media, &self.silence) {
            (Media::Idle(leg), _) => {
                leg.drain();
                CHECK_EVERY
            }
            (_, Some(watch)) => watch.period(self.on_hold),
            (_, None) => CHECK_EVERY,
        };
        self.next_media_check = on_grid(now + period);
        let Some(silent) = self
            .silence
            .as_mut()
            .and_then(|w| w.check(now, self.on_hold))
        else {
            return Ok(());
        };
        tracing::info!(
            why = "rtp_timeout",
            silent_s = silent.as_secs(),
            on_hold = self.on_hold,
            "hanging up: nothing (RTP or RTCP) from the caller"
        );
        self.report.ending(Hangup::RtpTimeout);
        self.call.bye().await;
        Err(End::Remote)
    }

    /// Answers a re-INVITE or UPDATE: a new offer renegotiates media (hold,
    /// resume, new address); none gets our current session back.
    async fn renegotiate(&mut self, offer: SessionOffer) {
        let Some((offer, parsed)) = read_offer(offer, &self.answer_sdp).await else {
            return;
        };
        self.local.session_version += 1;
        let Ok((negotiated, answer_sdp)) = sdp::answer(&parsed, &self.local) else {
            self.local.session_version -= 1;
            return offer.refuse(488).await;
        };
        tracing::info!(method = offer.method, direction = ?negotiated.remote_direction, "session renegotiated");
        self.on_hold = LegMode::from_local(negotiated.local_direction).on_hold();
        match &mut self.media {
            Media::Idle(leg) => leg.renegotiate(&negotiated),
            Media::InMpc(m) => {
                let _ = self.services.media.renegotiate(m.leg_id, negotiated);
            }
            Media::Gone => {}
        }
        self.answer_sdp = answer_sdp;
        offer.answer(self.answer_sdp.clone()).await;
    }

    /// Sends 200 OK with our SDP answer (the flow asks once; a call we
    /// placed is answered already).
    pub(super) fn answer(&mut self) -> Result<(), End> {
        if self.silence.is_some() {
            return Ok(()); // answered already
        }
        if let Err(error) = self.call.accept(&self.answer_sdp) {
            tracing::warn!(%error, "could not answer");
            return Err(End::Remote);
        }
        let timeouts = self.services.settings.rtp_timeouts;
        self.silence = Some(SilenceWatch::new(
            self.activity.clone(),
            timeouts,
            Instant::now(),
        ));
        tracing::info!("call answered");
        self.report.answered();
        Ok(())
    }
}
