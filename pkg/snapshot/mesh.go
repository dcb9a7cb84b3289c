package snapshot

import (
	"encoding/json"
	"fmt"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
)

// The ConfigMaps istiod and the injector read their mesh-wide settings
// from, in the Istio namespace (istio/istio manifests/charts/istio-control/
// istio-discovery/templates/configmap.yaml and istiod-injector-configmap.yaml).
const (
	MeshConfigMapName     = "istio"
	InjectorConfigMapName = "istio-sidecar-injector"
)

// Defaults Istio applies when the mesh config leaves a field out
// (istio/istio pkg/config/mesh/mesh.go DefaultMeshConfig and the charts'
// values.global.proxy).
const (
	DefaultRootNamespace     = "istio-system"
	DefaultProxyAdminPort    = 15000
	DefaultProxyLogLevel     = "warning"
	DefaultComponentLogLevel = "misc:error"
)

// MeshConfig is what the mesh-wide configuration says about filters: where
// mesh-wide policies live, where the admin API listens, and which log levels
// the injector gives new sidecars. Each field is Istio's default unless the
// cluster's ConfigMaps said otherwise; Source says which.
type MeshConfig struct {
	RootNamespace  string
	ProxyAdminPort int
	// ProxyLogLevel and ComponentLogLevel are the injector's
	// values.global.proxy.logLevel and componentLogLevel: what a pod
	// without the sidecar.istio.io/logLevel annotations starts with.
	ProxyLogLevel     string
	ComponentLogLevel string
	// Source is "ConfigMap istio-system/istio" (and the injector's), or why
	// the defaults are used.
	Source string
}

// DefaultMesh is the configuration of an Istio installed with its defaults.
func DefaultMesh() MeshConfig {
	return MeshConfig{
		RootNamespace: DefaultRootNamespace, ProxyAdminPort: DefaultProxyAdminPort,
		ProxyLogLevel: DefaultProxyLogLevel, ComponentLogLevel: DefaultComponentLogLevel,
		Source: "Istio's defaults",
	}
}

// applyMeshConfigMap reads the "mesh" key of the istio ConfigMap
// (MeshConfig as YAML).
func (m *MeshConfig) applyMeshConfigMap(cm *corev1.ConfigMap) error {
	raw, ok := cm.Data["mesh"]
	if !ok {
		return nil
	}
	var mc struct {
		RootNamespace string `yaml:"rootNamespace"`
		DefaultConfig struct {
			ProxyAdminPort int `yaml:"proxyAdminPort"`
		} `yaml:"defaultConfig"`
	}
	if err := yaml.Unmarshal([]byte(raw), &mc); err != nil {
		return fmt.Errorf("ConfigMap %s/%s key mesh is not valid YAML: %w", cm.Namespace, cm.Name, err)
	}
	if mc.RootNamespace != "" {
		m.RootNamespace = mc.RootNamespace
	}
	if mc.DefaultConfig.ProxyAdminPort > 0 {
		m.ProxyAdminPort = mc.DefaultConfig.ProxyAdminPort
	}
	return nil
}

// applyInjectorConfigMap reads the "values" key of the injector's
// ConfigMap (the Helm values as JSON).
func (m *MeshConfig) applyInjectorConfigMap(cm *corev1.ConfigMap) error {
	raw, ok := cm.Data["values"]
	if !ok {
		return nil
	}
	var v struct {
		Global struct {
			Proxy struct {
				LogLevel          string `json:"logLevel"`
				ComponentLogLevel string `json:"componentLogLevel"`
			} `json:"proxy"`
		} `json:"global"`
	}
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return fmt.Errorf("ConfigMap %s/%s key values is not valid JSON: %w", cm.Namespace, cm.Name, err)
	}
	if v.Global.Proxy.LogLevel != "" {
		m.ProxyLogLevel = v.Global.Proxy.LogLevel
	}
	if v.Global.Proxy.ComponentLogLevel != "" {
		m.ComponentLogLevel = v.Global.Proxy.ComponentLogLevel
	}
	return nil
}
