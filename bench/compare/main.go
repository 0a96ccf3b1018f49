// The reference side of `npm run bench:compare`: go-control-plane's SnapshotCache serving one
// snapshot shared by every node, behind the same JSON-line child protocol as Spillway's benchmark
// child (bench/fanout/child-protocol.ts). The resources arrive already encoded from the benchmark,
// which builds them with Spillway's own builders, so both servers serve identical bytes.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Register the message types the snapshot carries (and the ones packed inside them).
	_ "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
)

// One snapshot for every node, as Spillway serves one state to every Envoy.
type sharedKey struct{}

func (sharedKey) ID(*corev3.Node) string { return "shared" }

const snapshotKey = "shared"

type typeResources struct {
	Version   string   `json:"version"`
	Resources []string `json:"resources"` // base64 of each encoded resource
}

type command struct {
	ID      int                      `json:"id"`
	Cmd     string                   `json:"cmd"`
	GC      bool                     `json:"gc"`
	Types   map[string]typeResources `json:"types"`
	Version string                   `json:"version"`
}

// Per push, the server's own view: when each EDS ACK arrived and each EDS response left, in ms after
// the publish call. Fixed slots filled lock-free, so the callbacks add no lock to the reference.
type pushLog struct {
	publishAt time.Time
	version   string
	acks      atomic.Int64
	sent      atomic.Int64
	ackMs     []float64
	sentMs    []float64
}

func (p *pushLog) note(n *atomic.Int64, into []float64) {
	i := n.Add(1) - 1
	if int(i) < len(into) {
		into[i] = float64(time.Since(p.publishAt).Microseconds()) / 1000
	}
}

var (
	streams       atomic.Int64
	sentResponses atomic.Int64
	sentBytes     atomic.Int64
	current       atomic.Pointer[pushLog]
)

func isEdsAck(typeURL, nonce string, hasError bool) bool {
	return typeURL == resource.EndpointType && nonce != "" && !hasError
}

func callbacks() serverv3.CallbackFuncs {
	open := func(context.Context, int64, string) error { streams.Add(1); return nil }
	closed := func(int64, *corev3.Node) { streams.Add(-1) }
	sent := func(typeURL string, resources int) {
		sentResponses.Add(1)
		sentBytes.Add(int64(resources))
		if p := current.Load(); p != nil && typeURL == resource.EndpointType {
			p.note(&p.sent, p.sentMs)
		}
	}
	return serverv3.CallbackFuncs{
		StreamOpenFunc:        open,
		StreamClosedFunc:      closed,
		DeltaStreamOpenFunc:   open,
		DeltaStreamClosedFunc: closed,
		StreamRequestFunc: func(_ int64, r *discoveryv3.DiscoveryRequest) error {
			if p := current.Load(); p != nil && isEdsAck(r.TypeUrl, r.ResponseNonce, r.ErrorDetail != nil) && r.VersionInfo == p.version {
				p.note(&p.acks, p.ackMs)
			}
			return nil
		},
		StreamDeltaRequestFunc: func(_ int64, r *discoveryv3.DeltaDiscoveryRequest) error {
			// A delta ACK carries no version: between pushes nothing else is in flight, so every EDS ACK
			// after the publish is an ACK of it.
			if p := current.Load(); p != nil && isEdsAck(r.TypeUrl, r.ResponseNonce, r.ErrorDetail != nil) {
				p.note(&p.acks, p.ackMs)
			}
			return nil
		},
		StreamResponseFunc: func(_ context.Context, _ int64, _ *discoveryv3.DiscoveryRequest, r *discoveryv3.DiscoveryResponse) {
			n := 0
			for _, a := range r.Resources {
				n += len(a.Value)
			}
			sent(r.TypeUrl, n)
		},
		StreamDeltaResponseFunc: func(_ int64, _ *discoveryv3.DeltaDiscoveryRequest, r *discoveryv3.DeltaDiscoveryResponse) {
			n := 0
			for _, a := range r.Resources {
				n += len(a.GetResource().GetValue())
			}
			sent(r.TypeUrl, n)
		},
	}
}

