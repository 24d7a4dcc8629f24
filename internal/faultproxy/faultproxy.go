// Package faultproxy is a fault-injecting HTTP/1.1 reverse proxy for tests.
//
// It sits between a blob client (for instance the Azure SDK talking plain
// http to a local Azurite emulator) and the server, forwards requests
// faithfully, and fails a chosen fraction of them in ways a real network or
// front end fails: a connection cut in the middle of a response body, a 500
// or 503 answer, or a response that stalls. Tests use it to prove that
// transfers either finish byte-identical or fail clearly.
//
// Forwarding keeps the method, the request target exactly as the client
// sent it (path and query bytes, so SAS signatures survive), every header
// except the hop-by-hop ones (Connection, Keep-Alive, Proxy-Connection, TE,
// Trailer, Transfer-Encoding, Upgrade, and those named in Connection), and
// the body, streamed in both directions. Only Host is rewritten, to the
// target's. Header names reach the other side in canonical form
// (x-ms-version becomes X-Ms-Version), as with any net/http server; HTTP
// header names are case-insensitive. No Accept-Encoding is added and nothing
// is decompressed. Connections to both sides are kept alive.
//
// Fault choices are made when a request arrives, from a PCG generator seeded
// with [Config.Seed]: the same sequence of requests, sent one after the
// other, meets the same sequence of faults.
package faultproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Fault is a kind of failure the proxy injects into a response.
type Fault int

const (
	// None forwards the request and its response unchanged. Listing it in
	// [Config.Faults] makes some chosen requests pass untouched; they are
	// not counted as faulted.
	None Fault = iota
	// Reset forwards the request, then sends the upstream status line and
	// headers (Content-Length as the upstream said) and a prefix of the
	// body, and cuts the TCP connection with a reset (SO_LINGER 0). The
	// client sees io.ErrUnexpectedEOF or "connection reset by peer" while
	// reading the body, never a clean short body. If the response has no
	// body (HEAD, 201 to a PUT, 204, 304, Content-Length 0), the connection
	// is cut before the status line, after the upstream has processed the
	// request: the client cannot know whether it took effect.
	Reset
	// Status500 answers 500 Internal Server Error from the proxy itself,
	// without forwarding: the request body is read and discarded, and the
	// upstream never sees the request. The answer carries an Azure-style
	// XML error body and x-ms-error-code: InternalError.
	Status500
	// Status503 is like Status500 with 503 Server Unavailable,
	// x-ms-error-code: ServerBusy and Retry-After: 1.
	Status503
	// Stall forwards the request, sends the status line, headers and a
	// prefix of the body as Reset does, then sends nothing more until the
	// client gives up (closes the connection), [Config.Stall] passes, or
	// the proxy is closed; then it cuts the connection as Reset does. If the
	// response has no body it stalls before the status line.
	Stall
)

// allFaults is the default of [Config.Faults].
var allFaults = []Fault{Reset, Status500, Status503, Stall}

// String returns the fault's name: "none", "reset", "500", "503" or "stall".
func (f Fault) String() string {
	switch f {
	case None:
		return "none"
	case Reset:
		return "reset"
	case Status500:
		return "500"
	case Status503:
		return "503"
	case Stall:
		return "stall"
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// DefaultStall is how long a [Stall] hangs when [Config.Stall] is zero.
const DefaultStall = 30 * time.Second

// Config says which requests the proxy faults and how. The zero Config
// faults nothing.
type Config struct {
	// Rate is the fraction of (matching) requests faulted, from 0 to 1.
	Rate float64
	// Faults lists the faults to choose from, uniformly; nil or empty
	// means Reset, Status500, Status503 and Stall.
	Faults []Fault
	// Seed seeds the PCG generator that decides which requests are faulted,
	// with which fault, and how many body bytes go out before a Reset or
	// Stall.
	Seed uint64
	// Stall is how long a Stall hangs at most; zero means DefaultStall.
	Stall time.Duration
	// Match, if not nil, limits faults to the requests for which it
	// returns true; the others are always forwarded and draw nothing from
	// the generator, so their number does not change the faults the
	// matching requests meet. It must not read the request body.
	Match func(*http.Request) bool
}

// Stats counts the requests the proxy received and what it did to them.
type Stats struct {
	Requests  int64 // requests received
	Faulted   int64 // requests given a fault other than None
	Reset     int64 // requests given Reset
	Status500 int64 // requests given Status500
	Status503 int64 // requests given Status503
	Stall     int64 // requests given Stall
	// UpstreamErrors counts forwarded requests for which the upstream gave
	// no response (the proxy then answers 502 Bad Gateway), the client's
	// own cancellations included.
	UpstreamErrors int64
}

// Proxy is a running fault-injecting reverse proxy listening on loopback.
// Its methods are safe for concurrent use.
type Proxy struct {
	target    *url.URL
	url       string
	listener  net.Listener
	server    *http.Server
	transport *http.Transport
	served    chan struct{} // closed when Serve returns
	done      chan struct{} // closed by Close

	mu       sync.Mutex
	cfg      Config
	rng      *rand.Rand
	stats    Stats
	closed   bool
	handlers sync.WaitGroup
	closeErr error
}

// New starts a proxy on 127.0.0.1, on a port of the system's choosing, that
// forwards to target, a URL such as "http://127.0.0.1:10000". Only the
// scheme (http or https) and host of target are used: a path, such as the
// account in "http://127.0.0.1:10000/devstoreaccount1", is accepted and
// ignored, since every request keeps its own path. Close the proxy when
// done.
func New(target string, cfg Config) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("faultproxy: target: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faultproxy: target %q is not an http(s)://host URL", target)
	}
	cfg, err = checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: %w", err)
	}
	p := &Proxy{
		target:   &url.URL{Scheme: u.Scheme, Host: u.Host},
		url:      "http://" + ln.Addr().String(),
		listener: ln,
		served:   make(chan struct{}),
		done:     make(chan struct{}),
		cfg:      cfg,
		rng:      newRand(cfg.Seed),
	}
	p.transport = &http.Transport{
		Proxy: nil, // never an environment proxy
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   100,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true, // no Accept-Encoding added, nothing decoded
	}
	p.server = &http.Server{
		Handler:           http.HandlerFunc(p.serveHTTP),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
	}
	go func() {
		defer close(p.served)
		if err := p.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			p.mu.Lock()
			p.closeErr = err
			p.mu.Unlock()
		}
	}()
	return p, nil
}

