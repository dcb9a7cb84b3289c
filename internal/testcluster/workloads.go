package testcluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/dump"
	utilrand "k8s.io/apimachinery/pkg/util/rand"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
)

// The cluster runs no kubelet and no controllers. The helpers here write
// what they would: a Node's status as its kubelet reports it, a Pod's status
// once its containers run, and a Deployment's ReplicaSet and Pods with their
// owner references and statuses, so that code under test sees the objects of
// a real cluster (and the API server can port-forward to the pods).

// NodeIP is the InternalIP of nodes made by AddKubeletNode: the kubelet
// stubs listen on loopback.
const NodeIP = "127.0.0.1"

// AddKubeletNode creates Node name whose kubelet is kubelet: its status, set
// through the status subresource as a kubelet posts it, is Ready with the
// single address InternalIP 127.0.0.1 and
// daemonEndpoints.kubeletEndpoint.Port the stub's port. kube-apiserver dials
// https://<first address of a --kubelet-preferred-address-types type>:<that
// port> for pods/portforward, exec and logs (k8s.io/kubernetes
// pkg/kubelet/client/kubelet_client.go GetConnectionInfo); the default order
// is Hostname, InternalDNS, InternalIP, ..., so the node reports no Hostname
// address, which would be dialled first. The node is deleted when t ends.
// Node names are cluster-wide: give each test its own.
//
// Only an API server started by this package can reach the stub; one named by
// FILTERDOCTOR_KUBECONFIG must run on this machine.
func (c *Cluster) AddKubeletNode(t testing.TB, name string, kubelet *kubeletstub.Server) *corev1.Node {
	t.Helper()
	ctx := context.Background()
	nodes := c.Kube.CoreV1().Nodes()
	node, err := nodes.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: name,
		Labels: map[string]string{
			"kubernetes.io/hostname": name,
			"kubernetes.io/os":       "linux",
			"kubernetes.io/arch":     "amd64",
		},
	}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("testcluster: creating node %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := nodes.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("testcluster: deleting node %s: %v", name, err)
		}
	})
	now := metav1.Now()
	condition := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: now, LastTransitionTime: now}
	}
	resources := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("8"),
		corev1.ResourceMemory: resource.MustParse("32Gi"),
		corev1.ResourcePods:   resource.MustParse("110"),
	}
	node.Status = corev1.NodeStatus{
		Capacity:    resources,
		Allocatable: resources,
		Conditions: []corev1.NodeCondition{
			condition(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
			condition(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
			condition(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
			condition(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		},
		Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: NodeIP}},
		DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: int32(kubelet.Port())}},
		NodeInfo: corev1.NodeSystemInfo{
			KubeletVersion:          "v1.35.8",
			OperatingSystem:         "linux",
			Architecture:            "amd64",
			ContainerRuntimeVersion: "containerd://2.1.4",
			OSImage:                 "kubeletstub",
			KernelVersion:           "6.1.0",
		},
	}
	node, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("testcluster: setting node %s status: %v", name, err)
	}
	return node
}

var podIPs atomic.Uint32

// nextPodIP hands out 10.244.0.0/16 addresses, as a node's pod CIDRs would.
func nextPodIP() string {
	n := podIPs.Add(1)
	return fmt.Sprintf("10.244.%d.%d", (n/250)%256, n%250+2)
}

// RunPod creates pod (its Namespace and Spec.NodeName must be set; Name or
// GenerateName too) and reports it running as the node's kubelet would,
// through the status subresource: phase Running, a pod IP, the node's
// address as host IP, start time, the five conditions True, and every
// container running and ready since now (init containers: sidecars with
// restartPolicy Always running, others terminated with exit code 0). It
// returns the pod as stored.
func (c *Cluster) RunPod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	if pod.Namespace == "" || pod.Spec.NodeName == "" {
		t.Fatalf("testcluster: RunPod needs the pod's namespace and spec.nodeName (got %q, %q)", pod.Namespace, pod.Spec.NodeName)
	}
	out, err := c.runPod(context.Background(), pod)
	if err != nil {
		t.Fatalf("testcluster: %v", err)
	}
	return out
}

