function envoy_on_response(response_handle)
  local headers = response_handle:headers()
  headers:remove("server")
  headers:remove("x-powered-by")
  headers:replace("x-content-type-options", "nosniff")
end