// connKey is the context key under which the server stores each request's
// net.Conn, so that a fault can reset it.
type connKey struct{}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// checkConfig validates cfg and fills in its defaults.
func checkConfig(cfg Config) (Config, error) {
	if math.IsNaN(cfg.Rate) || cfg.Rate < 0 || cfg.Rate > 1 {
		return cfg, fmt.Errorf("faultproxy: Rate %v is not between 0 and 1", cfg.Rate)
	}
	if cfg.Stall < 0 {
		return cfg, fmt.Errorf("faultproxy: negative Stall %v", cfg.Stall)
	}
	if cfg.Stall == 0 {
		cfg.Stall = DefaultStall
	}
	if len(cfg.Faults) == 0 {
		cfg.Faults = allFaults
	}
	for _, f := range cfg.Faults {
		if f < None || f > Stall {
			return cfg, fmt.Errorf("faultproxy: unknown %v", f)
		}
	}
	cfg.Faults = append([]Fault(nil), cfg.Faults...)
	return cfg, nil
}

// URL returns the proxy's base URL, "http://127.0.0.1:PORT".
func (p *Proxy) URL() string { return p.url }

// Rewrite returns u, a URL of the target (or of any host), with its scheme
// and host (and user information) replaced by the proxy's; the path, query
// and fragment are kept byte for byte, so a SAS stays valid. A string
// without "scheme://" is returned unchanged.
func (p *Proxy) Rewrite(u string) string {
	i := strings.Index(u, "://")
	if i <= 0 || strings.ContainsAny(u[:i], "/?#") {
		return u
	}
	rest := u[i+3:]
	j := strings.IndexAny(rest, "/?#")
	if j < 0 {
		return p.url
	}
	return p.url + rest[j:]
}

// SetConfig replaces the configuration for the requests that arrive from
// now on, and reseeds the generator with cfg.Seed. Requests in flight keep
// the fault they were given. Stats are not reset. It returns an error, and
// changes nothing, if cfg is invalid.
func (p *Proxy) SetConfig(cfg Config) error {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cfg = cfg
	p.rng = newRand(cfg.Seed)
	return nil
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops the proxy: it closes the listener and every connection,
// including stalled ones, waits for the requests in flight to end, and
// closes the connections to the upstream. It returns the error that stopped
// the server early, if any. Calling it again does nothing.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.done)
	p.mu.Unlock()

	err := p.server.Close()
	p.handlers.Wait()
	<-p.served
	p.transport.CloseIdleConnections()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closeErr != nil {
		return p.closeErr
	}
	return err
}

// decision is what the proxy does to one request.
type decision struct {
	fault Fault
	cut   uint64 // draws where, in the body, a Reset or Stall cuts
	stall time.Duration
}

