package wasmhost

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzRun feeds arbitrary bytes to the host: whatever the module, Run must
// neither panic nor hang, and its error (if any) is one line.
func FuzzRun(f *testing.F) {
	// hostile: the module of issue 11 that grows memory, floods the log and
	// holds shared data (its attack is picked by the VM configuration size,
	// which is empty here: it starts and returns)
	for _, name := range []string{"abi010", "services", "bodies", "restricted_initialize", "hostile"} {
		f.Add(watModule(f, name))
	}
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x07\xff\xff\xff\xff\x0f"))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		rep, err := Run(context.Background(), wasm, Options{Envoy: istio(t, "1.25"), Timeout: 2 * time.Second, LogLevel: LogInfo})
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if rep.Failure != nil && len(rep.Failure.EnvoyLog) == 0 {
			t.Fatalf("failure without Envoy's text: %+v", rep.Failure)
		}
	})
}
