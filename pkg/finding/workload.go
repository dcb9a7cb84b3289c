package finding

import "sort"

// workloadKinds are the kinds with a pod template (and Pod itself): the
// objects a filter reaches, under which reports group findings.
// pkg/snapshot keeps each one's pod-template path; a test there holds the
// two lists to each other.
var workloadKinds = map[string]bool{
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"Job": true, "CronJob": true, "Pod": true,
}

// IsWorkloadKind reports whether kind has a pod template (or is Pod).
func IsWorkloadKind(kind string) bool { return workloadKinds[kind] }

// WorkloadKinds lists the kinds IsWorkloadKind accepts, sorted.
func WorkloadKinds() []string {
	out := make([]string, 0, len(workloadKinds))
	for k := range workloadKinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
