//! permessage-deflate negotiation (RFC 7692 §7): any `Sec-WebSocket-Extensions`
//! value is accepted or declined without a panic, what is accepted has a
//! window size in range, and the server's answer, offered back, is accepted
//! with the same parameters (the answer names only what was agreed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wired_parser::Header;
use wired_parser::websocket::extension::negotiate_deflate;

fuzz_target!(|data: &[u8]| {
    let Some(agreed) = negotiate_deflate(&[Header { name: "Sec-WebSocket-Extensions", value: data }]) else {
        return;
    };
    assert!((8..=15).contains(&agreed.server_max_window_bits));
    assert!(agreed.client_max_window_bits.is_none_or(|b| (8..=15).contains(&b)));
    let answer = agreed.response();
    let again = negotiate_deflate(&[Header { name: "Sec-WebSocket-Extensions", value: answer.as_bytes() }])
        .expect("the server's answer is a valid offer");
    assert_eq!(
        (again.server_no_context_takeover, again.client_no_context_takeover, again.server_max_window_bits),
        (agreed.server_no_context_takeover, agreed.client_no_context_takeover, agreed.server_max_window_bits)
    );
});
