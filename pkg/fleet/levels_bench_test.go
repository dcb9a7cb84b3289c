package fleet

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin/fixtureserver"
)

// BenchmarkLoglevel50Pods is issue 10's bar for loglevel: a 50-pod
// Deployment with 50 ms latency on every admin request (and on opening
// each port-forward), `loglevel info` then `--reset`, each under 3 s, side
// by side with the sequential path:
//
//	go test -run X -bench Loglevel50Pods -benchtime 1x ./pkg/fleet
//
// Reported per run as ms/info and ms/reset.
func BenchmarkLoglevel50Pods(b *testing.B) {
	const pods, latency = 50, 50 * time.Millisecond
	for _, par := range []int{DefaultParallelism, 1} {
		b.Run(fmt.Sprintf("parallel=%d", par), func(b *testing.B) {
			var list []*corev1.Pod
			urls := map[string]string{}
			for i := 0; i < pods; i++ {
				name := fmt.Sprintf("web-%02d", i)
				fs, _ := fixtureserver.Start(b)
				hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					time.Sleep(latency)
					fs.ServeHTTP(w, r)
				}))
				b.Cleanup(hs.Close)
				urls[name] = hs.URL
				list = append(list, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name)}})
			}
			connect := func(ctx context.Context, pod *corev1.Pod, port int) (*envoyadmin.Client, func(), error) {
				time.Sleep(latency) // the port-forward's upgrade
				return envoyadmin.New(urls[pod.Name], nil, 0), func() {}, nil
			}
			lv := &Levels{
				Reader:  Reader{Connect: connect, Port: func(p *corev1.Pod) (int, error) { return AdminPort(p, 0) }, Parallelism: par},
				State:   NewStateFile(b.TempDir()),
				Cluster: "https://bench",
			}
			set := Request{Action: Set, Spec: LevelSpec{Base: "info"}}
			var setTime, resetTime time.Duration
			for b.Loop() {
				start := time.Now()
				out, err := lv.Run(context.Background(), &Pods{Namespace: "shop", Usable: list}, set)
				if err != nil || len(out.NotDone()) > 0 {
					b.Fatal(err, out.NotDone())
				}
				mid := time.Now()
				out, err = lv.Run(context.Background(), &Pods{Namespace: "shop", Usable: list}, Request{Action: Reset})
				if err != nil || len(out.NotDone()) > 0 {
					b.Fatal(err, out.NotDone())
				}
				setTime += mid.Sub(start)
				resetTime += time.Since(mid)
			}
			b.ReportMetric(float64(setTime.Milliseconds())/float64(b.N), "ms/info")
			b.ReportMetric(float64(resetTime.Milliseconds())/float64(b.N), "ms/reset")
		})
	}
}
