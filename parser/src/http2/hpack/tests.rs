//! HPACK against RFC 7541 Appendix C, byte for byte, then the errors, the
//! limits, and the encoder and decoder against each other.

use super::encoder::{Indexing, RECENT, REPEATING, SENSITIVE, UNIQUE, default_indexing, repeating};
use super::*;

/// Bytes from the RFC's hex dumps, spaces and all.
fn hex(dump: &str) -> Vec<u8> {
    let digits: Vec<u8> = dump.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap()).collect()
}

fn pairs(fields: &[OwnedField]) -> Vec<(String, String)> {
    fields.iter().map(|f| (lossy(&f.name), lossy(&f.value))).collect()
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn entries(table: &Table) -> Vec<(String, String)> {
    table.entries().map(|(n, v)| (lossy(n), lossy(v))).collect()
}

fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
}

/// One block of an Appendix C sequence, with the list it decodes to and the
/// dynamic table after it, newest first, as the RFC prints them.
struct Step {
    block: &'static str,
    fields: &'static [(&'static str, &'static str)],
    table: &'static [(&'static str, &'static str)],
    size: usize,
}

const REQUEST_1: &[(&str, &str)] =
    &[(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
const REQUEST_2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQUEST_3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const REQUEST_TABLE_1: &[(&str, &str)] = &[(":authority", "www.example.com")];
const REQUEST_TABLE_2: &[(&str, &str)] = &[("cache-control", "no-cache"), (":authority", "www.example.com")];
const REQUEST_TABLE_3: &[(&str, &str)] =
    &[("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")];

const DATE_21: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_22: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION: &str = "https://www.example.com";
const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSE_1: &[(&str, &str)] =
    &[(":status", "302"), ("cache-control", "private"), ("date", DATE_21), ("location", LOCATION)];
const RESPONSE_2: &[(&str, &str)] =
    &[(":status", "307"), ("cache-control", "private"), ("date", DATE_21), ("location", LOCATION)];
const RESPONSE_3: &[(&str, &str)] = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", DATE_22),
    ("location", LOCATION),
    ("content-encoding", "gzip"),
    ("set-cookie", COOKIE),
];
const RESPONSE_TABLE_1: &[(&str, &str)] =
    &[("location", LOCATION), ("date", DATE_21), ("cache-control", "private"), (":status", "302")];
const RESPONSE_TABLE_2: &[(&str, &str)] =
    &[(":status", "307"), ("location", LOCATION), ("date", DATE_21), ("cache-control", "private")];
const RESPONSE_TABLE_3: &[(&str, &str)] = &[("set-cookie", COOKIE), ("content-encoding", "gzip"), ("date", DATE_22)];

/// §C.3: requests, literals sent raw.
const C3: [Step; 3] = [
    Step {
        block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        fields: REQUEST_1,
        table: REQUEST_TABLE_1,
        size: 57,
    },
    Step { block: "8286 84be 5808 6e6f 2d63 6163 6865", fields: REQUEST_2, table: REQUEST_TABLE_2, size: 110 },
    Step {
        block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        fields: REQUEST_3,
        table: REQUEST_TABLE_3,
        size: 164,
    },
];

/// §C.4: the same requests, Huffman-coded.
const C4: [Step; 3] = [
    Step { block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", fields: REQUEST_1, table: REQUEST_TABLE_1, size: 57 },
    Step { block: "8286 84be 5886 a8eb 1064 9cbf", fields: REQUEST_2, table: REQUEST_TABLE_2, size: 110 },
    Step {
        block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        fields: REQUEST_3,
        table: REQUEST_TABLE_3,
        size: 164,
    },
];

/// §C.5: responses, literals raw, the table limited to 256 bytes.
const C5: [Step; 3] = [
    Step {
        block: "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                6c65 2e63 6f6d",
        fields: RESPONSE_1,
        table: RESPONSE_TABLE_1,
        size: 222,
    },
    Step { block: "4803 3330 37c1 c0bf", fields: RESPONSE_2, table: RESPONSE_TABLE_2, size: 222 },
    Step {
        block: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
                54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
                5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
                3d31",
        fields: RESPONSE_3,
        table: RESPONSE_TABLE_3,
        size: 215,
    },
];

/// §C.6: the same responses, Huffman-coded.
const C6: [Step; 3] = [
    Step {
        block: "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        fields: RESPONSE_1,
        table: RESPONSE_TABLE_1,
        size: 222,
    },
    Step { block: "4883 640e ffc1 c0bf", fields: RESPONSE_2, table: RESPONSE_TABLE_2, size: 222 },
    Step {
        block: "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
                77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        fields: RESPONSE_3,
        table: RESPONSE_TABLE_3,
        size: 215,
    },
];

/// The size update to 256 a peer sends first when our SETTINGS set the
/// table to 256 bytes, as C.5 and C.6 assume (the RFC leaves it out).
const UPDATE_TO_256: [u8; 3] = [0x3f, 0xe1, 0x01];

/// A decoder set up for a sequence: the default one, or one whose
/// SETTINGS_HEADER_TABLE_SIZE is 256.
fn decoder_for(table_size: Option<u32>) -> Decoder {
    let mut decoder = Decoder::new();
    if let Some(size) = table_size {
        decoder.set_max_table_size(size);
    }
    decoder
}

/// Decodes a sequence, checking every list and every table state, and
/// returns the decoder as it was before each block, for the cut tests.
fn decode_sequence(steps: &[Step], table_size: Option<u32>) -> Vec<(Decoder, Vec<u8>)> {
    let mut decoder = decoder_for(table_size);
    let mut before = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        let mut block = hex(step.block);
        if i == 0 && table_size.is_some() {
            block.splice(0..0, UPDATE_TO_256);
        }
        before.push((decoder.clone(), block.clone()));
        let fields = decoder.decode_to_vec(&block).unwrap_or_else(|e| panic!("block {}: {e}", i + 1));
        assert_eq!(pairs(&fields), owned(step.fields), "block {}", i + 1);
        assert!(fields.iter().all(|f| !f.never_indexed));
        assert_eq!(entries(decoder.table()), owned(step.table), "table after block {}", i + 1);
        assert_eq!(decoder.table().size(), step.size, "table size after block {}", i + 1);
    }
    before
}

#[test]
fn c2_each_representation_alone() {
    // §C.2.1: literal with incremental indexing, new name.
    let mut decoder = Decoder::new();
    let fields = decoder.decode_to_vec(&hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    assert_eq!(pairs(&fields.unwrap()), owned(&[("custom-key", "custom-header")]));
    assert_eq!(entries(decoder.table()), owned(&[("custom-key", "custom-header")]));
    assert_eq!(decoder.table().size(), 55);

    // §C.2.2: literal without indexing, indexed name.
    let mut decoder = Decoder::new();
    let fields = decoder.decode_to_vec(&hex("040c 2f73 616d 706c 652f 7061 7468")).unwrap();
    assert_eq!(pairs(&fields), owned(&[(":path", "/sample/path")]));
    assert!(!fields[0].never_indexed);
    assert!(decoder.table().is_empty());

    // §C.2.3: literal never indexed, and the caller is told so.
    let mut decoder = Decoder::new();
    let fields = decoder.decode_to_vec(&hex("1008 7061 7373 776f 7264 0673 6563 7265 74")).unwrap();
    assert_eq!(pairs(&fields), owned(&[("password", "secret")]));
    assert!(fields[0].never_indexed);
    assert!(decoder.table().is_empty());

    // §C.2.4: indexed field.
    let mut decoder = Decoder::new();
    assert_eq!(pairs(&decoder.decode_to_vec(&hex("82")).unwrap()), owned(&[(":method", "GET")]));
    assert!(decoder.table().is_empty());
}

#[test]
fn c3_requests_without_huffman() {
    decode_sequence(&C3, None);
}

#[test]
fn c4_requests_with_huffman() {
    decode_sequence(&C4, None);
}

#[test]
fn c5_responses_without_huffman_and_evictions() {
    decode_sequence(&C5, Some(256));
}

#[test]
fn c6_responses_with_huffman_and_evictions() {
    decode_sequence(&C6, Some(256));
}

/// How each block of C.3 was sent, as the RFC's commentary describes it
/// ("indexed 2", "literal with incremental indexing, indexed name 1", ...).
/// C.4 is the same with every string Huffman-coded.
const C3_REPRS: [&[&str]; 3] = [
    &["indexed 2 (static)", "indexed 6 (static)", "indexed 4 (static)", "literal, name 1 (static), raw, indexed as 62"],
    &[
        "indexed 2 (static)",
        "indexed 6 (static)",
        "indexed 4 (static)",
        "indexed 62 (dynamic)",
        "literal, name 24 (static), raw, indexed as 62",
    ],
    &[
        "indexed 2 (static)",
        "indexed 7 (static)",
        "indexed 5 (static)",
        "indexed 63 (dynamic)",
        "literal, new name, raw, indexed as 62",
    ],
];

/// C.5, opened by the size update to 256; the evictions are the ones the
/// RFC lists after each block. C.6 is the same, Huffman-coded.
const C5_REPRS: [&[&str]; 3] = [
    &[
        "table size update to 256 (§6.3)",
        "literal, name 8 (static), raw, indexed as 62",
        "literal, name 24 (static), raw, indexed as 62",
        "literal, name 33 (static), raw, indexed as 62",
        "literal, name 46 (static), raw, indexed as 62",
    ],
    // (:status, 302) goes to make room for (:status, 307).
    &[
        "literal, name 8 (static), raw, indexed as 62 (1 evicted)",
        "indexed 65 (dynamic)",
        "indexed 64 (dynamic)",
        "indexed 63 (dynamic)",
    ],
    // cache-control, the old date, then location and :status 307 go.
    &[
        "indexed 8 (static)",
        "indexed 65 (dynamic)",
        "literal, name 33 (static), raw, indexed as 62 (1 evicted)",
        "indexed 64 (dynamic)",
        "literal, name 26 (static), raw, indexed as 62 (1 evicted)",
        "literal, name 55 (static), raw, indexed as 62 (2 evicted)",
    ],
];

/// Decodes a sequence with [`Decoder::decode_traced`]: the representations
/// must read as `expected` (with "huffman" for "raw" when `huffman`), and
/// the fields and tables must be those [`Decoder::decode`] gives.
fn trace_sequence(steps: &[Step], table_size: Option<u32>, expected: &[&[&str]; 3], huffman: bool) {
    let mut decoder = decoder_for(table_size);
    for (i, step) in steps.iter().enumerate() {
        let mut block = hex(step.block);
        if i == 0 && table_size.is_some() {
            block.splice(0..0, UPDATE_TO_256);
        }
        let (mut fields, mut reprs) = (Vec::new(), Vec::new());
        decoder.decode_traced(&block, |f| fields.push(OwnedField::from(f)), &mut reprs).unwrap();
        let got: Vec<String> = reprs.iter().map(Repr::to_string).collect();
        let want: Vec<String> =
            expected[i].iter().map(|r| if huffman { r.replace(", raw", ", huffman") } else { r.to_string() }).collect();
        assert_eq!(got, want, "block {}", i + 1);
        assert_eq!(reprs.iter().filter(|r| r.is_field()).count(), fields.len());
        assert_eq!(pairs(&fields), owned(step.fields), "block {}", i + 1);
        assert_eq!(entries(decoder.table()), owned(step.table), "table after block {}", i + 1);
        assert_eq!(decoder.table().size(), step.size);
    }
}

#[test]
fn c3_and_c4_representations_with_their_indexes() {
    trace_sequence(&C3, None, &C3_REPRS, false);
    trace_sequence(&C4, None, &C3_REPRS, true);
}

#[test]
fn c5_and_c6_representations_with_their_evictions() {
    trace_sequence(&C5, Some(256), &C5_REPRS, false);
    trace_sequence(&C6, Some(256), &C5_REPRS, true);
}

fn reprs_of(decoder: &mut Decoder, block: &[u8]) -> Vec<String> {
    let mut reprs = Vec::new();
    decoder.decode_traced(block, |_| {}, &mut reprs).unwrap();
    reprs.iter().map(Repr::to_string).collect()
}

#[test]
fn c2_representations_and_the_rarer_cases() {
    let mut decoder = Decoder::new();
    // §C.2.2 and §C.2.3: the two literals the table never sees.
    assert_eq!(
        reprs_of(&mut decoder, &hex("040c 2f73 616d 706c 652f 7061 7468")),
        ["literal, name 4 (static), raw, not indexed"]
    );
    assert_eq!(
        reprs_of(&mut decoder, &hex("1008 7061 7373 776f 7264 0673 6563 7265 74")),
        ["literal, new name, raw, never indexed (§6.2.3)"]
    );
    // A new name sent raw with a Huffman value ("0" is the 5 bits 00000, then padding).
    assert_eq!(
        reprs_of(&mut decoder, &[0x00, 0x01, b'a', 0x81, 0x07]),
        ["literal, new name, name raw, value huffman, not indexed"]
    );
    assert!(decoder.table().is_empty());

    // Two entries of 34 bytes, then a size update that keeps one, then a
    // field larger than the table, which empties it and is not added.
    assert_eq!(
        reprs_of(&mut decoder, &[0x40, 0x01, b'a', 0x01, b'1', 0x40, 0x01, b'b', 0x01, b'2']),
        ["literal, new name, raw, indexed as 62", "literal, new name, raw, indexed as 62"]
    );
    assert_eq!(reprs_of(&mut decoder, &size_update(40)), ["table size update to 40, 1 evicted (§6.3)"]);
    assert_eq!(entries(decoder.table()), owned(&[("b", "2")]));
    assert_eq!(
        reprs_of(&mut decoder, &[0x40, 0x02, b'x', b'y', 0x07, b'a', b'b', b'c', b'd', b'e', b'f', b'g']),
        ["literal, new name, raw, larger than the table: not added, 1 evicted (§4.4)"]
    );
    assert!(decoder.table().is_empty());
}

/// Indexes the RFC's way: every literal goes into the table.
fn always_index(_: &[u8], _: &[u8]) -> Indexing {
    Indexing::Incremental
}

/// Encodes a sequence's lists with `encoder` and checks the bytes and the
/// table against the RFC's.
fn encode_sequence(encoder: &mut Encoder, steps: &[Step], first_prefix: &[u8]) {
    for (i, step) in steps.iter().enumerate() {
        let mut block = Vec::new();
        encoder.encode(step.fields.iter().copied(), &mut block);
        let mut expected = if i == 0 { first_prefix.to_vec() } else { Vec::new() };
        expected.extend(hex(step.block));
        assert_eq!(block, expected, "block {}", i + 1);
        assert_eq!(entries(encoder.table()), owned(step.table), "table after block {}", i + 1);
        assert_eq!(encoder.table().size(), step.size);
    }
}

#[test]
fn the_encoder_writes_c4_byte_for_byte() {
    encode_sequence(&mut Encoder::with_rule(always_index), &C4, &[]);
}

#[test]
fn the_encoder_writes_c6_byte_for_byte_after_the_size_update() {
    let mut encoder = Encoder::with_rule(always_index);
    encoder.set_peer_max_table_size(256);
    encode_sequence(&mut encoder, &C6, &UPDATE_TO_256);
}

#[test]
fn every_cut_of_every_example_block_is_a_clean_prefix_or_truncated() {
    let sequences = [(&C3, None), (&C4, None), (&C5, Some(256)), (&C6, Some(256))];
    for (steps, table_size) in sequences {
        for (i, (decoder, block)) in decode_sequence(steps, table_size).into_iter().enumerate() {
            let expected = owned(steps[i].fields);
            for cut in 0..block.len() {
                match decoder.clone().decode_to_vec(&block[..cut]) {
                    Ok(fields) => assert_eq!(pairs(&fields), expected[..fields.len()], "cut at {cut}"),
                    // Before the size update C.5 and C.6 start with, the block lacks it.
                    Err(Error::SizeUpdateMissing) if cut == 0 && i == 0 && table_size.is_some() => {}
                    Err(e) => assert_eq!(e, Error::Truncated, "block {} cut at {cut}", i + 1),
                }
            }
            // The last representation is longer than a byte in every example
            // but C.5.2 and C.6.2, so one byte short is always an error there.
            if block.len() > 8 {
                assert_eq!(decoder.clone().decode_to_vec(&block[..block.len() - 1]), Err(Error::Truncated));
            }
        }
    }
}

fn decode(block: &[u8]) -> Result<Vec<OwnedField>, Error> {
    Decoder::new().decode_to_vec(block)
}

#[test]
fn index_zero_and_indexes_past_the_table_are_refused() {
    assert_eq!(decode(&[0x80]), Err(Error::IndexZero));
    assert_eq!(decode(&[0xbd]).map(|f| pairs(&f)), Ok(owned(&[("www-authenticate", "")])), "61 is the last static");
    assert_eq!(decode(&[0xbe]), Err(Error::IndexOutOfRange), "62 with an empty dynamic table");
    // A literal whose name index is past the table, each literal form.
    assert_eq!(decode(&[0x7e, 0x00]), Err(Error::IndexOutOfRange));
    assert_eq!(decode(&[0x0f, 0x2f, 0x00]), Err(Error::IndexOutOfRange));
    assert_eq!(decode(&[0x1f, 0x2f, 0x00]), Err(Error::IndexOutOfRange));
    // Once there is an entry, 62 is valid and 63 is not.
    let mut decoder = Decoder::new();
    decoder.decode_to_vec(&[0x40, 0x01, b'a', 0x01, b'b']).unwrap();
    assert_eq!(pairs(&decoder.decode_to_vec(&[0xbe]).unwrap()), owned(&[("a", "b")]));
    assert_eq!(decoder.decode_to_vec(&[0xbf]), Err(Error::IndexOutOfRange));
}

#[test]
fn bad_huffman_in_a_block_is_refused() {
    // A literal without indexing, name "a" raw, then a Huffman value.
    let with_value = |huffman: &[u8]| {
        let mut block = vec![0x00, 0x01, b'a', 0x80 | huffman.len() as u8];
        block.extend_from_slice(huffman);
        decode(&block)
    };
    assert_eq!(with_value(&[0xff]), Err(Error::HuffmanPaddingTooLong));
    assert_eq!(with_value(&[0x00]), Err(Error::HuffmanPaddingNotOnes));
    assert_eq!(with_value(&[0xff, 0xff, 0xff, 0xff]), Err(Error::HuffmanEos));
    assert_eq!(with_value(&[0x07]).map(|f| pairs(&f)), Ok(owned(&[("a", "0")])));
    assert_eq!(with_value(&[]).map(|f| pairs(&f)), Ok(owned(&[("a", "")])), "an empty Huffman string");
}

#[test]
fn integers_too_large_are_refused() {
    assert_eq!(decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), Err(Error::IntegerOverflow));
    assert_eq!(decode(&[0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0x7f]), Err(Error::IntegerOverflow), "a string length");
    // A length that fits, but claims more than the block holds.
    assert_eq!(decode(&[0x00, 0x7f, 0xff, 0xff, 0x03]), Err(Error::Truncated));
}

fn size_update(size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    integer::encode(size, 5, 0x20, &mut out);
    out
}

#[test]
fn a_size_update_above_our_setting_is_refused() {
    assert_eq!(decode(&size_update(4097)), Err(Error::SizeUpdateTooLarge));
    assert_eq!(decode(&size_update(4096)), Ok(vec![]));
    let mut decoder = Decoder::new();
    decoder.set_max_table_size(100);
    assert_eq!(decoder.decode_to_vec(&size_update(101)), Err(Error::SizeUpdateTooLarge));
}

#[test]
fn a_size_update_after_a_field_is_refused() {
    assert_eq!(decode(&[[0x82].as_slice(), &size_update(0)].concat()), Err(Error::SizeUpdateNotAtStart));
    // Two at the start are fine (§4.2: the smallest, then the final size).
    let block = [size_update(0), size_update(4096), vec![0x82]].concat();
    assert_eq!(decode(&block).map(|f| pairs(&f)), Ok(owned(&[(":method", "GET")])));
}

#[test]
fn a_size_update_applies_and_evicts() {
    let mut decoder = Decoder::new();
    decoder.decode_to_vec(&hex(C3[0].block)).unwrap();
    decoder.decode_to_vec(&hex(C3[1].block)).unwrap();
    assert_eq!(decoder.table().size(), 110);
    // Down to 60: only the newest entry (53 bytes) stays.
    decoder.decode_to_vec(&size_update(60)).unwrap();
    assert_eq!(entries(decoder.table()), owned(&[("cache-control", "no-cache")]));
    assert_eq!(decoder.table().max_size(), 60);
}

#[test]
fn after_our_setting_shrinks_the_next_block_must_say_so() {
    let mut decoder = Decoder::new();
    decoder.set_max_table_size(100);
    assert_eq!(decoder.clone().decode_to_vec(&[0x82]), Err(Error::SizeUpdateMissing));
    assert_eq!(decoder.clone().decode_to_vec(&[]), Err(Error::SizeUpdateMissing), "an empty block too");
    let block = [size_update(100), vec![0x82]].concat();
    assert_eq!(decoder.decode_to_vec(&block).map(|f| pairs(&f)), Ok(owned(&[(":method", "GET")])));
    assert_eq!(decoder.decode_to_vec(&[0x82]).map(|f| f.len()), Ok(1), "said once is enough");
    // Raising the setting needs no update: the table may stay smaller.
    decoder.set_max_table_size(4096);
    assert_eq!(decoder.decode_to_vec(&[0x82]).map(|f| f.len()), Ok(1));
}

/// A block of a few kilobytes that would decode to megabytes: one large
/// entry added to the table, then referred to by one byte, many times.
fn bomb(references: usize) -> Vec<u8> {
    let mut block = vec![0x40, 0x01, b'x'];
    integer::encode(4000, 7, 0x00, &mut block);
    block.extend(std::iter::repeat_n(b'a', 4000));
    block.extend(std::iter::repeat_n(0xbe, references));
    block
}

#[test]
fn an_hpack_bomb_is_refused_when_the_list_passes_the_limit() {
    // Each field counts 1 + 4000 + 32 = 4033 bytes: four fit in 16 KiB, not five.
    let mut decoder = Decoder::new();
    let (mut emitted, mut bytes) = (0, 0);
    let result = decoder.decode(&bomb(100_000), |field| {
        emitted += 1;
        bytes += field.value.len();
    });
    assert_eq!(result, Err(Error::HeaderListTooLarge));
    assert_eq!((emitted, bytes), (4, 16_000), "refused at the fifth field, before it was handed out");
    assert_eq!(Decoder::new().decode_to_vec(&bomb(3)).map(|f| f.len()), Ok(4));
    // The limit is ours to set.
    let mut decoder = Decoder::new();
    decoder.set_max_header_list_size(4033);
    assert_eq!(decoder.clone().decode_to_vec(&bomb(0)).map(|f| f.len()), Ok(1));
    assert_eq!(decoder.decode_to_vec(&bomb(1)), Err(Error::HeaderListTooLarge));
}

#[test]
fn the_list_limit_counts_fields_as_settings_do() {
    // ":method: GET" is 7 + 3 + 32 = 42.
    let mut decoder = Decoder::new();
    decoder.set_max_header_list_size(84);
    assert_eq!(decoder.clone().decode_to_vec(&[0x82, 0x82]).map(|f| f.len()), Ok(2));
    assert_eq!(decoder.decode_to_vec(&[0x82, 0x82, 0x82]), Err(Error::HeaderListTooLarge));
}

/// Encodes each list with `encoder`, decodes it with `decoder`, and checks
/// the fields, the never-indexed marks and the two tables after each.
fn round_trip(encoder: &mut Encoder, decoder: &mut Decoder, lists: &[Vec<(Vec<u8>, Vec<u8>)>]) {
    for (i, list) in lists.iter().enumerate() {
        let mut block = Vec::new();
        encoder.encode(list.iter().map(|(n, v)| (n, v)), &mut block);
        let fields = decoder.decode_to_vec(&block).unwrap_or_else(|e| panic!("list {i}: {e}"));
        let got: Vec<(Vec<u8>, Vec<u8>)> = fields.iter().map(|f| (f.name.clone(), f.value.clone())).collect();
        assert_eq!(&got, list, "list {i}");
        for field in &fields {
            let sensitive = SENSITIVE.iter().any(|s| s.as_bytes() == field.name);
            assert_eq!(field.never_indexed, sensitive, "{}", lossy(&field.name));
        }
        assert!(decoder.table().entries().eq(encoder.table().entries()), "tables apart after list {i}");
        assert_eq!(decoder.table().size(), encoder.table().size());
        assert_eq!(decoder.table().max_size(), encoder.table().max_size());
    }
}

fn list(fields: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    fields.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.as_bytes().to_vec())).collect()
}

