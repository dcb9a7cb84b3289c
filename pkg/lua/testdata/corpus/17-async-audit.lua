local AUDIT = "ext_authz_lua"

function envoy_on_request(request_handle)
  local h = request_handle:headers()
  request_handle:httpCall(AUDIT, {
    [":method"] = "POST",
    [":path"] = "/audit",
    [":authority"] = "audit",
    ["content-type"] = "text/plain",
  }, h:get(":method") .. " " .. h:get(":path"), {timeout_ms = 200, asynchronous = true})
end
