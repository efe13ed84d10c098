//! Property tests for the action codec: random action and instruction lists
//! round-trip through the wire (`decode(encode(x)) == x`, exact length) and
//! through text (`print(parse(print(x))) == print(x)`), and the decoder never
//! panics on arbitrary bytes.

use bytes::BytesMut;
use ofp_codec::Field;
use ofp_codec::Reader;
use ofp_codec::action::{
    Action, Controller, Ct, CtZone, Instruction, Learn, LearnDst, LearnSpec, LearnSrc, Nat,
    NatAddrs, Resubmit, SetField, SetFieldForm, Subfield, actions_encoded_len, decode_actions,
    decode_instructions, encode_actions, encode_instructions, format_actions, format_instructions,
    instructions_encoded_len, parse_action_list, parse_actions, port,
};
use proptest::prelude::*;

fn reg_subfield() -> impl Strategy<Value = Subfield> {
    (0u8..16, 0u16..32).prop_flat_map(|(r, ofs)| {
        (Just(r), Just(ofs), 1u16..=(32 - ofs)).prop_map(|(r, ofs, n_bits)| Subfield {
            field: Field::Reg(r),
            ofs,
            n_bits,
        })
    })
}

fn port_strategy() -> impl Strategy<Value = u32> {
    prop_oneof![
        0u32..0xff00,
        Just(port::OFPP_IN_PORT),
        Just(port::OFPP_TABLE),
        Just(port::OFPP_NORMAL),
        Just(port::OFPP_FLOOD),
        Just(port::OFPP_ALL),
        Just(port::OFPP_CONTROLLER),
        Just(port::OFPP_LOCAL),
    ]
}

fn set_reg(r: u8, v: u32, mask: u32, form: SetFieldForm) -> Action {
    Action::SetField(SetField {
        field: Field::Reg(r),
        value: (v & mask).to_be_bytes().to_vec(),
        mask: mask.to_be_bytes().to_vec(),
        form,
    })
}

fn controller() -> impl Strategy<Value = Controller> {
    (
        any::<u16>(),
        any::<u16>(),
        0u8..6,
        proptest::collection::vec(any::<u8>(), 0..12),
        any::<bool>(),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(
            |(max_len, controller_id, reason, userdata, pause, meter_id, v2)| {
                let v2 = v2 || !userdata.is_empty() || pause || meter_id != 0;
                Controller {
                    max_len,
                    controller_id,
                    reason,
                    userdata,
                    pause,
                    meter_id,
                    v2,
                }
            },
        )
}

fn nat() -> impl Strategy<Value = Nat> {
    (
        0u16..3,
        any::<bool>(),
        0u16..3,
        1u32..u32::MAX,
        any::<u16>(),
        1u16..u16::MAX,
        any::<u16>(),
    )
        .prop_map(|(dir, persistent, proto_flag, min, span, pmin, pspan)| {
            if dir == 0 {
                return Nat::default();
            }
            let mut flags = if dir == 1 { 1 } else { 2 };
            if persistent {
                flags |= 4;
            }
            flags |= [0, 8, 16][usize::from(proto_flag)];
            let max = min.saturating_add(u32::from(span));
            Nat {
                flags,
                addrs: Some(NatAddrs::V4 {
                    min,
                    max: if span == 0 { 0 } else { max },
                }),
                proto_min: pmin,
                proto_max: if pspan == 0 {
                    0
                } else {
                    pmin.saturating_add(pspan)
                },
            }
        })
}

fn ct() -> impl Strategy<Value = Ct> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<u16>(),
        0u8..=255,
        prop_oneof![Just(0u16), Just(21), Just(69)],
        nat(),
        proptest::option::of(any::<u32>()),
    )
        .prop_map(|(commit, force, zone, table, alg, nat, mark)| {
            let mut flags = 0;
            let mut actions = Vec::new();
            if commit {
                flags |= 1;
                if force {
                    flags |= 2;
                }
                actions.push(Action::Nat(nat));
                if let Some(m) = mark {
                    actions.push(Action::SetField(SetField {
                        field: Field::CtMark,
                        value: m.to_be_bytes().to_vec(),
                        mask: vec![0xff; 4],
                        form: SetFieldForm::SetField,
                    }));
                }
            } else if nat == Nat::default() {
                actions.push(Action::Nat(nat));
            }
            Ct {
                flags,
                zone: CtZone::Imm(zone),
                recirc_table: table,
                alg,
                actions,
            }
        })
}

