//! Times as the contract writes them: RFC 3339 in UTC, to the second.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, SubsecRound, Utc};

/// Now, truncated to microseconds so that both database backends store it exactly.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

pub fn to_utc(naive: NaiveDateTime) -> DateTime<Utc> {
    naive.and_utc()
}

pub fn format(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `#[serde(with = "shared::time::rfc3339")]` for `DateTime<Utc>` fields.
pub mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(time: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(time))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc_to_the_second() {
        let time = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456+02:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(format(&time), "2026-11-22T08:00:00Z");
    }
}
