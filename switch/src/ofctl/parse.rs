//! `parse-flow`, `parse-flows` and the shared message printing.

use ofp_codec::msg::Message;
use ofp_codec::text::{
    Command, ParsedFlow, Protocols, parse_flow_line, parse_flows as parse_flows_text,
};

use super::hex::{hex_dump, plain_hex};
use super::{HexStyle, OfctlError};

/// Printing options shared by the commands.
#[derive(Debug, Clone, Copy)]
pub struct PrintOptions {
    /// ovs-ofctl's `-m` count.
    pub verbosity: u8,
    pub hex: Option<HexStyle>,
}

/// The dialects `-O` allows. rvs encodes OpenFlow 1.3 only.
pub fn allowed_protocols(spec: &str) -> Result<Protocols, OfctlError> {
    let mut allowed = Protocols::NONE;
    for name in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if name.eq_ignore_ascii_case("OpenFlow13") || name.eq_ignore_ascii_case("OXM-OpenFlow13") {
            allowed = Protocols(allowed.0 | Protocols::OF13_OXM.0);
        } else {
            return Err(OfctlError::new(format!(
                "{name}: unsupported OpenFlow version (rvs ofctl speaks OpenFlow13 only)"
            )));
        }
    }
    if allowed.is_empty() {
        return Err(OfctlError::new("no OpenFlow version given with -O"));
    }
    Ok(allowed)
}

/// `parse-flow FLOW`.
pub fn parse_flow(
    flow: &str,
    allowed: Protocols,
    opts: &PrintOptions,
) -> Result<String, OfctlError> {
    let parsed =
        parse_flow_line(flow, Some(Command::Add)).map_err(|e| OfctlError::new(e.to_string()))?;
    let usable = parsed.usable;
    print_flows(std::slice::from_ref(&parsed), usable, allowed, opts)
}

/// `parse-flows FILE` on the file's `text`; `name` is used in errors.
///
/// Lines may start with `add`, `modify`, `modify_strict`, `delete` or
/// `delete_strict` as in an `add-flows` file (an extension: `ovs-ofctl
/// parse-flows` refuses them; files without them print identically).
pub fn parse_flows(
    name: &str,
    text: &str,
    allowed: Protocols,
    opts: &PrintOptions,
) -> Result<String, OfctlError> {
    let parsed = parse_flows_text(text, None)
        .map_err(|e| OfctlError::new(format!("{name}:{}: {}", e.line, e.error)))?;
    print_flows(&parsed.flows, parsed.usable, allowed, opts)
}

/// The output of `ovs-ofctl parse-flow(s)` for already parsed flows.
pub fn print_flows(
    flows: &[ParsedFlow],
    usable: Protocols,
    allowed: Protocols,
    opts: &PrintOptions,
) -> Result<String, OfctlError> {
    let mut out = format!("usable protocols: {usable}\n");
    let Some(chosen) = usable.choose(allowed) else {
        return Err(OfctlError {
            stdout: out,
            message: "no usable protocol".into(),
        });
    };
    out.push_str(&format!(
        "chosen protocol: {}\n",
        chosen.name().unwrap_or("?")
    ));
    for (i, flow) in flows.iter().enumerate() {
        let xid = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let bytes = Message::FlowMod(flow.spec.to_flow_mod()).encode(xid);
        out.push_str(&print_message(&bytes, opts.verbosity));
        if let Some(style) = opts.hex {
            out.push_str(&hex_text(&bytes, style));
        }
    }
    Ok(out)
}

/// One message as `ovs-ofctl ofp-print` prints it at `verbosity`.
pub fn print_message(bytes: &[u8], verbosity: u8) -> String {
    ofp_codec::msg::print::ofp_to_string(bytes, u32::from(verbosity))
}

/// `--hex` output for one message.
pub fn hex_text(bytes: &[u8], style: HexStyle) -> String {
    match style {
        HexStyle::Dump => hex_dump(bytes),
        HexStyle::Plain => plain_hex(bytes) + "\n",
    }
}
