function envoy_on_request(request_handle)
  local tenant = request_handle:headers():get("x-tenant") or "public"
  request_handle:streamInfo():dynamicMetadata():set("envoy.filters.http.lua", "tenant", tenant)
end

function envoy_on_response(response_handle)
  local meta = response_handle:streamInfo():dynamicMetadata():get("envoy.filters.http.lua")
  if meta and meta["tenant"] then
    response_handle:headers():add("x-tenant", meta["tenant"])
  end
end
