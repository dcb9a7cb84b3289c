package fixtureserver

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCapturesMatchShared: the in-repository copy must equal the shared
// captures wherever both exist, so tests never drift from the real data.
func TestCapturesMatchShared(t *testing.T) {
	shared, err := SharedDir()
	if err != nil {
		t.Fatal(err)
	}
	own, err := CapturesDir()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(shared)
	if os.IsNotExist(err) {
		// A bare clone without shared/ beside it: the copy is all there is,
		// and it must at least hold the captures the server reads.
		if _, err := os.Stat(filepath.Join(own, LoggingFile)); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(shared, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(own, e.Name()))
		if err != nil {
			t.Fatalf("captures/%s missing: copy it from %s", e.Name(), shared)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("captures/%s differs from %s", e.Name(), filepath.Join(shared, e.Name()))
		}
	}
}
