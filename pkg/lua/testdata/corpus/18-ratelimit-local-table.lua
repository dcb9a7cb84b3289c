local hits = {}
local WINDOW = 60

function envoy_on_request(request_handle)
  local key = request_handle:headers():get("x-api-key") or "anonymous"
  local now = math.floor(request_handle:timestamp() / 1000)
  local slot = key .. ":" .. math.floor(now / WINDOW)
  hits[slot] = (hits[slot] or 0) + 1
  if hits[slot] > 100 then
    request_handle:respond({[":status"] = "429", ["retry-after"] = tostring(WINDOW)}, "slow down")
  end
end