fn learn() -> impl Strategy<Value = Learn> {
    (
        1u8..255,
        any::<u16>(),
        any::<u16>(),
        any::<u16>(),
        any::<u64>(),
        0u16..4,
        reg_subfield(),
        any::<u32>(),
    )
        .prop_map(
            |(table_id, idle, hard, priority, cookie, flags, sub, imm)| {
                let n = usize::from(sub.n_bits).div_ceil(8);
                let imm_bytes = (imm
                    & if sub.n_bits >= 32 {
                        u32::MAX
                    } else {
                        (1 << sub.n_bits) - 1
                    })
                .to_be_bytes()[4 - n..]
                    .to_vec();
                Learn {
                    table_id,
                    idle_timeout: idle,
                    hard_timeout: hard,
                    priority,
                    cookie,
                    flags: flags & 3,
                    specs: vec![
                        LearnSpec {
                            n_bits: sub.n_bits,
                            src: LearnSrc::Field(sub),
                            dst: LearnDst::Match(sub),
                        },
                        LearnSpec {
                            n_bits: sub.n_bits,
                            src: LearnSrc::Imm(imm_bytes),
                            dst: LearnDst::Load(sub),
                        },
                        LearnSpec {
                            n_bits: 16,
                            src: LearnSrc::Field(Subfield {
                                field: Field::Reg(1),
                                ofs: 0,
                                n_bits: 16,
                            }),
                            dst: LearnDst::Output,
                        },
                    ],
                    ..Learn::default()
                }
            },
        )
}

/// One action that decodes back to itself after encoding.
fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        (port_strategy(), any::<u16>())
            .prop_map(|(port, max_len)| Action::Output { port, max_len }),
        any::<u32>().prop_map(Action::Group),
        any::<u32>().prop_map(Action::SetQueue),
        prop_oneof![Just(0x8100u16), Just(0x88a8)].prop_map(Action::PushVlan),
        Just(Action::PopVlan),
        prop_oneof![Just(0x8847u16), Just(0x8848)].prop_map(Action::PushMpls),
        any::<u16>().prop_map(Action::PopMpls),
        any::<u8>().prop_map(Action::SetMplsTtl),
        Just(Action::DecMplsTtl),
        any::<u8>().prop_map(Action::SetNwTtl),
        Just(Action::DecTtl {
            ids: vec![0],
            cnt_ids: false
        }),
        proptest::collection::vec(any::<u16>(), 1..6)
            .prop_map(|ids| Action::DecTtl { ids, cnt_ids: true }),
        (0u8..16, any::<u32>()).prop_map(|(r, v)| set_reg(r, v, u32::MAX, SetFieldForm::SetField)),
        (reg_subfield(), any::<u32>()).prop_map(|(s, v)| {
            let mask = if s.n_bits == 32 {
                u32::MAX
            } else {
                ((1u32 << s.n_bits) - 1) << s.ofs
            };
            set_reg(s.field_reg(), v, mask, SetFieldForm::RegLoad)
        }),
        (0u8..16, any::<u32>(), any::<u32>()).prop_map(|(r, v, m)| set_reg(
            r,
            v,
            m,
            SetFieldForm::RegLoad2
        )),
        (reg_subfield(), 0u8..16, 0u16..32).prop_map(|(src, r, ofs)| {
            let n_bits = src.n_bits.min(32 - ofs);
            Action::Move {
                src: Subfield { n_bits, ..src },
                dst: Subfield {
                    field: Field::Reg(r),
                    ofs,
                    n_bits,
                },
            }
        }),
        (port_strategy(), any::<u8>(), any::<bool>()).prop_map(|(in_port, table, ct)| {
            // resubmit(,) (neither port nor table) is not valid text, in OVS either.
            let table = if in_port == port::OFPP_IN_PORT && table == 255 {
                0
            } else {
                table
            };
            Action::Resubmit(Resubmit {
                in_port,
                table,
                with_ct_orig: ct && table != 255,
                legacy: false,
            })
        }),
        (0usize..4, any::<u8>()).prop_map(|(k, b)| Action::Note(vec![b; 6 + 8 * k])),
        (reg_subfield(), any::<u16>()).prop_map(|(src, max_len)| Action::OutputReg {
            src,
            max_len,
            v2: false
        }),
        controller().prop_map(Action::Controller),
        Just(Action::Exit),
        Just(Action::CtClear),
        Just(Action::PopQueue),
        (any::<u16>(), any::<u16>()).prop_map(|(i, h)| Action::FinTimeout {
            idle_timeout_s: i,
            hard_timeout_s: h
        }),
        ct().prop_map(Action::Ct),
        learn().prop_map(|l| Action::Learn(Box::new(l))),
    ]
}

trait RegOf {
    fn field_reg(&self) -> u8;
}
impl RegOf for Subfield {
    fn field_reg(&self) -> u8 {
        match self.field {
            Field::Reg(r) => r,
            _ => 0,
        }
    }
}