// decide counts r and chooses its fault. It returns false if the proxy is
// closed.
func (p *Proxy) decide(r *http.Request) (decision, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return decision{}, false
	}
	p.handlers.Add(1)
	p.stats.Requests++
	cfg := p.cfg
	d := decision{stall: cfg.Stall}
	if cfg.Match != nil && !cfg.Match(r) {
		return d, true
	}
	u := p.rng.Float64()
	f := cfg.Faults[p.rng.IntN(len(cfg.Faults))]
	d.cut = p.rng.Uint64()
	if u >= cfg.Rate {
		return d, true
	}
	d.fault = f
	switch f {
	case Reset:
		p.stats.Reset++
	case Status500:
		p.stats.Status500++
	case Status503:
		p.stats.Status503++
	case Stall:
		p.stats.Stall++
	}
	if f != None {
		p.stats.Faulted++
	}
	return d, true
}

func (p *Proxy) serveHTTP(w http.ResponseWriter, r *http.Request) {
	d, ok := p.decide(r)
	if !ok {
		abort(r, false)
	}
	defer p.handlers.Done()
	switch d.fault {
	case Status500:
		p.answer(w, r, http.StatusInternalServerError, "InternalError")
	case Status503:
		w.Header().Set("Retry-After", "1")
		p.answer(w, r, http.StatusServiceUnavailable, "ServerBusy")
	default:
		p.forward(w, r, d)
	}
}

// answer drains the request body and sends an Azure-style error of its own.
func (p *Proxy) answer(w http.ResponseWriter, r *http.Request, status int, code string) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		abort(r, false) // the client went away mid-body
	}
	body := `<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code +
		`</Code><Message>faultproxy: injected ` + strconv.Itoa(status) + `</Message></Error>`
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Ms-Error-Code", code)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// hopHeaders are the hop-by-hop headers of RFC 9110 section 7.6.1, which a
// proxy does not forward.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade",
}

// copyHeader returns a copy of h without its hop-by-hop headers.
func copyHeader(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, v := range h.Values("Connection") {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out.Del(name)
			}
		}
	}
	for _, name := range hopHeaders {
		out.Del(name)
	}
	return out
}

// outURL is the URL the request r is forwarded to: the target's scheme and
// host, and r's request target as the client sent it.
func (p *Proxy) outURL(r *http.Request) *url.URL {
	u := &url.URL{Scheme: p.target.Scheme, Host: p.target.Host}
	path, query, _ := strings.Cut(r.RequestURI, "?")
	if strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "//") {
		u.Opaque = path // sent verbatim
		u.RawQuery = query
		return u
	}
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	return u
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, d decision) {
	body := r.Body
	if r.ContentLength == 0 {
		body = http.NoBody
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target.String(), body)
	if err != nil {
		p.badGateway(w, err)
		return
	}
	out.URL = p.outURL(r)
	out.Host = p.target.Host
	out.ContentLength = r.ContentLength
	out.Header = copyHeader(r.Header)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = nil // do not add Go's
	}

	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		p.badGateway(w, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()

	hasBody := r.Method != http.MethodHead && resp.ContentLength != 0 &&
		resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotModified
	if (d.fault == Reset || d.fault == Stall) && !hasBody {
		if d.fault == Stall {
			p.stall(r, d.stall)
		}
		abort(r, true)
	}

	h := w.Header()
	for k, v := range copyHeader(resp.Header) {
		h[k] = v
	}
	if resp.ContentLength >= 0 && r.Method != http.MethodHead {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	w.WriteHeader(resp.StatusCode)

	if d.fault != Reset && d.fault != Stall {
		if _, err := io.Copy(w, resp.Body); err != nil {
			// Cut rather than let the server end a chunked body
			// cleanly: the client must see the failure.
			abort(r, false)
		}
		return
	}

	// A prefix: for a known length n, 1 to n-1 bytes (0 if n is 1); for an
	// unknown length, 1 to 64 KiB (or less, if the body is shorter).
	var prefix int64
	switch n := resp.ContentLength; {
	case n == 1:
		prefix = 0
	case n > 1:
		prefix = 1 + int64(d.cut%uint64(n-1))
	default:
		prefix = 1 + int64(d.cut%(64<<10))
	}
	_, _ = io.CopyN(w, resp.Body, prefix)
	_ = http.NewResponseController(w).Flush()
	if d.fault == Stall {
		p.stall(r, d.stall)
	}
	abort(r, true)
}

// stall waits until the client goes away, d passes, or the proxy closes.
func (p *Proxy) stall(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
	case <-t.C:
	case <-p.done:
	}
}

// badGateway answers 502 for a request the upstream did not answer.
func (p *Proxy) badGateway(w http.ResponseWriter, err error) {
	p.mu.Lock()
	p.stats.UpstreamErrors++
	p.mu.Unlock()
	http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
}

// abort ends the handler and makes the server close r's connection without
// sending anything more; with reset, the close is abortive (a TCP RST).
func abort(r *http.Request, reset bool) {
	if reset {
		if c, ok := r.Context().Value(connKey{}).(*net.TCPConn); ok {
			_ = c.SetLinger(0)
		}
	}
	panic(http.ErrAbortHandler)
}
