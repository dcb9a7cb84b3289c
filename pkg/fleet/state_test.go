package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func pod(name, uid string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID(uid)}}
}

func TestStateRememberNeverOverwritesAndForgetDeletes(t *testing.T) {
	f := NewStateFile(t.TempDir())
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := f.Update(func(s *State) error {
		if added := s.Remember("https://a", pod("web-1", "u1"), map[string]string{"lua": "debug"}, now); !reflect.DeepEqual(added, []string{"lua"}) {
			t.Errorf("added %v", added)
		}
		// A later change saves only what was not saved yet.
		if added := s.Remember("https://a", pod("web-1", "u1"), map[string]string{"lua": "info", "wasm": "warning"}, now); !reflect.DeepEqual(added, []string{"wasm"}) {
			t.Errorf("added %v", added)
		}
		s.Remember("https://b", pod("web-1", "u1"), map[string]string{"lua": "error"}, now)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Saved("https://a", "u1"); !reflect.DeepEqual(got, map[string]string{"lua": "debug", "wasm": "warning"}) {
		t.Errorf("cluster a: %v", got)
	}
	// Clusters are apart: the same UID elsewhere is another pod.
	if got := s.Saved("https://b", "u1"); !reflect.DeepEqual(got, map[string]string{"lua": "error"}) {
		t.Errorf("cluster b: %v", got)
	}
	if got := s.PodsIn("https://a", "shop"); !reflect.DeepEqual(got, []SavedRef{{UID: "u1", Namespace: "shop", Name: "web-1"}}) {
		t.Errorf("pods in: %v", got)
	}
	err = f.Update(func(s *State) error {
		s.ForgetRestored("https://a", "u1", func(name string) (string, bool) {
			return map[string]string{"lua": "debug", "wasm": "trace"}[name], true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, _ = f.Read()
	if got := s.Saved("https://a", "u1"); !reflect.DeepEqual(got, map[string]string{"wasm": "warning"}) {
		t.Errorf("after lua came back: %v", got)
	}
	_ = f.Update(func(s *State) error {
		s.Forget("https://a", "u1", nil)
		s.Forget("https://b", "u1", []string{"lua"})
		return nil
	})
	s, _ = f.Read()
	if len(s.Clusters) != 0 {
		t.Errorf("left: %+v", s.Clusters)
	}
	// Written atomically: no temporary file is left beside it.
	entries, _ := os.ReadDir(filepath.Dir(f.Path()))
	for _, e := range entries {
		if e.Name() != StateFileName && e.Name() != StateFileName+".lock" {
			t.Errorf("stray file %s", e.Name())
		}
	}
}

func TestStateConcurrentUpdatesLoseNothing(t *testing.T) {
	// Each Update opens the lock file anew, as two processes would: flock
	// serialises them. Without the lock, read-modify-write races lose
	// entries.
	f := NewStateFile(t.TempDir())
	var wg sync.WaitGroup
	const writers, each = 4, 10
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				err := f.Update(func(s *State) error {
					s.Remember("https://a", pod(fmt.Sprintf("web-%d-%d", w, i), fmt.Sprintf("u%d-%d", w, i)), map[string]string{"lua": "info"}, time.Now())
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	s, err := f.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := len(s.Clusters["https://a"]); got != writers*each && lockFileLocks {
		t.Errorf("%d pods saved, want %d", got, writers*each)
	}
}

func TestStateCorruptOrNewerFileIsAOneLineErrorNamingIt(t *testing.T) {
	dir := t.TempDir()
	f := NewStateFile(dir)
	for body, want := range map[string]string{
		"{not json":                     "saved log levels " + f.Path() + " are corrupt (",
		`{"clusters": {}}`:              "saved log levels " + f.Path() + " are corrupt (no format version)",
		`{"version": 9, "clusters":{}}`: "are of format 9, newer than this filterdoctor's 1",
		`[1, 2]`:                        "are corrupt",
	} {
		if err := os.WriteFile(f.Path(), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := f.Read()
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: err %v, want %q", body, err, want)
		}
		// Update refuses too, and leaves the file as it was.
		if err := f.Update(func(*State) error { return nil }); err == nil {
			t.Errorf("%q: Update overwrote a file it could not read", body)
		}
		if got, _ := os.ReadFile(f.Path()); string(got) != body {
			t.Errorf("%q: file changed to %q", body, got)
		}
	}
	// An empty file holds nothing.
	_ = os.WriteFile(f.Path(), nil, 0o600)
	if s, err := f.Read(); err != nil || len(s.Clusters) != 0 {
		t.Errorf("empty file: %v %v", s, err)
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv(StateDirEnv, "/tmp/fd-state")
	t.Setenv("XDG_STATE_HOME", "/xdg")
	t.Setenv("HOME", "/home/u")
	if d, _ := StateDir(); d != "/tmp/fd-state" {
		t.Errorf("with %s: %s", StateDirEnv, d)
	}
	t.Setenv(StateDirEnv, "")
	if d, _ := StateDir(); d != filepath.Join("/xdg", "filterdoctor") {
		t.Errorf("with XDG_STATE_HOME: %s", d)
	}
	// A relative XDG_STATE_HOME is invalid per the XDG spec and ignored.
	t.Setenv("XDG_STATE_HOME", "rel")
	if d, _ := StateDir(); d != filepath.Join("/home/u", ".local", "state", "filterdoctor") {
		t.Errorf("default: %s", d)
	}
}
