local SEP = "\x1f"
local CHECK = "\u{2713}"
local NOTE = "rewritten by \z
             the edge filter"

function envoy_on_response(response_handle)
  local headers = response_handle:headers()
  headers:add("x-note", NOTE)
  headers:add("x-check", CHECK)
  headers:add("x-sep-len", tostring(#SEP))
end
