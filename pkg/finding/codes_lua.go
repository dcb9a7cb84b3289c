package finding

// FD3xxx: Lua scripts. OWNED BY THE LUA WORK.
