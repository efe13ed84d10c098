//! Oracle test for the binary decoder: each OXM TLV list in
//! `tests/data/match_wire.txt` is wrapped in an OF1.3 FLOW_MOD and decoded by
//! `ovs-ofctl ofp-print` and by rvs. Both must accept it and print the same
//! match text, or both must refuse it with the same `OFPBMC_*` error.
//!
//! Without `ovs-ofctl` the test fails if `CI=true`, else prints a skip note.

use std::process::Command;

use ofp_codec::{Match, Reader};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// An OF1.3 FLOW_MOD ADD (priority 32768, no instructions) with `tlvs` as match.
fn flow_mod_with_match(tlvs: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut m = Vec::new();
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&((4 + tlvs.len()) as u16).to_be_bytes());
    m.extend_from_slice(tlvs);
    m.resize(m.len().div_ceil(8) * 8, 0);
    let mut body = vec![0u8; 16]; // cookie, cookie_mask
    body.extend_from_slice(&[0, 0]); // table_id, command=ADD
    body.extend_from_slice(&[0; 4]); // idle, hard timeouts
    body.extend_from_slice(&0x8000u16.to_be_bytes());
    body.extend_from_slice(&[0xff; 12]); // buffer_id, out_port, out_group
    body.extend_from_slice(&[0; 4]); // flags, pad
    let mut msg = vec![4, 14];
    msg.extend_from_slice(&((8 + body.len() + m.len()) as u16).to_be_bytes());
    msg.extend_from_slice(&1u32.to_be_bytes());
    msg.extend_from_slice(&body);
    msg.extend_from_slice(&m);
    (msg, m)
}

