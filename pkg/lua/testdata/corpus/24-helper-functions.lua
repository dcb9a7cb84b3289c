local function set_if_missing(headers, name, value)
  if headers:get(name) == nil then
    headers:add(name, value)
  end
end

local Filter = {}

function Filter.on_request(handle)
  set_if_missing(handle:headers(), "x-env", "prod")
end

function envoy_on_request(request_handle)
  Filter.on_request(request_handle)
end
