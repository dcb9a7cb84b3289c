function envoy_on_response(handle)
  handle:headers():replace("cache-control", "no-store")
  handle:headers():remove("etag")
end
