// Command nethttp is a reactor that (wrongly, for proxy-wasm) uses
// net/http, which pulls in file-system WASI imports.
package main

import (
	"net/http"

	"filterdoctor.test/gomod/internal/abi"
)

func init() {
	abi.OnRequest = func() {
		resp, err := http.Get("http://example.com/")
		if err != nil {
			abi.Log(err.Error())
			return
		}
		resp.Body.Close()
	}
}

func main() {}