func (c *Cluster) runPod(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	pods := c.Kube.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s%s: %w", pod.Name, pod.GenerateName, err)
	}
	node, err := c.Kube.CoreV1().Nodes().Get(ctx, created.Spec.NodeName, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("pod %s: its node: %w", created.Name, err)
	}
	hostIP := ""
	for _, a := range node.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			hostIP = a.Address
			break
		}
	}
	created.Status = runningStatus(created, hostIP, nextPodIP())
	running, err := pods.UpdateStatus(ctx, created, metav1.UpdateOptions{})
	if err != nil {
		return nil, fmt.Errorf("setting pod %s running: %w", created.Name, err)
	}
	return running, nil
}

func runningStatus(pod *corev1.Pod, hostIP, podIP string) corev1.PodStatus {
	now := metav1.Now()
	id := func(parts ...string) string {
		h := sha256.New()
		for _, p := range parts {
			h.Write([]byte(p + "\x00"))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	containerStatus := func(ctr corev1.Container, running bool) corev1.ContainerStatus {
		started := running
		st := corev1.ContainerStatus{
			Name:        ctr.Name,
			Image:       ctr.Image,
			ImageID:     ctr.Image + "@sha256:" + id(ctr.Image),
			ContainerID: "containerd://" + id(pod.Namespace, pod.Name, ctr.Name),
			Ready:       true,
			Started:     &started,
		}
		if running {
			st.State.Running = &corev1.ContainerStateRunning{StartedAt: now}
		} else {
			st.State.Terminated = &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: now, FinishedAt: now,
				ContainerID: st.ContainerID}
		}
		return st
	}
	status := corev1.PodStatus{
		Phase:     corev1.PodRunning,
		HostIP:    hostIP,
		PodIP:     podIP,
		PodIPs:    []corev1.PodIP{{IP: podIP}},
		StartTime: &now,
		QOSClass:  pod.Status.QOSClass,
	}
	if hostIP != "" {
		status.HostIPs = []corev1.HostIP{{IP: hostIP}}
	}
	for _, ct := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		status.Conditions = append(status.Conditions, corev1.PodCondition{Type: ct, Status: corev1.ConditionTrue, LastTransitionTime: now})
	}
	for _, ctr := range pod.Spec.InitContainers {
		sidecar := ctr.RestartPolicy != nil && *ctr.RestartPolicy == corev1.ContainerRestartPolicyAlways
		status.InitContainerStatuses = append(status.InitContainerStatuses, containerStatus(ctr, sidecar))
	}
	for _, ctr := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, containerStatus(ctr, true))
	}
	return status
}

// Workload is a Deployment as its controllers leave it: the Deployment, its
// one ReplicaSet and that ReplicaSet's Pods.
type Workload struct {
	Deployment *appsv1.Deployment
	ReplicaSet *appsv1.ReplicaSet
	Pods       []*corev1.Pod
}

// RunDeployment creates deploy (Namespace, Name, Spec.Replicas, Selector and
// Template set) and what the deployment and replicaset controllers and the
// kubelet would make of it on node: a ReplicaSet "<name>-<pod-template-hash>"
// owned by the Deployment (controller reference), its Pods (named by the API
// server from generateName "<replicaset>-") owned by the ReplicaSet and
// running (RunPod), all labelled pod-template-hash, and every status
// complete. The hash is the deployment controller's: FNV-32a of the stored
// template (defaults included) rendered by dump.ForHash, encoded with
// rand.SafeEncodeString (k8s.io/kubernetes pkg/controller/controller_utils.go
// ComputeHash). Pods are created a few at a time, so 50 take about a second.
// Each mutate runs on every pod before it is created, as a mutating webhook
// (the sidecar injector) would change it.
func (c *Cluster) RunDeployment(t testing.TB, node string, deploy *appsv1.Deployment, mutate ...func(*corev1.Pod)) *Workload {
	t.Helper()
	w, err := c.runDeployment(context.Background(), node, deploy, mutate...)
	if err != nil {
		t.Fatalf("testcluster: deployment %s/%s: %v", deploy.Namespace, deploy.Name, err)
	}
	return w
}

