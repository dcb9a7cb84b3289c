package meshfacts

import (
	"istio.io/api/annotation"
	"istio.io/api/label"

	"github.com/filterdoctor/filterdoctor/pkg/snapshot"
)

// Annotation and label names the sidecar injector, istiod and ztunnel read,
// from istio.io/api's generated registries (annotation/annotations.yaml,
// label/labels.yaml).
var (
	AnnUserVolume        = annotation.SidecarUserVolume.Name
	AnnUserVolumeMount   = annotation.SidecarUserVolumeMount.Name
	AnnLogLevel          = annotation.SidecarLogLevel.Name
	AnnComponentLogLevel = annotation.SidecarComponentLogLevel.Name
	AnnInject            = annotation.SidecarInject.Name
	AnnInjectTemplates   = annotation.InjectTemplates.Name
	LabelInject          = label.SidecarInject.Name
	LabelRev             = label.IoIstioRev.Name
	GatewayNameLabel     = label.IoK8sNetworkingGatewayGatewayName.Name

	// Ambient: which pods ztunnel captures, and through which waypoint.
	LabelDataplaneMode        = label.IoIstioDataplaneMode.Name
	LabelUseWaypoint          = label.IoIstioUseWaypoint.Name
	LabelUseWaypointNamespace = label.IoIstioUseWaypointNamespace.Name
)

const (
	// LabelNSInjection is the namespace label that turns injection on;
	// istio.io/api names it only in prose (label.IoIstioDataplaneMode's
	// description), with no constant.
	LabelNSInjection = "istio-injection"

	// DefaultProxyLogLevel is values.global.proxy.logLevel in Istio's charts.
	DefaultProxyLogLevel = snapshot.DefaultProxyLogLevel
	// DefaultComponentLogLevel is values.global.proxy.componentLogLevel.
	DefaultComponentLogLevel = snapshot.DefaultComponentLogLevel
)

// GatewayClassLabel is the label Istio puts on the pods of a Gateway API
// gateway it deploys, naming the Gateway's class (istio/istio
// manifests/charts/istio-control/istio-discovery/files/waypoint.yaml).
const GatewayClassLabel = "gateway.networking.k8s.io/gateway-class-name"