#[test]
fn encoder_and_decoder_agree_over_a_connection() {
    let response = |status: &str, length: &str, date: &str| {
        list(&[
            (":status", status),
            ("content-type", "text/html; charset=utf-8"),
            ("content-length", length),
            ("date", date),
            ("server", "wired"),
            ("set-cookie", "session=0123456789abcdef; HttpOnly"),
            ("cache-control", "private"),
        ])
    };
    let lists = [
        response("200", "1234", DATE_21),
        response("200", "99", DATE_21),
        response("404", "0", DATE_22),
        list(&[(":status", "304"), ("etag", "\"abc\""), ("authorization", "secret"), ("x-empty", "")]),
        list(&[]),
        response("500", "7", DATE_22),
    ];
    round_trip(&mut Encoder::new(), &mut Decoder::new(), &lists);
}

/// The promise `wired` leans on to send a repeated response head again
/// without encoding it: at an unchanged epoch the same fields give the same
/// bytes, and a block that left the epoch alone decodes, sent twice, to the
/// same list with the tables still in step.
#[test]
fn a_block_at_an_unchanged_epoch_can_be_sent_again() {
    let (mut encoder, mut decoder) = (Encoder::new(), Decoder::new());
    let fields = list(&[(":status", "200"), ("content-type", "text/css"), ("content-length", "10"), ("date", DATE_21)]);
    let encode = |encoder: &mut Encoder| {
        let mut block = Vec::new();
        encoder.encode(fields.iter().map(|(n, v)| (n, v)), &mut block);
        block
    };
    let start = encoder.epoch();
    let first = encode(&mut encoder);
    assert_ne!(encoder.epoch(), start, "two entries went into the table");
    let settled = encoder.epoch();
    let second = encode(&mut encoder);
    assert_eq!(encoder.epoch(), settled, "every field was an index or a literal not indexed");
    assert_ne!(first, second);
    for block in [&first, &second, &second, &second] {
        let got = decoder.decode_to_vec(block).unwrap();
        assert_eq!(got.iter().map(|f| (f.name.clone(), f.value.clone())).collect::<Vec<_>>(), fields);
        assert!(decoder.table().entries().eq(encoder.table().entries()));
    }
    assert_eq!(encode(&mut encoder), second);
    // A size update owed changes what the next block starts with.
    encoder.set_peer_max_table_size(100);
    assert_ne!(encoder.epoch(), settled);
}

