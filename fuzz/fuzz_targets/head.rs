//! The head parser on arbitrary bytes, whole and in two reads: the answer
//! (complete and where, partial, or which status) must not depend on how the
//! bytes arrived, and nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status};

/// The part of an answer that must not depend on how the bytes arrived.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Complete { head_len: usize },
    Partial,
    Failed { status: u16 },
}

fn parse(parser: &mut HeadParser, buf: &[u8]) -> Outcome {
    let mut fields = [EMPTY_HEADER; 100];
    match parser.parse(buf, &Limits::default(), &mut fields) {
        Ok(Status::Complete(req)) => Outcome::Complete { head_len: req.head_len },
        Ok(Status::Partial) => Outcome::Partial,
        Err(e) => Outcome::Failed { status: e.status() },
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses where the first read ends; the rest is the stream.
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let whole = parse(&mut HeadParser::new(), input);
    let split = usize::from(cut) * input.len() / 255;
    let mut parser = HeadParser::new();
    // The caller always passes the whole buffer read so far.
    let first = parse(&mut parser, &input[..split]);
    match first {
        // A head complete, or refused, in the first read stays so.
        Outcome::Complete { .. } | Outcome::Failed { .. } => assert_eq!(first, whole),
        Outcome::Partial => assert_eq!(parse(&mut parser, input), whole, "split at {split}"),
    }
});
