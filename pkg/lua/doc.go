// Package lua checks Envoy Lua filter scripts before Envoy runs them: it
// parses a script as LuaJIT would, lints it against the Envoy Lua API of a
// given Envoy release, and runs it in a bounded sandbox whose stream handle
// behaves like Envoy's. It knows nothing about Kubernetes or Istio objects;
// callers hand it script text and get back problems with script line numbers.
// A sandbox run's record is a result.LuaRun (pkg/render presents it).
package lua