func (c *Cluster) runDeployment(ctx context.Context, node string, deploy *appsv1.Deployment, mutate ...func(*corev1.Pod)) (*Workload, error) {
	if deploy.Namespace == "" || deploy.Spec.Selector == nil {
		return nil, fmt.Errorf("needs a namespace and a selector")
	}
	replicas := int32(1)
	if deploy.Spec.Replicas != nil {
		replicas = *deploy.Spec.Replicas
	}
	deploy = deploy.DeepCopy()
	if deploy.Annotations == nil {
		deploy.Annotations = map[string]string{}
	}
	deploy.Annotations["deployment.kubernetes.io/revision"] = "1"
	deployments := c.Kube.AppsV1().Deployments(deploy.Namespace)
	d, err := deployments.Create(ctx, deploy, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}

	hash := podTemplateHash(&d.Spec.Template)
	labels := map[string]string{}
	for k, v := range d.Spec.Template.Labels {
		labels[k] = v
	}
	labels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	selector := d.Spec.Selector.DeepCopy()
	if selector.MatchLabels == nil {
		selector.MatchLabels = map[string]string{}
	}
	selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] = hash
	template := *d.Spec.Template.DeepCopy()
	template.Labels = labels
	yes := true
	maxReplicas := replicas + (replicas+3)/4 // default maxSurge 25%, rounded up
	rs, err := c.Kube.AppsV1().ReplicaSets(d.Namespace).Create(ctx, &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Name:   d.Name + "-" + hash,
			Labels: labels,
			Annotations: map[string]string{
				"deployment.kubernetes.io/desired-replicas": strconv.Itoa(int(replicas)),
				"deployment.kubernetes.io/max-replicas":     strconv.Itoa(int(maxReplicas)),
				"deployment.kubernetes.io/revision":         "1",
			},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID,
				Controller: &yes, BlockOwnerDeletion: &yes}},
		},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: selector, Template: template},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating its ReplicaSet: %w", err)
	}

	pods := make([]*corev1.Pod, replicas)
	errs := make([]error, replicas)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range pods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			spec := *template.Spec.DeepCopy()
			spec.NodeName = node
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{
					GenerateName: rs.Name + "-",
					Namespace:    d.Namespace,
					Labels:       template.Labels,
					Annotations:  copyMap(template.Annotations),
					OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID,
						Controller: &yes, BlockOwnerDeletion: &yes}},
				},
				Spec: spec,
			}
			for _, m := range mutate {
				m(pod)
			}
			pods[i], errs[i] = c.runPod(ctx, pod)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	rs.Status = appsv1.ReplicaSetStatus{Replicas: replicas, FullyLabeledReplicas: replicas, ReadyReplicas: replicas,
		AvailableReplicas: replicas, ObservedGeneration: rs.Generation}
	if rs, err = c.Kube.AppsV1().ReplicaSets(d.Namespace).UpdateStatus(ctx, rs, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("ReplicaSet status: %w", err)
	}
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas, ReadyReplicas: replicas, AvailableReplicas: replicas,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
				Message: "Deployment has minimum availability.", LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
				Message: fmt.Sprintf("ReplicaSet %q has successfully progressed.", rs.Name), LastUpdateTime: now, LastTransitionTime: now},
		},
	}
	if d, err = deployments.UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		return nil, fmt.Errorf("Deployment status: %w", err)
	}
	return &Workload{Deployment: d, ReplicaSet: rs, Pods: pods}, nil
}

// podTemplateHash is the deployment controller's ComputeHash without a
// collision count.
func podTemplateHash(template *corev1.PodTemplateSpec) string {
	h := fnv.New32a()
	fmt.Fprintf(h, "%v", dump.ForHash(*template))
	return utilrand.SafeEncodeString(fmt.Sprint(h.Sum32()))
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
