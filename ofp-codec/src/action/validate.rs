//! The checks OVS runs on a flow's actions against its match before
//! installing it (`ofpacts_check_consistency` on OpenFlow 1.3), shared by
//! `rvs ofctl` and the switch. Every failure is the `OfpError` OVS reports.
//!
//! Like OVS, the check walks the actions in order with a scratch copy of
//! what the match says about the packet (Ethernet type, IP protocol, VLAN
//! presence), updated by actions that change it (`push_mpls`, `pop_vlan`, ...).

use super::fieldref::{self as fr, Subfield};
use super::learn::{LearnDst, LearnSrc};
use super::of13::check_output_port;
use super::{Action, CtZone, Instruction, NX_CT_F_COMMIT, NatAddrs};
use crate::error::OfpError;
use crate::field::{Field, Prereq};
use crate::flow_match::Match;
use crate::flow_match::ct_state as cs;

/// Where the flow is being installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowContext {
    /// The flow's table, or 255 when unknown (no goto_table check).
    pub table_id: u8,
    /// Number of tables, or 255 for no limit.
    pub n_tables: u8,
}

impl Default for FlowContext {
    fn default() -> Self {
        FlowContext {
            table_id: 255,
            n_tables: 255,
        }
    }
}

impl FlowContext {
    /// A flow in `table_id` with no table limit.
    pub fn table(table_id: u8) -> Self {
        FlowContext {
            table_id,
            n_tables: 255,
        }
    }
}

/// `OFPM13_MAX`: the largest meter id.
const OFPM_MAX: u32 = 0xffff_0000;

const ETH_TYPE_IP: u16 = 0x0800;
const ETH_TYPE_IPV6: u16 = 0x86dd;

fn is_ip(m: &Match) -> bool {
    m.prereq_ok(Prereq::IpAny)
}

fn is_mpls(m: &Match) -> bool {
    m.prereq_ok(Prereq::Mpls)
}

fn has_vlan(m: &Match) -> bool {
    m.prereq_ok(Prereq::VlanVid)
}

fn nw_proto(m: &Match) -> u8 {
    m.flow_value(Field::IpProto) as u8
}

/// OVS `mf_check__` with a match: range, then prerequisites.
fn check_src(sf: &Subfield, m: &Match) -> Result<(), OfpError> {
    sf.check_range()?;
    if !fr::prereqs_ok(sf.field, m) {
        return Err(OfpError::OFPBAC_MATCH_INCONSISTENT);
    }
    Ok(())
}

fn check_dst(sf: &Subfield, m: &Match) -> Result<(), OfpError> {
    check_src(sf, m)?;
    if !fr::writable(sf.field) {
        return Err(OfpError::OFPBAC_BAD_SET_ARGUMENT);
    }
    Ok(())
}

/// Whether Open vSwitch's (and so rvs's) OpenFlow 1.3 re-encoding of an
/// accepted flow is refused when decoded again, so that the flow does not
/// survive decode → encode → decode in OVS 3.1 either:
/// - a list holds an action with [`Action::reencoding_is_lossy`];
/// - `write_actions` holds a deprecated OpenFlow 1.1 set action
///   (`mod_nw_src`, `set_vlan_vid`, ...) that the packet, as the match and
///   the actions before it describe it, cannot carry (an IPv4 address
///   without an IPv4 match, a VLAN id without a VLAN): OVS checks an action
///   set only softly and accepts it, but re-encodes it as a `set_field`
///   (`set_vlan_vid` without pushing a tag), which its decoder refuses with
///   `OFPBAC_MATCH_INCONSISTENT` (as rvs's does).
pub fn flow_reencoding_is_lossy(m: &Match, insts: &[Instruction]) -> bool {
    insts.iter().any(|i| match i {
        Instruction::ApplyActions(a) => a.iter().any(Action::reencoding_is_lossy),
        Instruction::WriteActions(a) => {
            a.iter().any(Action::reencoding_is_lossy) || reencoded_set_is_refused(m, a)
        }
        _ => false,
    })
}

/// Whether the action set `a`, with each OpenFlow 1.1 set action replaced by
/// the `set_field` it is re-encoded as, fails the check it passed before.
fn reencoded_set_is_refused(m: &Match, a: &[Action]) -> bool {
    if !a.iter().any(|x| matches!(x, Action::LegacySet(_))) {
        return false;
    }
    let re: Vec<Action> = a
        .iter()
        .map(|x| match x {
            Action::LegacySet(l) => Action::SetField(l.as_set_field()),
            other => other.clone(),
        })
        .collect();
    check_list(&re, &mut m.clone(), &mut false).is_err()
}

