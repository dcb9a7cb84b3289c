local OLD_PREFIX = "/api/v1/"
local NEW_PREFIX = "/v1/"

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local path = headers:get(":path")
  if path ~= nil and string.sub(path, 1, #OLD_PREFIX) == OLD_PREFIX then
    headers:replace(":path", NEW_PREFIX .. string.sub(path, #OLD_PREFIX + 1))
  end
end
