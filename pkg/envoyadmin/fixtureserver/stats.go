package fixtureserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// StatType is the kind of an Envoy stat. Only counters and gauges are
// modelled: no capture has histograms or text readouts, so /stats lists
// none (and ?type=Histograms or TextReadouts answers an empty list).
type StatType int

const (
	Counter StatType = iota
	Gauge
)

func (t StatType) String() string {
	if t == Gauge {
		return "gauge"
	}
	return "counter"
}

// Stat is one stat as /stats lists it.
type Stat struct {
	Name  string
	Value uint64
	Type  StatType
	// Used is Envoy's "used" flag: a counter that was ever incremented or a
	// gauge that was ever set. /stats?usedonly lists only these.
	Used bool
}

// Stats returns every stat in Envoy's /stats order (by name).
func (s *Server) Stats() []Stat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedStats()
}

// SetStat sets a stat's value and marks it used, as incrementing a counter or
// setting a gauge does in Envoy. An unknown name becomes a counter (SetGauge
// makes gauges). The value is kept when the config changes.
func (s *Server) SetStat(name string, value uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.stats[name]
	if !ok {
		st = Stat{Name: name, Type: Counter}
	}
	st.Value, st.Used = value, true
	s.stats[name] = st
	s.pinned[name] = true
}

// SetGauge is SetStat for a gauge.
func (s *Server) SetGauge(name string, value uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats[name] = Stat{Name: name, Value: value, Type: Gauge, Used: true}
	s.pinned[name] = true
}

// AddStat adds delta to a stat (creating a used counter if unknown), as
// Envoy increments a counter.
func (s *Server) AddStat(name string, delta uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addStat(name, delta)
}

func (s *Server) addStat(name string, delta uint64) {
	st, ok := s.stats[name]
	if !ok {
		st = Stat{Name: name, Type: Counter}
	}
	st.Value += delta
	st.Used = true
	s.stats[name] = st
	s.pinned[name] = true
}

