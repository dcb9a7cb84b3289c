package checks

import "github.com/filterdoctor/filterdoctor/pkg/finding"

// luaScripts hands every Lua script found in EnvoyFilter patches to the Lua
// analysis (pkg/lua). OWNED BY THE LUA WORK: being written now.
type luaScripts struct{}

func (luaScripts) Name() string { return "lua-scripts" }

func (luaScripts) Run(c *Context) []finding.Finding { return nil }
