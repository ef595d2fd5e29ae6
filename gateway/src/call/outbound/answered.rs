//! The destination that answered: it confirms (`confirm_key`) in a room
//! of its own, then joins the MPC as its own call if it is the first, or is
//! hung up as `LOST RACE`; once it is in, the MPC hears
//! `AddParticipantByAPIActionCompleted` with its member.

use std::sync::Arc;

use chorus_flow::{Flow, HangupCause, Start};
use chorus_media::sdp::LocalMedia;
use chorus_mixer::clip::Clip;
use chorus_xml::{Document, SoundItem, Speak, Step, Verb};
use tokio::time::Instant;

use super::cause::DialCause;
use super::dial::OutboundCall;
use super::participant::{RaceRequest, Shared, api_action};
use super::race::Race;
use super::request::Confirm;
use crate::call::dialog::CallDialog;
use crate::call::driver::{CallDriver, CallParts, Confirmation};
use crate::call::report::{CallReport, Hangup};
use crate::call::table::CallControl;
use crate::media::leg::LegMode;
use crate::mpc::MpcAddress;
use crate::player::Use;
use crate::sip::Invite;

impl Shared {
    /// An answered destination: confirms (`confirm_key`), then joins the
    /// MPC if it is the first, or hangs up as `LOST RACE`.
    pub(super) async fn answered(
        &self,
        mut driver: CallDriver,
        race: &Race,
        index: usize,
        request: &RaceRequest,
    ) {
        if let Some(confirm) = &request.dial.confirm {
            let prompt = self.prompt(confirm).await;
            let limit = self.services.settings.confirm_key_timeout;
            let why = match driver.confirm(confirm.key, prompt, limit, &race.won).await {
                Confirmation::Confirmed => None,
                Confirmation::TimedOut => Some(Hangup::Dial(DialCause::ConfirmTimeout.info())),
                Confirmation::Withdrawn => Some(Hangup::Dial(DialCause::LostRace.info())),
                Confirmation::HungUp => Some(Hangup::ByCallee),
                Confirmation::Stopping => Some(Hangup::Flow(HangupCause::Shutdown)),
            };
            if let Some(why) = why {
                return driver.abandon(why).await;
            }
        }
        if !race.claim(index) {
            tracing::info!("answered after another destination; hanging up");
            return driver
                .abandon(Hangup::Dial(DialCause::LostRace.info()))
                .await;
        }
        if let Some(send) = &request.dial.send_digits {
            // send_on_preanswer is taken as after the answer: chorus sends
            // no digits on early media yet.
            driver.send_digits_on_join(send.digits.clone());
        }
        let join = Document {
            steps: vec![Step::Verb(Verb::MultiPartyCall(request.spec.clone()))],
            warnings: Vec::new(),
        };
        let flow = Flow::answered_call(Instant::now().into_std(), Start::Document(join));
        let joined = driver.on_join();
        let (mpcs, name) = (self.services.mpcs.clone(), request.spec.name.clone());
        tokio::spawn(async move {
            let (mpc, member) = match joined.await {
                Ok((uuid, member)) => (MpcAddress::Uuid(uuid), Some(member)),
                Err(_) => (MpcAddress::Name(name), None),
            };
            api_action(&mpcs, &mpc, true, member).await;
        });
        driver.run(flow).await;
    }

    /// What the callee hears before pressing its confirm key: the sound
    /// document, or (without one, or if it fails) "Please enter {key} to
    /// accept the call".
    async fn prompt(&self, confirm: &Confirm) -> Arc<Clip> {
        let player = &self.services.player;
        if let Some((url, method)) = &confirm.sound {
            match player.sound_document(url, *method, Use::Call).await {
                Ok(clip) => return clip,
                Err(error) => {
                    tracing::warn!(%url, %error, "confirm_key_sound_url failed; saying the default prompt");
                }
            }
        }
        let say = Speak {
            text: format!("Please enter {} to accept the call", confirm.key),
            voice: "WOMAN".to_owned(),
            language: "en-US".to_owned(),
            loop_count: 1,
        };
        player.clip(&[SoundItem::Speak(say)], Use::Call).await
    }

    /// A driver for the answered call.
    pub(super) fn driver(
        &self,
        call: OutboundCall,
        call_uuid: String,
        party: Invite,
        control: CallControl,
        report: CallReport,
    ) -> CallDriver {
        let (dialog, leg, leg_id, local, offer, negotiated): (_, _, _, LocalMedia, _, _) =
            call.into_parts();
        let leg = leg.expect("an answered call's leg is not taken before it joins");
        CallDriver::new(CallParts {
            services: self.services.clone(),
            call: CallDialog::Outbound(dialog),
            call_uuid,
            party,
            control,
            leg,
            leg_id,
            local,
            answer_sdp: offer,
            on_hold: LegMode::from_local(negotiated.local_direction).on_hold(),
            report,
        })
    }
}
