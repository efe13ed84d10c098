//! Decoding and encoding a stream of FLOW_MOD messages: every flow of the
//! oracle corpus (`tests/data/corpus.flows`) that rvs parses, encoded
//! back to back as one byte stream, as a controller would send them.
//!
//! Criterion reports time per iteration over the whole stream and, with
//! `Throughput::Elements`, flows per second; ns per flow = time / flows.

use bytes::BytesMut;
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use ofp_codec::msg::{Frame, Message, frame_len};
use ofp_codec::text::{Command, Protocols, parse_flow_line};

fn corpus_messages() -> Vec<Message> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/corpus.flows");
    let text = std::fs::read_to_string(path).expect("read tests/data/corpus.flows");
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .filter_map(|l| parse_flow_line(l, Some(Command::Add)).ok())
        // Only what OpenFlow 1.3 can carry (ovs-ofctl -O OpenFlow13 refuses the rest).
        .filter(|p| p.usable.choose(Protocols::OF13_OXM).is_some())
        .map(|p| Message::FlowMod(p.spec.to_flow_mod()))
        .collect()
}

fn bench(c: &mut Criterion) {
    let msgs = corpus_messages();
    assert!(!msgs.is_empty(), "no corpus flow parses");
    let mut stream = BytesMut::new();
    for (i, m) in msgs.iter().enumerate() {
        stream.extend_from_slice(&m.encode(i as u32 + 1));
    }
    let stream = stream.freeze();
    let n = msgs.len() as u64;

    let mut g = c.benchmark_group("flow_mod_stream");
    g.throughput(Throughput::Elements(n));
    g.bench_with_input(BenchmarkId::new("decode", n), &stream, |b, stream| {
        b.iter(|| {
            let mut rest: &[u8] = stream;
            let mut count = 0usize;
            while let Ok(Frame::Complete(len)) = frame_len(rest) {
                let (frame, tail) = rest.split_at(len);
                let decoded = Message::decode(black_box(frame)).expect("corpus message decodes");
                black_box(&decoded);
                count += 1;
                rest = tail;
            }
            assert_eq!(count as u64, n);
        })
    });
    g.bench_with_input(BenchmarkId::new("encode", n), &msgs, |b, msgs| {
        b.iter(|| {
            let mut out = BytesMut::with_capacity(stream.len());
            for (i, m) in msgs.iter().enumerate() {
                out.extend_from_slice(&black_box(m).encode(i as u32 + 1));
            }
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
