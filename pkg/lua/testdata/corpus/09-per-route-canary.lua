function envoy_on_request(handle)
  local headers = handle:headers()
  if headers:get("x-canary") == "true" then
    headers:replace("x-route-target", "canary")
  else
    headers:replace("x-route-target", "stable")
  end
end
