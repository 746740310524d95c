//! Slowing down repeated failures, per name (a username, a client id) and per address (GCRA
//! from governor): failed logins, and failed client authentication at the token endpoint. A
//! failure consumes a cell of both; once either has none left, further attempts are refused
//! until it refills, whether or not the credentials would be right. Successes cost nothing, so
//! a busy client that authenticates well is never slowed.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hashbrown::HashMap;

/// Failed logins allowed per username per minute, and per address.
const LOGINS_PER_USERNAME: u32 = 5;
const LOGINS_PER_ADDRESS: u32 = 20;
/// Failed client authentications allowed per client id per minute, and per address.
const TOKENS_PER_CLIENT: u32 = 10;
const TOKENS_PER_ADDRESS: u32 = 30;
/// Keys remembered before old ones are forgotten.
const MAX_KEYS: usize = 100_000;

pub struct FailureLimits {
    by_name: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<Blocked, Instant>>,
    /// Until when (milliseconds after `base`) anything is blocked: a lock-free fast path.
    latest: AtomicU64,
    base: Instant,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Blocked {
    Username(String),
    Address(IpAddr),
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl FailureLimits {
    fn new(per_name: u32, per_address: u32) -> FailureLimits {
        FailureLimits {
            by_name: RateLimiter::keyed(per_minute(per_name)),
            by_address: RateLimiter::keyed(per_minute(per_address)),
            blocked: Mutex::new(HashMap::new()),
            latest: AtomicU64::new(0),
            base: Instant::now(),
        }
    }

    /// For sign-ins: per username and per address.
    pub fn logins() -> FailureLimits {
        FailureLimits::new(LOGINS_PER_USERNAME, LOGINS_PER_ADDRESS)
    }

    /// For client authentication at the OAuth endpoints: per client id and per address.
    pub fn clients() -> FailureLimits {
        FailureLimits::new(TOKENS_PER_CLIENT, TOKENS_PER_ADDRESS)
    }

    /// Whether anything is held back at all (the fast path of every request asks this).
    pub fn any_blocked(&self) -> bool {
        let now = u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX);
        now < self.latest.load(Ordering::Relaxed)
    }

    /// Seconds to wait before this name or address may try again, if any.
    pub fn wait(&self, name: &str, address: IpAddr) -> Option<u64> {
        let now = Instant::now();
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        [
            Blocked::Username(name.to_owned()),
            Blocked::Address(address),
        ]
        .iter()
        .filter_map(|key| blocked.get(key))
        .filter(|until| **until > now)
        .map(|until| seconds(*until - now))
        .max()
    }

    /// Records a failure; returns the seconds to wait when it was one too many.
    pub fn failed(&self, name: &str, address: IpAddr) -> Option<u64> {
        let clock = DefaultClock::default();
        let mut waits = Vec::new();
        if let Err(not_until) = self.by_name.check_key(&name.to_owned()) {
            waits.push((
                Blocked::Username(name.to_owned()),
                not_until.wait_time_from(clock.now()),
            ));
        }
        if let Err(not_until) = self.by_address.check_key(&address) {
            waits.push((
                Blocked::Address(address),
                not_until.wait_time_from(clock.now()),
            ));
        }
        if self.by_name.len() > MAX_KEYS {
            self.by_name.retain_recent();
        }
        if self.by_address.len() > MAX_KEYS {
            self.by_address.retain_recent();
        }
        if waits.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        blocked.retain(|_, until| *until > now);
        let mut longest = Duration::ZERO;
        for (key, wait) in waits {
            blocked.insert(key, now + wait);
            longest = longest.max(wait);
        }
        let until = u64::try_from((now + longest - self.base).as_millis()).unwrap_or(u64::MAX);
        self.latest.fetch_max(until, Ordering::Relaxed);
        Some(seconds(longest))
    }
}

/// Whole seconds, rounded up, at least one.
fn seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0).max(u64::from(wait.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_for_a_name_waits_and_others_do_not() {
        let limits = FailureLimits::logins();
        let here: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..LOGINS_PER_USERNAME {
            assert_eq!(limits.failed("alice", here), None);
        }
        let wait = limits.failed("alice", here).expect("one too many");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limits.wait("alice", here).is_some());
        assert_eq!(limits.wait("bob", [10, 0, 0, 2].into()), None);
    }
}
