package fleet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// StateDirEnv overrides where the saved levels are kept (tests use it).
const StateDirEnv = "FILTERDOCTOR_STATE_DIR"

// StateFileName is the file, in the state directory, that keeps the level
// each logger had before filterdoctor changed it.
const StateFileName = "loglevels.json"

// stateVersion is the format of the state file; a newer one is refused
// rather than rewritten without the fields this build does not know.
const stateVersion = 1

// StateDir is where the saved levels are kept: $FILTERDOCTOR_STATE_DIR,
// else $XDG_STATE_HOME/filterdoctor, else ~/.local/state/filterdoctor
// (XDG Base Directory: state that should survive restarts but is not
// worth backing up).
func StateDir() (string, error) {
	if d := os.Getenv(StateDirEnv); d != "" {
		return d, nil
	}
	// The XDG spec says relative paths are invalid and must be ignored.
	if x := os.Getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "filterdoctor"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locating the state directory (set %s): %w", StateDirEnv, err)
	}
	return filepath.Join(home, ".local", "state", "filterdoctor"), nil
}

// StateFile is the saved-levels file in dir. Each Update locks it (flock on
// Linux and the BSDs, so that two runs at once do not lose each other's
// entries), reads it, changes it and writes it atomically (a temporary file
// renamed over it, so a crash never leaves half a file). The lock is held
// for the read-modify-write only, never while proxies are talked to or
// during --for's wait.
type StateFile struct {
	dir string
}

// NewStateFile returns the state file in dir.
func NewStateFile(dir string) *StateFile { return &StateFile{dir: dir} }

// Path is the file's path.
func (f *StateFile) Path() string { return filepath.Join(f.dir, StateFileName) }

// State is the content of the state file: per cluster (the API server URL
// of the REST config), per pod UID, the level every logger filterdoctor
// changed had before its first change. Keyed by UID, so that a pod
// recreated under the same name starts with nothing saved.
type State struct {
	Version  int                                `json:"version"`
	Clusters map[string]map[types.UID]*SavedPod `json:"clusters"`
}

// SavedPod is what is saved for one pod.
type SavedPod struct {
	Namespace string            `json:"namespace"`
	Name      string            `json:"name"`
	Loggers   map[string]string `json:"loggers"`
	Since     time.Time         `json:"since"`
}

// Read returns the saved state; a missing file is an empty state, a file
// that is not a state file is a one-line error naming it.
func (f *StateFile) Read() (*State, error) {
	raw, err := os.ReadFile(f.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Version: stateVersion, Clusters: map[string]map[types.UID]*SavedPod{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading saved log levels: %w", err)
	}
	return f.parse(raw)
}

func (f *StateFile) parse(raw []byte) (*State, error) {
	var s State
	if len(bytes.TrimSpace(raw)) == 0 {
		// An empty file is what a crash between create and write of an
		// older, non-atomic writer would leave; it holds nothing.
		s.Version = stateVersion
	} else {
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("saved log levels %s are corrupt (%v): move the file away to start afresh (--reset then falls back to start-up levels)", f.Path(), err)
		}
		if s.Version > stateVersion {
			return nil, fmt.Errorf("saved log levels %s are of format %d, newer than this filterdoctor's %d: upgrade filterdoctor", f.Path(), s.Version, stateVersion)
		}
		if s.Version < 1 {
			return nil, fmt.Errorf("saved log levels %s are corrupt (no format version): move the file away to start afresh", f.Path())
		}
	}
	if s.Clusters == nil {
		s.Clusters = map[string]map[types.UID]*SavedPod{}
	}
	return &s, nil
}

