function envoy_on_response(response_handle)
  local headers = response_handle:headers()
  local status = tonumber(headers:get(":status"))
  if status and status >= 500 then
    headers:replace(":status", "503")
    headers:add("x-upstream-status", tostring(status))
    response_handle:logErr("upstream failed with " .. status)
  end
end
