//! HPACK: wired's `Decoder` against an independent one (the `fluke-hpack`
//! crate, a fuzz-only dependency), block by block over one connection, then
//! what wired decoded re-encoded by wired's `Encoder` and decoded back, by
//! wired and by the oracle.
//!
//! Input: a control byte, then blocks, each a length byte and that many
//! bytes (a length past the end takes the rest). Control bit 0: a small
//! header-list limit (512), so the bomb check trips often; bit 1: the
//! re-encoding peer's table limited to 64 bytes, so the encoder's size
//! updates and evictions run; bit 2: the re-encoder indexes everything.
//!
//! Where the two decoders may differ, on purpose (anything else fails):
//! - wired alone refuses a list past its SETTINGS_MAX_HEADER_LIST_SIZE
//!   (RFC 9113 §6.5.2) and a size update after a field (RFC 7541 §4.2);
//!   the oracle accepts both.
//! - wired reads an integer of up to 5 continuation bytes (any u32); the
//!   oracle stops at 4 (2^28), and panics when that, or a truncated
//!   integer, is in a size update (`update_max_dynamic_size` unwraps): its
//!   panic is caught and counted as its failure.
//! - the oracle refuses a block that ends with a size update; wired allows
//!   a block made only of size updates (nothing in §4.2 or §6.3 forbids it).
//!
//! On any of these the sequence stops, since the two tables may now differ.
//!
//! A third decoder reads every block with `decode_traced` (what `--trace`
//! uses): it must decode exactly what the plain decode does, error for
//! error, and report one representation per field.
#![no_main]

use std::panic::{self, AssertUnwindSafe};

use fluke_hpack::decoder::{DecoderError, IntegerDecodingError, StringDecodingError};
use libfuzzer_sys::fuzz_target;
use wired_parser::http2::hpack::encoder::default_indexing;
use wired_parser::http2::hpack::{Decoder, Encoder, Error, Indexing, OwnedField};

/// A field list as both decoders can give it.
type List = Vec<(Vec<u8>, Vec<u8>)>;

/// What went wrong, in terms both decoders share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Truncated,
    Integer,
    Huffman,
    Index,
    SizeUpdateTooLarge,
}

/// How a decoder's try at a block ended.
#[derive(Debug)]
enum Outcome {
    Fields(List),
    Failed(Class),
    /// A rule only wired has, or only the oracle has: the sequence stops.
    OwnRule,
    /// The oracle panicked (see the module docs).
    Panicked,
}

fn wired_outcome(result: Result<Vec<OwnedField>, Error>) -> Outcome {
    match result {
        Ok(fields) => Outcome::Fields(fields.into_iter().map(|f| (f.name, f.value)).collect()),
        Err(Error::Truncated) => Outcome::Failed(Class::Truncated),
        Err(Error::IntegerOverflow) => Outcome::Failed(Class::Integer),
        Err(Error::HuffmanEos | Error::HuffmanPaddingTooLong | Error::HuffmanPaddingNotOnes) => {
            Outcome::Failed(Class::Huffman)
        }
        Err(Error::IndexZero | Error::IndexOutOfRange) => Outcome::Failed(Class::Index),
        Err(Error::SizeUpdateTooLarge) => Outcome::Failed(Class::SizeUpdateTooLarge),
        Err(_) => Outcome::OwnRule,
    }
}

fn oracle_outcome(oracle: &mut fluke_hpack::Decoder<'static>, block: &[u8]) -> Outcome {
    // libfuzzer-sys's hook aborts on any panic; the oracle's are expected.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let result = panic::catch_unwind(AssertUnwindSafe(|| oracle.decode(block)));
    panic::set_hook(hook);
    match result {
        Err(_) => Outcome::Panicked,
        Ok(Ok(list)) => Outcome::Fields(list),
        Ok(Err(e)) => match e {
            DecoderError::IntegerDecodingError(IntegerDecodingError::NotEnoughOctets)
            | DecoderError::StringDecodingError(StringDecodingError::NotEnoughOctets) => {
                Outcome::Failed(Class::Truncated)
            }
            DecoderError::IntegerDecodingError(_) => Outcome::Failed(Class::Integer),
            DecoderError::StringDecodingError(StringDecodingError::HuffmanDecoderError(_)) => {
                Outcome::Failed(Class::Huffman)
            }
            DecoderError::HeaderIndexOutOfBounds => Outcome::Failed(Class::Index),
            DecoderError::InvalidMaxDynamicSize => Outcome::Failed(Class::SizeUpdateTooLarge),
            DecoderError::SizeUpdateAtEnd => Outcome::OwnRule,
        },
    }
}

