// Package release holds the tests of what GoReleaser ships: the snapshot
// archive of this machine's platform, the executables in it, and the krew
// manifest installing them offline the way krew lays files out. The
// archive comes from hack/release.sh --host (GoReleaser from hack/tools.sh),
// run by the tests unless FILTERDOCTOR_DIST names a dist directory it
// already built (.ci/run does).
package release