/// `Ok(match text)` or `Err(error name)` as `ovs-ofctl ofp-print` reports it.
fn ovs_decode(msg: &[u8]) -> Result<String, String> {
    let hex: String = msg.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("ovs-ofctl")
        .args(["ofp-print", &hex])
        .output()
        .expect("run ovs-ofctl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let first = text.lines().next().unwrap_or("").to_string();
    let rest = first.split_once("): ").map_or("", |(_, r)| r);
    if let Some(err) = rest.strip_prefix("***decode error: ") {
        return Err(err.trim_end_matches('*').to_string());
    }
    let body = rest.strip_prefix("ADD").unwrap_or(rest).trim_start();
    Ok(body
        .split_once("actions=")
        .map_or(body, |(m, _)| m)
        .trim_end()
        .to_string())
}

#[test]
fn binary_matches_decode_like_ovs_ofctl() {
    if Command::new("ovs-ofctl").arg("--version").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ovs-ofctl is required for the match wire oracle test in CI");
        }
        eprintln!("SKIP match wire oracle test: ovs-ofctl not found (install openvswitch-common)");
        return;
    }
    let cases: Vec<&str> = include_str!("data/match_wire.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut failures = Vec::new();
    for case in &cases {
        let (msg, match_bytes) = flow_mod_with_match(&hex(case));
        let want = ovs_decode(&msg);
        // As OVS's FLOW_MOD decoder: the match, then the ct tuple check.
        let got = Match::decode(&mut Reader::new(&match_bytes))
            .and_then(|m| m.check_ct_tuple_ip_version().map(|()| m))
            .map(|m| m.to_string())
            .map_err(|e| e.to_string());
        if got != want {
            failures.push(format!("{case}: rvs {got:?}, ovs {want:?}"));
        }
    }
    eprintln!(
        "match wire oracle: {}/{} identical",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A small deterministic generator (xorshift), so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Differential test: random TLV lists built from real headers (a protocol
/// base, then fields with random values, masks and lengths) decoded by both
/// rvs and `ovs-ofctl ofp-print`.
#[test]
fn random_tlv_lists_decode_like_ovs_ofctl() {
    if Command::new("ovs-ofctl").arg("--version").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ovs-ofctl is required for the match wire oracle test in CI");
        }
        eprintln!("SKIP random match wire oracle test: ovs-ofctl not found");
        return;
    }
    let cases: usize = std::env::var("RVS_MATCH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let bases = [
        "",
        "80000a020800",
        "80000a0286dd",
        "80000a020806",
        "80000a0208008000140106",
        "80000a0208008000140111",
        "80000a0286dd800014013a",
        "80000a0288470001d3080000002200000022",
    ];
    let rows: Vec<_> = ofp_codec::field::FIELDS.iter().collect();
    let seed = std::env::var("RVS_MATCH_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1234_abcd_0001);
    let mut rng = Rng(seed);
    let mut failures = Vec::new();
    for _ in 0..cases {
        let mut tlvs = hex(bases[rng.below(bases.len())]);
        for _ in 0..rng.below(4) {
            let row = rows[rng.below(rows.len())];
            let ids: Vec<_> = std::iter::once(row.oxm)
                .chain(row.alt.iter().copied())
                .collect();
            let id = ids[rng.below(ids.len())];
            let w = row.width_bytes as usize;
            let masked = rng.below(3) == 0;
            // Mostly valid values; sometimes any bits, sometimes a bad length.
            let lim = if rng.below(8) == 0 {
                u128::MAX
            } else {
                row.value_bits_mask()
            };
            let m = (((rng.next() as u128) << 64) | rng.next() as u128) & lim;
            let mut v = (((rng.next() as u128) << 64) | rng.next() as u128) & lim;
            if masked && rng.below(8) != 0 {
                v &= m;
            }
            let len = if rng.below(16) == 0 { w + 1 } else { w };
            let payload = if masked { 2 * len } else { len };
            tlvs.extend_from_slice(&id.header(masked, payload as u8).to_be_bytes());
            if id.is_experimenter() {
                tlvs.extend_from_slice(&id.experimenter.to_be_bytes());
            }
            let be = |x: u128| x.to_be_bytes()[16 - w.min(16)..].to_vec();
            let mut val = be(v);
            val.resize(len, 0);
            tlvs.extend_from_slice(&val);
            if masked {
                let mut mb = be(m);
                mb.resize(len, 0xff);
                tlvs.extend_from_slice(&mb);
            }
        }
        let (msg, match_bytes) = flow_mod_with_match(&tlvs);
        let want = ovs_decode(&msg);
        let got = Match::decode(&mut Reader::new(&match_bytes))
            .and_then(|m| m.check_ct_tuple_ip_version().map(|()| m))
            .map(|m| m.to_string())
            .map_err(|e| e.to_string());
        if got != want {
            let h: String = tlvs.iter().map(|b| format!("{b:02x}")).collect();
            failures.push(format!("{h}: rvs {got:?}, ovs {want:?}"));
        }
    }
    eprintln!(
        "random match wire oracle: {}/{cases} identical",
        cases - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Differential test for the OpenFlow 1.1 `ofp11_match` (OFPMT_STANDARD)
/// that OVS accepts in OF1.3 messages: random wildcards, values and masks.
#[test]
fn random_standard_matches_decode_like_ovs_ofctl() {
    if Command::new("ovs-ofctl").arg("--version").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ovs-ofctl is required for the match wire oracle test in CI");
        }
        eprintln!("SKIP random standard match oracle test: ovs-ofctl not found");
        return;
    }
    let cases: usize = std::env::var("RVS_MATCH_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let mut rng = Rng(0x0f11_5eed_0000_0042);
    let mut failures = Vec::new();
    for _ in 0..cases {
        let mut om = vec![0u8; 88];
        om[2..4].copy_from_slice(&88u16.to_be_bytes());
        let pick = |rng: &mut Rng, xs: &[u64]| xs[rng.below(xs.len())];
        let in_port = pick(
            &mut rng,
            &[1, 5, 0xffff_fffe, 0xffff_fffd, 0xff00, 0xffff_ff00],
        ) as u32;
        om[4..8].copy_from_slice(&in_port.to_be_bytes());
        let wc = (rng.next() & 0x3ff) as u32 | if rng.below(4) == 0 { 0xffff_fc00 } else { 0 };
        om[8..12].copy_from_slice(&wc.to_be_bytes());
        let bytes = |rng: &mut Rng, n: usize| (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>();
        let maskbytes = |rng: &mut Rng, n: usize| match rng.below(4) {
            0 => vec![0; n],
            1 => vec![0xff; n],
            _ => (0..n)
                .map(|_| if rng.below(2) == 0 { 0 } else { 0xff })
                .collect(),
        };
        let v = bytes(&mut rng, 6);
        om[12..18].copy_from_slice(&v);
        let v = maskbytes(&mut rng, 6);
        om[18..24].copy_from_slice(&v);
        let v = bytes(&mut rng, 6);
        om[24..30].copy_from_slice(&v);
        let v = maskbytes(&mut rng, 6);
        om[30..36].copy_from_slice(&v);
        let vlan = pick(&mut rng, &[5, 4095, 0xfffe, 0xffff, 5000, 0]) as u16;
        om[36..38].copy_from_slice(&vlan.to_be_bytes());
        om[38] = pick(&mut rng, &[0, 3, 7, 9]) as u8;
        let dl_type = pick(
            &mut rng,
            &[0x0800, 0x0806, 0x8035, 0x8847, 0x86dd, 0x1234, 0x05ff],
        ) as u16;
        om[40..42].copy_from_slice(&dl_type.to_be_bytes());
        om[42] = pick(&mut rng, &[0, 4, 0xfc, 5]) as u8;
        om[43] = pick(&mut rng, &[1, 6, 17, 132, 47, 2]) as u8;
        for (off, _) in [(44, 0), (52, 0)] {
            let v = bytes(&mut rng, 4);
            om[off..off + 4].copy_from_slice(&v);
            let mask = match rng.below(3) {
                0 => 0u32,
                1 => u32::MAX,
                _ => u32::MAX >> rng.below(33).min(31),
            };
            om[off + 4..off + 8].copy_from_slice(&mask.to_be_bytes());
        }
        let tp = pick(&mut rng, &[80, 8, 0x100, 443]) as u16;
        om[60..62].copy_from_slice(&tp.to_be_bytes());
        let tp = pick(&mut rng, &[0, 3, 0x1ff, 22]) as u16;
        om[62..64].copy_from_slice(&tp.to_be_bytes());
        let label = pick(&mut rng, &[5, 0xf_ffff, 0x10_0001]) as u32;
        om[64..68].copy_from_slice(&label.to_be_bytes());
        om[68] = pick(&mut rng, &[0, 3, 9]) as u8;
        let md = rng.next();
        om[72..80].copy_from_slice(&md.to_be_bytes());
        let mdm = pick(&mut rng, &[0, u64::MAX, 0xffff_ffff_0000_0000]);
        om[80..88].copy_from_slice(&mdm.to_be_bytes());

        let (mut msg, _) = flow_mod_with_match(&[]);
        msg.truncate(48);
        msg.extend_from_slice(&om[..]);
        let total = msg.len() as u16;
        msg[2..4].copy_from_slice(&total.to_be_bytes());
        let want = ovs_decode(&msg);
        let got = Match::decode(&mut Reader::new(&om))
            .map(|m| m.to_string())
            .map_err(|e| e.to_string());
        if got != want {
            let h: String = om.iter().map(|b| format!("{b:02x}")).collect();
            failures.push(format!("{h}: rvs {got:?}, ovs {want:?}"));
        }
    }
    eprintln!(
        "random standard match oracle: {}/{cases} identical",
        cases - failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