/// Whether the two outcomes agree, or differ only as the module docs allow;
/// `None` when the sequence must stop there.
fn compare(wired: &Outcome, oracle: &Outcome, block: &[u8]) -> Option<()> {
    match (wired, oracle) {
        (Outcome::Fields(a), Outcome::Fields(b)) => {
            assert_eq!(a, b, "both decoded {block:02x?}, differently");
            Some(())
        }
        (Outcome::OwnRule, _) | (_, Outcome::OwnRule) => None,
        // The oracle's shorter integers: wired may read on.
        (_, Outcome::Failed(Class::Integer) | Outcome::Panicked) => None,
        (Outcome::Failed(a), Outcome::Failed(b)) => {
            assert_eq!(a, b, "both refused {block:02x?}, for different reasons");
            None
        }
        (w, o) => panic!("wired {w:?} but the oracle {o:?} on {block:02x?}"),
    }
}

fn index_everything(_: &[u8], _: &[u8]) -> Indexing {
    Indexing::Incremental
}

/// The blocks of the input: a length byte, then that many bytes.
fn blocks(mut rest: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while let Some((len, after)) = rest.split_first() {
        let (block, next) = after.split_at(usize::from(*len).min(after.len()));
        out.push(block);
        rest = next;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((control, rest)) = data.split_first() else { return };
    let list_limit = if control & 1 != 0 { 512 } else { 16 * 1024 };

    let mut wired = Decoder::new();
    wired.set_max_header_list_size(list_limit);
    let mut traced = Decoder::new();
    traced.set_max_header_list_size(list_limit);
    let mut reprs = Vec::new();
    let mut oracle = fluke_hpack::Decoder::new();
    oracle.set_max_allowed_table_size(4096);

    // The second leg: wired's encoder, decoded by wired and by the oracle.
    let mut encoder = if control & 4 != 0 { Encoder::with_rule(index_everything) } else { Encoder::new() };
    let mut again = Decoder::new();
    again.set_max_header_list_size(list_limit);
    let mut oracle_again = fluke_hpack::Decoder::new();
    if control & 2 != 0 {
        encoder.set_peer_max_table_size(64);
        again.set_max_table_size(64);
        oracle_again.set_max_allowed_table_size(64);
    }

    for block in blocks(rest) {
        let plain = wired.decode_to_vec(block);
        let mut fields = Vec::new();
        reprs.clear();
        let with_trace = traced.decode_traced(block, |f| fields.push(OwnedField::from(f)), &mut reprs).map(|()| fields);
        match (&plain, &with_trace) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "decode_traced decodes differently");
                assert!(reprs.len() >= a.len(), "a field without its representation");
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "decode_traced fails differently"),
            _ => panic!("decode_traced and decode disagree: {plain:?} / {with_trace:?}"),
        }
        let mine = wired_outcome(plain);
        let theirs = oracle_outcome(&mut oracle, block);
        let agreed = compare(&mine, &theirs, block);
        let Outcome::Fields(list) = mine else { return };

        let mut encoded = Vec::new();
        encoder.encode(list.iter().map(|(n, v)| (n, v)), &mut encoded);
        let back = again.decode_to_vec(&encoded).expect("wired decodes what wired encoded");
        assert_eq!(back.iter().map(|f| (f.name.clone(), f.value.clone())).collect::<List>(), list);
        // Only the default rule sends anything never-indexed.
        let never = |f: &OwnedField| control & 4 == 0 && default_indexing(&f.name, &f.value) == Indexing::Never;
        assert!(back.iter().all(|f| f.never_indexed == never(f)), "never-indexed marks");
        assert!(again.table().entries().eq(encoder.table().entries()), "tables out of step");
        match oracle_outcome(&mut oracle_again, &encoded) {
            Outcome::Fields(theirs) => assert_eq!(theirs, list, "the oracle reads wired's encoding differently"),
            // A size update and no field: the oracle's own rule (see above).
            Outcome::OwnRule if list.is_empty() => {}
            other => panic!("the oracle refuses wired's encoding {encoded:02x?}: {other:?}"),
        }
        if agreed.is_none() {
            return;
        }
    }
});
