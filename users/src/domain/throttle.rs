//! Login throttling: how many failed logins lock a username or a client out, and for how long.

use std::time::Duration;

use chrono::NaiveDateTime;

/// After `per_username` failed logins for one username (or `per_client` from one client
/// address) within `window`, logins are refused until the oldest of them leaves the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub window: Duration,
    pub per_username: u32,
    pub per_client: u32,
}

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            window: Duration::from_secs(15 * 60),
            per_username: 5,
            per_client: 20,
        }
    }
}

impl LoginThrottle {
    /// The start of the window that counts at `now`.
    pub fn window_start(&self, now: NaiveDateTime) -> NaiveDateTime {
        now - chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX)
    }

    /// How long until another attempt is allowed, given the failures inside the window
    /// (newest first) and the limit that applies; `None` when one is allowed now.
    pub fn wait(
        &self,
        failures_newest_first: &[NaiveDateTime],
        limit: u32,
        now: NaiveDateTime,
    ) -> Option<Duration> {
        let oldest_counted = failures_newest_first.get(limit.checked_sub(1)? as usize)?;
        let free_at = *oldest_counted + chrono::Duration::from_std(self.window).ok()?;
        (free_at - now).to_std().ok().filter(|wait| !wait.is_zero())
    }
}

/// Whole seconds for `Retry-After`, rounded up so a client that waits that long gets in.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    #[test]
    fn the_limit_th_failure_in_the_window_locks_until_it_leaves() {
        let throttle = LoginThrottle::default();
        let now = at(1000);
        let four = [at(990), at(980), at(970), at(960)];
        assert_eq!(throttle.wait(&four, 5, now), None);
        let five = [at(990), at(980), at(970), at(960), at(950)];
        assert_eq!(
            throttle.wait(&five, 5, now),
            Some(Duration::from_secs(900 - 50))
        );
        let six = [at(999), at(990), at(980), at(970), at(960), at(100)];
        assert_eq!(
            throttle.wait(&six, 5, now),
            Some(Duration::from_secs(900 - 40))
        );
        assert_eq!(
            throttle.wait(&five, 5, at(950 + 900)),
            None,
            "free once the window passed"
        );
        assert_eq!(throttle.wait(&five, 0, now), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(850)), 850);
        assert_eq!(retry_after_secs(Duration::from_millis(850_001)), 851);
    }
}
