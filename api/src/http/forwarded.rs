//! The client's address behind proxies of ours that append to a header such as
//! `X-Forwarded-For`. A client may send that header itself, on as many lines as it likes, so only
//! the values our proxies appended can be believed: the client is the value the outermost of them
//! added, `trusted_hops` from the end of all the header's lines taken together.

use std::net::{IpAddr, SocketAddr};

/// The client's address from the header's lines (in the order received), or `None` when there
/// are fewer values than trusted hops (the request did not come through our proxies) or the value
/// there is not an address.
pub fn forwarded_client<S: AsRef<str>>(lines: &[S], trusted_hops: usize) -> Option<IpAddr> {
    let values: Vec<&str> = lines
        .iter()
        .flat_map(|line| line.as_ref().split(','))
        .map(str::trim)
        .collect();
    let index = values.len().checked_sub(trusted_hops.max(1))?;
    parse_hop(values[index])
}

/// `203.0.113.7`, `2001:db8::1`, or either with a port (`203.0.113.7:5123`, `[2001:db8::1]:443`).
fn parse_hop(value: &str) -> Option<IpAddr> {
    value
        .parse::<IpAddr>()
        .or_else(|_| value.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(lines: &[&str], hops: usize) -> Option<String> {
        forwarded_client(lines, hops).map(|ip| ip.to_string())
    }

    #[test]
    fn one_trusted_hop_takes_the_last_value_of_the_last_line() {
        assert_eq!(client(&["203.0.113.7"], 1).as_deref(), Some("203.0.113.7"));
        assert_eq!(
            client(&["6.6.6.6, 203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        // A forged first line no longer decides: every line counts, in order.
        assert_eq!(
            client(&["6.6.6.6", "203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["1.1.1.1, 6.6.6.6", "7.7.7.7,203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
    }

    #[test]
    fn more_trusted_hops_look_further_back() {
        let lines = ["6.6.6.6, 203.0.113.7", "10.0.0.2"];
        assert_eq!(client(&lines, 2).as_deref(), Some("203.0.113.7"));
        assert_eq!(client(&lines, 3).as_deref(), Some("6.6.6.6"));
        assert_eq!(client(&lines, 4), None, "fewer values than hops");
        assert_eq!(client(&[], 1), None);
        assert_eq!(client(&lines, 0).as_deref(), Some("10.0.0.2"), "0 means 1");
    }

    #[test]
    fn values_are_parsed_as_addresses_with_or_without_a_port() {
        assert_eq!(
            client(&["203.0.113.7:5123"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            client(&["[2001:db8::1]:443"], 1).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            client(&["2001:DB8:0::1"], 1).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            client(&["::ffff:203.0.113.7"], 1).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(client(&["unknown"], 1), None);
        assert_eq!(client(&["203.0.113.7, "], 1), None, "an empty last hop");
    }
}
