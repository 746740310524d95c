//! Slowing down repeated failed logins, per username and per address (GCRA from governor).
//! A failure consumes a cell of both; once either has none left, further attempts are refused
//! until it refills, whether or not the password would be right.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hashbrown::HashMap;

/// Failed logins allowed per username per minute, and per address.
const PER_USERNAME: u32 = 5;
const PER_ADDRESS: u32 = 20;
/// Keys remembered before old ones are forgotten.
const MAX_KEYS: usize = 100_000;

pub struct LoginLimits {
    by_username: DefaultKeyedRateLimiter<String>,
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    blocked: Mutex<HashMap<Blocked, Instant>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Blocked {
    Username(String),
    Address(IpAddr),
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            by_username: RateLimiter::keyed(per_minute(PER_USERNAME)),
            by_address: RateLimiter::keyed(per_minute(PER_ADDRESS)),
            blocked: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginLimits {
    /// Seconds to wait before this username or address may try again, if any.
    pub fn wait(&self, username_key: &str, address: IpAddr) -> Option<u64> {
        let now = Instant::now();
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        [
            Blocked::Username(username_key.to_owned()),
            Blocked::Address(address),
        ]
        .iter()
        .filter_map(|key| blocked.get(key))
        .filter(|until| **until > now)
        .map(|until| seconds(*until - now))
        .max()
    }

    /// Records a failed login; returns the seconds to wait when it was one too many.
    pub fn failed(&self, username_key: &str, address: IpAddr) -> Option<u64> {
        let clock = DefaultClock::default();
        let mut waits = Vec::new();
        if let Err(not_until) = self.by_username.check_key(&username_key.to_owned()) {
            waits.push((
                Blocked::Username(username_key.to_owned()),
                not_until.wait_time_from(clock.now()),
            ));
        }
        if let Err(not_until) = self.by_address.check_key(&address) {
            waits.push((
                Blocked::Address(address),
                not_until.wait_time_from(clock.now()),
            ));
        }
        if self.by_username.len() > MAX_KEYS {
            self.by_username.retain_recent();
        }
        if self.by_address.len() > MAX_KEYS {
            self.by_address.retain_recent();
        }
        if waits.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.len() > MAX_KEYS {
            blocked.retain(|_, until| *until > now);
        }
        let mut longest = Duration::ZERO;
        for (key, wait) in waits {
            blocked.insert(key, now + wait);
            longest = longest.max(wait);
        }
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
        let limits = LoginLimits::default();
        let here: IpAddr = [127, 0, 0, 1].into();
        for _ in 0..PER_USERNAME {
            assert_eq!(limits.failed("alice", here), None);
        }
        let wait = limits.failed("alice", here).expect("one too many");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limits.wait("alice", here).is_some());
        assert_eq!(limits.wait("bob", [10, 0, 0, 2].into()), None);
    }
}
