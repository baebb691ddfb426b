//! Login throttling: how many failed logins lock an account or a client out, for how long,
//! and why a stranger's failures never lock the account's owner out.

use std::time::Duration;

use chrono::NaiveDateTime;

/// After `per_username` failed logins for one account (or `per_client` from one client
/// address) within `window`, logins are refused until the oldest of them leaves the window.
///
/// An address the account's owner logged in from within `known_client_for` is counted apart:
/// only the failures on that account from that address count against it (`per_known_client`),
/// so strangers elsewhere can neither use up nor block the owner's budget. A guesser gets
/// `per_username` guesses per window on an account whatever number of addresses they have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginThrottle {
    pub window: Duration,
    pub per_username: u32,
    pub per_client: u32,
    /// Failed logins within `window` on one account from an address its owner logged in from.
    pub per_known_client: u32,
    /// How long an address stays known after the owner's last successful login from it.
    pub known_client_for: Duration,
}

/// Addresses kept per account (the most recently used); one owner's phone, laptop, home and
/// office, with room to move between networks. An address pushed out just loses its own
/// budget and shares the account's again.
pub const KNOWN_CLIENTS_PER_ACCOUNT: u32 = 10;

impl Default for LoginThrottle {
    fn default() -> Self {
        LoginThrottle {
            window: Duration::from_secs(15 * 60),
            per_username: 5,
            per_client: 20,
            per_known_client: 5,
            known_client_for: Duration::from_secs(90 * 86_400),
        }
    }
}

/// The failed attempts inside the window that decide whether the next one is checked, newest
/// first, at most as many as the limit that applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierAttempts {
    /// From an address the account's owner logged in from: those on this account from here.
    FromKnownClient {
        on_account_from_here: Vec<NaiveDateTime>,
    },
    /// From anywhere else: those on this account, and those from this address on any account.
    FromElsewhere {
        on_account: Vec<NaiveDateTime>,
        from_client: Vec<NaiveDateTime>,
    },
}

impl LoginThrottle {
    /// The start of the window that counts at `now`.
    pub fn window_start(&self, now: NaiveDateTime) -> NaiveDateTime {
        before(now, self.window)
    }

    /// Since when an owner's successful login keeps an address known.
    pub fn known_since(&self, now: NaiveDateTime) -> NaiveDateTime {
        before(now, self.known_client_for)
    }

    /// How long until an attempt with these earlier ones may be checked; `None`: now.
    pub fn wait_after(&self, earlier: &EarlierAttempts, now: NaiveDateTime) -> Option<Duration> {
        match earlier {
            EarlierAttempts::FromKnownClient {
                on_account_from_here,
            } => self.wait(on_account_from_here, self.per_known_client, now),
            EarlierAttempts::FromElsewhere {
                on_account,
                from_client,
            } => [
                self.wait(on_account, self.per_username, now),
                self.wait(from_client, self.per_client, now),
            ]
            .into_iter()
            .flatten()
            .max(),
        }
    }

    /// How long until another attempt is allowed, given the failures inside the window
    /// (newest first) and the limit that applies (0: none); `None` when one is allowed now.
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

/// `span` before `now`, or the beginning of time for a span longer than there was.
fn before(now: NaiveDateTime, span: Duration) -> NaiveDateTime {
    chrono::Duration::from_std(span)
        .ok()
        .and_then(|span| now.checked_sub_signed(span))
        .unwrap_or(NaiveDateTime::MIN)
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
    fn a_known_client_counts_only_its_own_failures_on_the_account() {
        let throttle = LoginThrottle::default();
        let now = at(1000);
        let many: Vec<_> = (0..20).map(|i| at(999 - i)).collect();
        let stranger = EarlierAttempts::FromElsewhere {
            on_account: many[..5].to_vec(),
            from_client: vec![],
        };
        assert!(throttle.wait_after(&stranger, now).is_some());
        let sprayer = EarlierAttempts::FromElsewhere {
            on_account: vec![],
            from_client: many.clone(),
        };
        assert!(throttle.wait_after(&sprayer, now).is_some());
        let owner = EarlierAttempts::FromKnownClient {
            on_account_from_here: many[..4].to_vec(),
        };
        assert_eq!(throttle.wait_after(&owner, now), None);
        let owner = EarlierAttempts::FromKnownClient {
            on_account_from_here: many[..5].to_vec(),
        };
        assert_eq!(
            throttle.wait_after(&owner, now),
            Some(Duration::from_secs(900 - 5))
        );
    }

    #[test]
    fn the_longer_wait_of_account_and_client_applies() {
        let throttle = LoginThrottle::default();
        let now = at(1000);
        let both = EarlierAttempts::FromElsewhere {
            on_account: (0..5).map(|i| at(900 - i)).collect(),
            from_client: (0..20).map(|i| at(990 - i)).collect(),
        };
        assert_eq!(
            throttle.wait_after(&both, now),
            Some(Duration::from_secs(900 - 29))
        );
    }

    #[test]
    fn an_address_stays_known_for_ninety_days() {
        let throttle = LoginThrottle::default();
        assert_eq!(throttle.known_since(at(90 * 86_400)), at(0));
        let forever = LoginThrottle {
            known_client_for: Duration::from_secs(u64::MAX),
            ..throttle
        };
        assert_eq!(forever.known_since(at(0)), NaiveDateTime::MIN);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(850)), 850);
        assert_eq!(retry_after_secs(Duration::from_millis(850_001)), 851);
    }
}
