package checks

import (
	"fmt"
	"slices"
	"strings"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// servedPorts are the ports a workload's inbound listener has chains for,
// and the Service ports that map to them.
type servedPorts struct {
	target      map[uint32]string // port -> where it comes from
	servicePort map[uint32]uint32 // service port -> its target port (differing only)
	known       bool
}

// portsOf reads the ports w serves from its containers and the Services
// that select it.
func portsOf(c *Context, w *snapshot.Workload) servedPorts {
	sp := servedPorts{target: map[uint32]string{}, servicePort: map[uint32]uint32{}}
	named := map[string]int32{}
	for _, ct := range w.Template.Spec.Containers {
		if ct.Name == "istio-proxy" {
			continue
		}
		for _, p := range ct.Ports {
			sp.target[uint32(p.ContainerPort)] = fmt.Sprintf("containerPort of %s", ct.Name)
			if p.Name != "" {
				named[p.Name] = p.ContainerPort
			}
			sp.known = true
		}
	}
	for _, svc := range c.Snap.ServicesSelecting(w) {
		for _, p := range svc.Svc.Spec.Ports {
			tp := uint32(p.Port)
			switch {
			case p.TargetPort.IntValue() > 0:
				tp = uint32(p.TargetPort.IntValue())
			case p.TargetPort.StrVal != "":
				n, ok := named[p.TargetPort.StrVal]
				if !ok {
					continue
				}
				tp = uint32(n)
			}
			sp.known = true
			if _, ok := sp.target[tp]; !ok {
				sp.target[tp] = fmt.Sprintf("targetPort of Service %s", svc.Name)
			}
			if tp != uint32(p.Port) {
				sp.servicePort[uint32(p.Port)] = tp
			}
		}
	}
	return sp
}

// list renders the served ports for a message: "80, 8080".
func (sp servedPorts) list() string {
	ports := make([]int, 0, len(sp.target))
	for p := range sp.target {
		ports = append(ports, int(p))
	}
	slices.Sort(ports)
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ", ")
}