#[test]
fn the_default_rule_keeps_credentials_and_one_off_values_out_of_the_table() {
    let mut encoder = Encoder::new();
    let mut block = Vec::new();
    encoder.encode(
        [("set-cookie", "a=1"), ("authorization", "x"), ("content-length", "5"), ("server", "wired")],
        &mut block,
    );
    assert_eq!(entries(encoder.table()), owned(&[("server", "wired")]));
    assert_eq!(default_indexing(b"cookie", b"a=1"), Indexing::Never);
    assert_eq!(default_indexing(b"content-range", b"bytes 0-1/2"), Indexing::Without);
    assert_eq!(default_indexing(b"vary", b"accept-encoding"), Indexing::Incremental);
    // Sent again, the indexed field is one byte; the never-indexed one is a literal again.
    let mut again = Vec::new();
    encoder.encode([("server", "wired")], &mut again);
    assert_eq!(again, [0xbe]);
    again.clear();
    encoder.encode([("authorization", "")], &mut again);
    assert_eq!(again, [0x10 | 0x0f, 23 - 15, 0x00], "never indexed, even though the static table holds it");
}

#[test]
fn every_byte_value_survives_a_round_trip() {
    let all: Vec<u8> = (0..=255).collect();
    let lists = [
        vec![(b"x-bytes".to_vec(), all.clone()), (all.clone(), b"name".to_vec())],
        vec![(b"x-bytes".to_vec(), all.clone())],
        vec![(b"x-huffman-wins".to_vec(), b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec())],
    ];
    round_trip(&mut Encoder::new(), &mut Decoder::new(), &lists);
}

