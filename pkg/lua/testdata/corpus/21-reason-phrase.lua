function envoy_on_response(response_handle)
  if response_handle:headers():get(":status") == "418" then
    response_handle:headers():setHttp1ReasonPhrase("I'm a teapot")
  end
end
