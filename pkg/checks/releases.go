package checks

import (
	"github.com/filterdoctor/filterdoctor/pkg/release"
)

// trafficExtensionRelease is the first Istio release with TrafficExtension
// (istio/istio PR #59052, in tag 1.30.0).
var trafficExtensionRelease = release.Version{Major: 1, Minor: 30}

// releaseSource says where the judged release came from, for messages.
func releaseSource(c *Context) string {
	if c.Opts.Release.Source != "" {
		return c.Opts.Release.Source
	}
	return "--istio-version or the newest known release"
}
