function envoy_on_response(response_handle)
  local ct = response_handle:headers():get("content-type") or ""
  if not ct:find("text/html", 1, true) then return end
  local body = response_handle:body(true)
  local html = body:getBytes(0, body:length())
  local rewritten = html:gsub("http://", "https://")
  body:setBytes(rewritten)
  response_handle:headers():replace("content-length", tostring(#rewritten))
end
