-- HTTP/1.1 pipelining: each connection sends DEPTH requests in one write and
-- then reads DEPTH responses (wrk counts each response as one request; its
-- latency figures are per batch). DEPTH is the first script argument
-- (`wrk ... -s pipeline.lua URL -- 16`).
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do
    r[i] = wrk.format(nil, wrk.path)
  end
  batch = table.concat(r)
end

request = function()
  return batch
end
