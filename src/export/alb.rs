//! AWS Application Load Balancer access logs (`--format alb`), and the classic ELB layout they grew from.
//!
//! ```text
//! type time elb client:port target:port request_processing_time target_processing_time
//! response_processing_time elb_status_code target_status_code received_bytes sent_bytes "request"
//! "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" "domain_name" "chosen_cert_arn" …
//!
//! https 2026-10-15T13:55:36.123456Z app/web/50dc6c495c0c9188 203.0.113.9:52144 10.0.1.5:80 0.001 0.020
//! 0.000 200 200 310 1935 "POST https://www.example.org:443/uploads/x.php HTTP/1.1" "curl/8.5.0" …
//! ```
//!
//! - Space-separated, some values quoted. Inside quotes the load balancer escapes `"` as `\x22` (a request
//!   for `/?q="` is logged as `/?q=\x22`, nginx's convention, which covers control and non-ASCII bytes
//!   too). `\xHH` escapes are undone, so the event carries the bytes the client sent.
//! - AWS appends new fields at the end and says to ignore fields one does not expect: only the first
//!   fourteen are read, whatever follows.
//! - `time` is ISO 8601 UTC with microseconds (kept to the millisecond).
//! - `"request"` is `METHOD scheme://host:port/uri HTTP/x`, the absolute form the load balancer rebuilds
//!   from the Host header: the host (without port) becomes the event's host and the rest its target.
//!   A request the load balancer could not parse is logged as `"- - - "` and is a line without a request.
//! - The client is `ip:port`; the port is dropped (IPv6 too, bracketed or not).
//! - status is `elb_status_code`, what the client got (a WAF block is 403 with target `-`); bytes is
//!   `sent_bytes`.
//! - Classic ELB lines have the same layout without the leading `type` and end after `ssl_protocol`;
//!   they are read too, and their events carry server `elb` instead of `alb`.

use std::borrow::Cow;

use super::clf::{split_request, strip_port};
use super::event::RawEvent;
use super::{LineParser, ParseResult, Parsed};
use crate::time::Timestamp;

/// An ALB (and classic ELB) access-log parser.
#[derive(Debug, Default)]
pub struct Alb;

impl LineParser for Alb {
    fn parse<'a>(&mut self, line: &'a [u8]) -> ParseResult<'a> {
        parse_line(line)
    }
}

fn parse_line(line: &[u8]) -> ParseResult<'_> {
    let mut rest = line;
    let first = next_plain(&mut rest).ok_or("empty line")?;
    // Classic ELB starts with the time; ALB with the connection type (http, https, h2, grpcs, ws, wss).
    let (time, classic) = if first.first().is_some_and(u8::is_ascii_digit) {
        (first, true)
    } else {
        if first.is_empty()
            || first.len() > 10
            || !first.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        {
            return Err("first field is neither a connection type (http, https, h2, …) nor a time".into());
        }
        (next_plain(&mut rest).ok_or("no time")?, false)
    };
    let time = std::str::from_utf8(time).ok().and_then(Timestamp::parse_rfc3339).ok_or("bad time")?;
    let _elb = next_plain(&mut rest).ok_or("no load balancer name")?;
    let client = next_plain(&mut rest).ok_or("no client:port")?;
    let _target = next_plain(&mut rest).ok_or("no target:port")?;
    for what in ["request_processing_time", "target_processing_time", "response_processing_time"] {
        next_plain(&mut rest).ok_or(what)?;
    }
    let status = next_plain(&mut rest).ok_or("no elb_status_code")?;
    let _target_status = next_plain(&mut rest).ok_or("no target_status_code")?;
    let _received = next_plain(&mut rest).ok_or("no received_bytes")?;
    let sent = next_plain(&mut rest).ok_or("no sent_bytes")?;
    let request = next_quoted(&mut rest).ok_or("request is not a quoted field")?;
    let user_agent = next_quoted(&mut rest).ok_or("user agent is not a quoted field")?;

    let mut ev = RawEvent { time: Some(time), ..Default::default() };
    if classic {
        ev.server = Some("elb");
    }
    ev.status = match status {
        b"-" => None,
        s if s.len() == 3 && s.iter().all(u8::is_ascii_digit) => {
            Some(s.iter().fold(0u16, |a, &b| a * 10 + u16::from(b - b'0')))
        }
        _ => return Err("bad elb_status_code".into()),
    };
    ev.bytes = match sent {
        b"-" => None,
        s if !s.is_empty() && s.len() < 20 && s.iter().all(u8::is_ascii_digit) => {
            Some(s.iter().fold(0u64, |a, &b| a * 10 + u64::from(b - b'0')))
        }
        _ => return Err("bad sent_bytes".into()),
    };
    ev.client = Some(Cow::Borrowed(client_without_port(client)));
    ev.user_agent = Some(unescape_hex(user_agent));
    if request.starts_with(b"- ") {
        // `"- - - "` or `"- http://host:80- -"`: the load balancer could not read a request line.
        return Ok(Parsed::NoRequest("request the load balancer could not read"));
    }
    match split_request(unescape_hex(request), ev)? {
        Parsed::Event(mut ev) => {
            let split = match &ev.target {
                Cow::Borrowed(t) => split_absolute(t).map(|(h, p)| (Cow::Borrowed(h), p)),
                Cow::Owned(t) => {
                    split_absolute(t).map(|(h, p)| (Cow::Owned(h.to_vec()), Cow::Owned(p.into_owned())))
                }
            };
            if let Some((host, path)) = split {
                ev.host = Some(host);
                ev.target = path;
            }
            Ok(Parsed::Event(ev))
        }
        other => Ok(other),
    }
}