#[test]
fn table_size_changes_reach_the_decoder_at_the_next_block() {
    let (mut encoder, mut decoder) = (Encoder::new(), Decoder::new());
    let fields = list(&[("x-a", "1"), ("x-b", "2"), ("x-c", "3")]);
    round_trip(&mut encoder, &mut decoder, std::slice::from_ref(&fields));
    assert_eq!(encoder.table().len(), 3);

    // Our peer (the decoder's side) lowers its setting: 80 holds two entries.
    decoder.set_max_table_size(80);
    encoder.set_peer_max_table_size(80);
    let mut block = Vec::new();
    encoder.encode(fields[..1].iter().cloned(), &mut block);
    assert_eq!(block[..2], size_update(80)[..], "the update comes first");
    decoder.decode_to_vec(&block).unwrap();
    assert!(decoder.table().entries().eq(encoder.table().entries()));
    assert_eq!(decoder.table().max_size(), 80);

    // Down to 0 and back up before the next block: both are said, lowest first.
    decoder.set_max_table_size(0);
    encoder.set_peer_max_table_size(0);
    decoder.set_max_table_size(4096);
    encoder.set_peer_max_table_size(4096);
    let mut block = Vec::new();
    encoder.encode(fields[..1].iter().cloned(), &mut block);
    assert_eq!(block[..1], size_update(0)[..]);
    assert_eq!(block[1..4], size_update(4096)[..]);
    decoder.decode_to_vec(&block).unwrap();
    assert!(decoder.table().entries().eq(encoder.table().entries()));
    round_trip(&mut encoder, &mut decoder, std::slice::from_ref(&fields));
    assert!(encoder.table().max_size() == 4096 && decoder.table().max_size() == 4096);

    // The encoder's own limit caps whatever the peer allows.
    encoder.set_own_limit(64);
    encoder.set_peer_max_table_size(1 << 20);
    decoder.set_max_table_size(1 << 20);
    round_trip(&mut encoder, &mut decoder, &[fields.clone(), fields]);
    assert_eq!(encoder.table().max_size(), 64);
}

