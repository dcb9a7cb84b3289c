package cli

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/filterdoctor/filterdoctor/pkg/clibase"
)

// kubeConfigMaps reads `wasm inspect cm/NAME` ConfigMaps with client-go,
// using the kube flags.
type kubeConfigMaps struct {
	kube *genericclioptions.ConfigFlags
}

func (k kubeConfigMaps) Namespace() (string, error) {
	if k.kube.Namespace != nil && *k.kube.Namespace != "" {
		return *k.kube.Namespace, nil
	}
	ns, _, err := k.kube.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading kubeconfig: %w", err)
	}
	if ns == "" {
		ns = "default"
	}
	return ns, nil
}

func (k kubeConfigMaps) ConfigMap(ctx context.Context, namespace, name string, timeout time.Duration) (clibase.ConfigMapData, error) {
	cfg, err := k.kube.ToRESTConfig()
	if err != nil {
		return clibase.ConfigMapData{}, fmt.Errorf("connecting to the cluster: %w", err)
	}
	cfg.Timeout = timeout
	core, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return clibase.ConfigMapData{}, fmt.Errorf("connecting to the cluster: %w", err)
	}
	cm, err := core.ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return clibase.ConfigMapData{}, fmt.Errorf("%w: %v", clibase.ErrNotFound, err)
	}
	if err != nil {
		return clibase.ConfigMapData{}, err
	}
	return clibase.ConfigMapData{BinaryData: cm.BinaryData, Data: cm.Data}, nil
}
