use std::time::{Duration, Instant};

use super::*;

fn group(n: u16) -> Group {
    Group { name: "g".into(), servers: (0..n).map(|i| Addr::Tcp(SocketAddr::from(([127, 0, 0, 1], 1 + i)))).collect() }
}

#[test]
fn servers_are_taken_in_turn_and_failed_ones_left_out() {
    let config = PoolConfig { max_fails: 2, fail_timeout: Duration::from_secs(10), ..PoolConfig::default() };
    let mut u = Upstreams::new(vec![group(3)], config);
    let now = Instant::now();
    let picks: Vec<_> = (0..4).map(|_| u.pick(0, 0, now)).collect();
    assert_eq!(picks, [Some(0), Some(1), Some(2), Some(0)]);
    // Two failures within the window take server 1 out...
    u.mark_failed(0, 1, now);
    assert_eq!((u.pick(0, 0, now), u.pick(0, 0, now)), (Some(1), Some(2)));
    u.mark_failed(0, 1, now);
    let picks: Vec<_> = (0..3).map(|_| u.pick(0, 0, now)).collect();
    assert_eq!(picks, [Some(0), Some(2), Some(0)]);
    // ...until the fail timeout is over.
    let later = now + Duration::from_secs(11);
    let picks: Vec<_> = (0..3).map(|_| u.pick(0, 0, later)).collect();
    assert!(picks.contains(&Some(1)), "{picks:?}");
    // Servers already tried for this request are skipped; none left: None.
    assert_eq!(u.pick(0, 0b111, later), None);
    assert_eq!(u.pick(0, 0b101, later), Some(1));
}

#[test]
fn a_lone_server_is_never_left_out() {
    let mut u = Upstreams::new(vec![group(1)], PoolConfig::default());
    let now = Instant::now();
    u.mark_failed(0, 0, now);
    u.mark_failed(0, 0, now);
    assert_eq!(u.pick(0, 0, now), Some(0));
    // But once tried for this request, it is not tried again.
    assert_eq!(u.pick(0, 0b1, now), None);
}

#[test]
fn failures_are_forgiven_after_a_good_response_or_the_window() {
    let config = PoolConfig { max_fails: 2, fail_timeout: Duration::from_secs(10), ..PoolConfig::default() };
    let mut u = Upstreams::new(vec![group(2)], config);
    let now = Instant::now();
    u.mark_failed(0, 0, now);
    u.mark_ok(0, 0);
    u.mark_failed(0, 0, now);
    assert_eq!((u.pick(0, 0, now), u.pick(0, 0, now)), (Some(0), Some(1)));
    // A failure outside the window starts a new count.
    u.mark_failed(0, 1, now + Duration::from_secs(20));
    let t = now + Duration::from_secs(20);
    assert_eq!((u.pick(0, 0, t), u.pick(0, 0, t)), (Some(0), Some(1)));
}
