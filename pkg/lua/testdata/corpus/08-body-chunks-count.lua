function envoy_on_request(request_handle)
  local total = 0
  for chunk in request_handle:bodyChunks() do
    total = total + chunk:length()
  end
  request_handle:logDebug("request body bytes: " .. total)
end
