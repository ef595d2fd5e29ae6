//! SIP trunks (`[[trunks]]`): a phone number is dialled through the first
//! trunk, in the configuration's order, whose prefixes take it and which is
//! up and has a free channel; a trunk that fails the call (it does not
//! answer, answers 5xx, or refuses our credentials) hands it to the next.
//! Each trunk answers its digest challenges with its own credentials, puts
//! its `from_domain` in From, paces its own dials (`max_cps`) and counts its
//! calls (`max_channels`: a [`Channel`] is held for the call's life). An
//! OPTIONS ping every `ping_interval` marks a trunk down while it does not
//! answer (any answer, even 404, means it is there).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use chorus_config::TrunkConfig;
use tokio_util::sync::CancellationToken;

use super::cause::{DialCause, DialFailure};
use super::dial::{DialOptions, OutboundCall, dial};
use crate::call::services::CallServices;
use crate::sip::pacer::Pacer;
use crate::sip::uac::{Dialer, DigestCredentials};

/// How long a ping waits for its answer.
const PING_WAIT: Duration = Duration::from_secs(5);

/// Every configured trunk; cheap to clone.
#[derive(Clone, Default)]
pub struct Trunks(Arc<Vec<Arc<Trunk>>>);

/// One trunk and its state.
struct Trunk {
    config: TrunkConfig,
    up: AtomicBool,
    channels: AtomicU32,
    /// Its own pace, if it has a `max_cps`.
    pacer: Option<Pacer>,
}

/// A call's hold on one of its trunk's channels, given back on drop.
pub struct Channel(Option<Arc<Trunk>>);

