//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package fleet

// lockFile does not lock where flock(2) is not available (Windows,
// Solaris, AIX): two loglevel runs at the same moment may then lose one
// another's saved levels, never corrupt the file, since it is still written
// through a rename.
func lockFile(string) (func(), error) { return func() {}, nil }

// lockFileLocks says whether lockFile really locks here.
const lockFileLocks = false
