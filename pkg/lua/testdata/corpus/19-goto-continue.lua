local BLOCKED = {"x-internal-token", "x-debug", "x-admin"}

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  for _, name in ipairs(BLOCKED) do
    if headers:get(name) == nil then goto continue end
    request_handle:logWarn("dropping header " .. name)
    headers:remove(name)
    ::continue::
  end
end
