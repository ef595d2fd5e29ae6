//! The bare UDP relay, `chorus-relay` (in `bench/relay`): leg `i` sends to
//! port `base + i` and hears itself echoed. No signalling: the relay bound
//! all its ports before it printed its ready line.

use std::net::SocketAddr;
use std::time::Duration;

use super::{Hearing, Setup, Target, Teardown};
use crate::plan::LegPlan;

/// `chorus-relay` as a [`Target`].
pub struct Relay {
    base: SocketAddr,
    legs: usize,
    ready: Vec<Setup>,
}

impl Relay {
    /// A relay whose `legs` ports start at `base`.
    pub fn new(base: SocketAddr, legs: usize) -> Self {
        Self {
            base,
            legs,
            ready: Vec::new(),
        }
    }
}

impl Target for Relay {
    fn name(&self) -> &str {
        "relay"
    }

    fn hearing(&self) -> Hearing {
        Hearing::Itself
    }

    fn begin(&mut self, leg: &LegPlan, _rtp: SocketAddr) -> Result<(), String> {
        let port = u16::try_from(leg.index)
            .ok()
            .filter(|_| leg.index < self.legs)
            .and_then(|i| self.base.port().checked_add(i))
            .ok_or_else(|| {
                format!(
                    "leg {} is beyond the relay's {} ports",
                    leg.index, self.legs
                )
            })?;
        self.ready.push(Setup {
            leg: leg.index,
            result: Ok(SocketAddr::new(self.base.ip(), port)),
            latency: Duration::ZERO,
        });
        Ok(())
    }

    fn poll(&mut self, _wait: Duration) -> Vec<Setup> {
        std::mem::take(&mut self.ready)
    }

    fn finish(&mut self, _wait: Duration) -> Teardown {
        Teardown::default()
    }
}
