//! One `rvs ofctl` run against one switch: its connections, the xid
//! counter they share, and the port and table names fetched from it.
//!
//! ovs-ofctl fetches the names on connections of their own (PORT_DESC, then
//! TABLE_FEATURES) at fixed points of each command: before parsing a flow,
//! group or packet-out when names are accepted (the default, unless
//! `--no-names`), and before printing when they are shown (`--names`, or
//! stdout a terminal). Each connection's HELLO and each request take the
//! next xid, so doing the same here makes the xids rvs ofctl prints (reply
//! headers, echoed requests in errors) the ones ovs-ofctl prints.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{Result, anyhow};
use ofp_codec::msg::{Message, MultipartReplyBody, MultipartRequestBody as Q};

use super::names::NameMap;
use super::{Vconn, Xids};

/// See the module documentation.
pub(super) struct Session {
    pub target: String,
    pub rundir: Option<PathBuf>,
    pub xids: Xids,
    /// `--names` / `--no-names` / neither.
    names: Option<bool>,
    ports: Option<NameMap>,
    tables: Option<NameMap>,
}

impl Session {
    pub fn new(target: &str, rundir: Option<PathBuf>, names: Option<bool>) -> Session {
        Session {
            target: target.to_string(),
            rundir,
            xids: Xids(0),
            names,
            ports: None,
            tables: None,
        }
    }

    /// A new connection to the switch.
    pub fn open(&mut self) -> Result<Vconn> {
        Vconn::open(&self.target, self.rundir.as_deref(), &mut self.xids)
    }

    /// Names are accepted in flows unless `--no-names`.
    pub fn accepting(&self) -> bool {
        self.names != Some(false)
    }

    /// Names are shown with `--names`, or by default on a terminal.
    pub fn showing(&self) -> bool {
        match self.names {
            Some(on) => on,
            None => std::io::stdout().is_terminal(),
        }
    }

    /// The switch's port names (fetched once, on a connection of its own).
    pub fn ports(&mut self) -> Result<&NameMap> {
        if self.ports.is_none() {
            let mut v = self.open()?;
            let mut entries = Vec::new();
            for m in v.dump(Q::PortDesc, &mut self.xids)? {
                if let MultipartReplyBody::PortDesc(ports) = reply_body(&m)? {
                    entries.extend(ports.iter().map(|p| (p.port_no, p.name_str().to_string())));
                }
            }
            self.ports = Some(NameMap::new(entries));
        }
        Ok(self.ports.get_or_insert_with(NameMap::default))
    }

    /// The switch's table names (fetched once, on a connection of its own).
    pub fn tables(&mut self) -> Result<&NameMap> {
        if self.tables.is_none() {
            let mut v = self.open()?;
            let mut entries = Vec::new();
            for m in v.dump(Q::TableFeatures(Vec::new()), &mut self.xids)? {
                if let MultipartReplyBody::TableFeatures(tables) = reply_body(&m)? {
                    entries.extend(tables.into_iter().map(|t| (u32::from(t.table_id), t.name)));
                }
            }
            self.tables = Some(NameMap::new(entries));
        }
        Ok(self.tables.get_or_insert_with(NameMap::default))
    }

    /// ovs-ofctl's `ports_to_accept` then `tables_to_accept`.
    pub fn accept_maps(&mut self) -> Result<()> {
        if self.accepting() {
            self.ports()?;
            self.tables()?;
        }
        Ok(())
    }

    /// `text` (a flow, group, packet-out or flows file) with port and
    /// table names replaced by numbers, when names are accepted.
    pub fn accept(&mut self, text: &str) -> Result<String> {
        if !self.accepting() {
            return Ok(text.to_string());
        }
        let t = self.ports()?.accept(text, false);
        Ok(self.tables()?.accept(&t, true))
    }

    /// A port argument (`dump-ports SWITCH PORT`, `mod-port`): a number or
    /// reserved name as is, else a name from the switch when accepted.
    pub fn port_arg(&mut self, p: &str) -> Result<u32> {
        if let Some(n) = ofp_codec::text::flow_mod::parse_port(p) {
            return Ok(n);
        }
        if self.accepting() {
            let t = self.ports()?.accept(&format!("in_port={p}"), false);
            if let Some(n) = t
                .strip_prefix("in_port=")
                .and_then(ofp_codec::text::flow_mod::parse_port)
            {
                return Ok(n);
            }
        }
        Err(anyhow!("{}: unknown port `{p}'", self.target))
    }

    /// Printed `text` with port and table numbers replaced by names, when
    /// names are shown (ovs-ofctl's `ports_to_show`, `tables_to_show`).
    pub fn show(&mut self, text: &str) -> Result<String> {
        if !self.showing() {
            return Ok(text.to_string());
        }
        let t = self.ports()?.show(text, false);
        Ok(self.tables()?.show(&t, true))
    }
}

/// The body of a multipart reply message.
pub(super) fn reply_body(m: &[u8]) -> Result<MultipartReplyBody> {
    match Message::decode(m) {
        Ok((_, Message::MultipartReply(r))) => Ok(r.body),
        Ok(_) => Err(anyhow!("unexpected reply")),
        Err(e) => Err(anyhow!("bad reply: {e:?}")),
    }
}
