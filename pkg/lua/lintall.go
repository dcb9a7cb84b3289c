package lua

import (
	"runtime"
	"sync"
)

// LintAll lints many scripts on every CPU and returns their reports in
// order. Parsing dominates the cost and scripts are independent, so this is
// how a mesh's worth of filters stays fast. opts is shared read-only: its
// ClusterDefined must be safe for concurrent calls.
func LintAll(srcs []string, opts Options) []Report {
	reports := make([]Report, len(srcs))
	workers := min(runtime.GOMAXPROCS(0), len(srcs))
	if workers <= 1 {
		for i, s := range srcs {
			reports[i] = Lint(s, opts)
		}
		return reports
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				reports[i] = Lint(srcs[i], opts)
			}
		}()
	}
	for i := range srcs {
		next <- i
	}
	close(next)
	wg.Wait()
	return reports
}
