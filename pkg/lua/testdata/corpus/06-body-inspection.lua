function envoy_on_request(request_handle)
  local method = request_handle:headers():get(":method")
  if method ~= "POST" then return end
  local body = request_handle:body()
  if body == nil then return end
  local size = body:length()
  local text = body:getBytes(0, size)
  if string.find(text, "DROP TABLE", 1, true) then
    request_handle:logWarn("rejected suspicious body of " .. size .. " bytes")
    request_handle:respond({[":status"] = "400"}, "bad request")
  end
end