func decode(typeURL string, t typeResources) (cachev3.Resources, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(typeURL)
	if err != nil {
		return cachev3.Resources{}, err
	}
	items := make([]types.Resource, 0, len(t.Resources))
	for _, b64 := range t.Resources {
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return cachev3.Resources{}, err
		}
		m := mt.New().Interface()
		if err := proto.Unmarshal(raw, m); err != nil {
			return cachev3.Resources{}, fmt.Errorf("%s: %w", typeURL, err)
		}
		items = append(items, m)
	}
	return cachev3.NewResources(t.Version, items), nil
}

func wallMs(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }

// Resident set size from /proc (what the benchmark reads for Spillway through process.memoryUsage).
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

func main() {
	snapshots := cachev3.NewSnapshotCache(true, sharedKey{}, nil)
	var last cachev3.Snapshot // per type: the resources last set (a push replaces only what changed)

	server := grpc.NewServer(
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
		grpc.MaxRecvMsgSize(16<<20),
	)
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(server, serverv3.NewServer(context.Background(), snapshots, callbacks()))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() { _ = server.Serve(lis) }()

	out := bufio.NewWriter(os.Stdout)
	write := func(v any) {
		b, _ := json.Marshal(v)
		out.Write(append(b, '\n'))
		out.Flush()
	}
	write(map[string]any{"ready": true, "xdsPort": lis.Addr().(*net.TCPAddr).Port, "pid": os.Getpid()})

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			write(map[string]any{"id": -1, "error": err.Error()})
			continue
		}
		switch c.Cmd {
		case "stats":
			if c.GC {
				runtime.GC()
				debug.FreeOSMemory()
			}
			var ru syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			write(map[string]any{
				"id": c.ID, "cpuUserUs": ru.Utime.Sec*1e6 + ru.Utime.Usec, "cpuSystemUs": ru.Stime.Sec*1e6 + ru.Stime.Usec,
				"rss": rssBytes(), "heapUsed": ms.HeapAlloc, "streams": streams.Load(),
				"sentResponses": sentResponses.Load(), "sentBytes": sentBytes.Load(),
			})
		case "set":
			next := last
			failed := ""
			for typeURL, t := range c.Types {
				i := cachev3.GetResponseType(typeURL)
				r, err := decode(typeURL, t)
				if err != nil || i == types.UnknownType {
					failed = fmt.Sprintf("cannot decode %s: %v", typeURL, err)
					break
				}
				next.Resources[i] = r
			}
			if failed != "" {
				write(map[string]any{"id": c.ID, "error": failed})
				continue
			}
			next.VersionMap = nil
			snap := next
			edsVersion := snap.GetVersion(resource.EndpointType)
			p := &pushLog{version: edsVersion, ackMs: make([]float64, 20000), sentMs: make([]float64, 20000)}
			p.publishAt = time.Now()
			current.Store(p)
			err := snapshots.SetSnapshot(context.Background(), snapshotKey, &snap)
			returned := time.Now()
			if err != nil {
				write(map[string]any{"id": c.ID, "error": err.Error()})
				continue
			}
			last = next
			write(map[string]any{"id": c.ID, "ok": true, "publishAtMs": wallMs(p.publishAt), "publishReturnedAtMs": wallMs(returned), "edsVersion": edsVersion})
		case "acks":
			p := current.Load()
			if p == nil || p.version != c.Version {
				write(map[string]any{"id": c.ID, "count": 0, "latenciesMs": []float64{}, "sentMs": []float64{}})
				continue
			}
			n, s := min(int(p.acks.Load()), len(p.ackMs)), min(int(p.sent.Load()), len(p.sentMs))
			write(map[string]any{"id": c.ID, "count": n, "latenciesMs": p.ackMs[:n], "sentMs": p.sentMs[:s]})
		case "exit":
			write(map[string]any{"id": c.ID})
			server.Stop()
			os.Exit(0)
		default:
			write(map[string]any{"id": c.ID, "error": "not supported by the go-control-plane child: " + c.Cmd})
		}
	}
	server.Stop()
}