/// Undoes the load balancer's `\xHH` escapes; any other backslash is kept as it is.
pub fn unescape_hex(v: &[u8]) -> Cow<'_, [u8]> {
    if !v.contains(&b'\\') {
        return Cow::Borrowed(v);
    }
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'\\'
            && v.get(i + 1) == Some(&b'x')
            && let (Some(h), Some(l)) =
                (v.get(i + 2).and_then(|&b| hex(b)), v.get(i + 3).and_then(|&b| hex(b)))
        {
            out.push(h << 4 | l);
            i += 4;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    Cow::Owned(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// The next space-separated value that is not quoted.
fn next_plain<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let s = rest.trim_ascii_start();
    if s.is_empty() || s[0] == b'"' {
        return None;
    }
    let end = s.iter().position(|&b| b == b' ').unwrap_or(s.len());
    *rest = &s[end..];
    Some(&s[..end])
}

/// The next quoted value, without its quotes. The load balancer escapes quotes inside values, but to be
/// safe with lines that went through other hands the value ends at the first `"` followed by a space or
/// the end of the line, so a stray quote inside a user agent does not cut it short.
fn next_quoted<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
    let s = rest.trim_ascii_start().strip_prefix(b"\"")?;
    let end = (0..s.len()).find(|&i| s[i] == b'"' && matches!(s.get(i + 1), None | Some(b' ')))?;
    *rest = &s[end + 1..];
    Some(&s[..end])
}

/// `ip:port`, `[v6]:port` or the unbracketed `v6:port` the load balancer writes → the address alone.
/// The port is always there, so the last `:` separates it.
pub fn client_without_port(v: &[u8]) -> &[u8] {
    if v.first() == Some(&b'[') {
        if let Some(end) = v.iter().position(|&b| b == b']') {
            return &v[1..end];
        }
        return v;
    }
    match v.iter().rposition(|&b| b == b':') {
        Some(i) if i + 1 < v.len() && v[i + 1..].iter().all(u8::is_ascii_digit) => &v[..i],
        _ => v,
    }
}

