//! A typical browser request (about 500 bytes, 12 header fields): our head
//! parse plus the framing decision, beside a bare `httparse` parse of the same
//! bytes. Run with `cargo bench -p wired-parser`.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use wired_parser::{EMPTY_HEADER, HeadParser, Limits, Status};

const BROWSER: &[u8] = b"GET /assets/css/site.css?v=20261129 HTTP/1.1\r\n\
Host: www.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Accept-Language: en-GB,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Referer: https://www.example.com/blog/2026/11/how-http-works.html\r\n\
Connection: keep-alive\r\n\
Cookie: session=8f14e45fceea167a5a36dedd4bea2543; theme=dark\r\n\
Sec-Fetch-Dest: style\r\n\
Sec-Fetch-Mode: no-cors\r\n\
If-None-Match: \"6744a1b2-1f40\"\r\n\
Cache-Control: max-age=0\r\n\r\n";

fn parse(c: &mut Criterion) {
    let limits = Limits::default();
    let mut group = c.benchmark_group("browser-request");
    group.bench_function("httparse", |b| {
        b.iter(|| {
            let mut fields = [httparse::EMPTY_HEADER; 100];
            let mut req = httparse::Request::new(&mut fields);
            let status = req.parse(black_box(BROWSER));
            black_box(status.is_ok());
        })
    });
    group.bench_function("wired-parser", |b| {
        b.iter(|| {
            let mut fields = [EMPTY_HEADER; 100];
            let mut parser = HeadParser::new();
            match parser.parse(black_box(BROWSER), &limits, &mut fields) {
                Ok(Status::Complete(req)) => black_box((req.body, req.keep_alive)),
                _ => unreachable!("the benchmark request is valid"),
            };
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
