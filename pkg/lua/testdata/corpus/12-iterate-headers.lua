function envoy_on_request(request_handle)
  local count, bytes = 0, 0
  for key, value in pairs(request_handle:headers()) do
    count = count + 1
    bytes = bytes + #key + #value
  end
  request_handle:headers():add("x-header-count", tostring(count))
  request_handle:headers():add("x-header-bytes", tostring(bytes))
end
