function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  if headers:get("x-request-id") == nil then
    headers:add("x-request-id", tostring(request_handle:timestamp()))
  end
end