func (s *Server) sortedStats() []Stat {
	out := make([]Stat, 0, len(s.stats))
	for _, st := range s.stats {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// rederiveStats recomputes the stats that follow from the config dump and
// server_info, keeping those a test set (SetStat, SetGauge, AddStat).
func (s *Server) rederiveStats() {
	derived := defaultStats(s.configs, s.serverInfo)
	for name := range s.pinned {
		if st, ok := s.stats[name]; ok {
			derived[name] = st
		}
	}
	s.stats = derived
}

// defaultStats is the stat set a running Istio sidecar shows for configs.
// There is no /stats capture, so it is SYNTHESISED from documented names only
// (values follow from the config dump and server_info where they can, and are
// otherwise those of a healthy proxy after its first pushes). Istio's
// bootstrap inclusion list keeps cluster_manager, listener_manager, server and
// wasm stats (istio/istio pkg/bootstrap/config.go,
// requiredEnvoyStatsMatcherInclusionPrefixes), so per-filter stats such as
// http.<prefix>.lua.errors are absent unless a test adds them. Sources
// (envoyproxy/envoy):
//   - listener_manager.{listener_added,...,total_listeners_active,
//     workers_started}: source/common/listener_manager/listener_manager_impl.h
//     ALL_LISTENER_MANAGER_STATS
//   - listener_manager.lds.* and cluster_manager.cds.*
//     {init_fetch_timeout,update_attempt,update_failure,update_rejected,
//     update_success}: envoy/config/subscription.h ALL_SUBSCRIPTION_STATS,
//     scoped "listener_manager.lds." in source/common/listener_manager/lds_api.cc
//   - cluster_manager.{cluster_added,...,active_clusters,warming_clusters}:
//     source/common/upstream/cluster_manager_impl.h ALL_CLUSTER_MANAGER_STATS
//   - server.{state,live,concurrency,uptime}: source/server/server.h
//     ALL_SERVER_STATS (state 0 = LIVE, as envoy.admin.v3.ServerInfo.State)
//   - wasm.<runtime>.{created,active}: source/extensions/common/wasm/
//     stats_handler.h LIFECYCLE_STATS, e.g. wasm.envoy.wasm.runtime.v8.active;
//     present only for runtimes the config uses. Envoy creates one VM per
//     distinct vm_config on the main thread and clones it on each worker, so
//     both are modelled as distinct VMs × (1 + concurrency).
func defaultStats(configs []json.RawMessage, serverInfo []byte) map[string]Stat {
	out := map[string]Stat{}
	set := func(name string, t StatType, v uint64, used bool) {
		out[name] = Stat{Name: name, Value: v, Type: t, Used: used}
	}
	cfg := summarize(configs)
	var si struct {
		State              string `json:"state"`
		Uptime             string `json:"uptime_current_epoch"`
		CommandLineOptions struct {
			Concurrency uint64 `json:"concurrency"`
		} `json:"command_line_options"`
	}
	_ = json.Unmarshal(serverInfo, &si)
	concurrency := si.CommandLineOptions.Concurrency
	if concurrency == 0 {
		concurrency = 2 // Istio's default proxy concurrency
	}

	// xDS subscriptions: every push so far accepted. The push count is the
	// "/N" suffix Istio puts on version_info.
	for _, sub := range []struct {
		prefix string
		pushes uint64
	}{{"listener_manager.lds.", cfg.ldsPushes}, {"cluster_manager.cds.", cfg.cdsPushes}} {
		set(sub.prefix+"init_fetch_timeout", Counter, 0, false)
		set(sub.prefix+"update_attempt", Counter, sub.pushes+1, true) // +1: the request now pending
		set(sub.prefix+"update_failure", Counter, 0, false)
		set(sub.prefix+"update_rejected", Counter, 0, false)
		set(sub.prefix+"update_success", Counter, sub.pushes, sub.pushes > 0)
	}

	set("listener_manager.listener_added", Counter, cfg.listeners, cfg.listeners > 0)
	set("listener_manager.listener_create_failure", Counter, 0, false)
	set("listener_manager.listener_create_success", Counter, cfg.listeners*concurrency, cfg.listeners > 0)
	set("listener_manager.listener_in_place_updated", Counter, 0, false)
	set("listener_manager.listener_modified", Counter, 0, false)
	set("listener_manager.listener_removed", Counter, 0, false)
	set("listener_manager.listener_stopped", Counter, 0, false)
	set("listener_manager.total_filter_chains_draining", Gauge, 0, false)
	set("listener_manager.total_listeners_active", Gauge, cfg.listeners, true)
	set("listener_manager.total_listeners_draining", Gauge, cfg.drainingListeners, cfg.drainingListeners > 0)
	set("listener_manager.total_listeners_warming", Gauge, cfg.warmingListeners, true)
	set("listener_manager.workers_started", Gauge, 1, true)

	set("cluster_manager.active_clusters", Gauge, cfg.clusters, true)
	set("cluster_manager.cluster_added", Counter, cfg.clusters, cfg.clusters > 0)
	set("cluster_manager.cluster_modified", Counter, 0, false)
	set("cluster_manager.cluster_removed", Counter, 0, false)
	set("cluster_manager.cluster_updated", Counter, 0, false)
	set("cluster_manager.cluster_updated_via_merge", Counter, 0, false)
	set("cluster_manager.update_merge_cancelled", Counter, 0, false)
	set("cluster_manager.update_out_of_merge_window", Counter, 0, false)
	set("cluster_manager.warming_clusters", Gauge, cfg.warmingClusters, true)

	state := map[string]uint64{"LIVE": 0, "DRAINING": 1, "PRE_INITIALIZING": 2, "INITIALIZING": 3}[si.State]
	set("server.state", Gauge, state, true)
	live := uint64(0)
	if si.State == "LIVE" || si.State == "" {
		live = 1
	}
	set("server.live", Gauge, live, true)
	set("server.concurrency", Gauge, concurrency, true)
	uptime, _ := strconv.ParseUint(strings.TrimSuffix(si.Uptime, "s"), 10, 64)
	set("server.uptime", Gauge, uptime, true)

	for runtime, vms := range cfg.wasmVMs {
		n := uint64(vms) * (1 + concurrency)
		set("wasm."+runtime+".created", Counter, n, true)
		set("wasm."+runtime+".active", Gauge, n, true)
	}
	return out
}

type configSummary struct {
	listeners, warmingListeners, drainingListeners uint64
	clusters, warmingClusters                      uint64
	ldsPushes, cdsPushes                           uint64
	wasmVMs                                        map[string]int // runtime → distinct vm_configs
}

func summarize(configs []json.RawMessage) configSummary {
	sum := configSummary{wasmVMs: map[string]int{}}
	vms := map[string]bool{}
	for _, raw := range configs {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		switch strings.TrimPrefix(str(m["@type"]), typePrefix) {
		case "ListenersConfigDump":
			sum.listeners += uint64(len(list(m["static_listeners"])))
			for _, e := range list(m["dynamic_listeners"]) {
				dl, _ := e.(map[string]any)
				if dl["active_state"] != nil {
					sum.listeners++
				}
				if dl["warming_state"] != nil {
					sum.warmingListeners++
				}
				if dl["draining_state"] != nil {
					sum.drainingListeners++
				}
			}
			sum.ldsPushes = pushes(str(m["version_info"]))
		case "ClustersConfigDump":
			sum.clusters = uint64(len(list(m["static_clusters"])) + len(list(m["dynamic_active_clusters"])))
			sum.warmingClusters = uint64(len(list(m["dynamic_warming_clusters"])))
			sum.cdsPushes = pushes(str(m["version_info"]))
			if sum.cdsPushes == 0 && len(list(m["dynamic_active_clusters"])) > 0 {
				sum.cdsPushes = 1
			}
		}
		walkVMs(m, func(runtime, key string) {
			if !vms[runtime+"\x00"+key] {
				vms[runtime+"\x00"+key] = true
				sum.wasmVMs[runtime]++
			}
		})
	}
	if sum.ldsPushes == 0 && sum.listeners > 0 {
		sum.ldsPushes = 1
	}
	return sum
}

// pushes reads N from Istio's version_info "<time>/<N>".
func pushes(version string) uint64 {
	_, n, ok := strings.Cut(version, "/")
	if !ok {
		return 0
	}
	v, _ := strconv.ParseUint(n, 10, 64)
	return v
}

// walkVMs calls fn for each Wasm filter's vm_config in v (inline typed_config,
// TypedStruct-wrapped, or an ECDS entry), skipping error_state: a rejected
// configuration created no VM.
func walkVMs(v any, fn func(runtime, key string)) {
	switch x := v.(type) {
	case map[string]any:
		t := str(x["@type"])
		var cfg any
		switch {
		case strings.HasSuffix(t, ".filters.http.wasm.v3.Wasm") || strings.HasSuffix(t, ".filters.network.wasm.v3.Wasm"):
			cfg = x["config"]
		case strings.HasSuffix(t, "udpa.type.v1.TypedStruct") || strings.HasSuffix(t, "xds.type.v3.TypedStruct"):
			if strings.HasSuffix(str(x["type_url"]), "wasm.v3.Wasm") {
				if val, ok := x["value"].(map[string]any); ok {
					cfg = val["config"]
				}
			}
		}
		if c, ok := cfg.(map[string]any); ok {
			if vm, ok := c["vm_config"].(map[string]any); ok {
				key, _ := json.Marshal([]any{vm["vm_id"], vm["code"]})
				runtime := str(vm["runtime"])
				if runtime != "" {
					fn(runtime, string(key))
				}
			}
		}
		for k, e := range x {
			if k != "error_state" {
				walkVMs(e, fn)
			}
		}
	case []any:
		for _, e := range x {
			walkVMs(e, fn)
		}
	}
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { l, _ := v.([]any); return l }

// serveStats answers GET /stats as Envoy's StatsHandler does
// (envoyproxy/envoy source/server/admin/stats_params.cc, stats_request.cc,
// stats_render.cc): the query is URL-decoded; "usedonly" is a presence flag;
// "filter" is an RE2 regex that must match part of the name (anchor it with
// ^...$; an empty filter is no filter), checked first, a bad one answering
// 400 "Invalid re2 regex"; "type" is one of All, Counters, Gauges, Histograms,
// TextReadouts (else 400 "invalid &type= param"); "format" is text (default:
// "name: value" lines) or json ({"stats":[{"name":..,"value":..},...]},
// compact, as Envoy's JSON streamer writes it), else 400 with Envoy's usage
// line. Counters and gauges are listed together, sorted by name. Not
// modelled: format=html, active-html and prometheus (answered 400 saying so),
// histogram_buckets (no histograms are modelled), and Go's regexp stands in
// for RE2 (the same syntax, short of a few rarely used escapes).
func (s *Server) serveStats(w http.ResponseWriter, rawQuery string) {
	_, raw := queryParams(rawQuery)
	params := map[string]string{}
	for k, v := range raw {
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v)
		if err1 != nil || err2 != nil {
			dk, dv = k, v
		}
		if _, dup := params[dk]; !dup {
			params[dk] = dv
		}
	}
	_, usedOnly := params["usedonly"]

	var re *regexp.Regexp
	if f := params["filter"]; f != "" {
		var err error
		if re, err = regexp.Compile(f); err != nil {
			writeText(w, http.StatusBadRequest, "Invalid re2 regex")
			return
		}
	}
	counters, gauges := true, true
	if t, ok := params["type"]; ok {
		switch t {
		case "All":
		case "Counters":
			gauges = false
		case "Gauges":
			counters = false
		case "Histograms", "TextReadouts":
			counters, gauges = false, false
		default:
			writeText(w, http.StatusBadRequest, "invalid &type= param")
			return
		}
	}
	format := "text"
	if f, ok := params["format"]; ok {
		format = f
	}
	switch format {
	case "text", "json":
	case "html", "active-html", "prometheus":
		writeText(w, http.StatusBadRequest, fmt.Sprintf("fixtureserver: /stats?format=%s is not modelled", format))
		return
	default:
		writeText(w, http.StatusBadRequest, "usage: /stats?format=(html|active-html|json|prometheus|text)\n\n")
		return
	}

	var shown []Stat
	for _, st := range s.sortedStats() {
		if usedOnly && !st.Used {
			continue
		}
		if re != nil && !re.MatchString(st.Name) {
			continue
		}
		if (st.Type == Counter && !counters) || (st.Type == Gauge && !gauges) {
			continue
		}
		shown = append(shown, st)
	}
	if format == "json" {
		type entry struct {
			Name  string `json:"name"`
			Value uint64 `json:"value"`
		}
		entries := make([]entry, len(shown))
		for i, st := range shown {
			entries[i] = entry{st.Name, st.Value}
		}
		body, err := json.Marshal(map[string]any{"stats": entries})
		if err != nil {
			writeText(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, body)
		return
	}
	var b strings.Builder
	for _, st := range shown {
		fmt.Fprintf(&b, "%s: %d\n", st.Name, st.Value)
	}
	writeText(w, http.StatusOK, b.String())
}