#[test]
fn a_field_larger_than_the_table_is_sent_without_indexing() {
    let (mut encoder, mut decoder) = (Encoder::new(), Decoder::new());
    let big = "v".repeat(5000);
    round_trip(&mut encoder, &mut decoder, &[list(&[("x-small", "1"), ("x-big", &big)])]);
    assert_eq!(entries(encoder.table()), owned(&[("x-small", "1")]), "not flushed by the big one");
}

#[test]
fn default_indexing_agrees_with_its_lists() {
    for name in SENSITIVE {
        assert_eq!(default_indexing(name.as_bytes(), b"x"), Indexing::Never, "{name}");
    }
    for name in UNIQUE {
        assert_eq!(default_indexing(name.as_bytes(), b"1"), Indexing::Without, "{name}");
    }
    for name in ["content-type", "date", "etag", "server", "cookies", "Cookie"] {
        assert_eq!(default_indexing(name.as_bytes(), b"v"), Indexing::Incremental, "{name}");
    }
    for name in REPEATING {
        assert!(repeating(name.as_bytes()), "{name}");
    }
    for name in ["etags", "date", "Etag", "last-modified"] {
        assert!(!repeating(name.as_bytes()), "{name}");
    }
}

/// An ETag goes into the table only when it comes back soon: a resource
/// asked for again gets its validator indexed from the second time on; a
/// page of many resources, each once, leaves the table to what repeats.
#[test]
fn etags_are_indexed_only_when_they_repeat() {
    let (mut encoder, mut decoder) = (Encoder::new(), Decoder::new());
    let head = |etag: &str| list(&[(":status", "200"), ("server", "wired"), ("etag", etag)]);
    round_trip(&mut encoder, &mut decoder, &[head("\"a\"")]);
    assert_eq!(entries(encoder.table()), owned(&[("server", "wired")]), "the first time: not added");
    round_trip(&mut encoder, &mut decoder, &[head("\"a\"")]);
    assert_eq!(entries(encoder.table()), owned(&[("etag", "\"a\""), ("server", "wired")]), "the second: added");
    let settled = encoder.epoch();
    let mut block = Vec::new();
    encoder.encode(head("\"a\"").iter().map(|(n, v)| (n, v)), &mut block);
    assert_eq!(block, [0x88, 0xbf, 0xbe], "then three indexes");
    assert_eq!(encoder.epoch(), settled);
    decoder.decode_to_vec(&block).unwrap();

    // More distinct ETags than the encoder remembers, in a cycle, twice
    // over: none is added, and `server` stays where it was.
    let many: Vec<String> = (0..RECENT + 1).map(|i| format!("\"{i}\"")).collect();
    let lists: Vec<_> = many.iter().chain(&many).map(|e| head(e)).collect();
    round_trip(&mut encoder, &mut decoder, &lists);
    assert_eq!(entries(encoder.table()), owned(&[("etag", "\"a\""), ("server", "wired")]));
}
