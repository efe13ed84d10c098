//! `ct-flush SWITCH [zone=N] [ct-orig-tuple [ct-reply-tuple]]` and `ct-flush-zone SWITCH
//! ZONE`, as ovs-ofctl 3.1: the arguments are checked before connecting (same messages), then
//! `NXT_CT_FLUSH` / `NXT_CT_FLUSH_ZONE` is sent followed by a barrier; an error the switch
//! answers is printed as ovs-ofctl prints it. Nothing is printed on success.

use anyhow::{Result, anyhow, bail};
use ofp_codec::msg::ct_flush::{scan_zone, str_to_uint};
use ofp_codec::msg::{CtFlush, CtFlushZone, Message};

use super::{Opts, Vconn, Xids};

/// The request `cmd` (`ct-flush` or `ct-flush-zone`) sends, from its arguments after SWITCH.
fn request(cmd: &str, args: &[String]) -> Result<Message> {
    if cmd == "ct-flush-zone" {
        let z = &args[0];
        let zone = str_to_uint(z, 65535).ok_or_else(|| anyhow!("invalid zone_id \"{z}\""))?;
        return Ok(Message::CtFlushZone(CtFlushZone::new(zone as u16)));
    }
    let mut f = CtFlush::default();
    let mut rest = args;
    if let Some(a) = rest.first().filter(|a| a.starts_with("zone=")) {
        f.zone = Some(scan_zone(a).ok_or_else(|| anyhow!("Failed to parse zone"))?);
        rest = &rest[1..];
    }
    let mut msgs = String::new();
    // As ovs-ofctl: at most two tuples are read; anything after them is ignored.
    for (i, a) in rest.iter().take(2).enumerate() {
        if !a.is_empty() && !f.match_.parse_tuple(i == 1, a, &mut msgs) {
            bail!("Failed to parse ct-tuple: {msgs}");
        }
    }
    Ok(Message::CtFlush(f))
}

/// Runs `ct-flush` or `ct-flush-zone` with `o.args` = SWITCH and its arguments.
pub(super) fn run(cmd: &str, o: &Opts) -> Result<String> {
    let (min, max) = if cmd == "ct-flush-zone" {
        (2, 2)
    } else {
        (1, 4)
    };
    let n = o.args.len();
    if n < min {
        bail!("'{cmd}' command requires at least {min} arguments");
    }
    if n > max {
        bail!("'{cmd}' command takes at most {max} arguments");
    }
    let msg = request(cmd, &o.args[1..])?;
    let mut xids = Xids(0);
    let mut v = Vconn::open(&o.args[0], o.rundir.as_deref(), &mut xids)?;
    v.transact_noreply(vec![msg], &mut xids)?;
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn err(cmd: &str, a: &[&str]) -> String {
        format!("{}", request(cmd, &args(a)).unwrap_err())
    }

    #[test]
    fn arguments_as_ovs_ofctl() {
        // Messages of ovs-ofctl 3.1 for the same arguments.
        assert_eq!(err("ct-flush-zone", &["x"]), "invalid zone_id \"x\"");
        assert_eq!(
            err("ct-flush-zone", &["70000"]),
            "invalid zone_id \"70000\""
        );
        assert_eq!(err("ct-flush", &["zone=x"]), "Failed to parse zone");
        assert_eq!(
            err("ct-flush", &["foo=1"]),
            "Failed to parse ct-tuple: invalid conntrack tuple field: foo"
        );
        let Message::CtFlush(f) =
            request("ct-flush", &args(&["zone=5", "", "ct_nw_src=1.2.3.4", "x"])).unwrap()
        else {
            panic!()
        };
        assert_eq!(f.zone, Some(5));
        assert!(f.match_.orig.is_zero(0) && !f.match_.reply.is_zero(0));
        assert_eq!(
            request("ct-flush-zone", &args(&["0x10"])).unwrap(),
            Message::CtFlushZone(CtFlushZone::new(16))
        );
    }
}
