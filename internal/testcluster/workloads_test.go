package testcluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/filterdoctor/filterdoctor/internal/kubeletstub"
	"github.com/filterdoctor/filterdoctor/internal/testcluster"
)

func TestAddKubeletNodeAndRunPod(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	stub := kubeletstub.Start(t)
	node := c.AddKubeletNode(t, "tc-node-run-pod", stub)

	got, err := c.Kube.CoreV1().Nodes().Get(context.Background(), node.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := false
	for _, cond := range got.Status.Conditions {
		if cond.Type == corev1.NodeReady {
			ready = cond.Status == corev1.ConditionTrue
		}
	}
	if !ready || len(got.Status.Addresses) != 1 || got.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}) ||
		int(got.Status.DaemonEndpoints.KubeletEndpoint.Port) != stub.Port() {
		t.Errorf("node status: ready %v, addresses %v, kubelet port %d (stub %d)", ready, got.Status.Addresses,
			got.Status.DaemonEndpoints.KubeletEndpoint.Port, stub.Port())
	}

	always := corev1.ContainerRestartPolicyAlways
	pod := c.RunPod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{
			NodeName: node.Name,
			InitContainers: []corev1.Container{
				{Name: "istio-init", Image: "docker.io/istio/proxyv2:1.24.0"},
				{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0", RestartPolicy: &always},
			},
			Containers: []corev1.Container{{Name: "web", Image: "nginx"}},
		},
	})
	stored, err := c.Kube.CoreV1().Pods(ns).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st := stored.Status
	if st.Phase != corev1.PodRunning || st.StartTime == nil || st.HostIP != "127.0.0.1" || !strings.HasPrefix(st.PodIP, "10.244.") {
		t.Errorf("pod status: phase %s, start %v, host %s, pod IP %s", st.Phase, st.StartTime, st.HostIP, st.PodIP)
	}
	if len(st.ContainerStatuses) != 1 || st.ContainerStatuses[0].State.Running == nil || !st.ContainerStatuses[0].Ready {
		t.Errorf("container statuses %+v", st.ContainerStatuses)
	}
	if len(st.InitContainerStatuses) != 2 || st.InitContainerStatuses[0].State.Terminated == nil ||
		st.InitContainerStatuses[1].State.Running == nil || !*st.InitContainerStatuses[1].Started {
		t.Errorf("init container statuses %+v", st.InitContainerStatuses)
	}
	for _, cond := range st.Conditions {
		if cond.Status != corev1.ConditionTrue {
			t.Errorf("condition %s is %s", cond.Type, cond.Status)
		}
	}
}

