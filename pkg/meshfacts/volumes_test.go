package meshfacts

import (
	"testing"
)

func TestParseUserVolumesMapForm(t *testing.T) {
	uv := ParseUserVolumes(map[string]string{
		AnnUserVolume:      `{"wasm":{"configMap":{"name":"m"}}}`,
		AnnUserVolumeMount: `{"wasm":{"mountPath":"/var/local/wasm","readOnly":true}}`,
	})
	if len(uv.Problems) != 0 || len(uv.Volumes) != 1 || uv.Volumes[0].Name != "wasm" || uv.Volumes[0].ConfigMap == nil {
		t.Fatalf("map form: %+v", uv)
	}
	if len(uv.Mounts) != 1 || uv.Mounts[0].Name != "wasm" || !uv.Mounts[0].ReadOnly {
		t.Fatalf("mount: %+v", uv.Mounts)
	}
}