/// `scheme://host:port/path?query` → (`host`, `/path?query`). An empty path is `/` (RFC 9112 §3.2.2:
/// a client must send `/` for it). `None` when the target is not in absolute form.
pub fn split_absolute(target: &[u8]) -> Option<(&[u8], Cow<'_, [u8]>)> {
    let sep = target.windows(3).position(|w| w == b"://")?;
    let scheme = &target[..sep];
    if scheme.is_empty() || !scheme.iter().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b)) {
        return None;
    }
    let after = &target[sep + 3..];
    let end = after.iter().position(|&b| b == b'/' || b == b'?').unwrap_or(after.len());
    let authority = &after[..end];
    let host = match authority.iter().rposition(|&b| b == b'@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    };
    let path = match &after[end..] {
        b"" => Cow::Borrowed(&b"/"[..]),
        p if p[0] == b'?' => Cow::Owned([&b"/"[..], p].concat()),
        p => Cow::Borrowed(p),
    };
    Some((strip_port(host), path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(line: &str) -> RawEvent<'_> {
        match parse_line(line.as_bytes()) {
            Ok(Parsed::Event(e)) => e,
            other => panic!("{other:?}"),
        }
    }

    const ALB: &str = "https 2026-10-15T13:55:36.123456Z app/web/50dc6c495c0c9188 203.0.113.9:52144 \
        10.0.1.5:80 0.001 0.020 0.000 200 200 310 1935 \
        \"POST https://www.example.org:443/uploads/x.php?cmd=id HTTP/1.1\" \"curl/8.5.0\" \
        ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/web/1 \
        \"Root=1-67891233-abcdef012345678912345678\" \"www.example.org\" \"arn:aws:acm:eu-west-1:1:certificate/x\" \
        0 2026-10-15T13:55:36.100000Z \"forward\" \"-\" \"-\" \"10.0.1.5:80\" \"200\" \"-\" \"-\" TID_1 \"-\" \"-\"";

    #[test]
    fn alb_line_with_absolute_form_and_trailing_fields() {
        let e = ev(ALB);
        assert_eq!(e.time.unwrap().to_string(), "2026-10-15T13:55:36.123Z");
        assert_eq!(&e.client.unwrap()[..], b"203.0.113.9");
        assert_eq!(&e.host.unwrap()[..], b"www.example.org");
        assert_eq!(&e.method.unwrap()[..], b"POST");
        assert_eq!(&e.target[..], b"/uploads/x.php?cmd=id");
        assert_eq!((e.status, e.bytes), (Some(200), Some(1935)));
        assert_eq!(&e.user_agent.unwrap()[..], b"curl/8.5.0");
        assert_eq!(e.server, None);
    }

    #[test]
    fn ipv6_clients_lose_their_port_only() {
        assert_eq!(client_without_port(b"2001:db8::1:52144"), b"2001:db8::1");
        assert_eq!(client_without_port(b"[2001:db8::1]:52144"), b"2001:db8::1");
        assert_eq!(client_without_port(b"192.0.2.1:80"), b"192.0.2.1");
        assert_eq!(client_without_port(b"-"), b"-");
    }

    #[test]
    fn absolute_form_edge_cases() {
        let (h, p) = split_absolute(b"http://[2001:db8::5]:80/a?b").unwrap();
        assert_eq!((h, &p[..]), (&b"[2001:db8::5]"[..], &b"/a?b"[..]));
        let (h, p) = split_absolute(b"https://h.example:443").unwrap();
        assert_eq!((h, &p[..]), (&b"h.example"[..], &b"/"[..]));
        let (_, p) = split_absolute(b"http://h:80?x=1").unwrap();
        assert_eq!(&p[..], b"/?x=1");
        assert!(split_absolute(b"/plain/path").is_none());
        assert!(split_absolute(b"/redirect?to=http://x/").is_none());
    }

    #[test]
    fn waf_block_unparsed_request_and_classic_elb() {
        let waf = "http 2026-10-15T13:56:00.000001Z app/web/5 198.51.100.7:4431 - -1 -1 -1 403 - 120 1234 \
            \"GET http://www.example.org:80/wp-login.php HTTP/1.1\" \"Mozilla/5.0 \\x22quoted\\x22 thing\\\\\" - - - \
            \"Root=1-2\" \"-\" \"-\" 0 2026-10-15T13:56:00.000000Z \"waf\" \"-\" \"-\" \"-\" \"-\" \"-\" \"-\"";
        let e = ev(waf);
        assert_eq!(e.status, Some(403));
        assert_eq!(&e.user_agent.unwrap()[..], b"Mozilla/5.0 \"quoted\" thing\\\\");
        let stray = "h2 2026-10-15T13:56:00Z app/web/5 198.51.100.7:4431 - 0 0 0 200 200 1 2 \
            \"GET https://h:443/a HTTP/2.0\" \"ua \"with\"quotes\" - -";
        assert_eq!(&ev(stray).user_agent.unwrap()[..], b"ua \"with\"quotes");
        let hexq = "h2 2026-10-15T13:56:00Z app/web/5 198.51.100.7:4431 - 0 0 0 400 400 1 2 \
            \"GET https://h:443/q?bar=\\x22 HTTP/2.0\" \"curl\" - -";
        assert_eq!(&ev(hexq).target[..], b"/q?bar=\"");
        let bad = "http 2026-10-15T13:56:00.5Z app/web/5 198.51.100.7:4431 - -1 -1 -1 400 - 0 272 \"- - - \" \"-\" - -";
        assert!(matches!(parse_line(bad.as_bytes()).unwrap(), Parsed::NoRequest(_)));
        let classic = "2019-10-14T12:00:20.694172Z my-elb 78.24.182.42:54106 10.0.1.185:80 0.000043 0.000785 \
            0.000023 200 200 0 612 \"GET http://18.194.223.56:80/ HTTP/1.1\" \"curl/7.58.0\" - -";
        let e = ev(classic);
        assert_eq!(e.server, Some("elb"));
        assert_eq!(&e.host.unwrap()[..], b"18.194.223.56");
        assert_eq!(&e.target[..], b"/");
    }

    #[test]
    fn misfits_say_why() {
        for (l, why) in [
            ("", "empty"),
            ("1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.1\" 200 1", "time"),
            (
                "https 2026-13-15T13:55:36Z app/x 1.2.3.4:1 - 0 0 0 200 200 0 0 \"GET / HTTP/1.1\" \"ua\"",
                "time",
            ),
            (
                "https 2026-10-15T13:55:36Z app/x 1.2.3.4:1 - 0 0 0 2x0 200 0 0 \"GET / HTTP/1.1\" \"ua\"",
                "elb_status",
            ),
            (
                "https 2026-10-15T13:55:36Z app/x 1.2.3.4:1 - 0 0 0 200 200 0 0 GET / HTTP/1.1 \"ua\"",
                "quoted",
            ),
            (
                "https 2026-10-15T13:55:36Z app/x 1.2.3.4:1 - 0 0 0 200 200 0 0 \"GET / HTTP/1.1\"",
                "user agent",
            ),
        ] {
            let e = parse_line(l.as_bytes()).unwrap_err();
            assert!(e.contains(why), "{l}: {e}");
        }
    }
}