fn actions() -> impl Strategy<Value = Vec<Action>> {
    prop_oneof![
        9 => proptest::collection::vec(action(), 0..8),
        1 => (any::<u32>(), 2u8..=64).prop_flat_map(|(id, n)| (Just(id), 0..n, Just(n)))
            .prop_map(|(id, clause, n_clauses)| vec![Action::Conjunction { id, clause, n_clauses }]),
        1 => proptest::collection::vec(action(), 0..4).prop_map(|a| vec![Action::Clone(a)]),
    ]
}

fn instructions() -> impl Strategy<Value = Vec<Instruction>> {
    (
        proptest::option::of(1u32..0xffff_0000),
        actions(),
        any::<bool>(),
        proptest::option::of(proptest::collection::vec(
            prop_oneof![
                (port_strategy(), any::<u16>())
                    .prop_map(|(port, max_len)| Action::Output { port, max_len }),
                any::<u32>().prop_map(Action::Group),
                (0u8..16, any::<u32>()).prop_map(|(r, v)| set_reg(
                    r,
                    v,
                    u32::MAX,
                    SetFieldForm::SetField
                )),
                Just(Action::PopVlan),
            ],
            1..4,
        )),
        proptest::option::of((any::<u64>(), any::<u64>())),
        proptest::option::of(1u8..255),
    )
        .prop_map(|(meter, apply, clear, write, md, goto)| {
            let conj = apply
                .iter()
                .any(|a| matches!(a, Action::Conjunction { .. }));
            let mut v = Vec::new();
            if let (Some(m), false) = (meter, conj) {
                v.push(Instruction::Meter(m));
            }
            if !apply.is_empty() {
                v.push(Instruction::ApplyActions(apply));
            }
            if conj {
                return v;
            }
            if clear {
                v.push(Instruction::ClearActions);
            }
            if let Some(w) = write {
                v.push(Instruction::WriteActions(w));
            }
            if let Some((metadata, mask)) = md {
                v.push(Instruction::WriteMetadata { metadata, mask });
            }
            if let Some(t) = goto {
                v.push(Instruction::GotoTable(t));
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn action_lists_round_trip_through_bytes(acts in actions()) {
        let mut b = BytesMut::new();
        encode_actions(&acts, &mut b);
        prop_assert_eq!(b.len(), actions_encoded_len(&acts));
        prop_assert_eq!(b.len() % 8, 0);
        let back = decode_actions(&mut Reader::new(&b)).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&back, &acts);
    }

    #[test]
    fn action_lists_round_trip_through_text(acts in actions()) {
        let text = format_actions(&acts);
        let parsed = parse_action_list(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(format_actions(&parsed), text);
    }

    #[test]
    fn instruction_lists_round_trip(insts in instructions()) {
        let mut b = BytesMut::new();
        encode_instructions(&insts, &mut b);
        prop_assert_eq!(b.len(), instructions_encoded_len(&insts));
        let back = decode_instructions(&mut Reader::new(&b)).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(&back, &insts);
        let text = format_instructions(&insts);
        let parsed = parse_actions(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(format_instructions(&parsed), text);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode_actions(&mut Reader::new(&bytes));
        if let Ok(insts) = decode_instructions(&mut Reader::new(&bytes)) {
            let _ = format_instructions(&insts);
        }
    }

    #[test]
    fn decoders_never_panic_on_framed_nicira_actions(
        sub in 0u16..60, body in proptest::collection::vec(any::<u8>(), 0..64), k in 0usize..6,
    ) {
        // A well-framed Nicira header with random contents reaches deep decoders.
        let len = 16 + 8 * k;
        let mut b = vec![0xff, 0xff, 0, len as u8, 0, 0, 0x23, 0x20];
        b.extend_from_slice(&sub.to_be_bytes());
        b.extend(body.iter().copied().chain(std::iter::repeat(0)).take(len - 10));
        if let Ok(acts) = decode_actions(&mut Reader::new(&b)) {
            // Whatever decodes can be printed, checked and encoded.
            let _ = format_actions(&acts);
            let _ = ofp_codec::action::validate_actions(&ofp_codec::Match::new(), &acts);
            let mut out = BytesMut::new();
            encode_actions(&acts, &mut out);
        }
    }

    #[test]
    fn truncations_are_errors_not_panics(acts in actions(), cut in 1usize..64) {
        let mut b = BytesMut::new();
        encode_actions(&acts, &mut b);
        if cut <= b.len() && !b.is_empty() {
            let short = &b[..b.len() - cut];
            let r = decode_actions(&mut Reader::new(short));
            // Any truncation that is not on an action boundary must fail.
            if cut % 8 != 0 {
                prop_assert!(r.is_err());
            }
        }
    }
}
