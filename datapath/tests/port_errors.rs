//! Ports whose device fails under the datapath: an interface that is or goes
//! down, a tap deleted from outside, and a port removed and added again. The
//! forwarding thread must not spin on an error `poll` keeps reporting, and a
//! removed port must be closed (its tap gone) without waiting for traffic.
//! Needs root (skips with a note otherwise; fails under `CI=true`). One test
//! in its own binary, so that the forwarding thread's CPU time is its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datapath::actions::DpAction;
use datapath::sys;
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};

struct DropAll;

impl UpcallHandler for DropAll {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch.iter().map(|_| UpcallReply::once([])).collect()
    }
}

fn can_run(name: &str) -> bool {
    match std::fs::metadata("/dev/net/tun") {
        Ok(_) if sys::open_tap(name).is_ok() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("tap ports need root and /dev/net/tun under CI")
        }
        _ => {
            eprintln!("SKIP: cannot create taps (not root or no /dev/net/tun)");
            false
        }
    }
}

fn ip(args: &[&str]) {
    let ok = std::process::Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ip {args:?}");
}

/// CPU time (clock ticks) of this process's forwarding threads.
fn fwd_ticks() -> u64 {
    let mut sum = 0;
    for t in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
        let dir = t.expect("task").path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !comm.starts_with("rvs-fwd") {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // Fields after the ")" that closes the name: state is the 1st,
        // utime the 12th, stime the 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<u64> = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|v| v.parse().ok())
            .collect();
        sum += f.iter().sum::<u64>();
    }
    sum
}

/// The forwarding threads' CPU share over `wait` (1.0 = one core).
fn fwd_share(wait: Duration) -> f64 {
    let hz = 100.0; // USER_HZ, what /proc reports ticks in on Linux
    let a = fwd_ticks();
    std::thread::sleep(wait);
    (fwd_ticks() - a) as f64 / hz / wait.as_secs_f64()
}

#[test]
fn failing_devices_neither_spin_the_forwarding_thread_nor_stay_open() {
    let pid = std::process::id() % 100_000;
    if !can_run(&format!("rve{pid}p")) {
        return;
    }
    // The interface under the AF_PACKET port: a tap this test holds open.
    let (dev_fd, dev) = sys::open_tap(&format!("rve{pid}d")).expect("tap");
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
    let cfg = DatapathConfig {
        n_threads: 1,
        ..Default::default()
    };
    let (dp, _userspace) = Datapath::new(cfg, Arc::new(DropAll), None);

    // An AF_PACKET port on an interface that is down when it is added: its
    // socket holds ENETDOWN, which `poll` reports until someone reads it.
    ip(&["link", "set", "dev", &dev, "down"]);
    dp.add_system_port(1, &dev)
        .expect("port on a down interface");
    let share = fwd_share(Duration::from_millis(1500));
    assert!(share < 0.2, "forwarding thread at {share:.2} of a core");
    // Up, then down again (each change sets the error anew).
    ip(&["link", "set", "dev", &dev, "up"]);
    std::thread::sleep(Duration::from_millis(200));
    ip(&["link", "set", "dev", &dev, "down"]);
    let share = fwd_share(Duration::from_millis(1500));
    assert!(share < 0.2, "after down/up/down: {share:.2} of a core");

    // A tap port whose device is deleted from outside: its fd reports an
    // error for good, and reads fail; neither spins nor counts errors.
    let tap = dp.add_tap_port(2, &format!("rve{pid}t")).expect("tap port");
    ip(&["link", "del", "dev", &tap]);
    let share = fwd_share(Duration::from_millis(1500));
    assert!(share < 0.2, "deleted tap: {share:.2} of a core");
    let st = dp
        .ports()
        .into_iter()
        .find(|p| p.port_no == 2)
        .expect("port 2");
    assert!(st.stats.rx_errors < 5, "{:?}", st.stats);
    assert_eq!(st.link_up, None, "a deleted tap has no link state");

    // A removed tap port closes although no packet or upcall came after it
    // was used by a PACKET_OUT: the same tap can be created again.
    let name = format!("rve{pid}r");
    dp.add_tap_port(3, &name).expect("tap port 3");
    dp.execute(&[0u8; 60], 1, &[DpAction::Output(3)]);
    assert!(dp.del_port(3));
    let start = Instant::now();
    let readded = loop {
        match dp.add_tap_port(3, &name) {
            Ok(_) => break true,
            Err(_) if start.elapsed() < Duration::from_secs(2) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                eprintln!("re-adding {name}: {e}");
                break false;
            }
        }
    };
    assert!(readded, "the removed tap stayed open");

    // An interface deleted and created again under the same name: the port's
    // socket is bound to the old one, so the port has no link state.
    let again = format!("rve{pid}a");
    let (fd, again) = sys::open_tap(&again).expect("tap");
    dp.add_system_port(4, &again).expect("port 4");
    let link = |dp: &Datapath| {
        dp.ports()
            .into_iter()
            .find(|p| p.port_no == 4)
            .map(|p| p.link_up)
    };
    assert_eq!(link(&dp), Some(Some(true)));
    drop(fd);
    let (_fd, _) = sys::open_tap(&again).expect("the same tap again");
    assert_eq!(link(&dp), Some(None), "a new interface under the old name");
    drop(dp);
    drop(dev_fd);
}
