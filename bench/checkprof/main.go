// Command checkprof runs kubectl-filterdoctor's CLI in-process with Go's
// profilers on, for finding where `check` spends its time and memory:
//
//	go build -o /tmp/checkprof ./bench/checkprof
//	CPUPROFILE=cpu.out MEMPROFILE=mem.out /tmp/checkprof check -A -f mesh-800.yaml
//	go tool pprof -top /tmp/checkprof cpu.out
//
// MEMPROFILE records allocations at every 64 KiB (the profile's
// alloc_space/alloc_objects views) and the heap still live at exit.
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/filterdoctor/filterdoctor/pkg/cli"
)

func main() {
	if os.Getenv("MEMPROFILE") != "" {
		runtime.MemProfileRate = 64 << 10
	}
	if path := os.Getenv("CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "checkprof:", err)
			os.Exit(2)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "checkprof:", err)
			os.Exit(2)
		}
	}
	code := cli.Main(os.Args[1:], genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	pprof.StopCPUProfile()
	if path := os.Getenv("MEMPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.Lookup("allocs").WriteTo(f, 0)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "checkprof:", err)
		}
	}
	os.Exit(code)
}
