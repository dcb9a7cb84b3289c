local AUTH_CLUSTER = "outbound|8080||auth.shop.svc.cluster.local"

function envoy_on_request(request_handle)
  local token = request_handle:headers():get("authorization")
  if token == nil then
    request_handle:respond({[":status"] = "401", ["www-authenticate"] = "Bearer"}, "missing token")
    return
  end
  local headers, body = request_handle:httpCall(
    AUTH_CLUSTER,
    {
      [":method"] = "POST",
      [":path"] = "/verify",
      [":authority"] = "auth.shop.svc.cluster.local",
      ["authorization"] = token,
    },
    "",
    1000)
  if headers[":status"] ~= "200" then
    request_handle:respond({[":status"] = "403"}, body)
    return
  end
  request_handle:headers():replace("x-auth-user", body)
end