/// Checks a flow's instructions against its match, as OVS does when the flow
/// is added (`ovs-ofctl add-flow` and the switch's FLOW_MOD handler).
pub fn validate_flow(m: &Match, insts: &[Instruction], ctx: FlowContext) -> Result<(), OfpError> {
    let mut facts = m.clone();
    // Soft inconsistencies are reported after every hard check, as OVS's
    // ofpacts_check_consistency does.
    let mut soft = false;
    let mut sorted: Vec<&Instruction> = insts.iter().collect();
    sorted.sort_by_key(|i| i.rank());
    for i in sorted {
        match i {
            Instruction::Meter(id) => {
                if *id == 0 || *id > OFPM_MAX {
                    return Err(OfpError::OFPMMFC_INVALID_METER);
                }
            }
            Instruction::ApplyActions(a) => check_list(a, &mut facts, &mut soft)?,
            Instruction::ClearActions | Instruction::WriteMetadata { .. } => {}
            Instruction::WriteActions(a) => {
                // OVS checks an action set on a scratch copy and ignores the
                // soft inconsistencies (those only OpenFlow 1.0 tolerates).
                let mut tmp = facts.clone();
                check_list(a, &mut tmp, &mut false)?;
            }
            Instruction::GotoTable(t) => {
                if (ctx.table_id != 255 && *t <= ctx.table_id)
                    || (ctx.n_tables != 255 && *t >= ctx.n_tables)
                {
                    return Err(OfpError::OFPBIC_BAD_TABLE_ID);
                }
            }
        }
    }
    if soft {
        return Err(OfpError::OFPBAC_MATCH_INCONSISTENT);
    }
    // push_mpls with a non-MPLS ethertype: OVS's text parser accepts it and
    // its decoder refuses it.
    if insts.iter().any(|i| match i {
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => a.iter().any(bad_push_mpls),
        _ => false,
    }) {
        return Err(OfpError::OFPBAC_BAD_ARGUMENT);
    }
    // Actions an action set cannot hold: OVS's text parser lets them through
    // its checks and its decoder then refuses them with OFPBAC_BAD_TYPE (on
    // the wire, `decode_instructions` refuses them before any check).
    let bad_set = insts.iter().any(|i| {
        matches!(i, Instruction::WriteActions(a) if a.iter().any(|x| !x.allowed_in_action_set()))
    });
    if bad_set {
        return Err(OfpError::OFPBAC_BAD_TYPE);
    }
    Ok(())
}

fn bad_push_mpls(a: &Action) -> bool {
    match a {
        Action::PushMpls(et) => *et != 0x8847 && *et != 0x8848,
        Action::Clone(n) => n.iter().any(bad_push_mpls),
        Action::Ct(c) => c.actions.iter().any(bad_push_mpls),
        _ => false,
    }
}

/// Checks a plain action list (packet-out, group bucket) against a match.
pub fn validate_actions(m: &Match, acts: &[Action]) -> Result<(), OfpError> {
    let mut facts = m.clone();
    let mut soft = false;
    check_list(acts, &mut facts, &mut soft)?;
    if soft {
        return Err(OfpError::OFPBAC_MATCH_INCONSISTENT);
    }
    if acts.iter().any(bad_push_mpls) {
        return Err(OfpError::OFPBAC_BAD_ARGUMENT);
    }
    Ok(())
}

/// Checks `acts` in order. Hard failures are returned; "soft"
/// inconsistencies (OVS's `inconsistent_match()`, which only OpenFlow 1.0
/// tolerates) set `soft`.
fn check_list(acts: &[Action], facts: &mut Match, soft: &mut bool) -> Result<(), OfpError> {
    for a in acts {
        check_one(a, facts, soft)?;
    }
    Ok(())
}

fn inconsistent() -> Result<(), OfpError> {
    Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
}

