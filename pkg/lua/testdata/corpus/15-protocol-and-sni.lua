function envoy_on_request(request_handle)
  local info = request_handle:streamInfo()
  request_handle:headers():add("x-proto", info:protocol())
  local sni = info:requestedServerName()
  if sni ~= nil and sni ~= "" then
    request_handle:headers():add("x-sni", sni)
  end
  request_handle:headers():add("x-peer", info:downstreamRemoteAddress())
end
