package envoyadmin_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/filterdoctor/filterdoctor/pkg/envoyadmin"
)

func TestStats(t *testing.T) {
	c, fs, _ := newClient(t)
	ctx := context.Background()
	fs.SetStat("http.inbound_0.0.0.0_8080.lua.errors", 2)

	got, err := c.Stats(ctx, `^(cluster_manager\.cds|listener_manager\.lds)\.update_(success|rejected)$`)
	if err != nil {
		t.Fatal(err)
	}
	want := envoyadmin.Stats{
		{Name: "cluster_manager.cds.update_rejected", Value: 0},
		{Name: "cluster_manager.cds.update_success", Value: 1},
		{Name: "listener_manager.lds.update_rejected", Value: 0},
		{Name: "listener_manager.lds.update_success", Value: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if v, ok := got.Get("listener_manager.lds.update_success"); !ok || v != 4 {
		t.Errorf("Get = %d %v", v, ok)
	}
	if _, ok := got.Get("http.inbound_0.0.0.0_8080.lua.errors"); ok {
		t.Error("Get found a stat the filter excluded")
	}

	// The regex travels intact: '+', spaces and backslashes.
	lua, err := c.Stats(ctx, `lua\.errors$|a b+c`)
	if err != nil {
		t.Fatal(err)
	}
	if len(lua) != 1 || lua[0] != (envoyadmin.Stat{Name: "http.inbound_0.0.0.0_8080.lua.errors", Value: 2}) {
		t.Errorf("lua stats %+v", lua)
	}
	all, err := c.Stats(ctx, "")
	if err != nil || len(all) < 30 {
		t.Fatalf("unfiltered: %d stats, %v", len(all), err)
	}
	last := fs.Requests()[len(fs.Requests())-1]
	if last != "GET /stats?format=json" {
		t.Errorf("unfiltered request %q sends a filter", last)
	}

	_, err = c.Stats(ctx, "(")
	var se *envoyadmin.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest || se.Message != "Invalid re2 regex" {
		t.Errorf("bad regex: %v", err)
	}
}

// Envoy's JSON may hold text readouts and the histograms element.
func TestStatsSkipsTextReadoutsAndHistograms(t *testing.T) {
	body := `{"stats":[{"name":"server.version_text","value":"1.32.2"},{"name":"server.live","value":1},` +
		`{"name":"cluster_manager.cds.version","value":18446744073709551615},` +
		`{"histograms":{"supported_quantiles":[0,25,50],"computed_quantiles":[{"name":"server.initialization_time_ms","values":[{"interval":null,"cumulative":35}]}]}}]}`
	for _, tt := range []struct {
		body    string
		want    envoyadmin.Stats
		wantErr string
	}{
		{body: body, want: envoyadmin.Stats{{Name: "server.live", Value: 1}, {Name: "cluster_manager.cds.version", Value: 18446744073709551615}}},
		{body: `{"stats":[{"name":"x","value":-1}]}`, wantErr: "stat x: value -1 is not an unsigned integer"},
		{body: `{}`, wantErr: `no "stats" array`},
		{body: `x: 1`, wantErr: "parsing JSON"},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, tt.body) }))
		got, err := envoyadmin.New(hs.URL, nil, 0).Stats(context.Background(), "")
		hs.Close()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.body, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %+v %v", tt.body, got, err)
		}
	}
}
