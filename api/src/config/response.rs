//! Quick-response settings (issue 13): the rings matching widens through
//! (`FEIHONG_RESPONSE_RINGS_M`), how long each ring is given (`FEIHONG_RESPONSE_RING_WAIT`), and
//! the key the city's dispatch system signs its calls with (`FEIHONG_DISPATCH_SECRET`).

use std::time::Duration;

use clap::Args;
use feihong_domain::incidents::ResponseSettings;
use secrecy::SecretString;

/// At most this many rings, each from 50 m to 20 km.
const MAX_RINGS: usize = 6;
const RING_RANGE_M: std::ops::RangeInclusive<u32> = 50..=20_000;

#[derive(Debug, Clone, Args)]
pub struct ResponseArgs {
    /// Ring radii in metres, widening outwards: by default 1, 3 and 5 minutes on an e-bike.
    #[arg(long, env = "FEIHONG_RESPONSE_RINGS_M", global = true, default_value = "250,750,1250",
        value_parser = rings)]
    pub response_rings_m: Rings,
    /// Seconds a ring is given before the next one opens (5–600).
    #[arg(long, env = "FEIHONG_RESPONSE_RING_WAIT", global = true, default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(5..=600))]
    pub response_ring_wait: u64,
    /// Key of the HMAC-SHA256 signature the city's dispatch system puts on every
    /// `POST /integrations/incidents` (at least 32 characters); unset: that route refuses all.
    #[arg(long, env = "FEIHONG_DISPATCH_SECRET", global = true, hide_env_values = true,
        value_parser = dispatch_secret)]
    pub dispatch_secret: Option<SecretString>,
}

/// The shortest dispatch secret accepted (HMAC-SHA256 keys should hold at least 256 bits).
pub const MIN_DISPATCH_SECRET_CHARS: usize = 32;

fn dispatch_secret(raw: &str) -> Result<SecretString, String> {
    if raw.chars().count() < MIN_DISPATCH_SECRET_CHARS {
        return Err(format!("at least {MIN_DISPATCH_SECRET_CHARS} characters"));
    }
    Ok(SecretString::from(raw.to_owned()))
}

/// Ring radii, strictly widening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rings(pub Vec<u32>);

pub fn rings(raw: &str) -> Result<Rings, String> {
    let radii = raw
        .split(',')
        .map(|part| {
            part.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{part}` is not metres"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if radii.is_empty() || radii.len() > MAX_RINGS {
        return Err(format!("1 to {MAX_RINGS} rings"));
    }
    if radii.iter().any(|r| !RING_RANGE_M.contains(r)) {
        return Err("each ring from 50 to 20000 metres".to_owned());
    }
    if radii.windows(2).any(|pair| pair[0] >= pair[1]) {
        return Err("rings must widen outwards".to_owned());
    }
    Ok(Rings(radii))
}

impl ResponseArgs {
    pub(super) fn settings(&self) -> ResponseSettings {
        ResponseSettings {
            rings_m: self.response_rings_m.0.clone(),
            ring_wait: Duration::from_secs(self.response_ring_wait),
            ..ResponseSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_widen_outwards_within_bounds() {
        assert_eq!(rings("250,750,1250").unwrap(), Rings(vec![250, 750, 1250]));
        assert_eq!(rings(" 100 ").unwrap(), Rings(vec![100]));
        for bad in [
            "",
            "750,250",
            "250,250",
            "10",
            "30000",
            "a",
            "1,2,3,4,5,6,7",
        ] {
            assert!(rings(bad).is_err(), "{bad}");
        }
    }
}
