package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// namespaceInFiles refuses -n NS when the files hold nothing in NS: the run
// would check nothing and pass. Objects without a namespace are in NS
// already (they take it as kubectl apply -n would), so this happens only
// when every object names another namespace.
func namespaceInFiles(snap *snapshot.Snapshot, ns string) error {
	seen := map[string]bool{}
	for _, o := range snap.Objects {
		if o.Namespace == ns {
			return nil
		}
		if o.Namespace != "" {
			seen[o.Namespace] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return fmt.Errorf("--namespace %s: the input files hold nothing in namespace %s (they hold %s); use one of those or -A", ns, ns, strings.Join(names, ", "))
}
