//! A participant's end of its MPC: what its call tells the MPC, and what
//! the MPC says back.

use chorus_mpc::{ExitCause, Input, Then};
use tokio::sync::{mpsc, oneshot};

use super::mailbox::Command;
use crate::media::{LegEvent, LegId};

/// A participant's place in an MPC, returned by
/// [`MpcRegistry::join`](super::MpcRegistry::join).
pub struct Membership {
    /// The MPC's friendly name.
    pub name: String,
    /// The MPC's UUID.
    pub mpc_uuid: String,
    /// The participant's member id in the MPC.
    pub member: u32,
    /// The participant's leg.
    pub leg_id: LegId,
    /// Digits, speech changes, and the leg itself when it leaves.
    pub events: mpsc::UnboundedReceiver<LegEvent>,
    pub(super) mpc: mpsc::UnboundedSender<Command>,
    pub(super) released: oneshot::Receiver<Then>,
}

impl Membership {
    /// A digit the participant pressed.
    pub fn digit(&self, digit: char) {
        let _ = self.mpc.send(Command::Input(Input::Digits {
            member: self.member,
            digits: digit.to_string(),
        }));
    }

    /// The participant started or stopped speaking.
    pub fn speaking(&self, speaking: bool) {
        let _ = self.mpc.send(Command::Input(Input::Speaking {
            member: self.member,
            speaking,
        }));
    }

    /// The sound played to the participant alone (its `token`) ended by
    /// itself.
    pub fn audio_ended(&self, token: u64) {
        let member = self.member;
        let _ = self.mpc.send(Command::AudioEnded { member, token });
    }

    /// The participant's call ended (`cause` Hangup) or left for another
    /// document (Transferred): the MPC takes it out, and the leg comes back
    /// on [`Membership::events`].
    pub fn leave(&self, cause: ExitCause) {
        let _ = self.mpc.send(Command::Input(Input::Leave {
            member: self.member,
            cause,
        }));
    }

    /// What the call does next if the MPC released it (sent before its leg
    /// comes back); `None` if it was not released (its call hung up).
    pub fn take_release(&mut self) -> Option<Then> {
        self.released.try_recv().ok()
    }
}
