package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/podforward"
)

// Connector opens the Envoy admin API of one pod on port. The returned
// close releases the connection.
type Connector func(ctx context.Context, pod *corev1.Pod, port int) (client *envoyadmin.Client, close func(), err error)

// PortForward reaches a pod's admin port through the API server's
// pods/portforward, as istioctl does: the admin API listens on localhost
// inside the pod only (istio/istio tools/packaging/common/envoy_bootstrap.json
// binds it to 127.0.0.1 or ::1). timeout bounds the upgrade and each admin
// request.
func PortForward(cfg *rest.Config, timeout time.Duration) Connector {
	return func(ctx context.Context, pod *corev1.Pod, port int) (*envoyadmin.Client, func(), error) {
		octx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		fw, err := podforward.Open(octx, cfg, pod.Namespace, pod.Name, port)
		if err != nil {
			return nil, nil, err
		}
		tr := envoyadmin.DialTransport(fw.DialContext)
		client := envoyadmin.New(fmt.Sprintf("http://%s.%s:%d", pod.Name, pod.Namespace, port), tr, timeout)
		return client, func() { tr.CloseIdleConnections(); _ = fw.Close() }, nil
	}
}

// DefaultParallelism bounds how many proxies are talked to at once: enough
// to hide admin-API latency on a large Deployment, few enough that the API
// server's port-forward streams and the local machine are not swamped.
const DefaultParallelism = 16

// ForEach calls fn(ctx, i) for i in [0, n) with at most parallelism calls
// running at once, and returns when all have returned. parallelism < 1
// means 1 (sequential). Calls not yet started when ctx ends still run, so
// that each can record ctx's error for its item instead of being dropped
// silently; fn must honour ctx.
func ForEach(ctx context.Context, n, parallelism int, fn func(ctx context.Context, i int)) {
	if parallelism < 1 {
		parallelism = 1
	}
	if parallelism > n {
		parallelism = n
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < parallelism; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(ctx, i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
