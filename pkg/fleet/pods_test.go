package fleet

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestIstioVersionFromImage(t *testing.T) {
	for _, tc := range []struct{ image, want string }{
		{"docker.io/istio/proxyv2:1.24.0", "1.24.0"},
		{"docker.io/istio/proxyv2:1.24.0-distroless", "1.24.0"},
		{"gcr.io/istio-release/proxyv2:1.30.0-beta.1", "1.30.0"},
		{"registry.local:5000/istio/proxyv2:1.27.3", "1.27.3"},
		{"istio/proxyv2:1.22", "1.22"},
		{"docker.io/istio/proxyv2:1.26.1@sha256:0123abcd", "1.26.1"},
		{"docker.io/istio/proxyv2@sha256:0123abcd", ""},
		{"registry.local:5000/istio/proxyv2", ""},
		{"docker.io/istio/proxyv2:latest", ""},
		{"docker.io/istio/proxyv2:my-build", ""},
		{"", ""},
	} {
		if got := IstioVersionFromImage(tc.image); got != tc.want {
			t.Errorf("IstioVersionFromImage(%q) = %q, want %q", tc.image, got, tc.want)
		}
	}
}

// TestProxyRelease: the release most proxy images name wins, the older of
// two equally common ones (its facts are the strictest), and images
// without a known release tag or pods without a proxy decide nothing.
func TestProxyRelease(t *testing.T) {
	pod := func(image string) *corev1.Pod {
		p := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
		if image != "" {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: ProxyContainerName, Image: image})
		}
		return p
	}
	for _, tc := range []struct {
		name   string
		images []string
		want   string // "" for none
		source string
	}{
		{"most", []string{"istio/proxyv2:1.24.0", "istio/proxyv2:1.25.1", "istio/proxyv2:1.25.2", ""}, "1.25", "proxy image istio/proxyv2:1.25.1 (2 of 3 targeted pods)"},
		{"tie goes to the older", []string{"istio/proxyv2:1.25.0", "istio/proxyv2:1.24.3"}, "1.24", "proxy image istio/proxyv2:1.24.3 (1 of 2 targeted pods)"},
		{"unknown tags decide nothing", []string{"istio/proxyv2:latest", "istio/proxyv2:1.22.0", "istio/proxyv2:0.9.0"}, "1.22", "proxy image istio/proxyv2:1.22.0 (1 of 3 targeted pods)"},
		{"no proxy", []string{""}, "", ""},
		{"no known release", []string{"istio/proxyv2@sha256:0123abcd"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pods []*corev1.Pod
			for _, im := range tc.images {
				pods = append(pods, pod(im))
			}
			r, source, ok := ProxyRelease(pods)
			if ok != (tc.want != "") || (ok && (r.Version.String() != tc.want || source != tc.source)) {
				t.Fatalf("ProxyRelease = %v %q %v, want %s %q", r, source, ok, tc.want, tc.source)
			}
		})
	}
}

func TestProxyContainerFindsNativeSidecars(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	for _, tc := range []struct {
		name string
		spec corev1.PodSpec
		want bool
	}{
		{"container", corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "istio-proxy"}}}, true},
		{"native sidecar", corev1.PodSpec{InitContainers: []corev1.Container{{Name: "istio-init"}, {Name: "istio-proxy", RestartPolicy: &always}}}, true},
		// An init container without restartPolicy Always runs to completion
		// before the app: that is not a proxy that serves traffic.
		{"plain init container", corev1.PodSpec{InitContainers: []corev1.Container{{Name: "istio-proxy"}}}, false},
		{"none", corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}, false},
	} {
		if got := ProxyContainer(&tc.spec) != nil; got != tc.want {
			t.Errorf("%s: found = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAdminPort(t *testing.T) {
	pod := func(ann string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1"}}
		if ann != "" {
			p.Annotations = map[string]string{AnnProxyConfig: ann}
		}
		return p
	}
	for _, tc := range []struct {
		ann     string
		mesh    int
		want    int
		wantErr string
	}{
		{"", 0, 15000, ""},
		{"", 15999, 15999, ""},
		{"proxyAdminPort: 15555", 15999, 15555, ""},
		{"holdApplicationUntilProxyStarts: true", 15999, 15999, ""},
		{"{proxyAdminPort: [", 0, 0, "pod shop/web-1: annotation proxy.istio.io/config is not valid YAML"},
	} {
		got, err := AdminPort(pod(tc.ann), tc.mesh)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: err = %v, want %q", tc.ann, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q mesh %d: = %d, %v; want %d", tc.ann, tc.mesh, got, err, tc.want)
		}
	}
}

func TestUnreachable(t *testing.T) {
	base := func() *corev1.Pod {
		return &corev1.Pod{
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}, {Name: "istio-proxy"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning},
		}
	}
	if why := Unreachable(base()); why != "" {
		t.Errorf("running pod: %q", why)
	}
	p := base()
	p.Status.Phase = corev1.PodPending
	if why := Unreachable(p); why != "phase Pending, not Running" {
		t.Errorf("pending: %q", why)
	}
	p = base()
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "istio-proxy", RestartCount: 4,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 40s"}}}}
	if why := Unreachable(p); why != "container istio-proxy is waiting (CrashLoopBackOff, 4 restarts: back-off 40s)" {
		t.Errorf("crash loop: %q", why)
	}
	p = base()
	p.Spec.Containers = p.Spec.Containers[:1]
	if why := Unreachable(p); !strings.HasPrefix(why, "no istio-proxy container") {
		t.Errorf("no proxy: %q", why)
	}
	now := metav1.Now()
	p = base()
	p.DeletionTimestamp = &now
	if why := Unreachable(p); why != "terminating" {
		t.Errorf("terminating: %q", why)
	}
}

func TestForEachBoundsParallelismAndRunsEveryItem(t *testing.T) {
	for _, par := range []int{0, 1, 3, 16} {
		var running, peak atomic.Int32
		var mu sync.Mutex
		seen := map[int]int{}
		block := make(chan struct{})
		done := make(chan struct{})
		go func() {
			ForEach(context.Background(), 20, par, func(_ context.Context, i int) {
				n := running.Add(1)
				for {
					p := peak.Load()
					if n <= p || peak.CompareAndSwap(p, n) {
						break
					}
				}
				<-block
				mu.Lock()
				seen[i]++
				mu.Unlock()
				running.Add(-1)
			})
			close(done)
		}()
		close(block)
		<-done
		want := int32(max(par, 1))
		if peak.Load() > want {
			t.Errorf("parallelism %d: peak %d running", par, peak.Load())
		}
		if len(seen) != 20 {
			t.Errorf("parallelism %d: %d items ran", par, len(seen))
		}
		for i, n := range seen {
			if n != 1 {
				t.Errorf("parallelism %d: item %d ran %d times", par, i, n)
			}
		}
	}
}

func TestForEachReachesTheBound(t *testing.T) {
	// All 4 workers must be busy at once when items block until 4 run.
	var running atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	ForEach(context.Background(), 8, 4, func(_ context.Context, i int) {
		if running.Add(1) == 4 {
			once.Do(func() { close(release) })
		}
		<-release
	})
}
