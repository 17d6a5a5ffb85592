// A plain Node.js server (the `http` module only), for `wired --proxy`.
// Run by the tests as `node tests/upstream/node_server.js`: it listens on an
// ephemeral port of 127.0.0.1 and prints `PORT <n>` when ready.
// Routes: `/` (text), `/json`, `/stream` (parts with no length: chunked),
// `/headers` (the request's raw fields) and POST `/echo`.
'use strict';
const http = require('http');

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('hello from node\n');
  } else if (url.pathname === '/json') {
    const body = JSON.stringify({ runtime: 'node', query: url.searchParams.get('q') });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  } else if (url.pathname === '/stream') {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    let i = 0;
    const tick = () => {
      if (i === 4) return res.end();
      res.write(`node part ${i++}\n`);
      setTimeout(tick, 50);
    };
    tick();
  } else if (url.pathname === '/headers') {
    // rawHeaders keeps the order and the repeats as they came.
    const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      lines.push(`${req.rawHeaders[i].toLowerCase()}: ${req.rawHeaders[i + 1]}`);
    }
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end(lines.join('\n') + '\n');
  } else if (url.pathname === '/echo' && req.method === 'POST') {
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      const body = Buffer.concat(parts);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Echo-Length': body.length });
      res.end(body);
    });
  } else {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('no such route\n');
  }
});

server.listen(0, '127.0.0.1', () => {
  console.log(`PORT ${server.address().port}`);
});
