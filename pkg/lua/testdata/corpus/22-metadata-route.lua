function envoy_on_request(request_handle)
  local owner = request_handle:metadata():get("owner")
  if owner then
    request_handle:headers():add("x-route-owner", owner)
  end
  for key, value in pairs(request_handle:metadata()) do
    request_handle:logTrace("route metadata " .. key)
  end
end
