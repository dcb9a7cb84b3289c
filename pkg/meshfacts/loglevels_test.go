package meshfacts

import (
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

func TestEffectiveLogLevels(t *testing.T) {
	for _, tc := range []struct {
		anns      map[string]string
		lua, wasm string
	}{
		{nil, "warning", "warning"},
		{map[string]string{AnnLogLevel: "info"}, "info", "info"},
		{map[string]string{AnnComponentLogLevel: "lua:debug"}, "debug", "warning"},
		{map[string]string{AnnLogLevel: "error,wasm:info", AnnComponentLogLevel: "lua:debug"}, "error", "info"},
		{map[string]string{AnnLogLevel: "warn"}, "warning", "warning"},
	} {
		w := &snapshot.Workload{}
		w.Template.Annotations = tc.anns
		lv := EffectiveLogLevels(w)
		if lv.Level("lua") != tc.lua || lv.Level("wasm") != tc.wasm {
			t.Errorf("%v: lua=%s wasm=%s, want %s %s", tc.anns, lv.Level("lua"), lv.Level("wasm"), tc.lua, tc.wasm)
		}
	}
	if Shows("warning", "info") || !Shows("info", "info") || !Shows("debug", "error") {
		t.Error("Shows ordering is wrong")
	}
}
