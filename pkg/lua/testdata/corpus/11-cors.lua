local ALLOWED = {
  ["https://shop.example.com"] = true,
  ["https://admin.example.com"] = true,
}

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  if headers:get(":method") == "OPTIONS" then
    local origin = headers:get("origin")
    if origin and ALLOWED[origin] then
      request_handle:respond({
        [":status"] = "204",
        ["access-control-allow-origin"] = origin,
        ["access-control-allow-methods"] = "GET, POST, PUT",
        ["access-control-max-age"] = "600",
      }, "")
    end
  end
end

function envoy_on_response(response_handle)
  local origin = response_handle:headers():get("vary")
  if origin == nil then
    response_handle:headers():add("vary", "origin")
  end
end