fn check_one(a: &Action, facts: &mut Match, soft: &mut bool) -> Result<(), OfpError> {
    match a {
        Action::Output { port, .. } => check_output_port(*port)?,
        Action::OutputReg { src, .. } => check_src(src, facts)?,
        Action::OutputTrunc { port, .. } => check_output_port(*port)?,
        Action::StackPush(src) => check_src(src, facts)?,
        Action::StackPop(dst) => check_dst(dst, facts)?,
        Action::Multipath(mp) => check_dst(&mp.dst, facts)?,
        Action::Bundle(b) => {
            if let Some(d) = &b.dst {
                check_dst(d, facts)?;
            }
            super::nx_more::check_bundle_members(b)?;
        }
        Action::CheckPktLarger { .. } | Action::Sample(_) => {}
        Action::Group(_) | Action::SetQueue(_) | Action::Controller(_) => {}
        Action::Note(_) | Action::Exit | Action::CtClear | Action::Conjunction { .. } => {}
        Action::PopQueue | Action::SetTunnel { .. } => {}
        Action::LegacySet(l) => {
            use super::LegacySet as L;
            let consistent = match l {
                L::VlanVid(_) | L::VlanPcp(_) => {
                    let had = has_vlan(facts);
                    let _ = facts.set_u128(Field::VlanVid, 0x1000, Some(0x1000));
                    had
                }
                L::DlSrc(_) | L::DlDst(_) => true,
                L::NwSrc(_) | L::NwDst(_) => facts.eth_type() == Some(ETH_TYPE_IP),
                L::NwTos(_) | L::NwEcn(_) => is_ip(facts),
                L::TpSrc(_) | L::TpDst(_) => {
                    is_ip(facts)
                        && facts.flow_value(Field::IpFrag) & 2 == 0
                        && matches!(nw_proto(facts), 6 | 17 | 132)
                }
                L::MplsLabel(_) | L::MplsTc(_) => is_mpls(facts),
            };
            if !consistent {
                *soft = true;
            }
        }
        Action::Clone(nested) => {
            // Nested actions see (and may change) a scratch copy.
            let mut tmp = facts.clone();
            check_list(nested, &mut tmp, soft)?;
        }
        Action::FinTimeout { .. } => {
            if nw_proto(facts) != 6 {
                *soft = true;
            }
        }
        Action::PushVlan(_) => {
            let _ = facts.set_u128(Field::VlanVid, 0x1000, Some(0x1000));
        }
        Action::PopVlan => {
            if !has_vlan(facts) {
                *soft = true;
            }
            facts.remove(Field::VlanVid);
            facts.remove(Field::VlanPcp);
        }
        Action::PushMpls(et) => {
            let _ = facts.set_exact(Field::EthType, u128::from(*et));
            facts.remove(Field::IpProto);
        }
        Action::PopMpls(et) => {
            if !is_mpls(facts) {
                *soft = true;
            }
            let _ = facts.set_exact(Field::EthType, u128::from(*et));
        }
        Action::SetMplsTtl(_) | Action::DecMplsTtl => {
            if !is_mpls(facts) {
                *soft = true;
            }
        }
        Action::SetNwTtl(_) | Action::DecTtl { .. } => {
            if !is_ip(facts) {
                *soft = true;
            }
        }
        Action::SetField(sf) => {
            if !fr::prereqs_ok(sf.field, facts) || (sf.field == Field::VlanVid && !has_vlan(facts))
            {
                return inconsistent();
            }
            if sf.field == Field::VlanTci {
                let tci = sf.value.iter().fold(0u16, |a, &b| (a << 8) | u16::from(b));
                if tci & 0x1000 != 0 {
                    let _ = facts.set_u128(Field::VlanVid, 0x1000, Some(0x1000));
                } else {
                    facts.remove(Field::VlanVid);
                }
            }
        }
        Action::Move { src, dst } => {
            check_src(src, facts)?;
            check_dst(dst, facts)?;
        }
        Action::Resubmit(r) => {
            if r.with_ct_orig && !facts.prereq_ok(Prereq::Ct) {
                return inconsistent();
            }
        }
        Action::Ct(c) => {
            let alg_bad =
                (c.alg == 21 && nw_proto(facts) != 6) || (c.alg == 69 && nw_proto(facts) != 17);
            let ct_state = facts.flow_value(Field::CtState) as u32;
            let inv_commit = ct_state & cs::INV != 0 && c.flags & NX_CT_F_COMMIT != 0;
            if !is_ip(facts) || inv_commit || alg_bad {
                return inconsistent();
            }
            if let CtZone::Field(sub) = &c.zone {
                // OVS returns here without checking the nested actions.
                return check_src(sub, facts);
            }
            let mut tmp = facts.clone();
            check_list(&c.actions, &mut tmp, soft)?;
        }
        Action::Nat(n) => {
            let wrong_family = match n.addrs {
                Some(NatAddrs::V4 { .. }) => facts.eth_type() != Some(ETH_TYPE_IP),
                Some(NatAddrs::V6 { .. }) => facts.eth_type() != Some(ETH_TYPE_IPV6),
                None => false,
            };
            if !is_ip(facts) || wrong_family {
                return inconsistent();
            }
        }
        Action::Learn(l) => {
            let mut dst_facts = Match::new();
            for spec in &l.specs {
                if let LearnSrc::Field(src) = &spec.src {
                    check_src(src, facts)?;
                }
                match &spec.dst {
                    LearnDst::Match(d) => {
                        check_src(d, &dst_facts)?;
                        if let LearnSrc::Imm(v) = &spec.src {
                            learn_imm(d, v, &mut dst_facts);
                        }
                    }
                    LearnDst::Load(d) => check_dst(d, &dst_facts)?,
                    LearnDst::Output => {}
                }
            }
        }
    }
    Ok(())
}

