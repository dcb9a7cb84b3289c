local USERS = {alice = "s3cret"}

function envoy_on_request(request_handle)
  local auth = request_handle:headers():get("authorization")
  local expected = "Basic " .. request_handle:base64Escape("alice:" .. USERS.alice)
  if auth ~= expected then
    request_handle:respond({[":status"] = "401", ["www-authenticate"] = 'Basic realm="shop"'}, "")
  end
end