impl Drop for Channel {
    fn drop(&mut self) {
        if let Some(trunk) = &self.0 {
            trunk.channels.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// Whether `to` is a phone number (digits, optionally after `+`).
pub fn is_number(to: &str) -> bool {
    let digits = to.strip_prefix('+').unwrap_or(to);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

impl Trunks {
    /// The trunks of the configuration, all up until a ping says otherwise.
    pub fn new(configs: &[TrunkConfig], queue: usize) -> Self {
        let trunks = configs
            .iter()
            .map(|config| {
                Arc::new(Trunk {
                    pacer: (config.max_cps > 0).then(|| Pacer::new(config.max_cps, queue)),
                    config: config.clone(),
                    up: AtomicBool::new(true),
                    channels: AtomicU32::new(0),
                })
            })
            .collect();
        Self(Arc::new(trunks))
    }

    /// Whether some trunk's prefixes take `number` (up or not).
    pub fn takes(&self, number: &str) -> bool {
        self.0.iter().any(|t| t.takes(number))
    }

    /// Pings every trunk with a `ping_interval` until `stop`.
    pub fn start_pings(&self, dialer: &Dialer, stop: &CancellationToken) {
        for trunk in self.0.iter() {
            let interval = trunk.config.ping_interval;
            if interval.is_zero() {
                continue;
            }
            let (trunk, dialer, stop) = (trunk.clone(), dialer.clone(), stop.clone());
            tokio::spawn(async move {
                let mut every = tokio::time::interval(interval);
                loop {
                    tokio::select! {
                        _ = every.tick() => {}
                        () = stop.cancelled() => return,
                    }
                    let answer = dialer.ping(trunk.config.proxy, PING_WAIT).await;
                    let up = answer.is_some();
                    if trunk.up.swap(up, Ordering::Relaxed) != up {
                        let name = &trunk.config.name;
                        if up {
                            tracing::info!(trunk = %name, status = ?answer, "trunk up: it answers OPTIONS");
                        } else {
                            tracing::warn!(trunk = %name, "trunk down: no answer to OPTIONS");
                        }
                    }
                }
            });
        }
    }

    /// Dials `number` through the trunks that take it, one after another
    /// until one does not fail as a trunk; the call and its channel.
    pub async fn dial(
        &self,
        dialer: &Dialer,
        services: &CallServices,
        number: &str,
        options: DialOptions,
    ) -> Result<(OutboundCall, Channel), DialFailure> {
        let mut last = DialFailure {
            cause: DialCause::OutOfService,
            status: None,
            provisional: Vec::new(),
        };
        for trunk in self.0.iter().filter(|t| t.takes(number)) {
            let name = &trunk.config.name;
            if !trunk.up.load(Ordering::Relaxed) {
                tracing::info!(trunk = %name, "skipping a trunk that is down");
                continue;
            }
            let Some(channel) = trunk.channel() else {
                tracing::info!(trunk = %name, "skipping a trunk with every channel busy");
                continue;
            };
            if let Some(pacer) = &trunk.pacer {
                match pacer.reserve() {
                    Ok(slot) => slot.wait().await,
                    Err(full) => {
                        tracing::info!(trunk = %name, %full, "skipping a trunk whose dial queue is full");
                        continue;
                    }
                }
            }
            let target = trunk.target(number);
            tracing::info!(trunk = %name, %target, "dialling through a trunk");
            let options = DialOptions {
                credentials: trunk.credentials(),
                from_host: trunk.config.from_domain.clone(),
                ..options.clone()
            };
            match dial(dialer, &services.media, &target, options).await {
                Ok(call) => return Ok((call, channel)),
                Err(failure) if failure.cause.is_trunk_failure() => {
                    tracing::info!(trunk = %name, cause = failure.cause.info().cause, "trunk failed the call; trying the next");
                    last = failure;
                }
                Err(failure) => return Err(failure),
            }
        }
        Err(last)
    }
}

impl Trunk {
    /// Whether its prefixes take `number`.
    fn takes(&self, number: &str) -> bool {
        is_number(number)
            && (self.config.prefixes.is_empty()
                || self
                    .config
                    .prefixes
                    .iter()
                    .any(|p| number.starts_with(p.as_str())))
    }

    /// A channel, unless all `max_channels` are busy.
    fn channel(self: &Arc<Self>) -> Option<Channel> {
        let max = self.config.max_channels;
        let taken = self
            .channels
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (max == 0 || n < max).then_some(n + 1)
            });
        taken.ok().map(|_| Channel(Some(self.clone())))
    }

    /// The URI a number is dialled at: `strip`, then `add`, at the proxy.
    fn target(&self, number: &str) -> String {
        let rest: String = number.chars().skip(self.config.strip as usize).collect();
        format!("sip:{}{rest}@{}", self.config.add, self.config.proxy)
    }

    fn credentials(&self) -> Option<DigestCredentials> {
        let (username, password) = self.config.credentials.clone()?;
        Some(DigestCredentials {
            username,
            password,
            realm: self.config.realm.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trunk(prefixes: &[&str], strip: u32, add: &str, max_channels: u32) -> Arc<Trunk> {
        let config = TrunkConfig {
            name: "t".into(),
            proxy: "192.0.2.10:5060".parse().unwrap(),
            credentials: None,
            realm: None,
            from_domain: None,
            prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
            strip,
            add: add.into(),
            max_cps: 0,
            max_channels,
            ping_interval: Duration::ZERO,
        };
        Trunks::new(&[config], 10).0[0].clone()
    }

    #[test]
    fn numbers_are_matched_by_prefix_then_stripped_and_prefixed() {
        let t = trunk(&["+1", "1"], 1, "00", 0);
        assert!(t.takes("+15551234") && t.takes("15551234"));
        assert!(!t.takes("445551234") && !t.takes("sip:1@x") && !t.takes("1a"));
        assert_eq!(t.target("+15551234"), "sip:0015551234@192.0.2.10:5060");
        let any = trunk(&[], 0, "", 0);
        assert!(any.takes("445551234"));
        assert!(!any.takes("alice"));
    }

    #[test]
    fn a_trunk_gives_out_at_most_max_channels_and_takes_them_back() {
        let t = trunk(&[], 0, "", 2);
        let a = t.channel().expect("one");
        let _b = t.channel().expect("two");
        assert!(t.channel().is_none(), "both busy");
        drop(a);
        assert!(t.channel().is_some(), "one given back");
    }
}
