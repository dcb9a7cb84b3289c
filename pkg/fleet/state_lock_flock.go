//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package fleet

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock(2) on path, creating it, and returns
// its release. flock rather than fcntl locks: it belongs to the open file,
// so it holds across goroutines of this process and against other runs,
// and the kernel drops it when the process dies.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

// lockFileLocks says whether lockFile really locks here.
const lockFileLocks = true
