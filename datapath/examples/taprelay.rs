//! The floor of tap forwarding: two taps, every frame read from one is
//! written to the other, with no key extraction, lookup or actions. What this
//! costs per frame is the kernel's tun work (and the receiving namespace's
//! stack, which runs inside the write) plus the io_uring or system-call
//! overhead, which no switch using tap read/write can go under. It is the
//! `relay-tap` configuration of `bench/trafgen.sh`.
//!
//! ```text
//! taprelay [--rw] TAP1 TAP2
//! ```
//! One thread. Bursts of up to 32 frames through an io_uring each way, or one
//! `read`/`write` per frame with `--rw`. Prints `ready` once the taps exist.

use std::os::fd::{AsRawFd, RawFd};

use datapath::sys::{self, MAX_BURST, TapRing};

const FRAME: usize = 2048;

/// Moves up to `want` frames from `from` to `to`; returns how many it read.
/// Like the datapath's tap port, a single read is a plain `read`.
fn relay(
    ring: Option<&mut TapRing>,
    from: RawFd,
    to: RawFd,
    want: usize,
    bufs: &mut [[u8; FRAME]; MAX_BURST],
) -> usize {
    let ring = match ring {
        Some(r) if want > 1 => r,
        _ => {
            let mut n = 0;
            while n < want {
                match sys::read_frame(from, &mut bufs[n]) {
                    Ok(Some(len)) => {
                        if len < FRAME {
                            let _ = sys::write_frame(to, &bufs[n][..len]);
                        }
                        n += 1;
                    }
                    _ => break,
                }
            }
            return n;
        }
    };
    let mut res = [0i32; MAX_BURST];
    {
        let mut rx: [&mut [u8]; MAX_BURST] = Default::default();
        for (r, b) in rx.iter_mut().zip(bufs.iter_mut()) {
            *r = &mut b[..];
        }
        ring.read_burst(from, &mut rx[..want], &mut res[..want]);
    }
    let mut frames: [&[u8]; MAX_BURST] = [&[]; MAX_BURST];
    let mut n = 0;
    for (b, &r) in bufs.iter().zip(&res[..want]) {
        // A read that fills the buffer may have been cut: not relayed.
        if r > 0 && (r as usize) < FRAME {
            frames[n] = &b[..r as usize];
            n += 1;
        }
    }
    if n > 0 {
        let mut wres = [0i32; MAX_BURST];
        ring.write_burst(to, &frames[..n], &mut wres[..n]);
    }
    n
}

fn main() {
    let mut rw = false;
    let mut names = Vec::new();
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--rw" => rw = true,
            _ => names.push(a),
        }
    }
    if names.len() != 2 {
        eprintln!("usage: taprelay [--rw] TAP1 TAP2");
        std::process::exit(2);
    }
    let open = |n: &str| {
        sys::open_tap(n).unwrap_or_else(|e| {
            eprintln!("tap {n}: {e}");
            std::process::exit(1)
        })
    };
    let (a, _) = open(&names[0]);
    let (b, _) = open(&names[1]);
    let mut ring = if rw {
        None
    } else {
        Some(TapRing::new().unwrap_or_else(|e| {
            eprintln!("io_uring: {e}");
            std::process::exit(1)
        }))
    };
    println!("ready");
    let fds = [a.as_raw_fd(), b.as_raw_fd()];
    let mut bufs = Box::new([[0u8; FRAME]; MAX_BURST]);
    let mut ready = [false; 2];
    let mut errs = [false; 2];
    let mut scratch = Vec::new();
    // Reads per burst, per direction: doubled while bursts come back full,
    // else one more than were found (the datapath's tap port does the same).
    let mut want = [1usize; 2];
    loop {
        let mut moved = 0;
        for i in 0..2 {
            let w = if rw { MAX_BURST } else { want[i] };
            let got = relay(ring.as_mut(), fds[i], fds[1 - i], w, &mut bufs);
            want[i] = if got >= w { w * 2 } else { got + 1 }.min(MAX_BURST);
            moved += got;
        }
        if moved == 0 {
            let _ = sys::poll_readable(&fds, &mut ready, &mut errs, &mut scratch, 100);
        }
    }
}
