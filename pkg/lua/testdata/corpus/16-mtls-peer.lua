function envoy_on_request(request_handle)
  local ssl = request_handle:connection():ssl()
  if ssl == nil then
    request_handle:headers():add("x-tls", "none")
    return
  end
  if ssl:peerCertificatePresented() then
    request_handle:headers():add("x-peer-subject", ssl:subjectPeerCertificate())
  end
end