// What the lead's code walks: Pod → ReplicaSet → Deployment, by controller
// owner references, and a selector that finds exactly the pods.
func TestRunDeployment(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	node := c.AddKubeletNode(t, "tc-node-deployment", kubeletstub.Start(t))
	replicas := int32(50)
	began := time.Now()
	w := c.RunDeployment(t, node.Name, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"sidecar.istio.io/status": "{}"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}, {Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.24.0"}}},
			},
		},
	})
	t.Logf("50-pod Deployment in %v", time.Since(began))
	ctx := context.Background()

	hash := w.ReplicaSet.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	if hash == "" || w.ReplicaSet.Name != "web-"+hash || w.ReplicaSet.Spec.Selector.MatchLabels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Errorf("ReplicaSet %s, labels %v, selector %v", w.ReplicaSet.Name, w.ReplicaSet.Labels, w.ReplicaSet.Spec.Selector)
	}
	if ref := metav1.GetControllerOf(w.ReplicaSet); ref == nil || ref.Kind != "Deployment" || ref.Name != "web" || ref.UID != w.Deployment.UID {
		t.Errorf("ReplicaSet controller %+v", ref)
	}
	if d := w.Deployment.Status; d.ReadyReplicas != 50 || d.AvailableReplicas != 50 || d.ObservedGeneration != w.Deployment.Generation {
		t.Errorf("Deployment status %+v", d)
	}
	pods, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set(w.ReplicaSet.Spec.Selector.MatchLabels).String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 50 || len(w.Pods) != 50 {
		t.Fatalf("%d pods listed, %d returned, want 50", len(pods.Items), len(w.Pods))
	}
	names := map[string]bool{}
	for _, p := range pods.Items {
		names[p.Name] = true
		ref := metav1.GetControllerOf(&p)
		if ref == nil || ref.Kind != "ReplicaSet" || ref.UID != w.ReplicaSet.UID || !strings.HasPrefix(p.Name, w.ReplicaSet.Name+"-") ||
			p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != node.Name || p.Annotations["sidecar.istio.io/status"] != "{}" {
			t.Errorf("pod %s: controller %+v, phase %s, node %s", p.Name, ref, p.Status.Phase, p.Spec.NodeName)
		}
	}
	if len(names) != 50 {
		t.Errorf("%d distinct pod names", len(names))
	}
	// The hash is computed from the stored template, so it does not depend on
	// how the caller spelled it.
	d2 := w.Deployment.DeepCopy()
	d2.ObjectMeta = metav1.ObjectMeta{Name: "web2", Namespace: ns}
	d2.Status = appsv1.DeploymentStatus{}
	one := int32(1)
	d2.Spec.Replicas = &one
	if w2 := c.RunDeployment(t, node.Name, d2); w2.ReplicaSet.Labels[appsv1.DefaultDeploymentUniqueLabelKey] != hash {
		t.Errorf("same template, hash %s vs %s", w2.ReplicaSet.Labels[appsv1.DefaultDeploymentUniqueLabelKey], hash)
	}
}

func TestRecordRequests(t *testing.T) {
	c := testcluster.Get(t)
	ns := c.Namespace(t)
	cfg := c.Config()
	log := testcluster.RecordRequests(cfg)
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, _ = kube.CoreV1().ConfigMaps(ns).Get(ctx, "missing", metav1.GetOptions{})
	want := []testcluster.Request{
		{Method: "GET", Path: "/api/v1/namespaces/" + ns + "/pods", Query: "labelSelector=app%3Dweb", Code: 200},
		{Method: "POST", Path: "/api/v1/namespaces/" + ns + "/configmaps", Code: 201},
		{Method: "GET", Path: "/api/v1/namespaces/" + ns + "/configmaps/missing", Code: 404},
	}
	got := log.Requests()
	if len(got) != len(want) {
		t.Fatalf("requests %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if w := log.Writes(); len(w) != 1 || w[0].String() != "POST /api/v1/namespaces/"+ns+"/configmaps" {
		t.Errorf("writes %v", w)
	}
	// Clients built from the original config are not recorded.
	if _, err := c.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err != nil || log.Len() != 3 {
		t.Errorf("the shared client was recorded: %d requests", log.Len())
	}
	log.Reset()
	if log.Len() != 0 {
		t.Error("Reset kept requests")
	}
	for _, r := range []struct {
		req         testcluster.Request
		write, pfwd bool
	}{
		{testcluster.Request{Method: "POST", Path: "/api/v1/namespaces/a/pods/b/portforward"}, false, true},
		{testcluster.Request{Method: "GET", Path: "/api/v1/namespaces/a/pods/b/portforward"}, false, true},
		{testcluster.Request{Method: "POST", Path: "/api/v1/namespaces/a/pods/b/exec"}, true, false},
		{testcluster.Request{Method: "PATCH", Path: "/api/v1/namespaces/a/pods/b"}, true, false},
		{testcluster.Request{Method: "DELETE", Path: "/api/v1/namespaces/a/pods/portforward"}, true, false},
	} {
		if r.req.IsWrite() != r.write || r.req.IsPortForward() != r.pfwd {
			t.Errorf("%v: write %v portforward %v", r.req, r.req.IsWrite(), r.req.IsPortForward())
		}
	}
}
