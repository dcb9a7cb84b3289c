//go:build wasip1

// Command panicfilter is a test module whose request callback indexes past
// the end of a slice, so the host's trap report can be checked for Go
// function names.
package main

import "github.com/filterdoctor/filterdoctor/filters/proxywasm"

type plugin struct{}

func (plugin) OnConfigure([]byte) bool                 { return true }
func (plugin) NewStream(uint32) proxywasm.Stream       { return stream{} }
func (stream) OnResponseHeaders(bool) proxywasm.Action { return proxywasm.Continue }

type stream struct{}

//go:noinline
func pickHeader(headers []proxywasm.Header, i int) string { return headers[i].Value }

func (stream) OnRequestHeaders(bool) proxywasm.Action {
	proxywasm.Log(proxywasm.LogInfo, pickHeader(proxywasm.RequestHeaders(), 1000))
	return proxywasm.Continue
}

func init() { proxywasm.SetPlugin(func(string) proxywasm.Plugin { return plugin{} }) }

func main() {}
