//! The API's commands to an MPC, carried out by its task: look at the MPC,
//! start or end it, change or kick members. Each is checked against the
//! engine's state first, so a bad request changes nothing.

use chorus_mpc::{ExitCause, Input, MpcState};

use super::mailbox::{Control, ControlError, Members};
use super::services::MpcServices;
use super::task::Live;

impl Live {
    /// Carries out `control` and answers with the MPC as it is after.
    pub(super) fn control(
        &mut self,
        services: &MpcServices,
        control: Control,
    ) -> Result<MpcState, ControlError> {
        if control != Control::Show && self.engine.ended().is_some() {
            return Err(ControlError::Ended);
        }
        match control {
            Control::Show => {}
            Control::Start => self.feed(services, Input::Start),
            Control::End => self.feed(services, Input::End),
            Control::Update {
                members,
                mute,
                hold,
                coach_mode,
            } => {
                for member in self.resolve(members)? {
                    let update = Input::Update {
                        member,
                        mute,
                        hold,
                        coach_mode,
                    };
                    self.feed(services, update);
                }
            }
            Control::Kick { members } => {
                for member in self.resolve(members)? {
                    let cause = ExitCause::Kicked;
                    self.feed(services, Input::Leave { member, cause });
                }
            }
        }
        Ok(self.engine.state())
    }

    /// The present members `members` means.
    fn resolve(&self, members: Members) -> Result<Vec<u32>, ControlError> {
        let present = self.engine.members();
        match members {
            Members::All => Ok(present),
            Members::One(id) if present.contains(&id) => Ok(vec![id]),
            Members::One(id) => Err(ControlError::NoSuchMember(id)),
        }
    }
}
