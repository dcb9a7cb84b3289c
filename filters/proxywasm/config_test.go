package proxywasm

import "testing"

func TestParseFlatJSON(t *testing.T) {
	got, err := ParseFlatJSON([]byte(` {"header": "x-a\u0041", "n": 3, "ok": true, "s": "a\"b"} `))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"header": "x-aA", "n": "3", "ok": "true", "s": `a"b`}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, bad := range []string{``, `[]`, `{"a": {}}`, `{"a": "b"`, `{"a": nope}`, `{"a": "b"} x`} {
		if _, err := ParseFlatJSON([]byte(bad)); err == nil {
			t.Errorf("ParseFlatJSON(%q) succeeded", bad)
		}
	}
}

func TestPairsRoundTrip(t *testing.T) {
	in := []Header{{":path", "/"}, {"x-empty", ""}, {"k", "v"}}
	out, err := decodePairs(encodePairs(in))
	if err != nil || len(out) != len(in) {
		t.Fatalf("decode: %v %v", out, err)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Errorf("pair %d = %v, want %v", i, out[i], in[i])
		}
	}
	if _, err := decodePairs([]byte{9, 0, 0, 0}); err == nil {
		t.Error("truncated pairs accepted")
	}
}
