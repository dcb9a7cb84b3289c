-- Copies the "sub" claim of a JWT (already verified upstream) into x-user.
local function b64url_decode(s)
  s = s:gsub("-", "+"):gsub("_", "/")
  local pad = #s % 4
  if pad > 0 then s = s .. string.rep("=", 4 - pad) end
  local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
  local bits = s:gsub("[^" .. alphabet .. "=]", ""):gsub(".", function(c)
    if c == "=" then return "" end
    local n = alphabet:find(c, 1, true) - 1
    local out = ""
    for i = 6, 1, -1 do out = out .. (math.floor(n / 2 ^ (i - 1)) % 2 == 1 and "1" or "0") end
    return out
  end)
  return (bits:gsub("%d%d?%d?%d?%d?%d?%d?%d?", function(byte)
    if #byte ~= 8 then return "" end
    local n = 0
    for i = 1, 8 do n = n * 2 + (byte:sub(i, i) == "1" and 1 or 0) end
    return string.char(n)
  end))
end

function envoy_on_request(request_handle)
  local auth = request_handle:headers():get("authorization")
  if not auth then return end
  local token = auth:match("^Bearer%s+(.+)$")
  if not token then return end
  local payload = token:match("^[^.]+%.([^.]+)%.")
  if not payload then return end
  local json = b64url_decode(payload)
  local sub = json:match('"sub"%s*:%s*"([^"]+)"')
  if sub then
    request_handle:headers():replace("x-user", sub)
    request_handle:streamInfo():dynamicMetadata():set("envoy.filters.http.lua", "user", sub)
  end
end
