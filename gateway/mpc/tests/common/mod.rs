//! What every engine test file drives the engine with: simulated time from
//! [`T0`], a numbered inbound call, and a join that must succeed. Shared so
//! that the rules, tracks and member-audio tests join members alike; each
//! file keeps the helpers that read its own outputs.

#![allow(dead_code)]

use chorus_mpc::{CallInfo, Input, Mpc, Output, Timestamp};
use chorus_xml::MultiPartyCall;

/// The simulated clock's start (an arbitrary real time, in ms).
pub const T0: Timestamp = Timestamp(1_594_279_507_000);

/// `secs` seconds after [`T0`].
pub fn at(secs: u64) -> Timestamp {
    T0.plus_secs(secs)
}

/// Inbound call number `n`: `call-n`, from `callern` to `support`.
pub fn call(n: u32) -> CallInfo {
    CallInfo {
        call_uuid: format!("call-{n}"),
        from: format!("caller{n}"),
        to: "support".into(),
        inbound: true,
    }
}

/// Every output waiting.
pub fn drain(m: &mut Mpc) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

/// Call `n` joins with `spec` at `secs`: its member id and every output.
pub fn join(m: &mut Mpc, secs: u64, n: u32, spec: &MultiPartyCall) -> (u32, Vec<Output>) {
    m.handle(
        at(secs),
        Input::Join {
            call: call(n),
            spec: Box::new(spec.clone()),
        },
    );
    let out = drain(m);
    let member = out
        .iter()
        .find_map(|o| match o {
            Output::Joined { member, .. } => Some(*member),
            _ => None,
        })
        .expect("joined");
    (member, out)
}
