function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local n = headers:getNumValues("x-forwarded-for")
  if n > 1 then
    local first = headers:getAtIndex("x-forwarded-for", 0)
    headers:replace("x-client-ip", first)
  end
end
