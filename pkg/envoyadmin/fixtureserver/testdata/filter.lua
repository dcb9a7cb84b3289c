function envoy_on_request(request_handle)
  request_handle:logInfo("filterdoctor: request " .. request_handle:headers():get(":path"))
  request_handle:headers():add("x-filterdoctor", "lua")
end
