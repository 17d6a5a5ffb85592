-- Appended to every wrk run of the benchmark (bench/harness.py): once wrk is
-- done, print one line of JSON with exact counts and latency percentiles (µs),
-- so the harness need not parse wrk's rounded human-readable report.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WIRED-BENCH {"requests":%d,"bytes":%d,"duration_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.bytes, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.mean, latency.max))
end