// Update locks the file, reads it, calls fn and writes the result
// atomically when fn returns nil.
func (f *StateFile) Update(fn func(*State) error) error {
	if err := os.MkdirAll(f.dir, 0o700); err != nil {
		return fmt.Errorf("saving log levels: %w", err)
	}
	unlock, err := lockFile(f.Path() + ".lock")
	if err != nil {
		return fmt.Errorf("saving log levels: locking %s: %w", f.Path()+".lock", err)
	}
	defer unlock()
	s, err := f.Read()
	if err != nil {
		return err
	}
	if err := fn(s); err != nil {
		return err
	}
	s.Version = stateVersion
	body, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("saving log levels: %w", err)
	}
	return writeAtomic(f.Path(), append(body, '\n'))
}

// writeAtomic writes path through a temporary file in the same directory
// and a rename, so that readers see the old or the new file, never half.
func writeAtomic(path string, body []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("saving log levels: %w", err)
	}
	name := tmp.Name()
	_, err = tmp.Write(body)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("saving log levels to %s: %w", path, err)
	}
	return nil
}

// Saved returns a copy of the levels saved for the pod with uid in cluster
// (nil when none).
func (s *State) Saved(cluster string, uid types.UID) map[string]string {
	sp := s.Clusters[cluster][uid]
	if sp == nil || len(sp.Loggers) == 0 {
		return nil
	}
	out := make(map[string]string, len(sp.Loggers))
	for k, v := range sp.Loggers {
		out[k] = v
	}
	return out
}

// Remember saves prev (logger → level before a change) for pod, keeping
// any level already saved for a logger: the first level filterdoctor saw
// is the one to come back to. It returns the loggers newly saved.
func (s *State) Remember(cluster string, pod *corev1.Pod, prev map[string]string, now time.Time) []string {
	if len(prev) == 0 {
		return nil
	}
	pods := s.Clusters[cluster]
	if pods == nil {
		pods = map[types.UID]*SavedPod{}
		s.Clusters[cluster] = pods
	}
	sp := pods[pod.UID]
	if sp == nil {
		sp = &SavedPod{Namespace: pod.Namespace, Name: pod.Name, Loggers: map[string]string{}, Since: now.UTC()}
		pods[pod.UID] = sp
	}
	var added []string
	for _, name := range slices.Sorted(maps.Keys(prev)) {
		if _, ok := sp.Loggers[name]; ok {
			continue
		}
		sp.Loggers[name] = prev[name]
		added = append(added, name)
	}
	return added
}

// Forget deletes the saved levels of loggers for the pod (all of them
// when loggers is nil), and the pod and cluster once empty.
func (s *State) Forget(cluster string, uid types.UID, loggers []string) {
	pods := s.Clusters[cluster]
	sp := pods[uid]
	if sp == nil {
		return
	}
	if loggers == nil {
		sp.Loggers = nil
	}
	for _, name := range loggers {
		delete(sp.Loggers, name)
	}
	if len(sp.Loggers) == 0 {
		delete(pods, uid)
	}
	if len(pods) == 0 {
		delete(s.Clusters, cluster)
	}
}

// ForgetRestored deletes the saved level of every logger that is back at
// it (current gives each logger's level now): the logger is where it was
// before filterdoctor first changed it, so there is nothing left to undo.
func (s *State) ForgetRestored(cluster string, uid types.UID, current func(logger string) (string, bool)) {
	sp := s.Clusters[cluster][uid]
	if sp == nil {
		return
	}
	var back []string
	for name, saved := range sp.Loggers {
		if now, ok := current(name); ok && now == saved {
			back = append(back, name)
		}
	}
	if len(back) > 0 {
		s.Forget(cluster, uid, back)
	}
}

// SavedRef names a pod that has saved levels.
type SavedRef struct {
	UID       types.UID
	Namespace string
	Name      string
}

// PodsIn lists the pods of cluster in namespace ns with saved levels,
// sorted by name.
func (s *State) PodsIn(cluster, ns string) []SavedRef {
	var out []SavedRef
	for uid, sp := range s.Clusters[cluster] {
		if sp.Namespace == ns {
			out = append(out, SavedRef{UID: uid, Namespace: sp.Namespace, Name: sp.Name})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].UID < out[j].UID
	})
	return out
}
