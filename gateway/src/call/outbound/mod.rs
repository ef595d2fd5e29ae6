//! Outbound calls. [`dial`] places one (a UAC leg; see its module) and
//! ends with an answered [`OutboundCall`] or a [`DialFailure`] with Plivo's
//! cause. [`OutboundCalls`] carries out Add Participant with it: each
//! destination routed (a `sip:` URI, a registered user's contacts, or a
//! number through the trunks), raced, paced under `sip.max_cps`, and the
//! winner handed to a call driver, which joins it to the MPC and serves
//! its dialog (re-INVITE, UPDATE, BYE) from then on; it also moves live
//! calls (transfers). A session timer the callee sets is kept (see
//! `sip::uac`). Not yet done: DNS SRV for hostnames, dial_music and digits
//! on early media.

mod answered;
mod cause;
mod dial;
mod participant;
mod race;
pub mod request;
mod route;
mod trunks;

pub use cause::{DialCause, DialFailure};
pub use dial::{CallEnd, DialCanceller, DialOptions, OutboundCall, dial};
pub use participant::{AddError, Added, AddedCall, OutboundCalls};
pub use route::{RouteError, Routing};
pub use trunks::Trunks;