/// Records a learned flow's match on an immediate (OVS
/// `mf_write_subfield_value` into the learned match).
fn learn_imm(d: &Subfield, v: &[u8], m: &mut Match) {
    let w = fr::n_bytes(d.field);
    let val = v.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b));
    let ones = if d.n_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << d.n_bits) - 1
    };
    let (old_v, old_m) = m.value_mask(d.field).unwrap_or((0, 0));
    let mask = ones << d.ofs;
    let nv = (old_v & !mask) | ((val << d.ofs) & mask);
    let _ = w;
    let _ = m.set_u128(d.field, nv, Some(old_m | mask));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::parse_actions;

    fn check(eth: Option<u16>, proto: Option<u8>, actions: &str) -> Result<(), OfpError> {
        let insts = parse_actions(actions).unwrap();
        let mut m = Match::new();
        if let Some(e) = eth {
            m.set_exact(Field::EthType, u128::from(e)).unwrap();
        }
        if let Some(p) = proto {
            m.set_exact(Field::IpProto, u128::from(p)).unwrap();
        }
        validate_flow(&m, &insts, FlowContext::default())
    }

    #[test]
    fn ct_needs_ip() {
        assert_eq!(
            check(Some(0x0806), None, "ct(table=1)"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(
            check(None, None, "ct(commit)"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(check(Some(0x0800), None, "ct(commit,table=1)"), Ok(()));
        assert_eq!(check(Some(0x86dd), None, "ct(table=1)"), Ok(()));
    }

    #[test]
    fn alg_needs_matching_protocol() {
        assert_eq!(
            check(Some(0x0800), None, "ct(commit,alg=ftp)"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(check(Some(0x0800), Some(6), "ct(commit,alg=ftp)"), Ok(()));
        assert_eq!(
            check(Some(0x0800), Some(6), "ct(commit,alg=tftp)"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(check(Some(0x0800), Some(17), "ct(commit,alg=tftp)"), Ok(()));
    }

    #[test]
    fn nat_family_must_match() {
        assert_eq!(
            check(Some(0x86dd), None, "ct(commit,nat(src=10.0.0.1))"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(
            check(Some(0x0800), None, "ct(commit,nat(src=10.0.0.1))"),
            Ok(())
        );
    }

    #[test]
    fn ttl_and_vlan_and_ports() {
        assert_eq!(
            check(None, None, "dec_ttl"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(
            check(Some(0x0800), None, "push_mpls:0x8847,dec_ttl"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(
            check(Some(0x0800), None, "push_mpls:0x8847,dec_mpls_ttl"),
            Ok(())
        );
        assert_eq!(
            check(None, None, "strip_vlan"),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        assert_eq!(check(None, None, "push_vlan:0x8100,strip_vlan"), Ok(()));
        assert_eq!(
            check(None, None, "output:ANY"),
            Err(OfpError::OFPBAC_BAD_OUT_PORT)
        );
    }

    #[test]
    fn goto_table_must_go_forward() {
        let insts = parse_actions("goto_table:2").unwrap();
        let m = Match::default();
        assert_eq!(
            validate_flow(&m, &insts, FlowContext::table(3)),
            Err(OfpError::OFPBIC_BAD_TABLE_ID)
        );
        assert_eq!(
            validate_flow(&m, &insts, FlowContext::table(2)),
            Err(OfpError::OFPBIC_BAD_TABLE_ID)
        );
        assert_eq!(validate_flow(&m, &insts, FlowContext::table(1)), Ok(()));
        let insts = parse_actions("meter:0").unwrap();
        assert_eq!(
            validate_flow(&m, &insts, FlowContext::default()),
            Err(OfpError::OFPMMFC_INVALID_METER)
        );
    }
}
