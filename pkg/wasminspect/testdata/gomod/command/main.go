// Command command is the plain module built WITHOUT -buildmode=c-shared:
// a WASI command whose _start runs main and then calls proc_exit.
package main

import "filterdoctor.test/gomod/internal/abi"

func init() { abi.OnRequest = func() { abi.Log("request") } }

func main() {}
