package finding

// FD4xxx: Wasm modules. OWNED BY THE WASM INSPECT WORK.
